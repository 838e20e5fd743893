"""The executor: `nsgen up|down|status|verify` run the rendered script with `sh -s ACTION`.

The first half needs no root: what runs, what is refused before anything runs, and how
output is relayed. The live half runs each verb on the real kernel under lab_factory's
prefix, the remote path through a fake ssh, and the non-root refusal for real.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from nsgen import __version__, execute, load, pipeline
from nsgen.errors import NeedsRootError, RunnerError, StaleScriptError
from nsgen.execute import Request
from nsgen.plan import AddBridge, AddNamespace, AddVeth
from tests.conftest import EXAMPLES, ROOT
from tests.live import NOT_ROOT, Lab, LabFactory, host_residue, netns_names, run

STAR = EXAMPLES / "star.toml"
ROUTED = EXAMPLES / "routed.toml"
# Bar redraws start with carriage return and erase-line; plain output never has them.
REDRAW = "\r\x1b[K"


def nsgen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`nsgen ARGS` as a user runs it, from this tree."""
    return subprocess.run(
        [sys.executable, "-m", "nsgen", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


def lab_args(lab: Lab) -> list[str]:
    return [str(lab.topology), "--prefix", lab.prefix]


def nsgen_said_nothing(stderr: str) -> bool:
    """The script's stderr is relayed as it is: ip can complain there about other people's
    half-deleted namespaces on a shared host ("Peer netns reference is invalid"). nsgen
    itself must add nothing."""
    return "nsgen:" not in stderr and "Traceback" not in stderr


# ---- What runs, and what is refused before it runs (no root needed)


def test_header_names_the_source_and_its_sha256() -> None:
    header = execute.read_header(pipeline.render_file(STAR))
    assert header == execute.ScriptHeader(__version__, "star.toml", load.load(STAR).sha256)


def test_a_file_without_the_header_has_none() -> None:
    assert execute.read_header("#!/bin/sh\necho hello\n") is None


@pytest.mark.parametrize(
    ("request_", "argv"),
    [
        (Request("up", STAR), ["sh", "-s", "up"]),
        (Request("down", STAR, dry_run=True), ["sh", "-s", "down", "--dry-run"]),
        (Request("verify", STAR, ssh="lab1"), ["ssh", "lab1", "sudo", "sh", "-s", "verify"]),
        (
            Request("status", STAR, ssh="me@lab1", sudo=True),
            ["ssh", "me@lab1", "sudo", "sh", "-s", "status"],
        ),
        (Request("up", STAR, ssh="lab1", sudo=False), ["ssh", "lab1", "sh", "-s", "up"]),
    ],
)
def test_argv(request_: Request, argv: list[str]) -> None:
    assert request_.argv() == argv


def test_script_is_what_render_prints() -> None:
    request = Request("up", ROUTED, prefix="zz")
    assert execute.script_text(request) == pipeline.render_file(ROUTED, "zz")


def write_script(tmp_path: Path, topology: Path, prefix: str = "") -> Path:
    script = tmp_path / "setup.sh"
    script.write_text(pipeline.render_file(topology, prefix))
    return script


def edited_copy(tmp_path: Path, topology: Path) -> Path:
    copy = tmp_path / "edited" / topology.name
    copy.parent.mkdir()
    copy.write_text(topology.read_text() + "# edited after rendering\n")
    return copy


def test_committed_script_of_this_topology_runs_as_is(tmp_path: Path) -> None:
    script = write_script(tmp_path, STAR, "zz")
    assert execute.script_text(Request("up", STAR, script=script)) == script.read_text()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "edited",
            "setup.sh was rendered from another version of star.toml; run nsgen render again",
        ),
        ("other", "setup.sh was rendered from routed.toml, not star.toml; run nsgen render again"),
        ("foreign", "setup.sh is not a script rendered by nsgen (no source sha256 in its header)"),
    ],
)
def test_stale_script_is_refused(tmp_path: Path, case: str, message: str) -> None:
    script = write_script(tmp_path, ROUTED if case == "other" else STAR)
    topology = edited_copy(tmp_path, STAR) if case == "edited" else STAR
    if case == "foreign":
        script.write_text("#!/bin/sh\nip link\n")
    with pytest.raises(StaleScriptError) as caught:
        execute.script_text(Request("up", topology, script=script))
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sudo"], "--sudo/--no-sudo go with --ssh"),
        (["--ssh", "-oProxyCommand=id"], "--ssh wants [USER@]HOST, not '-oProxyCommand=id'"),
        (["--ssh", "a b"], "--ssh wants [USER@]HOST, not 'a b'"),
        (["--script", "setup.sh", "--prefix", "zz"], "--prefix goes with rendering"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = nsgen("up", str(STAR), *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"nsgen: {message}")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["down"], "down needs FILE or --lab NAME"),
        (["down", str(STAR), "--lab", "star"], "give FILE or --lab NAME, not both"),
        (["down", "--lab", "star", "--prefix", "zz"], "--lab names the lab as recorded"),
    ],
)
def test_down_lab_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = nsgen(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"nsgen: {message}" + result.stderr[len(message) + 7 :]
    assert result.stderr.count("\n") == 1


def test_down_lab_runs_the_down_of_an_empty_lab_of_that_name() -> None:
    text = execute.script_text(Request("down", None, lab="evo"))
    assert "LAB='evo'" in text and "NAMESPACES=''" in text
    assert execute.script_text(Request("labs", None)).count("\nnetns ") == 0
    assert Request("down", None, lab="evo").argv() == ["sh", "-s", "down"]
    assert Request("down", None, lab="evo").invocation() == "nsgen down --lab evo"


def test_bad_action_exits_2() -> None:
    result = nsgen("sideways", str(STAR))
    assert result.returncode == 2
    assert "No such command" in result.stderr


def test_stale_script_exits_1_with_one_line(tmp_path: Path) -> None:
    script = write_script(tmp_path, STAR)
    result = nsgen("down", str(edited_copy(tmp_path, STAR)), "--script", str(script))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "nsgen: setup.sh was rendered from another version of star.toml; run nsgen render again\n"
    )


