"""Link properties: egress shaping (tbf), impairments (netem) and TAP devices.

Golden scripts for every netem form (tests/linkprops/NAME.toml renders to exactly NAME.sh;
regenerate with `pytest tests/test_linkprops.py --update-golden`); live, a 10 Mbit/s link
measured with iperf3, netem refused cleanly on a kernel without it (this one) and applied
where the kernel has it, and a TAP that its owner attaches to unprivileged.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nsgen import pipeline, tools
from tests import golden
from tests.conftest import EXAMPLES, ROOT, tool
from tests.live import LabFactory, host_residue, host_state, run, state_changes

CASES = sorted((ROOT / "tests" / "linkprops").glob("*.toml"))
IDS = [p.stem for p in CASES]


@pytest.mark.parametrize("topology", CASES, ids=IDS)
def test_script_matches_golden(topology: Path, update_golden: bool) -> None:
    golden.check(pipeline.render_file(topology), topology.with_suffix(".sh"), update_golden)


@pytest.mark.parametrize("topology", CASES, ids=IDS)
def test_script_passes_shellcheck_and_parses(topology: Path) -> None:
    script = str(topology.with_suffix(".sh"))
    check = subprocess.run([tool("shellcheck"), "-s", "sh", script], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    for shell in ("dash", "bash"):
        if tools.find(shell):
            assert subprocess.run([shell, "-n", script]).returncode == 0


def netem_missing() -> str | None:
    """Why the kernel cannot run netem, asked in a namespace of a process alone."""
    probe = run(
        ["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem"], check=False
    )
    if probe.returncode == 0:
        return None
    return f"the kernel has no sch_netem ({probe.stderr.strip() or 'tc failed'})"


@pytest.mark.parametrize("form", ["delay", "jitter", "loss", "wan"])
def test_up_refuses_netem_cleanly_without_it(lab_factory: LabFactory, form: str) -> None:
    if netem_missing() is None:
        pytest.skip("the kernel has sch_netem: the refusal cannot happen here")
    lab = lab_factory(ROOT / "tests" / "linkprops" / f"{form}.toml")
    before = host_state(lab.prefix)
    result = lab.sh("up")
    assert result.returncode == 1
    assert result.stdout == ""
    users = sorted(
        {
            line.split()[1] + ":" + line.split()[2]
            for line in lab.text.splitlines()
            if line.startswith("qdisc ") and " netem " in line
        }
    )
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "the kernel has no netem qdisc (sch_netem), needed by " in lines[0]
    assert "nothing was changed" in lines[0]
    for user in users:
        shown = user.replace("-:", "host:")
        assert shown in lines[0], (shown, lines[0])
    assert state_changes(before, host_state(lab.prefix)) == []
    assert host_residue(lab.prefix) == []


def test_netem_delay_is_applied_where_the_kernel_has_it(lab_factory: LabFactory) -> None:
    reason = netem_missing()
    if reason is not None:
        pytest.skip(reason)
    lab = lab_factory(ROOT / "tests" / "linkprops" / "delay.toml")
    lab.up()
    ping = run(["ip", "netns", "exec", f"{lab.prefix}a1", "ping", "-c", "3", "-q", "10.50.0.2"])
    average = float(ping.stdout.split("=")[-1].split("/")[1])
    assert average >= 20.0, ping.stdout
    assert lab.sh("status").returncode == 0


# ---- Rate, measured -------------------------------------------------------------------------

RATE_LAB = """
name = "rate"

[namespaces.a1.interfaces.eth0]
peer = "b1:eth0"
address = "10.61.0.1/30"
rate = "10mbit"

[namespaces.b1.interfaces.eth0]
address = "10.61.0.2/30"
rate = "10mbit"

[namespaces.a2.interfaces.eth0]
peer = "b2:eth0"
address = "10.61.0.5/30"

