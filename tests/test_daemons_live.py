"""Files, processes and exec on the real kernel (issue 21): the two examples with their real
daemons (BIRD, FRR), the failures up reports, a foreign file, and crashes of an up that
starts processes. Everything the lab starts is found again by its pid and start time."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nsgen import runtime
from tests.conftest import EXAMPLES
from tests.live import (
    Lab,
    LabFactory,
    crash_after,
    host_residue,
    netns_names,
    operations,
    remedied_run,
    run,
)

DEADLINE = 60.0
BIRD = shutil.which("bird") is not None and shutil.which("birdc") is not None
FRR = Path("/usr/lib/frr/zebra").exists() and shutil.which("vtysh") is not None
needs_bird = pytest.mark.skipif(not BIRD, reason="bird2 is not installed (apt-get install bird2)")
needs_frr = pytest.mark.skipif(not FRR, reason="frr is not installed (apt-get install frr)")


def copy_example(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    return target / f"{name}.toml"


def state(lab: Lab, name: str) -> Path:
    return Path("/run/nsgen") / f"{lab.prefix}{name}"


def pids(lab: Lab, name: str) -> dict[str, int]:
    """The record: "NS:NAME" -> pid, the last line of each process."""
    out: dict[str, int] = {}
    for line in (state(lab, name) / "processes").read_text().splitlines():
        ns, process, pid, *_ = line.split()
        out[f"{ns}:{process}"] = int(pid)
    return out


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(") ", 1)[1].split()[0] != "Z"


def lab_processes(lab_name: str) -> list[int]:
    """Every process whose environment names the lab: what the lab started, or left."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"NSGEN_LAB={lab_name}".encode() in environ:
                found.append(int(entry.name))
    return found


def wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"not within {DEADLINE:.0f} s: {what}"
        time.sleep(0.2)


def routes(ns: str, proto: str) -> str:
    return run(["ip", "-n", ns, "route", "show", "proto", proto], check=False).stdout


def nsgen_exec(lab: Lab, namespace: str, *command: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "nsgen", "exec", str(lab.topology), namespace]
    return run([*argv, "--prefix", lab.prefix, "--", *command], check=False)


