"""The quality bar as tests, so `pytest` alone runs the whole suite: ruff, mypy strict."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nsgen import tools
from tests.conftest import ROOT, TEST_EXTRAS


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint() -> None:
    result = run_tool("ruff", "check", "nsgen", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run_tool("ruff", "format", "--check", "nsgen", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_is_available() -> None:
    # The golden tests depend on it; say so plainly rather than skip silently.
    if tools.find("shellcheck") is None:
        pytest.fail(f"shellcheck is not installed ({tools.where()}): {TEST_EXTRAS}")