[namespaces.b2.interfaces.eth0]
address = "10.61.0.6/30"
"""


@pytest.fixture
def iperf3() -> str:
    return tool("iperf3", "the Debian package iperf3")


def throughput(client_ns: str, server_ns: str, server: str, *, reverse: bool = False) -> float:
    """Bits per second received in a 3-second TCP run (the first second left out)."""
    daemon = subprocess.Popen(
        ["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1", "-B", server],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            args = ["iperf3", "-c", server, "-t", "3", "-O", "1", "-J"]
            result = run(
                ["ip", "netns", "exec", client_ns, *args, *(["-R"] if reverse else [])],
                check=False,
            )
            report = json.loads(result.stdout or "{}")
            if "sum_received" in report.get("end", {}):
                return float(report["end"]["sum_received"]["bits_per_second"])
            time.sleep(0.1)  # the server is not listening yet
        raise AssertionError(f"iperf3 never ran: {result.stdout} {result.stderr}")
    finally:
        daemon.kill()
        daemon.wait()


def test_rate_limits_both_directions(lab_factory: LabFactory, tmp_path: Path, iperf3: str) -> None:
    topology = tmp_path / "rate.toml"
    topology.write_text(RATE_LAB)
    lab = lab_factory(topology)
    lab.up()
    p = lab.prefix
    forward = throughput(f"{p}a1", f"{p}b1", "10.61.0.2")
    backward = throughput(f"{p}a1", f"{p}b1", "10.61.0.2", reverse=True)
    unshaped = throughput(f"{p}a2", f"{p}b2", "10.61.0.6")
    print(
        f"10mbit link: {forward / 1e6:.2f} Mbit/s a1->b1, {backward / 1e6:.2f} Mbit/s b1->a1; "
        f"unshaped: {unshaped / 1e6:.0f} Mbit/s"
    )
    for measured in (forward, backward):
        assert 8.5e6 <= measured <= 11.5e6, f"{measured / 1e6:.2f} Mbit/s is not 10 within 15%"
    assert unshaped >= 10 * 10e6, f"the unshaped link gave only {unshaped / 1e6:.1f} Mbit/s"


def test_shaping_is_idempotent_repaired_and_removed(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = lab_factory(EXAMPLES / "shaped.toml")
    lab.up()
    p = lab.prefix
    site1 = ["ip", "netns", "exec", f"{p}site1", "tc"]
    first = run([*site1, "-s", "-j", "qdisc", "show", "dev", "wan"]).stdout
    again = lab.up()
    assert " tc " not in again.stdout
    dry = lab.sh("up", "--dry-run")
    assert "tc " not in dry.stdout, "a converged lab re-applies no qdisc"
    # The same qdisc, not a new one: tc replace of an unchanged tbf would drop its queue.
    assert (
        json.loads(run([*site1, "-j", "qdisc", "show", "dev", "wan"]).stdout)[0]["handle"]
        == (json.loads(first)[0]["handle"])
    )

    run([*site1, "qdisc", "del", "dev", "wan", "root"])
    run(
        ["ip", "netns", "exec", f"{p}site2", "tc", "qdisc", "replace", "dev", "wan", "root",
         "handle", "6e73:", "tbf", "rate", "5mbit", "burst", "32kb", "latency", "100ms"]
    )  # fmt: skip
    status = lab.sh("status")
    assert status.returncode == 3
    assert f"drifted (noqueue) qdisc on {p}site1:wan: tbf rate 10mbit" in status.stdout
    assert f"drifted (rate 5000000bit) qdisc on {p}site2:wan" in status.stdout
    lab.up()
    assert lab.sh("status").returncode == 0

    # A removed key removes the qdisc.
    unshaped = tmp_path / "shaped.toml"
    text = (EXAMPLES / "shaped.toml").read_text()
    unshaped.write_text(
        text.replace('address = "10.40.0.1/30"\nrate = "10mbit"\n', 'address = "10.40.0.1/30"\n')
    )
    v2 = lab_factory(unshaped)
    status = v2.sh("status")
    assert status.returncode == 3
    assert f"extra      qdisc tbf on {p}site1:wan" in status.stdout
    v2.up()
    kinds = [
        q["kind"] for q in json.loads(run([*site1, "-j", "qdisc", "show", "dev", "wan"]).stdout)
    ]
    assert kinds == ["noqueue"]
    assert v2.sh("status").returncode == 0
    v2.down()
    assert host_residue(p) == []


# ---- TAP ------------------------------------------------------------------------------------

TAP_LAB = """
name = "taplab"