def test_unreadable_script_exits_1(tmp_path: Path) -> None:
    result = nsgen("up", str(STAR), "--script", str(tmp_path / "setup.sh"))
    assert (result.returncode, result.stdout) == (1, "")
    assert (
        result.stderr == f"nsgen: {tmp_path / 'setup.sh'}: cannot read: No such file or directory\n"
    )


def test_invalid_topology_exits_1_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[namespaces.h1.interfaces.eth0]\npeer = "h9:eth0"\n')
    result = nsgen("up", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith("bad.toml: namespaces.h1.interfaces.eth0.peer: ")


class Started(Exception):
    """Raised by a stand-in for stream(): the script would have started."""


def no_script(argv: list[str], script: str, *, progress: bool) -> int:
    raise Started(argv)


def test_not_root_is_refused_before_the_script_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execute, "stream", no_script)
    request = Request("up", Path("examples/star.toml"), prefix="zz", dry_run=True)
    with pytest.raises(NeedsRootError) as caught:
        execute.run(request, is_root=lambda: False)
    assert str(caught.value) == (
        "needs root (CAP_NET_ADMIN): try sudo nsgen up examples/star.toml --dry-run --prefix zz"
    )


def test_remote_runs_do_not_need_local_root(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[list[str], str]] = []

    def record(argv: list[str], script: str, *, progress: bool) -> int:
        ran.append((argv, script))
        return 3

    monkeypatch.setattr(execute, "stream", record)
    code = execute.run(Request("status", STAR, ssh="lab1"), is_root=lambda: False, progress=False)
    assert code == 3
    assert ran == [(["ssh", "lab1", "sudo", "sh", "-s", "status"], pipeline.render_file(STAR))]


def test_ssh_failure_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execute, "stream", lambda argv, script, *, progress: 255)
    with pytest.raises(RunnerError, match=r"^ssh lab1 failed \(exit 255, see above\)"):
        execute.run(Request("up", STAR, ssh="lab1"), progress=False)


def test_exit_status_and_signals_pass_through() -> None:
    assert execute.stream(["sh", "-s"], "exit 4\n", progress=False) == 4
    assert execute.stream(["sh", "-s"], "kill -TERM $$\n", progress=False) == 128 + 15


def test_missing_runner_is_one_line() -> None:
    with pytest.raises(RunnerError, match=r"^cannot run nsgen-no-such-shell: No such file"):
        execute.stream(["nsgen-no-such-shell"], "", progress=False)