def assert_verify_waits(lab: Lab, declared: int) -> None:
    """verify passes, each of the lab's declared checks once it has, with how long it took."""
    verify = lab.sh("verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    waited = [line for line in verify.stdout.splitlines() if "checks[" in line]
    assert len(waited) == declared, verify.stdout
    for line in waited:
        assert line.startswith("ok") and " after " in line, line


def assert_gone(lab: Lab, name: str, started: list[int]) -> None:
    assert host_residue(lab.prefix) == []
    assert [p for p in started if alive(p)] == []
    assert lab_processes(f"{lab.prefix}{name}") == []


@needs_bird
def test_ospf_bird_converges_stays_put_and_goes(lab_factory: LabFactory, tmp_path: Path) -> None:
    topology = copy_example("ospf-bird", tmp_path)
    lab = lab_factory(topology)
    first = lab.up()
    assert "processes: started 3, all ready" in first.stdout
    p = lab.prefix
    status = lab.sh("status")
    assert status.returncode == 0, status.stdout
    for r in ("r1", "r2", "r3"):
        assert f"ok         process {p}{r}:bird running" in status.stdout
    # BIRD reads the lab's file: ip netns exec shows /etc/netns/r1/bird as /etc/bird.
    shown = run(["ip", "netns", "exec", f"{p}r1", "cat", "/etc/bird/bird.conf"]).stdout
    assert shown.startswith(f"# BIRD of {p}r1 in lab {p}ospf-bird")
    # The lab's own checks wait for OSPF: hosts across the triangle, a loopback, r1's
    # neighbours in state Full.
    assert_verify_waits(lab, 5)
    for m in (1, 2, 3):
        learned = routes(f"{p}r{m}", "bird")
        for n in (1, 2, 3):
            if n != m:
                assert f"10.1.{n}.0/24" in learned, learned
                assert f"10.255.0.{n} " in learned, learned
    # nsgen exec reaches r1's BIRD by its socket, $NSGEN_RUN quoted from the caller's shell.
    neighbours = nsgen_exec(
        lab, "r1", "birdc", "-s", "$NSGEN_RUN/bird.ctl", "show", "ospf", "neighbors"
    )
    assert neighbours.returncode == 0, neighbours.stderr
    assert sorted(re.findall(r"^(10\.255\.0\.\d)\s.*\sFull/PtP\s", neighbours.stdout, re.M)) == [
        "10.255.0.2",
        "10.255.0.3",
    ], neighbours.stdout

    before = pids(lab, "ospf-bird")
    files = {r: Path(f"/etc/netns/{p}{r}/bird/bird.conf") for r in ("r1", "r2", "r3")}
    mtimes = {r: f.stat().st_mtime_ns for r, f in files.items()}
    exec_out = state(lab, "ospf-bird") / "run" / f"{p}r3" / "neighbours-at-up"
    exec_mtime = exec_out.stat().st_mtime_ns
    again = lab.up()
    for said in ("files:", "processes:", "exec:", "restarting", "starting"):
        assert said not in again.stdout
    assert pids(lab, "ospf-bird") == before
    assert {r: f.stat().st_mtime_ns for r, f in files.items()} == mtimes
    assert exec_out.stat().st_mtime_ns == exec_mtime

    # r1 gets a configuration of its own: only r1's BIRD restarts.
    template = topology.parent / "bird.conf.j2"
    (topology.parent / "r1.conf.j2").write_text(template.read_text() + "# r1 edited\n")
    text = topology.read_text()
    topology.write_text(text.replace('"bird.conf.j2"', '"r1.conf.j2"', 1))
    lab = lab_factory(topology)
    edited = lab.up()
    assert f"restarting {p}r1:bird (changed)" in edited.stdout
    after = pids(lab, "ospf-bird")
    assert after[f"{p}r1:bird"] != before[f"{p}r1:bird"]
    assert not alive(before[f"{p}r1:bird"])
    assert {k: v for k, v in after.items() if "r1:" not in k} == {
        k: v for k, v in before.items() if "r1:" not in k
    }
    assert files["r1"].read_text().endswith("# r1 edited\n")
    assert exec_out.stat().st_mtime_ns == exec_mtime  # r3's exec: nothing of r3 changed

    # A process that dies is reported, then started again by up.
    os.kill(after[f"{p}r2:bird"], 9)
    wait_for("r2's BIRD gone", lambda: not alive(after[f"{p}r2:bird"]))
    status = lab.sh("status")
    assert status.returncode == 3
    assert f"dead       process {p}r2:bird (pid {after[f'{p}r2:bird']} has exited" in status.stdout
    restarted = lab.up()
    assert f"{p}r2:bird had exited (pid {after[f'{p}r2:bird']}): starting it again" in (
        restarted.stdout
    )
    assert alive(pids(lab, "ospf-bird")[f"{p}r2:bird"])
    assert lab.sh("status").returncode == 0

    # A process the lab no longer declares is stopped; its namespace stays.
    r3_bird = pids(lab, "ospf-bird")[f"{p}r3:bird"]
    text = topology.read_text()
    start = text.index("processes = [", text.index("[namespaces.r3]"))
    end = text.index("[namespaces.h1]")
    topology.write_text(text[:start] + text[end:])
    lab = lab_factory(topology)
    removed = lab.up()
    assert f"stopping {p}r3:bird, no longer declared" in removed.stdout
    assert not alive(r3_bird)
    assert f"{p}r3:bird" not in pids(lab, "ospf-bird")
    assert lab.sh("status").returncode == 0

    running = list(pids(lab, "ospf-bird").values())
    lab.down()
    assert_gone(lab, "ospf-bird", running + list(before.values()))


@needs_frr
def test_bgp_frr_learns_stays_put_and_goes(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab = lab_factory(copy_example("bgp-frr", tmp_path))
    first = lab.up()
    assert "processes: started 4, all ready" in first.stdout
    assert first.stdout.count("exec: ran 1 in") == 2
    p = lab.prefix
    # The lab's own checks wait for BGP: h1 to h2, r1 to r2's loopback, r2's port 179, the
    # session Established.
    assert_verify_waits(lab, 4)
    for here, there in (("r1", "2"), ("r2", "1")):
        learned = routes(f"{p}{here}", "bgp")
        assert f"10.{there}.0.0/24" in learned, learned
        assert f"10.255.0.{there} " in learned, learned
    assert lab.sh("status").returncode == 0
    before = pids(lab, "bgp-frr")
    again = lab.up()
    assert "exec:" not in again.stdout and "starting" not in again.stdout
    assert pids(lab, "bgp-frr") == before
    lab.down()
    assert_gone(lab, "bgp-frr", list(before.values()))


SLEEPERS = """
name = "sleepers"
[namespaces.a]
interfaces.eth0 = { peer = "b:eth0", address = "10.78.0.1/31" }
files."default/PREFIXconf" = { text = "one\\n" }
exec = ["echo ran >>$NSGEN_RUN/exec.log"]
[[namespaces.a.processes]]
name = "first"
command = "exec sleep 1000"
ready = "test -d $NSGEN_RUN"
[[namespaces.a.processes]]
name = "second"
command = "exec sleep 1001"
after = "first"
[namespaces.b]
interfaces.eth0 = { address = "10.78.0.0/31" }
"""


def sleepers(tmp_path: Path, lab_factory: LabFactory, extra: str = "") -> Lab:
    topology = tmp_path / "sleepers.toml"
    topology.write_text(SLEEPERS.replace("PREFIX", lab_factory.prefix) + extra)
    return lab_factory(topology)


def test_a_process_never_ready_fails_up_with_its_log(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = sleepers(
        tmp_path,
        lab_factory,
        '[[namespaces.b.processes]]\nname = "slow"\n'
        'command = "echo hello-from-the-log; exec sleep 1002"\n'
        'ready = "false"\nready_timeout = "1s"\n',
    )
    result = lab.sh("up")
    assert result.returncode == 1
    assert "hello-from-the-log" in result.stderr
    assert f"{lab.prefix}b:slow was not ready after 1000ms" in result.stderr
    started = list(pids(lab, "sleepers").values())
    lab.down()
    assert_gone(lab, "sleepers", started)


def test_a_process_that_exits_fails_up_with_its_log(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = sleepers(
        tmp_path,
        lab_factory,
        '[[namespaces.b.processes]]\nname = "bad"\ncommand = "echo no-config >&2; exit 3"\n'
        'ready = "false"\n',
    )
    result = lab.sh("up")
    assert result.returncode == 1
    assert "no-config" in result.stderr
    assert f"{lab.prefix}b:bad exited before it was ready" in result.stderr
    lab.down()
    assert_gone(lab, "sleepers", [])


def test_nsgen_exec_gets_what_the_lab_processes_get(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = sleepers(tmp_path, lab_factory)
    lab.up()
    started = pids(lab, "sleepers")
    environ = Path(f"/proc/{started[f'{lab.prefix}a:first']}/environ").read_bytes().split(b"\0")
    given = sorted(v.decode() for v in environ if re.match(rb"NSGEN_(LAB|NS|RUN)=", v))
    assert len(given) == 3
    seen = nsgen_exec(lab, "a", "sh", "-c", "env | grep -E '^NSGEN_(LAB|NS|RUN)=' | sort")
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.splitlines() == given
    # Without a shell, in the command's words: the run directory the processes write to.
    listed = nsgen_exec(lab, "a", "cat", "${NSGEN_RUN}/exec.log")
    assert (listed.returncode, listed.stdout) == (0, "ran\n"), listed.stderr
    lab.down()
    assert_gone(lab, "sleepers", list(started.values()))


def test_a_foreign_file_is_refused_and_left_intact(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab = sleepers(tmp_path, lab_factory)
    foreign = Path(f"/etc/netns/{lab.prefix}a/default/{lab.prefix}conf")
    foreign.parent.mkdir(parents=True)
    foreign.write_text("someone else's\n")
    result = lab.sh("up")
    assert result.returncode == 1
    assert f"refusing: {foreign} exists and was not written by lab" in result.stderr
    assert foreign.read_text() == "someone else's\n"
    # Refused before anything changed: no namespace, no state.
    assert host_residue(lab.prefix) == [f"files /etc/netns/{lab.prefix}a"]


def test_files_are_repaired_rewritten_and_removed(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab = sleepers(tmp_path, lab_factory)
    lab.up()
    path = Path(f"/etc/netns/{lab.prefix}a/default/{lab.prefix}conf")
    assert path.read_text() == "one\n"
    seen = run(["ip", "netns", "exec", f"{lab.prefix}a", "cat", f"/etc/default/{lab.prefix}conf"])
    assert seen.stdout == "one\n"
    path.write_text("edited by hand\n")
    assert "drifted    file" in lab.sh("status").stdout
    lab.up()
    assert path.read_text() == "one\n"
    topology = lab.topology
    topology.write_text(topology.read_text().replace("files.", "# files.", 1))
    lab = lab_factory(topology)
    lab.up()
    assert not path.exists()
    started = list(pids(lab, "sleepers").values())
    lab.down()
    assert_gone(lab, "sleepers", started)


FAKE_IP = """#!/bin/sh
# The real ip, except that each `ip netns exec` (a process started, a ready or exec command)
# spends one of the budget in $CUT_FILE: when it is spent, the script's whole process group
# (its pid in $GROUP_FILE) is SIGKILLed, as in a crash, and this command fails.
case "$1 $2" in
"netns exec")
    left=$(($(cat "$CUT_FILE") - 1))
    echo "$left" >"$CUT_FILE"
    if [ "$left" -le 0 ]; then
        kill -9 "-$(cat "$GROUP_FILE")"
        exit 1
    fi
    ;;
esac
exec "$REAL_IP" "$@"
"""


def crash_up(lab: Lab, workdir: Path, budget: int) -> int:
    """Run up with a budget of `ip netns exec` calls; what is left of it."""
    bindir = workdir / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / "ip"
    fake.write_text(FAKE_IP)
    fake.chmod(0o755)
    cut, group = workdir / "cut", workdir / "group"
    cut.write_text(str(budget))
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    real = shutil.which("ip")
    assert real is not None
    env = dict(
        os.environ,
        PATH=f"{bindir}:{os.environ['PATH']}",
        CUT_FILE=str(cut),
        GROUP_FILE=str(group),
        REAL_IP=real,
        TMPDIR=str(scratch),
    )
    subprocess.run(
        ["setsid", "sh", "-c", 'echo $$ >"$GROUP_FILE"; exec sh "$0" up', str(lab.script)],
        env=env,
        capture_output=True,
        check=False,
    )
    return int(cut.read_text())


@pytest.mark.slow
def test_up_killed_at_each_daemon_step_converges_and_goes(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = sleepers(tmp_path, lab_factory)
    steps = 1000 - crash_up(lab, tmp_path, 1000)
    lab.down()
    assert steps >= 4  # two starts, a ready command, the exec
    for cut in range(1, steps + 1):
        crash_up(lab, tmp_path, cut)
        lab.up()
        status = lab.sh("status")
        assert status.returncode == 0, f"cut {cut}: {status.stdout}"
        recorded = pids(lab, "sleepers")
        assert sorted(lab_processes(f"{lab.prefix}sleepers")) == sorted(recorded.values()), (
            f"cut {cut}: a process the record does not hold"
        )
        exec_log = state(lab, "sleepers") / "run" / f"{lab.prefix}a" / "exec.log"
        assert exec_log.read_text().count("ran") >= 1
        lab.down()
        assert_gone(lab, "sleepers", list(recorded.values()))


@pytest.mark.slow
def test_up_killed_at_each_wiring_step_converges_with_its_processes(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    """The same lab, `up` SIGKILLed after each of its ip operations (before any process
    starts), then a whole up and down."""
    lab = sleepers(tmp_path, lab_factory)
    steps = operations(lab, "up")
    assert steps > 0
    for cut in range(steps + 1):
        crash_after(lab, "up", cut, tmp_path)
        # Killed right after its namespaces' batch, before their identities were recorded:
        # `up` names them with the remedy (tests/live.py remedied_run), which is followed.
        result, _ = remedied_run(lab, "up", f"cut {cut}")
        assert result.returncode == 0, f"cut {cut}: {result.stderr}"
        status = lab.sh("status")
        assert status.returncode == 0, f"cut {cut}: {status.stdout}"
        recorded = pids(lab, "sleepers")
        assert sorted(lab_processes(f"{lab.prefix}sleepers")) == sorted(recorded.values())
        lab.down()
        assert_gone(lab, "sleepers", list(recorded.values()))


def test_down_by_the_record_alone_stops_and_removes_all(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    """`nsgen down --lab NAME`, for a lab whose file is gone: its script declares nothing,
    yet stops the processes and removes the files the record lists."""
    lab = sleepers(tmp_path, lab_factory)
    lab.up()
    started = list(pids(lab, "sleepers").values())
    down = run(
        [sys.executable, "-m", "nsgen", "down", "--lab", f"{lab.prefix}sleepers"], check=False
    )
    assert down.returncode == 0, down.stderr
    assert_gone(lab, "sleepers", started)


WIRES_ONLY = """
name = "sleepers"
[namespaces.a]
interfaces.eth0 = { peer = "b:eth0", address = "10.78.0.1/31" }
[namespaces.b]
interfaces.eth0 = { address = "10.78.0.0/31" }
"""


@pytest.mark.parametrize("action", ["up", "down"])
def test_a_version_without_daemons_stops_and_removes_those_before(
    lab_factory: LabFactory, tmp_path: Path, action: str
) -> None:
    """The lab drops the last of its files, processes and exec: the new script (which
    carries none of their modules) stops what the record says the lab started and removes
    the files it wrote, on up (pruning) and on down, and leaves the wires."""
    lab = sleepers(tmp_path, lab_factory)
    lab.up()
    started = list(pids(lab, "sleepers").values())
    p = lab.prefix
    written = Path(f"/etc/netns/{p}a/default/{p}conf")
    assert written.read_text() == "one\n" and all(alive(pid) for pid in started)
    (tmp_path / "sleepers.toml").write_text(WIRES_ONLY)
    wires = lab_factory(tmp_path / "sleepers.toml")
    assert "processes_up" not in wires.text and "files_up" not in wires.text
    assert "processes_prune" not in wires.text
    result = wires.sh(action)
    assert result.returncode == 0, result.stderr + result.stdout
    assert [pid for pid in started if alive(pid)] == []
    assert lab_processes(f"{p}sleepers") == []
    assert not written.exists() and not Path(f"/etc/netns/{p}a/default").exists()
    if action == "up":
        assert "stopping" in result.stdout
        # The kept remover ran, and goes with the last of what it removes.
        records = {"processes", "files", "exec", "pid", "removers"}
        assert records.isdisjoint(x.name for x in state(lab, "sleepers").iterdir())
        assert sorted(wires.namespaces()) == sorted(n for n in netns_names() if n.startswith(p))
        assert wires.sh("status").returncode == 0
        assert wires.up().stdout.count("stopping") == 0
        wires.down()
    assert_gone(lab, "sleepers", started)


def test_a_kept_remover_is_the_carried_one_and_only_a_trusted_copy_runs(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    """up keeps the remover of processes and files beside the record, as the script carries
    it; a version of the lab that carries none runs that copy, but not once others can write
    it: then it refuses in one line and changes nothing."""
    lab = sleepers(tmp_path, lab_factory)
    lab.up()
    started = list(pids(lab, "sleepers").values())
    kept = state(lab, "sleepers") / "removers" / "daemons-prune.sh"
    assert kept.read_text() == runtime.part("daemons-prune", "sh")
    assert kept.stat().st_uid == 0 and kept.stat().st_mode & 0o022 == 0
    (tmp_path / "sleepers.toml").write_text(WIRES_ONLY)
    wires = lab_factory(tmp_path / "sleepers.toml")
    kept.chmod(0o664)
    for action in ("up", "down"):
        result = wires.sh(action)
        assert result.returncode == 1, result.stdout
        assert result.stderr.count("\n") == 1, result.stderr
        assert f"refusing: {kept} is writable by group or others (mode 664)" in result.stderr
        assert all(alive(pid) for pid in started)
    kept.chmod(0o644)
    lab.down()
    assert_gone(lab, "sleepers", started)