[bridges.lan]
namespace = "sw"

[namespaces.sw.interfaces.vm0]
kind = "tap"
bridge = "lan"
owner = "nobody"
group = 65534

[namespaces.h1.interfaces.eth0]
bridge = "lan"
address = "10.62.0.11/24"
"""

# Run as the TAP's owner (setpriv), with /dev/net/tun opened by root as fd 3: the kernel
# checks the owner at TUNSETIFF, and /dev/net/tun is 0600 on this machine. Attaches, and with
# an address sends an ARP request for it into the TAP and waits for the answer.
ATTACH = r"""
import fcntl, os, select, struct, sys, time
name, target = sys.argv[1], sys.argv[2]
try:
    fcntl.ioctl(3, 0x400454CA, struct.pack("16sH", name.encode(), 0x0002 | 0x1000))
except OSError as error:
    print("refused:", error.strerror)
    sys.exit(1)
print("attached")
if target == "-":
    sys.exit(0)
mac, ip = bytes.fromhex("02aabbccddee"), bytes([10, 62, 0, 99])
tip = bytes(map(int, target.split(".")))
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, ip, bytes(6), tip)
frame = b"\xff" * 6 + mac + b"\x08\x06" + arp
deadline, sent = time.monotonic() + 10, 0.0
while time.monotonic() < deadline:
    if time.monotonic() - sent > 1:
        os.write(3, frame)
        sent = time.monotonic()
    if select.select([3], [], [], 0.1)[0]:
        data = os.read(3, 2048)
        if data[12:14] == b"\x08\x06" and data[20:22] == b"\x00\x02" and data[28:32] == tip:
            print("reply from", data[22:28].hex(":"))
            sys.exit(0)
