"""The stale-script check (`nsgen render FILE --check SCRIPT`) and the pre-commit hook on it.

The hook test is the review workflow of docs/review.md, "Reviewing labs in pull requests": a
change to examples/routed.toml without a regenerated golden/routed.sh fails the hook with
the diff, and passes once the script is regenerated as the message says.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from nsgen import pipeline
from tests.conftest import EXAMPLES, ROOT, tool
from tests.test_cli import run_cli

MANIFEST = ROOT / ".pre-commit-hooks.yaml"
REVIEW = ROOT / "docs" / "review.md"
HOOK_ID = "nsgen-render-check"


def fresh_script(tmp_path: Path, topology: Path = EXAMPLES / "routed.toml") -> Path:
    script = tmp_path / "routed.sh"
    script.write_text(pipeline.render_file(topology))
    return script


def test_current_script_passes_silently(tmp_path: Path) -> None:
    script = fresh_script(tmp_path)
    assert run_cli(["render", str(EXAMPLES / "routed.toml"), "--check", str(script)]) == (0, "", "")
    assert script.read_text() == pipeline.render_file(EXAMPLES / "routed.toml"), "was rewritten"


def test_stale_script_fails_with_a_diff_and_is_left_alone(tmp_path: Path) -> None:
    script = fresh_script(tmp_path)
    stale = script.read_text().replace("10.2.0.11", "10.2.0.99")
    script.write_text(stale)
    code, out, err = run_cli(["render", str(EXAMPLES / "routed.toml"), "--check", str(script)])
    assert (code, out) == (1, "")
    first, *diff = err.splitlines()
    assert first == (
        f"nsgen: {script} is stale: it is not what {EXAMPLES / 'routed.toml'} renders to now; "
        f"regenerate it with: nsgen render {EXAMPLES / 'routed.toml'} -o {script}"
    )
    assert diff[:2] == [f"--- {script}", f"+++ {script} (rendered from {EXAMPLES / 'routed.toml'})"]
    removed = [line for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
    assert removed and all("10.2.0.99" in line for line in removed)
    assert ["-" + line[1:].replace("10.2.0.11", "10.2.0.99") for line in added] == removed
    assert script.read_text() == stale


def test_script_of_another_lab_is_stale(tmp_path: Path) -> None:
    script = fresh_script(tmp_path, EXAMPLES / "star.toml")
    code, _, err = run_cli(["render", str(EXAMPLES / "routed.toml"), "--check", str(script)])
    assert code == 1
    assert '-# Lab "star": network namespaces built with iproute2.' in err


def test_crlf_line_ends_are_stale_and_said_so(tmp_path: Path) -> None:
    script = fresh_script(tmp_path)
    script.write_bytes(script.read_bytes().replace(b"\n", b"\r\n"))
    code, _, err = run_cli(["render", str(EXAMPLES / "routed.toml"), "--check", str(script)])
    assert code == 1
    assert err.startswith(f"nsgen: {script} is stale (only its line ends differ: CRLF): ")


def test_prefix_is_part_of_what_is_compared(tmp_path: Path) -> None:
    script = tmp_path / "routed.sh"
    script.write_text(pipeline.render_file(EXAMPLES / "routed.toml", "zz"))
    routed = str(EXAMPLES / "routed.toml")
    assert run_cli(["render", routed, "--prefix", "zz", "--check", str(script)])[0] == 0
    code, _, err = run_cli(["render", routed, "--check", str(script)])
    assert code == 1
    code, _, err = run_cli(["render", routed, "--prefix", "yy", "--check", str(script)])
    assert code == 1
    assert f"regenerate it with: nsgen render {routed} --prefix yy -o {script}" in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--check", "/nonexistent/setup.sh"], 1, "nsgen: /nonexistent/setup.sh: no such file; "),
        (["--check", "x.sh", "-o", "y.sh"], 2, "nsgen: --check compares, --output writes"),
        (["--check"], 2, "requires an argument"),
    ],
)
def test_check_errors(args: list[str], code: int, message: str) -> None:
    got, out, err = run_cli(["render", str(EXAMPLES / "routed.toml"), *args])
    assert (got, out) == (code, "")
    assert message in err
    assert "Traceback" not in err


def test_invalid_topology_is_reported_not_compared(tmp_path: Path) -> None:
    script = fresh_script(tmp_path)
    bad = ROOT / "tests" / "errors" / "types.toml"
    code, out, err = run_cli(["render", str(bad), "--check", str(script)])
    assert (code, out) == (1, "")
    assert err == bad.with_suffix(".err").read_text()


# -- the pre-commit hook, configured as docs/review.md says --------------------------------------


def readme_hook_config() -> dict[str, Any]:
    """The hook entry of the `.pre-commit-config.yaml` that docs/review.md documents."""
    blocks = re.findall(r"```yaml\n(.*?)```", REVIEW.read_text(), re.DOTALL)
    configs = [yaml.safe_load(b) for b in blocks if f"id: {HOOK_ID}" in b]
    assert len(configs) == 1, f"docs/review.md should document one config using {HOOK_ID}"
    (repo,) = configs[0]["repos"]
    (hook,) = repo["hooks"]
    assert hook["id"] == HOOK_ID
    return dict(hook)


def configured_hook() -> dict[str, Any]:
    """The manifest's hook with the README's overrides applied, as pre-commit merges them."""
    manifest = yaml.safe_load(MANIFEST.read_text())
    (hook,) = [h for h in manifest if h["id"] == HOOK_ID]
    return {**hook, **readme_hook_config()}


def run_hook(
    hook: dict[str, Any], repo: Path, changed: list[str]
) -> subprocess.CompletedProcess[str] | None:
    """Run the hook as pre-commit does: only if a changed file matches `files`, as
    `entry + args` (plus the file names unless pass_filenames is false), in the repository
    root. The entry's `nsgen` is this tree's, as pre-commit's own venv would hold."""
    matched = [f for f in changed if re.search(hook.get("files", ""), f)]
    if not matched:
        return None
    argv = shlex.split(hook["entry"]) + list(hook.get("args", []))
    if hook.get("pass_filenames", True):
        argv += matched
    assert argv[0] == "nsgen"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "nsgen", *argv[1:]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def lab_repository(tmp_path: Path) -> Path:
    """A repository laid out as docs/review.md's example: the lab and its current script."""
    (tmp_path / "examples").mkdir()
    (tmp_path / "golden").mkdir()
    shutil.copy(EXAMPLES / "routed.toml", tmp_path / "examples" / "routed.toml")
    shutil.copy(ROOT / "golden" / "routed.sh", tmp_path / "golden" / "routed.sh")
    return tmp_path


