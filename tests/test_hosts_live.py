"""Labs across hosts, live: simulated hosts (tests/simhosts.py) reached over real ssh by
ansible-playbook from a controller namespace, through `nsgen up|status|verify|down`.

Only addresses inside the run's own namespaces are contacted: the underlay is a bridge in
a namespace of its own, the labs' addresses live in namespaces on the simulated hosts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nsgen import playbook, tools
from tests import simhosts
from tests.conftest import EXAMPLES, TEST_EXTRAS
from tests.live import FAKE_IP, host_lock

HOSTS = EXAMPLES / "hosts"


def _skip() -> None:
    reason = simhosts.skip_reason()
    if reason is None and tools.find("ansible-playbook") is None:
        reason = f"ansible-playbook is not installed ({tools.where()}): {TEST_EXTRAS}"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the multi-host tests: {reason}")
        pytest.skip(reason)


@pytest.fixture
def two(tmp_path: Path) -> Iterator[simhosts.Underlay]:
    _skip()
    with host_lock(), simhosts.simulated(tmp_path, ["a", "b"]) as underlay:
        yield underlay


@pytest.fixture
def three(tmp_path: Path) -> Iterator[simhosts.Underlay]:
    _skip()
    with host_lock(), simhosts.simulated(tmp_path, ["a", "b", "c"]) as underlay:
        yield underlay


def nsgen(
    underlay: simhosts.Underlay, action: str, topology: Path, *options: str
) -> tuple[int, str]:
    """`nsgen ACTION FILE` on the controller: it runs the playbook over ssh."""
    done = underlay.on_controller(
        sys.executable, "-m", "nsgen", action, str(topology), *options, env=underlay.ansible_env()
    )
    return done.returncode, done.stdout + done.stderr


def snapshot(underlay: simhosts.Underlay) -> dict[str, list[str]]:
    """Every host's lab state, interface indexes included: what a re-run must not change."""
    out = {}
    for host in underlay.hosts.values():
        listing = host.sh(
            "sh",
            "-c",
            'for n in $(ls /run/netns); do echo "== $n"; ip -n "$n" -o link; '
            'ip -n "$n" -o address; ip -n "$n" route; done; echo "== host"; ip -o link; '
            "bridge fdb show | grep permanent; cat /run/nsgen/*/netns",
        ).stdout
        out[host.name] = [
            re.sub(r" (valid|preferred)_lft \S+", "", line) for line in listing.splitlines()
        ]
    return out


def ping(host: simhosts.SimHost, netns: str, address: str, size: int) -> bool:
    done = host.sh(
        "ip",
        "netns",
        "exec",
        netns,
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        "-M",
        "do",
        "-s",
        str(size),
        address,
    )
    return done.returncode == 0


def clean(underlay: simhosts.Underlay) -> dict[str, list[str]]:
    return {h.name: h.state() for h in underlay.hosts.values()} | {
        "underlay": underlay.underlay_state()
    }


def lifecycle(underlay: simhosts.Underlay, topology: Path, df: list[tuple[str, str, str]]) -> None:
    """up through the playbook, every ping answered (those across tunnels included), the
    lowered MTU passes with DF set and one byte more does not, a re-run changes nothing,
    status ok everywhere, and down leaves nothing on any host or on the underlay."""
    before = clean(underlay)
    code, out = nsgen(underlay, "up", topology)
    assert code == 0, out
    for name in underlay.hosts:
        assert f"{name}: {topology.stem.split('-')[0]}: up" in out, out
    code, out = nsgen(underlay, "verify", topology)
    assert code == 0, out
    assert "FAIL" not in out and ", on host " in out
    for host_name, netns, address in df:
        host = underlay.hosts[host_name]
        # 1450 bytes of IP: 1422 of ICMP payload, 20 of IP header, 8 of ICMP header.
        assert ping(host, netns, address, 1422), f"{netns} -> {address} at the tunnel MTU"
        assert not ping(host, netns, address, 1423), f"{netns} -> {address} above the tunnel MTU"
    first = snapshot(underlay)
    code, out = nsgen(underlay, "up", topology)
    assert code == 0 and "creating" not in out, out
    assert snapshot(underlay) == first
    code, out = nsgen(underlay, "status", topology)
    assert code == 0, out
    assert len(re.findall(r": \d+ of \d+ objects ok$", out, re.M)) == len(underlay.hosts)
    code, out = nsgen(underlay, "down", topology)
    assert code == 0, out
    assert clean(underlay) == before


def test_two_hosts_up_verify_rerun_status_down(two: simhosts.Underlay) -> None:
    before = clean(two)
    code, out = nsgen(two, "up", HOSTS / "two-hosts.toml", "--dry-run")
    assert code == 0, out
    assert "a: ip netns add a1\n" in out and "b: ip netns add b1\n" in out
    assert "a: bridge fdb append 00:00:00:00:00:00 dev lan-vx dst 192.0.2.2\n" in out
    assert clean(two) == before
    lifecycle(
        two,
        HOSTS / "two-hosts.toml",
        [("a", "a1", "10.51.0.2"), ("a", "a1", "10.50.0.21"), ("b", "b1", "10.50.0.12")],
    )