print("no reply")
sys.exit(2)
"""


def attach(
    namespace: str, tap: str, uid: int, gid: int, target: str = "-"
) -> subprocess.CompletedProcess[str]:
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 that an unprivileged user can run")
    command = (
        f"exec 3<>/dev/net/tun; exec setpriv --reuid={uid} --regid={gid} --clear-groups "
        f'{python} -c "$0" {tap} {target}'
    )
    return run(
        ["nsenter", f"--net=/run/netns/{namespace}", "sh", "-c", command, ATTACH], check=False
    )


@pytest.fixture
def tap_lab(lab_factory: LabFactory, tmp_path: Path) -> Iterator[tuple[LabFactory, Path]]:
    topology = tmp_path / "taplab.toml"
    topology.write_text(TAP_LAB)
    yield lab_factory, topology


def test_tap_attach_by_owner_and_frames_reach_the_bridge(tap_lab: tuple[LabFactory, Path]) -> None:
    factory, topology = tap_lab
    lab = factory(topology)
    first = lab.up()
    assert "creating 2 namespaces and 3 devices" in first.stdout
    sw = f"{lab.prefix}sw"
    info = json.loads(run(["ip", "-n", sw, "-d", "-j", "link", "show", "dev", "vm0"]).stdout)[0]
    data = info["linkinfo"]["info_data"]
    assert (data["type"], data["user"], data["group"]) == ("tap", "nobody", "nogroup")
    assert info["master"] == "lan"

    stranger = attach(sw, "vm0", 12345, 12345)
    assert stranger.returncode == 1 and "refused: Operation not permitted" in stranger.stdout
    owner = attach(sw, "vm0", 65534, 65534, "10.62.0.11")
    assert owner.returncode == 0, owner.stdout + owner.stderr
    h1_mac = json.loads(
        run(["ip", "-n", f"{lab.prefix}h1", "-j", "link", "show", "dev", "eth0"]).stdout
    )[0]["address"]
    assert owner.stdout.splitlines() == ["attached", f"reply from {h1_mac}"]

    status = lab.sh("status")
    assert status.returncode == 0, status.stdout
    assert f"ok         tap {sw}:vm0 owner nobody group 65534" in status.stdout
    before = lab.snapshot()
    again = lab.up()
    assert "creating" not in again.stdout
    assert lab.snapshot() == before

    # Drift: the TAP re-created by someone as root's own; up makes it the owner's again.
    run(["ip", "-n", sw, "link", "del", "dev", "vm0"])
    run(["ip", "netns", "exec", sw, "ip", "tuntap", "add", "dev", "vm0", "mode", "tap"])
    status = lab.sh("status")
    assert status.returncode == 3
    assert f"drifted (owner unset) tap {sw}:vm0" in status.stdout
    lab.up()
    assert lab.snapshot(indexes=False) == normalised(before)
    assert attach(sw, "vm0", 65534, 65534).returncode == 0

    lab.down()
    assert host_residue(lab.prefix) == []


def normalised(snapshot: dict[str, list[str]]) -> dict[str, list[str]]:
    from tests.live import normalise

    return {k: sorted(normalise(line, False) for line in v) for k, v in snapshot.items()}


def test_tap_owner_that_does_not_exist_is_refused(tap_lab: tuple[LabFactory, Path]) -> None:
    factory, topology = tap_lab
    topology.write_text(TAP_LAB.replace('owner = "nobody"', 'owner = "nsgen-no-such-user"'))
    lab = factory(topology)
    before = host_state(lab.prefix)
    result = lab.sh("up")
    assert result.returncode == 1
    assert result.stderr == (
        f"{lab.prefix}taplab: refusing: user nsgen-no-such-user, the owner of TAP "
        f"{lab.prefix}sw:vm0, does not exist on this host\n"
    )
    assert state_changes(before, host_state(lab.prefix)) == []


def test_tap_deleted_is_repaired_and_removed_tap_is_pruned(
    tap_lab: tuple[LabFactory, Path], tmp_path: Path
) -> None:
    factory, topology = tap_lab
    lab = factory(topology)
    lab.up()
    sw = f"{lab.prefix}sw"
    run(["ip", "-n", sw, "link", "del", "dev", "vm0"])
    status = lab.sh("status")
    assert status.returncode == 3
    assert f"missing    tap {sw}:vm0 owner nobody group 65534" in status.stdout
    lab.up()
    assert lab.sh("status").returncode == 0
    assert attach(sw, "vm0", 65534, 65534).returncode == 0

    # The next version of the lab has no TAP: up removes it, the rest stays as it was.
    without = tmp_path / "without.toml"
    start, end = TAP_LAB.index("[namespaces.sw.interfaces.vm0]"), TAP_LAB.index("[namespaces.h1")
    without.write_text(TAP_LAB[:start] + "[namespaces.sw]\n\n" + TAP_LAB[end:])
    v2 = factory(without)
    status = v2.sh("status")
    assert status.returncode == 3
    assert f"extra      tap {sw}:vm0" in status.stdout
    h1 = run(["ip", "-n", f"{lab.prefix}h1", "-j", "link", "show", "dev", "eth0"]).stdout
    v2.up()
    gone = run(["ip", "-n", sw, "link", "show", "dev", "vm0"], check=False)
    assert gone.returncode != 0
    assert run(["ip", "-n", f"{lab.prefix}h1", "-j", "link", "show", "dev", "eth0"]).stdout == h1
    assert v2.sh("status").returncode == 0
    v2.down()
    assert host_residue(lab.prefix) == []
