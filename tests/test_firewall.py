"""Firewalled hosts: with bridge netfilter on and a FORWARD policy of DROP (any Docker host),
pings across a bridge fail; verify must say what blocks them and how to allow the lab's
bridges, and up must never change a firewall.

The tests never touch the real host's firewall or sysctls: the firewalled "host" is a
namespace the test makes (the script runs in it through nsenter), or a lab namespace. Both
need the bridge netfilter sysctls to be per network namespace (Linux 5.3+), which is
detected, not assumed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nsgen import tools
from tests.conftest import EXAMPLES
from tests.live import LabFactory, run
from tests.reliability import Recorder

BRIDGE_NF = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def skip_reason(programs: list[str]) -> str | None:
    missing = [name for name in ["nsenter", *programs] if tools.find(name) is None]
    if missing:
        return (
            f"{', '.join(missing)} not installed ({tools.where()}): the README's second "
            "command installs iptables and nftables"
        )
    if not Path(BRIDGE_NF).exists():
        return "bridge netfilter (br_netfilter) is not loaded; the tests do not load modules"
    probe = run(["unshare", "--net", "cat", BRIDGE_NF], check=False)
    if probe.returncode != 0:
        return "this kernel's bridge netfilter sysctls are not per namespace (Linux < 5.3)"
    return None


def skip_unless(programs: list[str], key: str, figures: Recorder) -> None:
    reason = skip_reason(programs)
    if reason is not None:
        figures.record(key, f"not measured: {reason}")
        pytest.skip(reason)


def in_netns(ns: str, *command: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *command]


def firewall(ns: str | None = None) -> str:
    """The whole firewall of a namespace (None: the real host), read-only: the nftables
    ruleset without counters, and every legacy iptables table that is loaded."""
    enter = [] if ns is None else in_netns(ns)
    rules = []
    if tools.find("nft"):
        rules.append(run([*enter, "nft", "-s", "list", "ruleset"]).stdout)
    for tool, names in (
        ("iptables-legacy", "ip_tables_names"),
        ("ip6tables-legacy", "ip6_tables_names"),
    ):
        tables = run([*enter, "cat", f"/proc/net/{names}"], check=False).stdout.split()
        if tools.find(tool):
            rules += [run([*enter, tool, "-t", table, "-S"]).stdout for table in sorted(tables)]
    return "\n".join(rules)


def advice(output: str) -> list[str]:
    """The commands verify prints after 'run:'."""
    lines = output.splitlines()
    starts = [
        i for i, line in enumerate(lines) if line.endswith("never changes the firewall), run:")
    ]
    return [line.strip() for line in lines[starts[0] + 1 :]] if starts else []


def test_verify_names_an_iptables_forward_drop_on_the_host(
    lab_factory: LabFactory, figures: Recorder
) -> None:
    skip_unless(["iptables"], "firewall.iptables", figures)
    p = lab_factory.prefix
    host = f"{p}fw"  # stands in for a Docker host; the lab's host bridge goes in it
    run(["ip", "netns", "add", host])
    lab = lab_factory(EXAMPLES / "star.toml", host_netns=host)
    run(in_netns(host, "iptables", "-P", "FORWARD", "DROP"))
    run(in_netns(host, "sh", "-c", f"echo 0 >{BRIDGE_NF}"))
    rules = firewall(host)
    lab.up()
    assert firewall(host) == rules, "up changed the firewall"
    ok = lab.sh("verify")
    assert ok.returncode == 0, "with bridge netfilter off the policy must not apply\n" + ok.stdout

    run(in_netns(host, "sh", "-c", f"echo 1 >{BRIDGE_NF}"))
    blocked = lab.sh("verify")
    assert blocked.returncode == 4
    assert (
        "bridge netfilter is on in the host (net.bridge.bridge-nf-call-iptables = 1) and the "
        f"iptables FORWARD policy is DROP: it drops traffic across bridge {p}br0"
    ) in blocked.stdout
    fixes = advice(blocked.stdout)
    assert fixes == [f"iptables -I FORWARD -i {p}br0 -o {p}br0 -j ACCEPT"]
    for fix in fixes:
        run(["nsenter", f"--net=/run/netns/{host}", "sh", "-c", fix])
    allowed = lab.sh("verify")
    assert allowed.returncode == 0, allowed.stdout
    assert "bridge netfilter" not in allowed.stdout

    # A ping that fails for another reason is not blamed on an allowed bridge.
    run(["ip", "-n", f"{p}h2", "address", "flush", "dev", "eth0"])
    other = lab.sh("verify")
    assert other.returncode == 4
    assert "bridge netfilter" not in other.stdout and advice(other.stdout) == []
    lab.down()
    figures.record(
        "firewall.iptables",
        f"pings across the bridge fail; `verify` exits 4 naming the sysctl, the DROP policy "
        f"and the bridge, and prints {len(fixes)} rule; with it, 5 of 5 pings answered; a "
        "failure of another kind is not blamed on the firewall; `up` changed 0 rules",
    )


FIREWALLED_LAB = """
name = "fw"