def test_ctrl_c_lets_the_script_clean_up_and_exits_130() -> None:
    """SIGINT to the whole process group, as a terminal sends it: the script's trap runs
    and nsgen exits with its status instead of dying first with a traceback."""
    driver = textwrap.dedent(
        """
        import sys
        from nsgen import execute
        script = "trap 'echo cleaned up; exit 130' INT\\necho ready\\n"
        script += "while :; do sleep 0.05; done\\n"
        sys.exit(execute.stream(["sh", "-s"], script, progress=False))
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", driver],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    os.killpg(child.pid, signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert (child.returncode, out, err) == (130, "cleaned up\n", "")


def test_cli_imports_the_executor_only_when_a_verb_runs() -> None:
    probe = "import sys, nsgen.cli; print(sorted({'nsgen.execute', 'jinja2'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout == "[]\n"


# ---- Progress: the script's "LAB: [I/N] WHAT" lines drawn as a bar on a terminal


def test_progress_lines_are_parsed() -> None:
    phase = execute.parse_progress(b"t1star: [2/2] configuring 4 namespaces\n", 5.0)
    assert phase == execute.Phase("t1star", 2, 2, "configuring 4 namespaces", 5.0)
    assert execute.parse_progress(b"t1star: up\n", 5.0) is None
    assert execute.parse_progress(b"ok    h1 -> 10.0.0.1 (host:br0)\n", 5.0) is None


def test_bar_fills_with_the_phases_done_and_fits_the_terminal() -> None:
    first = execute.Phase("star", 1, 2, "creating 4 namespaces and 5 devices", 10.0)
    second = execute.Phase("star", 2, 2, "configuring 4 namespaces", 10.0)
    width = execute.BAR_WIDTH
    assert execute.bar_line(first, 11.25, 200) == (
        f"star [{'-' * width}] 1/2 creating 4 namespaces and 5 devices 1.2s"
    )
    assert execute.bar_line(second, 10.0, 200) == (
        f"star [{'#' * (width // 2)}{'-' * (width // 2)}] 2/2 configuring 4 namespaces 0.0s"
    )
    assert len(execute.bar_line(second, 10.0, 30)) == 29


def test_display_relays_every_line_and_draws_the_bar_below() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    child = subprocess.Popen(
        [
            "sh",
            "-c",
            "echo 'lab: [1/2] creating'; echo warning >&2; sleep 0.3; "
            "echo 'lab: [2/2] configuring'; printf 'lab: up'",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    execute.relay(child.stdout, child.stderr, execute.Display(out, err, columns=100))
    assert child.wait() == 0
    shown = out.getvalue().decode()
    assert err.getvalue() == b"warning\n"
    # The bar ticks while the script is quiet, and is erased at the end.
    assert shown.count(f"{REDRAW}lab [{'-' * execute.BAR_WIDTH}] 1/2 creating") >= 2
    assert shown.endswith(REDRAW)
    assert without_bar(shown) == "lab: [1/2] creating\nlab: [2/2] configuring\nlab: up\n"


def without_bar(shown: str) -> str:
    """What stays on the screen once the bar is erased: erase-line drops the unfinished line."""
    screen, line = [], ""
    for part in re.split(r"(\r\x1b\[K|\n)", shown.replace("\r\n", "\n")):
        if part == REDRAW:
            line = ""
        elif part == "\n":
            screen.append(line + "\n")
            line = ""
        else:
            line += part
    return "".join(screen) + line


# ---- Live: each verb on the real kernel


def counts(topology: Path) -> tuple[str, int, int]:
    """The lab name, namespaces and devices its `up` creates on a clean host."""
    plan = pipeline.compile_plan(topology)
    devices = sum(isinstance(op, AddBridge | AddVeth) for op in plan.ops)
    return plan.lab.name, sum(isinstance(op, AddNamespace) for op in plan.ops), devices


@pytest.mark.parametrize("topology", [STAR, ROUTED], ids=["star", "routed"])
def test_each_verb(lab_factory: LabFactory, topology: Path) -> None:
    lab = lab_factory(topology)
    name, namespaces, devices = counts(topology)
    name = lab.prefix + name

    before = nsgen("status", *lab_args(lab))
    assert before.returncode == 3, before.stderr
    assert before.stdout.splitlines()[-1].startswith(f"{name}: 0 of ")
    assert host_residue(lab.prefix) == []

    up = nsgen("up", *lab_args(lab))
    assert up.returncode == 0, up.stderr
    assert nsgen_said_nothing(up.stderr)
    assert up.stdout == (
        f"{name}: [1/2] creating {namespaces} namespaces and {devices} devices\n"
        f"{name}: [2/2] configuring {namespaces} namespaces\n"
        f"{name}: up\n"
    )

    verify = nsgen("verify", *lab_args(lab))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "FAIL" not in verify.stdout

    status = nsgen("status", *lab_args(lab))
    assert status.returncode == 0, status.stdout
    assert status.stdout == lab.sh("status").stdout, "nsgen ran another script than render's"

    snapshot = lab.snapshot()
    again = nsgen("up", *lab_args(lab))
    assert again.returncode == 0
    assert "creating" not in again.stdout
    assert lab.snapshot() == snapshot

    down = nsgen("down", *lab_args(lab))
    assert down.returncode == 0, down.stderr
    assert nsgen_said_nothing(down.stderr)
    assert down.stdout.endswith(f"{name}: down\n")
    assert REDRAW not in up.stdout + down.stdout
    assert host_residue(lab.prefix) == []
    assert nsgen("status", *lab_args(lab)).returncode == 3


def test_dry_run_changes_nothing(lab_factory: LabFactory) -> None:
    lab = lab_factory(ROUTED)
    dry = nsgen("up", "--dry-run", *lab_args(lab))
    assert dry.returncode == 0, dry.stderr
    assert f"ip netns add {lab.prefix}r1\n" in dry.stdout
    assert host_residue(lab.prefix) == []

    assert nsgen("up", *lab_args(lab)).returncode == 0
    snapshot = lab.snapshot()
    dry_down = nsgen("down", "-n", *lab_args(lab))
    assert dry_down.returncode == 0, dry_down.stderr
    assert f"ip netns del {lab.prefix}r1\n" in dry_down.stdout
    assert lab.snapshot() == snapshot


def test_failed_verify_exits_4(lab_factory: LabFactory) -> None:
    lab = lab_factory(STAR)
    assert nsgen("up", *lab_args(lab)).returncode == 0
    run(["ip", "-n", f"{lab.prefix}h2", "address", "flush", "dev", "eth0"])
    verify = nsgen("verify", *lab_args(lab))
    assert verify.returncode == 4
    # With ping's own reason after the colon (nothing answers ARP for the flushed address).
    assert f"FAIL  {lab.prefix}h3 -> 10.0.0.12 ({lab.prefix}h2:eth0): " in verify.stdout


def test_script_errors_pass_through_with_their_exit_codes(lab_factory: LabFactory) -> None:
    lab = lab_factory(STAR)
    dry_status = nsgen("status", "--dry-run", *lab_args(lab))
    assert dry_status.returncode == 2
    assert "--dry-run goes with up or down" in dry_status.stderr

    decoy = f"{lab.prefix}h3"
    run(["ip", "netns", "add", decoy])
    try:
        refused = nsgen("up", *lab_args(lab))
        assert refused.returncode == 1
        assert f"namespace {decoy} exists and was not created by lab" in refused.stderr
        assert host_residue(lab.prefix) == [f"netns {decoy}"]
    finally:
        run(["ip", "netns", "del", decoy], check=False)


def test_committed_script_runs_only_while_fresh(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab = lab_factory(STAR)
    stale_topology = edited_copy(tmp_path, STAR)
    refused = nsgen("up", str(stale_topology), "--script", str(lab.script))
    assert refused.returncode == 1
    assert refused.stderr == (
        f"nsgen: {lab.script.name} was rendered from another version of star.toml; "
        "run nsgen render again\n"
    )
    assert host_residue(lab.prefix) == []

    up = nsgen("up", str(STAR), "--script", str(lab.script))
    assert up.returncode == 0, up.stderr
    assert lab.sh("status").returncode == 0
    snapshot = lab.snapshot()
    assert nsgen("down", str(stale_topology), "--script", str(lab.script)).returncode == 1
    assert lab.snapshot() == snapshot
    assert nsgen("down", str(STAR), "--script", str(lab.script)).returncode == 0
    assert host_residue(lab.prefix) == []


FAKE_SSH = """#!/bin/sh
# ssh DESTINATION COMMAND...: record the command line and the script, then do what sshd
# does with them: hand the joined command to a shell, the script on its stdin.
printf '%s\\n' "$@" >>"$FAKE_LOG/ssh.args"
cat >"$FAKE_LOG/ssh.stdin"
if [ "$1" = unreachable ]; then
    echo "ssh: Could not resolve hostname unreachable: Name or service not known" >&2
    exit 255
fi
shift
exec sh -c "$*" <"$FAKE_LOG/ssh.stdin"
"""

FAKE_SUDO = """#!/bin/sh
echo "$@" >>"$FAKE_LOG/sudo.args"
exec "$@"
"""


def fake_remote(tmp_path: Path) -> tuple[dict[str, str], Path]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in (("ssh", FAKE_SSH), ("sudo", FAKE_SUDO)):
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    log = tmp_path / "log"
    log.mkdir()
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", FAKE_LOG=str(log))
    return env, log


def take(path: Path) -> str:
    text = path.read_text() if path.exists() else ""
    path.unlink(missing_ok=True)
    return text


def test_ssh_sends_the_script_to_sh_on_the_remote_host(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = lab_factory(STAR)
    env, log = fake_remote(tmp_path)

    up = nsgen("up", *lab_args(lab), "--ssh", "admin@lab1", env=env)
    assert up.returncode == 0, up.stderr
    assert nsgen_said_nothing(up.stderr)
    assert up.stdout.endswith(": up\n")
    assert take(log / "ssh.args") == "admin@lab1\nsudo\nsh\n-s\nup\n"
    assert take(log / "sudo.args") == "sh -s up\n"
    assert take(log / "ssh.stdin") == pipeline.render_file(STAR, lab.prefix)
    assert lab.sh("status").returncode == 0

    verify = nsgen("verify", *lab_args(lab), "--ssh", "lab1", "--no-sudo", env=env)
    assert verify.returncode == 0, verify.stdout
    assert take(log / "ssh.args") == "lab1\nsh\n-s\nverify\n"
    assert take(log / "sudo.args") == ""

    snapshot = lab.snapshot()
    dry = nsgen("down", "-n", *lab_args(lab), "--ssh", "lab1", env=env)
    assert dry.returncode == 0
    assert take(log / "ssh.args") == "lab1\nsudo\nsh\n-s\ndown\n--dry-run\n"
    assert lab.snapshot() == snapshot

    down = nsgen("down", str(STAR), "--script", str(lab.script), "--ssh", "lab1", env=env)
    assert down.returncode == 0
    assert take(log / "ssh.stdin") == lab.text
    assert host_residue(lab.prefix) == []
    assert nsgen("status", *lab_args(lab), "--ssh", "lab1", env=env).returncode == 3

    lost = nsgen("up", *lab_args(lab), "--ssh", "unreachable", env=env)
    assert lost.returncode == 1
    assert lost.stderr == (
        "ssh: Could not resolve hostname unreachable: Name or service not known\n"
        "nsgen: ssh unreachable failed (exit 255, see above); the script is safe to run again\n"
    )


@pytest.mark.parametrize("setpriv", list(NOT_ROOT.values()), ids=list(NOT_ROOT))
def test_not_root_is_refused_for_real(lab_factory: LabFactory, setpriv: list[str]) -> None:
    lab = lab_factory(STAR)
    # The checkout may sit in a directory only root can enter (mktemp -d is mode 700), and
    # typer checks readability with access(2), which ignores capabilities: the topology is
    # handed over from a directory anyone can read.
    shared = Path(tempfile.mkdtemp(prefix="nsgen-nobody-"))
    try:
        shared.chmod(0o755)
        topology = shared / STAR.name
        shutil.copyfile(STAR, topology)
        topology.chmod(0o644)
        command = [sys.executable, "-m", "nsgen", "up", str(topology), "--prefix", lab.prefix]
        result = subprocess.run(
            ["setpriv", *setpriv, *command],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
    finally:
        shutil.rmtree(shared)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert result.stderr == (
        f"nsgen: needs root (CAP_NET_ADMIN): try sudo nsgen up {topology} --prefix {lab.prefix}\n"
    )
    assert host_residue(lab.prefix) == []
    assert not any(n.startswith(lab.prefix) for n in netns_names())


def test_progress_bar_on_a_terminal(lab_factory: LabFactory) -> None:
    lab = lab_factory(STAR)
    name, namespaces, devices = counts(STAR)
    name = lab.prefix + name
    controller, terminal = os.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "nsgen", "up", *lab_args(lab)],
        cwd=ROOT,
        stdout=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    shown = read_terminal(controller)
    assert child.wait() == 0
    assert f"{REDRAW}{name} [{'-' * execute.BAR_WIDTH}] 1/2 creating {namespaces}" in shown
    half = "#" * (execute.BAR_WIDTH // 2)
    assert f"{REDRAW}{name} [{half}" in shown
    assert without_bar(shown).replace("\r\n", "\n") == (
        f"{name}: [1/2] creating {namespaces} namespaces and {devices} devices\n"
        f"{name}: [2/2] configuring {namespaces} namespaces\n"
        f"{name}: up\n"
    )


def read_terminal(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()
