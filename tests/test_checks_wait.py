"""Live: declared checks that wait for convergence (ping, tcp, command), say why they fail,
and verify on a lab that is down or has nothing to check."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.live import LabFactory, run

LAB = """
name = "waits"

[namespaces.a.interfaces.eth0]
peer = "r:eth0"
address = ["10.61.0.1/24"]

[namespaces.r]
forwarding = true

[namespaces.r.interfaces.eth0]
address = ["10.61.0.2/24"]

[namespaces.r.interfaces.eth1]
peer = "b:eth0"
address = ["10.62.0.2/24"]

[namespaces.b]
loopback = ["10.255.61.1/32"]

[namespaces.b.interfaces.eth0]
address = ["10.62.0.1/24"]

# Nothing routes a to b's loopback until the "daemon" (the test) adds the routes.
[[checks]]
from = "a"
to = "10.255.61.1"
wait = "WAIT"

[[checks]]
from = "b"
tcp = "10.62.0.2:8179"
wait = "WAIT"

[[checks]]
from = "r"
command = 'test "$NSGEN_NS" = "$(ip netns identify)" && RUN'
"""
# The environment processes get: NSGEN_RUN is the namespace's own directory under the state.
RUN = 'test "$NSGEN_RUN" = "/run/nsgen/$NSGEN_LAB/run/$NSGEN_NS"'

LISTEN = (
    "import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
    "socket.SO_REUSEADDR, 1); s.bind(('10.62.0.2', 8179)); s.listen(); time.sleep(60)"
)


def lab_file(tmp_path: Path, wait: str) -> Path:
    path = tmp_path / "waits.toml"
    path.write_text(LAB.replace("WAIT", wait).replace("&& RUN'", f"&& {RUN}'"))
    return path


def test_checks_wait_for_routes_and_a_listener_then_pass(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = lab_factory(lab_file(tmp_path, "30s"))
    a, r, b = (f"{lab.prefix}{n}" for n in "arb")

    down = lab.sh("verify")
    assert down.returncode == 3
    assert down.stdout == f"{lab.prefix}waits: the lab is not up: run sh {lab.script} up\n"

    lab.up()
    started = time.monotonic()
    late = subprocess.Popen(
        [
            "sh",
            "-c",
            f"sleep 3; ip -n {a} route add 10.255.61.1 via 10.61.0.2;"
            f" ip -n {r} route add 10.255.61.1 via 10.62.0.1;"
            f" ip -n {b} route add 10.61.0.0/24 via 10.62.0.2;"
            f' exec ip netns exec {r} {sys.executable} -c "{LISTEN}"',
        ]
    )
    try:
        # The loopback's own ping declares no wait: --wait gives it one.
        verify = lab.sh("verify", "--wait", "30s")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert time.monotonic() - started >= 3
        lines = verify.stdout.splitlines()
        waited = [line for line in lines if "checks[0]" in line or "checks[1]" in line]
        assert len(waited) == 2
        for line in waited:
            seconds = float(line.rsplit(" after ", 1)[1].rstrip("s"))
            assert line.startswith("ok") and 2 <= seconds < 30, line
        assert any(line.startswith(f"ok    {r}: test ") for line in lines)
        assert any(
            line.startswith(f"ok    {r} -> 10.255.61.1 ({b}:lo (loopback)) after ")
            for line in lines
        )
    finally:
        late.kill()
        late.wait()


def test_a_failed_check_says_why_and_how_long_it_tried(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = lab_factory(lab_file(tmp_path, "1s"))
    lab.up()
    verify = lab.sh("verify")
    assert verify.returncode == 4
    lines = verify.stdout.splitlines()
    ping = next(line for line in lines if "checks[0]" in line)
    assert ping.startswith("FAIL") and ping.endswith(": Network is unreachable"), ping
    tcp = next(line for line in lines if "checks[1]" in line)
    assert tcp.startswith("FAIL") and tcp.endswith(": Connection refused"), tcp
    # --wait is only a default: the checks' own 1s stays, the loopback's ping waits 2s.
    started = time.monotonic()
    verify = lab.sh("verify", "--wait", "2s")
    assert verify.returncode == 4
    assert time.monotonic() - started >= 2
    loopback = next(line for line in verify.stdout.splitlines() if "(loopback)" in line)
    assert " after 2." in loopback and loopback.endswith(": Network is unreachable"), loopback
    usage = lab.sh("verify", "--wait", "soon")
    assert usage.returncode == 2 and "--wait takes whole seconds or minutes" in usage.stderr


def test_a_lab_with_nothing_to_check_says_so(lab_factory: LabFactory, tmp_path: Path) -> None:
    path = tmp_path / "quiet.toml"
    path.write_text('name = "quiet"\n[namespaces.alone]\n')
    lab = lab_factory(path)
    lab.up()
    verify = lab.sh("verify")
    assert verify.returncode == 0
    assert verify.stdout == (
        f"{lab.prefix}quiet: verify: nothing to check: the lab declares no address, route or "
        "check\n"
    )
    assert run(["ip", "netns", "list"]).returncode == 0
