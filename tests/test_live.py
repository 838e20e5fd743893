"""Live tests: the generated scripts on the real kernel.

Each test renders its lab under a random prefix (see tests/live.py), so it never touches a
name it did not make, and cleans up even when it fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.live import Lab, LabFactory, host_residue, netns_names, run

TOPOLOGIES = sorted(EXAMPLES.glob("*.toml"))
IDS = [p.stem for p in TOPOLOGIES]


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_lifecycle(lab_factory: LabFactory, topology: Path) -> None:
    lab = lab_factory(topology)
    first = lab.up()
    assert "creating" in first.stdout
    assert first.stderr == ""

    verify = lab.sh("verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "FAIL" not in verify.stdout

    before = lab.snapshot()
    again = lab.up()
    assert "creating" not in again.stdout
    assert again.stderr == ""
    assert lab.snapshot() == before, "a second up changed the lab"

    status = lab.sh("status")
    assert status.returncode == 0, status.stdout
    assert all(line.startswith("ok") for line in status.stdout.splitlines()[:-1])

    lab.down()
    assert host_residue(lab.prefix) == []
    assert lab.sh("down").returncode == 0, "down on a clean host must succeed"

    # down returns only when the kernel has really removed everything: up works at once.
    lab.up()
    assert lab.snapshot(indexes=False) == normalised(before, lab)
    lab.down()
    assert host_residue(lab.prefix) == []


def normalised(snapshot: dict[str, list[str]], lab: Lab) -> dict[str, list[str]]:
    from tests.live import normalise

    return {k: sorted(normalise(line, False) for line in v) for k, v in snapshot.items()}


@pytest.mark.parametrize("topology", ["star", "routed"])
def test_up_repairs_drift(lab_factory: LabFactory, topology: str) -> None:
    lab = lab_factory(EXAMPLES / f"{topology}.toml")
    lab.up()
    reference = lab.snapshot(indexes=False)
    p = lab.prefix
    if topology == "star":
        drift = [
            ["ip", "-n", f"{p}h1", "address", "flush", "dev", "eth0"],
            ["ip", "-n", f"{p}h2", "link", "set", "dev", "eth0", "down"],
            ["ip", "link", "del", "dev", f"{p}h3-eth0"],
            ["ip", "link", "set", "dev", f"{p}h4-eth0", "nomaster"],
            ["ip", "address", "flush", "dev", f"{p}br0"],
        ]
    else:
        drift = [
            ["ip", "-n", f"{p}a1", "route", "del", "default"],
            ["ip", "-n", f"{p}a2", "-6", "route", "del", "default"],
            ["ip", "-n", f"{p}r1", "link", "del", "dev", "eth2"],
            ["ip", "-n", f"{p}sw1", "link", "del", "dev", "lan1"],
            ["ip", "netns", "exec", f"{p}r1", "sh", "-c", "echo 0 >/proc/sys/net/ipv4/ip_forward"],
        ]
    for command in drift:
        run(command)
    assert lab.sh("status").returncode == 3
    lab.up()
    assert lab.snapshot(indexes=False) == reference
    assert lab.sh("status").returncode == 0
    verify = lab.sh("verify")
    assert verify.returncode == 0, verify.stdout


def test_stale_netns_file_is_repaired(lab_factory: LabFactory) -> None:
    """A killed `ip netns add` can leave /run/netns/NAME as a plain file."""
    lab = lab_factory(EXAMPLES / "veth-pair.toml")
    lab.up()
    reference = lab.snapshot(indexes=False)
    ns = f"{lab.prefix}ns2"
    run(["ip", "netns", "del", ns])
    Path(f"/run/netns/{ns}").touch()
    assert run(["ip", "-n", ns, "link"], check=False).returncode != 0
    status = lab.sh("status")
    assert status.returncode == 3
    assert f"broken     namespace {ns}" in status.stdout
    lab.up()
    assert lab.snapshot(indexes=False) == reference
    run(["ip", "netns", "del", ns])
    Path(f"/run/netns/{ns}").touch()
    lab.down()
    assert host_residue(lab.prefix) == []


def test_stale_file_of_someone_else_is_refused(lab_factory: LabFactory) -> None:
    lab = lab_factory(EXAMPLES / "veth-pair.toml")
    stale = Path(f"/run/netns/{lab.prefix}ns1")
    stale.parent.mkdir(exist_ok=True)
    stale.touch()
    try:
        result = lab.sh("up")
        assert result.returncode == 1
        assert "is a stale file left by someone else" in result.stderr
        assert stale.exists()
    finally:
        stale.unlink()


def test_dry_run_changes_nothing(lab_factory: LabFactory) -> None:
    lab = lab_factory(EXAMPLES / "routed.toml")
    dry = lab.sh("up", "--dry-run")
    assert dry.returncode == 0
    assert f"ip netns add {lab.prefix}r1" in dry.stdout
    assert host_residue(lab.prefix) == []
    lab.up()
    before = lab.snapshot()
    down = lab.sh("down", "--dry-run")
    assert f"ip netns del {lab.prefix}r1" in down.stdout
    assert lab.snapshot() == before


def test_a_new_host_bridge_goes_up_after_the_namespaces(lab_factory: LabFactory) -> None:
    """While a bridge the run made is down it drops the namespaces' IPv6 start-up frames instead
    of copying each to every port: it goes up last, once; an existing bridge is never downed."""
    lab = lab_factory(EXAMPLES / "star.toml")
    bridge = f"{lab.prefix}br0"

    def dry_run_positions() -> tuple[list[str], list[int], list[int]]:
        """up --dry-run's lines; where the bridge's link line is; where namespace lines are."""
        lines = lab.sh("up", "--dry-run").stdout.splitlines()
        at = f"ip link set dev {bridge} address"
        ups = [i for i, line in enumerate(lines) if line.startswith(at)]
        return lines, ups, [i for i, line in enumerate(lines) if line.startswith("ip -n ")]

    lines, ups, inside = dry_run_positions()
    assert len(ups) == 1 and inside and ups[0] > max(inside), lines
    assert lines[ups[0]].endswith(" up")
    lab.up()
    assert "UP" in run(["ip", "-j", "link", "show", "dev", bridge]).stdout
    assert lab.sh("status").returncode == 0
    lines, ups, inside = dry_run_positions()
    assert len(ups) == 1 and ups[0] < min(inside), "a re-run keeps the bridge in the host batch"
    assert all(" down" not in line for line in lines)


def test_bridge_ports_make_no_ipv6_address(lab_factory: LabFactory) -> None:
    """A port's own link-local address only costs start-up traffic into its namespace; the
    namespace's end keeps its own. A host without IPv6 gets the ports without the option."""
    lab = lab_factory(EXAMPLES / "star.toml")
    bridge = f"{lab.prefix}br0"
    hidden = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs none /proc/sys/net/ipv6 && "$@"', "-"]
    no_ipv6 = run([*hidden, *lab.command("up", "--dry-run")]).stdout.splitlines()
    ports = [line for line in no_ipv6 if line.endswith(f" master {bridge} up")]
    assert len(ports) == 4 and not any("addrgenmode" in line for line in no_ipv6), no_ipv6
    lab.up()
    links = json.loads(run(["ip", "-j", "link", "show", "master", bridge]).stdout)
    assert len(links) == 4
    for link in links:
        shown = json.loads(run(["ip", "-j", "-6", "address", "show", "dev", link["ifname"]]).stdout)
        assert [a for s in shown for a in s.get("addr_info", [])] == [], link["ifname"]
    for ns in lab.namespaces():
        shown = json.loads(
            run(["ip", "-n", ns, "-j", "-6", "address", "show", "dev", "eth0"]).stdout
        )
        assert any(a["local"].startswith("fe80:") for s in shown for a in s["addr_info"]), ns


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_verify_partners_share_one_arp_request(lab_factory: LabFactory) -> None:
    """The members of a subnet ping each other in pairs, the second after the first: a star
    of the host and 4 namespaces on one bridge takes 3 ARP requests to verify, not 5."""
    lab = lab_factory(EXAMPLES / "star.toml")
    bridge = f"{lab.prefix}br0"
    lab.up()
    run(["ip", "neigh", "flush", "dev", bridge])
    for ns in lab.namespaces():
        run(["ip", "-n", ns, "neigh", "flush", "all"])
    tcpdump = subprocess.Popen(
        ["tcpdump", "-i", bridge, "-n", "-l", "arp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert tcpdump.stderr is not None
        while "listening on" not in (line := tcpdump.stderr.readline()):
            assert line, "tcpdump did not start"
        verify = lab.sh("verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        time.sleep(0.5)
    finally:
        tcpdump.terminate()
        frames, _ = tcpdump.communicate()
    requests = [f for f in frames.splitlines() if "Request who-has" in f]
    assert len(requests) == 3, frames


def test_host_address_conflict_is_refused(lab_factory: LabFactory) -> None:
    """A host that already routes the lab's bridge subnet elsewhere is left alone."""
    lab = lab_factory(EXAMPLES / "star.toml")
    other = lab_factory(EXAMPLES / "star.toml", prefix=lab.prefix + "b")
    lab.up()
    result = other.sh("up")
    assert result.returncode == 1
    assert "the host already routes 10.0.0.0/24 through" in result.stderr
    assert not any(n.startswith(other.prefix) for n in netns_names())


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_script_runs_under(lab_factory: LabFactory, shell: str) -> None:
    lab = lab_factory(EXAMPLES / "routed.toml")
    for action in ("up", "verify", "status", "down"):
        result = lab.sh(action, shell=shell)
        assert result.returncode == 0, f"{shell} {action}: {result.stderr}"


def test_usage_and_root_errors(lab_factory: LabFactory) -> None:
    lab = lab_factory(EXAMPLES / "star.toml")
    bad = lab.sh("sideways")
    assert bad.returncode == 2
    assert "unknown action or option: sideways" in bad.stderr
    assert lab.sh("status", "--dry-run").returncode == 2
    lab.script.chmod(0o644)
    nobody = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", str(lab.script)],
        capture_output=True,
        text=True,
    )
    assert nobody.returncode == 1
    assert nobody.stderr.strip().endswith(
        f"needs root (CAP_NET_ADMIN): try sudo sh {lab.script} up"
    )
    assert host_residue(lab.prefix) == []