[namespaces.sw]

[bridges.lan]
namespace = "sw"

[namespaces.h1.interfaces.eth0]
bridge = "lan"
address = ["10.232.0.11/24", "fd00:232::11/64"]

[namespaces.h2.interfaces.eth0]
bridge = "lan"
address = ["10.232.0.12/24", "fd00:232::12/64"]
"""


def test_verify_names_ip6tables_and_nftables_drops_in_a_lab_namespace(
    lab_factory: LabFactory, tmp_path: Path, figures: Recorder
) -> None:
    skip_unless(["ip6tables", "nft"], "firewall.nft", figures)
    topology = tmp_path / "fw.toml"
    topology.write_text(FIREWALLED_LAB)
    lab = lab_factory(topology)
    sw = f"{lab_factory.prefix}sw"
    lab.up()
    assert lab.sh("verify").returncode == 0
    for family in ("iptables", "ip6tables"):
        run(in_netns(sw, "sh", "-c", f"echo 1 >/proc/sys/net/bridge/bridge-nf-call-{family}"))
    run(in_netns(sw, "ip6tables", "-P", "FORWARD", "DROP"))
    run(
        in_netns(
            sw,
            "nft",
            "add table inet guard; add chain inet guard gate "
            "{ type filter hook forward priority 10; policy drop; }",
        )
    )
    rules = firewall(sw)
    lab.up()
    assert firewall(sw) == rules, "up changed the firewall"

    blocked = lab.sh("verify")
    assert blocked.returncode == 4
    on = "bridge netfilter is on in the namespace " + sw
    assert (
        f"{on} (net.bridge.bridge-nf-call-iptables = 1) and nftables chain inet guard gate has "
        "policy drop: it drops traffic across bridge lan"
    ) in blocked.stdout
    assert (
        f"{on} (net.bridge.bridge-nf-call-ip6tables = 1) and the ip6tables FORWARD policy is "
        "DROP: it drops traffic across bridge lan"
    ) in blocked.stdout
    fixes = advice(blocked.stdout)
    assert fixes == [
        f"ip netns exec {sw} nft 'insert rule inet guard gate "
        'iifname "lan" oifname "lan" accept\'',
        f"ip netns exec {sw} ip6tables -I FORWARD -i lan -o lan -j ACCEPT",
    ]
    for fix in fixes:
        run(["sh", "-c", fix])
    allowed = lab.sh("verify")
    assert allowed.returncode == 0, allowed.stdout

    run(["ip", "-n", f"{lab_factory.prefix}h2", "address", "del", "10.232.0.12/24", "dev", "eth0"])
    other = lab.sh("verify")
    assert other.returncode == 4
    assert "bridge netfilter" not in other.stdout and advice(other.stdout) == []
    figures.record(
        "firewall.nft",
        "pings across the bridge fail; `verify` exits 4 naming both blocking chains, and prints "
        f"{len(fixes)} rules; with them every ping is answered; a failure of another kind is "
        "not blamed on the firewall; `up` changed 0 rules",
    )


def test_up_and_down_never_change_the_hosts_firewall(
    lab_factory: LabFactory, figures: Recorder
) -> None:
    if tools.find("nft") is None and tools.find("iptables-legacy") is None:
        figures.record("firewall.host", "not measured: neither nft nor iptables-legacy installed")
        pytest.skip("neither nft nor iptables-legacy is installed to read the firewall")
    lab = lab_factory(EXAMPLES / "star.toml")
    before = firewall()
    lab.up()
    assert firewall() == before, "up changed the host's firewall"
    assert lab.sh("verify").returncode == 0
    lab.down()
    assert firewall() == before, "down changed the host's firewall"
    figures.record(
        "firewall.host", "identical after `up`, `verify` and after `down`: 0 rules changed"
    )