def test_hook_fails_on_a_stale_script_and_passes_once_regenerated(lab_repository: Path) -> None:
    hook = configured_hook()
    assert hook["language"] == "python"  # pre-commit installs nsgen itself
    assert run_hook(hook, lab_repository, ["docs/review.md"]) is None, "runs for unrelated files"
    fresh = run_hook(hook, lab_repository, ["golden/routed.sh"])
    assert fresh is not None
    assert (fresh.returncode, fresh.stdout, fresh.stderr) == (0, "", "")

    # The pull request: b1 moves to another address, the script is not regenerated.
    topology = lab_repository / "examples" / "routed.toml"
    topology.write_text(topology.read_text().replace("10.2.0.11/24", "10.2.0.12/24"))
    stale = run_hook(hook, lab_repository, ["examples/routed.toml"])
    assert stale is not None
    assert stale.returncode == 1
    assert "-addr b1 eth0 10.2.0.11/24 10.2.0.0/24" in stale.stderr
    assert "+addr b1 eth0 10.2.0.12/24 10.2.0.0/24" in stale.stderr

    # Regenerate exactly as the message says; the hook passes again.
    command = stale.stderr.splitlines()[0].split("regenerate it with: ")[1]
    assert command == "nsgen render examples/routed.toml -o golden/routed.sh"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    regenerate = [sys.executable, "-m", *shlex.split(command)]
    subprocess.run(regenerate, cwd=lab_repository, env=env, check=True)
    again = run_hook(hook, lab_repository, ["examples/routed.toml", "golden/routed.sh"])
    assert again is not None
    assert (again.returncode, again.stderr) == (0, "")


def test_readme_shows_what_the_hook_prints(lab_repository: Path) -> None:
    # docs/review.md's example output is the real one, abbreviated with "...".
    topology = lab_repository / "examples" / "routed.toml"
    topology.write_text(topology.read_text().replace("10.2.0.11/24", "10.2.0.12/24"))
    result = run_hook(configured_hook(), lab_repository, ["examples/routed.toml"])
    assert result is not None
    text = REVIEW.read_text()
    start = text.index("   $ nsgen render examples/routed.toml --check golden/routed.sh\n")
    shown = text[start : text.index("   ...\n", start)].splitlines()[1:]
    real = result.stderr.splitlines()
    for line in shown:
        assert line[3:] in real, f"docs/review.md shows a line the check does not print: {line!r}"


def test_pre_commit_accepts_the_manifest_and_the_documented_config(tmp_path: Path) -> None:
    pre_commit = tool("pre-commit")
    manifest = subprocess.run(
        [pre_commit, "validate-manifest", str(MANIFEST)], capture_output=True, text=True
    )
    assert manifest.returncode == 0, manifest.stdout + manifest.stderr
    blocks = re.findall(r"```yaml\n(.*?)```", REVIEW.read_text(), re.DOTALL)
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(next(b for b in blocks if f"id: {HOOK_ID}" in b))
    checked = subprocess.run(
        [pre_commit, "validate-config", str(config)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