def test_three_hosts_up_verify_rerun_status_down(three: simhosts.Underlay) -> None:
    lifecycle(
        three,
        HOSTS / "three-hosts.toml",
        [
            ("a", "a1", "10.60.0.13"),  # the bridge on every host, a to c
            ("c", "c2", "10.63.0.11"),  # a port on c of a bridge on a
            ("b", "r", "10.62.0.2"),  # point to point
        ],
    )
    # The routed path a1 -> r -> c1 crosses two tunnels: the checks[] lines said so above.


def test_verify_names_the_host_that_is_down_and_fails_in_bounded_time(
    two: simhosts.Underlay, tmp_path: Path
) -> None:
    topology = HOSTS / "two-hosts.toml"
    code, out = nsgen(two, "up", topology)
    assert code == 0, out
    scripts = tmp_path / "scripts"
    playbook.write(topology, scripts)
    b = two.hosts["b"]
    assert b.sh("sh", str(scripts / "b.sh"), "down").returncode == 0
    started = time.monotonic()
    done = two.hosts["a"].sh("sh", str(scripts / "a.sh"), "verify")
    elapsed = time.monotonic() - started
    assert done.returncode == 4, done.stdout + done.stderr
    assert "FAIL  a1 -> 10.51.0.2 (b1:eth1, on host b)" in done.stdout
    assert "FAIL  a2 -> 10.50.0.21 (b1:eth0, on host b)" in done.stdout
    assert elapsed < 20
    code, out = nsgen(two, "verify", topology)
    assert code == 4 and "a: FAIL" in out, out
    code, out = nsgen(two, "down", topology)
    assert code == 0, out


def test_one_host_killed_mid_up_then_up_converges(three: simhosts.Underlay, tmp_path: Path) -> None:
    topology = HOSTS / "three-hosts.toml"
    before = clean(three)
    scripts = tmp_path / "scripts"
    playbook.write(topology, scripts)
    b = three.hosts["b"]
    dry = b.sh("sh", str(scripts / "b.sh"), "up", "--dry-run")
    operations = sum(1 for line in dry.stdout.splitlines() if line.startswith(("ip ", "bridge ")))
    assert operations > 4, dry.stdout
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ip").write_text(FAKE_IP)
    (bindir / "ip").chmod(0o755)
    budget = tmp_path / "budget"
    budget.write_text(str(operations // 2))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(
        os.environ,
        PATH=f"{bindir}:{os.environ['PATH']}",
        CUT_FILE=str(budget),
        REAL_IP=tools.find("ip") or "ip",
        TMPDIR=str(scratch),
    )
    killed = subprocess.run(
        b.command("setsid", "sh", str(scripts / "b.sh"), "up"),
        env=env,
        capture_output=True,
        text=True,
    )
    assert killed.returncode in (-9, 137), killed.stderr
    code, out = nsgen(three, "status", topology)
    assert code == 3, out
    code, out = nsgen(three, "up", topology)
    assert code == 0, out
    code, out = nsgen(three, "status", topology)
    assert code == 0, out
    code, out = nsgen(three, "verify", topology)
    assert code == 0, out
    code, out = nsgen(three, "down", topology)
    assert code == 0, out
    assert clean(three) == before


def test_a_host_leaves_a_bridge_then_down_of_the_old_version(
    three: simhosts.Underlay, tmp_path: Path
) -> None:
    """Labs change across hosts too: each host's record prunes its own part. Host c leaves
    bridge lan: c loses the bridge and its tunnel device, a and b their flood entry to c."""
    before = clean(three)
    v1 = HOSTS / "three-hosts.toml"
    text = v1.read_text().replace('hosts = ["a", "b", "c"]', 'hosts = ["a", "b"]')
    text = text.replace(
        '[namespaces.c1.interfaces.eth0]\nbridge = "lan"\naddress = "10.60.0.13/24"\n\n', ""
    )
    v2 = tmp_path / "v2" / v1.name
    v2.parent.mkdir()
    v2.write_text(text)
    code, out = nsgen(three, "up", v1)
    assert code == 0, out
    code, out = nsgen(three, "up", v2)
    assert code == 0, out
    code, out = nsgen(three, "status", v2)
    assert code == 0 and "extra" not in out, out
    for name in ("a", "b"):
        flood = three.hosts[name].sh("bridge", "fdb", "show", "dev", "lan-vx").stdout
        assert "00:00:00:00:00:00 dst 192.0.2.3 " not in flood, flood
        assert "00:00:00:00:00:00 dst 192.0.2." in flood, flood
    links = three.hosts["c"].sh("ip", "-br", "link", "show").stdout
    assert "lan" not in links, links
    code, out = nsgen(three, "verify", v2)
    assert code == 0, out
    code, out = nsgen(three, "down", v1)
    assert code == 0, out
    assert clean(three) == before
