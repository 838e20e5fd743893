"""The command line: exit codes, output streams, and no tracebacks."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import nsgen
from nsgen import cli
from tests.conftest import EXAMPLES, ROOT


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """Run `nsgen ARGS` in a subprocess, as a user would."""
    result = subprocess.run([sys.executable, "-m", "nsgen", *args], capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


def test_render_prints_the_script() -> None:
    code, out, err = run_cli(["render", str(EXAMPLES / "star.toml")])
    assert code == 0, err
    assert out.startswith("#!/bin/sh\n")
    assert "netns add h1" in out


def test_render_writes_output_file(tmp_path: Path) -> None:
    target = tmp_path / "setup.sh"
    code, out, err = run_cli(["render", str(EXAMPLES / "star.toml"), "-o", str(target)])
    assert (code, out) == (0, ""), err
    assert target.read_text().startswith("#!/bin/sh\n")
    assert target.stat().st_mode & 0o111


def test_validate_reports_ok() -> None:
    code, out, _ = run_cli(["validate", str(EXAMPLES / "routed.toml")])
    assert code == 0
    assert out == (
        "routed.toml: ok (lab routed: 6 namespaces, 2 bridges, 5 veth pairs, 48 operations)\n"
    )


def test_prefix_renames_everything_the_host_sees() -> None:
    code, out, _ = run_cli(["render", str(EXAMPLES / "star.toml"), "--prefix", "zz"])
    assert code == 0
    assert "NAMESPACES='zzh1 zzh2 zzh3 zzh4'" in out
    assert "link add name zzbr0" in out
    assert "MARK='nsgen:zzstar'" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["render", "/nonexistent/lab.toml"], 1, "lab.toml: no such file\n"),
        (["render", "/"], 1, ": is a directory, not a topology file\n"),
        (["render", str(EXAMPLES / "star.toml"), "--prefix", "bad prefix"], 1, "prefix"),
        (["render"], 2, "Missing argument"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_errors_are_one_line_with_exit_code(args: list[str], code: int, message: str) -> None:
    got, out, err = run_cli(args)
    assert got == code
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_long_prefix_pushes_names_over_the_limit() -> None:
    code, _, err = run_cli(["render", str(EXAMPLES / "bridge.toml"), "--prefix", "abcdefgh"])
    assert code == 1
    assert "'abcdefghbr1-veth1' (with prefix 'abcdefgh') is 17 characters" in err


def test_help_lists_exit_codes() -> None:
    code, out, _ = run_cli(["--help"])
    assert code == 0
    assert "Exit codes" in out


def test_main_is_the_entry_point() -> None:
    assert cli.main.__module__ == "nsgen.cli"


def test_version_is_the_package_version() -> None:
    code, out, err = run_cli(["--version"])
    assert (code, err) == (0, "")
    assert out == f"nsgen {nsgen.__version__}\n"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert nsgen.__version__ == project["version"]


def in_bash(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """nsgen ARGS started from bash, which Typer's shell detection then finds (`; true` keeps
    bash from replacing itself with nsgen)."""
    command = shlex.join([sys.executable, "-m", "nsgen", *args]) + "; true"
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )


def test_show_completion_prints_the_script_for_the_shell() -> None:
    result = in_bash(["--show-completion"])
    assert "_NSGEN_COMPLETE=complete_bash $1" in result.stdout
    assert result.stdout.rstrip().endswith("complete -o default -F _nsgen_completion nsgen")


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("bash", "complete -o default -F _nsgen_completion nsgen"),
        ("zsh", "compdef _nsgen_completion nsgen"),
        ("fish", "complete --command nsgen --no-files"),
    ],
)
def test_completion_script_for_each_shell(shell: str, line: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nsgen"],
        env=dict(os.environ, _NSGEN_COMPLETE=f"source_{shell}"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert line in result.stdout


def test_install_completion_writes_the_script_and_sources_it(tmp_path: Path) -> None:
    result = in_bash(["--install-completion"], env=dict(os.environ, HOME=str(tmp_path)))
    assert "bash completion installed in" in result.stdout
    script = tmp_path / ".bash_completions" / "nsgen.sh"
    assert "_NSGEN_COMPLETE=complete_bash" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("nsgen re", ["render"]),
        ("nsgen new ", ["pair", "star", "line", "ring", "tree"]),
        ("nsgen exec lab.toml h1 --pr", ["--prefix"]),
    ],
)
def test_completion_answers_from_the_command_line(words: str, expected: list[str]) -> None:
    env = dict(
        os.environ,
        _NSGEN_COMPLETE="complete_bash",
        COMP_WORDS=words,
        COMP_CWORD=str(len(words.split(" ")) - 1),
    )
    result = subprocess.run(
        [sys.executable, "-m", "nsgen"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected
