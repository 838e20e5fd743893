"""`nsgen capture` and the fixture's `lab.capture`: every device the lab makes is a point
under its real name (from the resolved lab, hashed outer names included); live, a ping
across a link is in the pcap, read back with dpkt; refusals are one line."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dpkt
import pytest

from nsgen import capture, pipeline, testing
from nsgen.errors import NeedsRootError
from tests.conftest import EXAMPLES, ROOT, live_skip, live_skip_reason
from tests.live import LabFactory, host_lock
from tests.test_cli import run_cli

LONG = """
name = "long"

[bridges.br0]

[namespaces.a-very-long-name.interfaces.interface0]
bridge = "br0"
address = "10.121.0.11/24"

[namespaces.b.interfaces.eth0]
peer = "c:eth0"
address = "10.122.0.1/30"

[namespaces.c.interfaces.eth0]
peer = "b:eth0"
address = "10.122.0.2/30"
"""


def icmp(pcap: Path, source: str, target: str) -> tuple[int, int, int]:
    """(echo requests SOURCE -> TARGET, echo replies back, packets that are not ICMP)."""
    requests = replies = other = 0
    with pcap.open("rb") as handle:
        for _, frame in dpkt.pcap.Reader(handle):
            packet = dpkt.ethernet.Ethernet(frame).data
            if not isinstance(packet, dpkt.ip.IP) or not isinstance(packet.data, dpkt.icmp.ICMP):
                other += 1
                continue
            ends = (dpkt.utils.inet_to_str(packet.src), dpkt.utils.inet_to_str(packet.dst))
            if ends == (source, target) and packet.data.type == dpkt.icmp.ICMP_ECHO:
                requests += 1
            elif ends == (target, source) and packet.data.type == dpkt.icmp.ICMP_ECHOREPLY:
                replies += 1
    return requests, replies, other


# ---- the points -----------------------------------------------------------------------------


def test_list_names_every_point_with_its_real_device(tmp_path: Path) -> None:
    topology = tmp_path / "long.toml"
    topology.write_text(LONG)
    code, out, err = run_cli(["capture", "--list", "--prefix", "p1", str(topology)])
    assert (code, err) == (0, "")
    lab = pipeline.compile_lab(topology, "p1")
    outer = next(end for veth in lab.veths for end in (veth.a, veth.b) if end.master)
    # Too long for "p1a-very-long-name-interface0": derived and hashed.
    assert outer.name.startswith("p1a-very-") and len(outer.name) == 15
    rows = [line.split(None, 3) for line in out.splitlines()[1:]]
    points = {row[0]: (row[1], row[2]) for row in rows}
    assert len(points) == len(rows) == 5
    assert points == {
        "a-very-long-name:interface0": ("p1a-very-long-name", "interface0"),
        f"host:{outer.name[2:]}": ("host", outer.name),
        "b:eth0": ("p1b", "eth0"),
        "c:eth0": ("p1c", "eth0"),
        "br0": ("host", "p1br0"),
    }
    assert "port of bridge br0, veth to a-very-long-name:interface0" in out


def test_the_docs_list_is_what_capture_prints() -> None:
    marker = "<!-- nsgen capture --list examples/star.toml -->\n```text\n"
    doc = (ROOT / "docs" / "import-and-capture.md").read_text()
    shown = doc[doc.index(marker) + len(marker) :].split("```", 1)[0]
    code, out, err = run_cli(["capture", "--list", str(EXAMPLES / "star.toml")])
    assert (code, err, out) == (0, "", shown)


def test_an_unknown_point_is_one_line_naming_the_points() -> None:
    code, out, err = run_cli(["capture", str(EXAMPLES / "veth-pair.toml"), "ns1:eth9"])
    assert (code, out) == (2, "")
    assert err == (
        "nsgen: veth-pair.toml has no capture point 'ns1:eth9'; its points: ns1:veth1, ns2:veth2\n"
    )


def test_missing_tcpdump_is_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "nsgen", "capture", str(EXAMPLES / "star.toml"), "br0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "nsgen: tcpdump is not installed (Debian, Ubuntu: apt-get install tcpdump)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--list", "h1:eth0"], "nsgen: --list prints every point: give FILE alone\n"),
        ([], "nsgen: give the point to capture on (NS:IF or a bridge); --list names them\n"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    code, _, err = run_cli(["capture", str(EXAMPLES / "star.toml"), *args])
    assert (code, err) == (2, message)


@pytest.mark.parametrize(
    ("point", "shown"),
    [("ns1:veth1", "ns1:veth1"), ("host:br1-veth1", "host:br1-veth1 -w x.pcap -- icmp")],
)
def test_not_root_is_refused_before_tcpdump_starts(point: str, shown: str) -> None:
    topology = EXAMPLES / ("veth-pair.toml" if point.startswith("ns1") else "bridge.toml")
    output = "-" if point.startswith("ns1") else "x.pcap"
    bpf = () if point.startswith("ns1") else ("icmp",)
    request = capture.Request(topology, point, bpf, output=output)
    with pytest.raises(NeedsRootError) as refused:
        capture.request_argv(request, is_root=lambda: False)
    assert str(refused.value) == (
        f"needs root (CAP_NET_ADMIN): try sudo nsgen capture {topology} {shown}"
    )


def test_pcap_is_not_written_to_a_terminal() -> None:
    primary, secondary = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "nsgen", "capture", str(EXAMPLES / "star.toml"), "br0"],
            stdout=secondary,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
    finally:
        os.close(primary)
        os.close(secondary)
    assert result.returncode == 2
    assert result.stderr == (
        "nsgen: pcap is binary: give -w FILE, or pipe it (| wireshark -k -i -)\n"
    )


def test_a_point_of_a_lab_not_up_is_refused(tmp_path: Path) -> None:
    live_skip(live_skip_reason())
    code, _, err = run_cli(
        ["capture", str(EXAMPLES / "veth-pair.toml"), "ns1:veth1", "--prefix", "nx0", "-w", "x"]
    )
    assert code == 1
    assert err.startswith("nsgen: namespace nx0ns1 (ns1 with the prefix) of lab nx0veth-pair is")


# ---- live ------------------------------------------------------------------------------------


def capture_cli(args: list[str], stdout: int | Path = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """`nsgen capture ARGS` started, returned once tcpdump listens."""
    out = stdout.open("wb") if isinstance(stdout, Path) else stdout
    process = subprocess.Popen(
        [sys.executable, "-m", "nsgen", "capture", *args],
        stdout=out,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert "listening on" in line, line + process.stderr.read()
    return process


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return err


def test_capture_writes_the_ping_to_a_file_with_the_filter(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    if shutil.which("tcpdump") is None:
        live_skip("the capture tests need tcpdump")
    lab = lab_factory(EXAMPLES / "veth-pair.toml")
    lab.up()
    pcap = tmp_path / "ns1.pcap"
    topology = str(EXAMPLES / "veth-pair.toml")
    process = capture_cli(
        [topology, "ns1:veth1", "--prefix", lab.prefix, "-w", str(pcap), "--", "icmp"]
    )
    ping = ["ip", "netns", "exec", f"{lab.prefix}ns2", "ping", "-c3", "-i0.2", "10.120.0.11"]
    assert subprocess.run(ping, capture_output=True).returncode == 0
    err = stop(process)
    assert "6 packets captured" in err, err
    # The filter keeps ARP out; each request and its reply are in.
    assert icmp(pcap, "10.120.0.12", "10.120.0.11") == (3, 3, 0)
    lab.down()


def test_capture_on_a_bridge_to_stdout(lab_factory: LabFactory, tmp_path: Path) -> None:
    if shutil.which("tcpdump") is None:
        live_skip("the capture tests need tcpdump")
    lab = lab_factory(EXAMPLES / "bridge.toml")
    lab.up()
    pcap = tmp_path / "br1.pcap"
    process = capture_cli(
        [str(EXAMPLES / "bridge.toml"), "br1", "--prefix", lab.prefix], stdout=pcap
    )
    ping = ["ip", "netns", "exec", f"{lab.prefix}ns1", "ping", "-c2", "-i0.2", "10.120.0.12"]
    assert subprocess.run(ping, capture_output=True).returncode == 0
    stop(process)
    requests, replies, _ = icmp(pcap, "10.120.0.11", "10.120.0.12")
    assert (requests, replies) == (2, 2)
    lab.down()


def test_fixture_capture_returns_the_pcap_and_removes_it_with_the_lab() -> None:
    reason = testing.skip_reason() or (None if shutil.which("tcpdump") else "needs tcpdump")
    live_skip(reason)
    with host_lock():
        factory = testing.LabFactory(ROOT)
        try:
            lab = factory(EXAMPLES / "veth-pair.toml")
            with lab.capture("ns2:veth2", "icmp") as pcap:
                target = lab.address("ns2", "veth2")
                assert lab.run("ns1", "ping", "-c3", "-i0.2", target).returncode == 0
            assert icmp(pcap, lab.address("ns1", "veth1"), target) == (3, 3, 0)
            unknown = pytest.raises(testing.LabError, match="has no capture point 'ns3:x'")
            with unknown, lab.capture("ns3:x"):
                pass
        finally:
            factory.close()
    assert not pcap.exists()
