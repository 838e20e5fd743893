"""Comparing an output with its golden file, or rewriting it under --update-golden."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.conftest import ROOT


def check(actual: str, golden: Path, update: bool) -> None:
    """Fail with a unified diff unless `actual` is exactly the golden file's text."""
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8") if golden.exists() else ""
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                str(golden.relative_to(ROOT)),
                "now",
            )
        )
        pytest.fail(f"{golden.name} differs (--update-golden rewrites it; read the diff):\n{diff}")
