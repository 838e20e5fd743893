"""Error-message golden pairs: tests/errors/NAME.toml must fail with exactly NAME.err.

Each pair is its own test, so one changed message does not hide the others. Regenerate with
`pytest tests/test_errors.py --update-golden` and read the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_cli import run_cli

CASES = sorted((ROOT / "tests" / "errors").glob("*.toml"))


@pytest.mark.parametrize("topology", CASES, ids=[p.stem for p in CASES])
def test_error_message(topology: Path, update_golden: bool) -> None:
    code, out, err = run_cli(["validate", str(topology)])
    expected_path = topology.with_suffix(".err")
    if update_golden:
        expected_path.write_text(err)
    assert (code, out) == (1, "")
    assert err == expected_path.read_text()
    assert "Traceback" not in err


@pytest.mark.parametrize("topology", CASES, ids=[p.stem for p in CASES])
def test_render_refuses_the_same_file(topology: Path) -> None:
    code, out, err = run_cli(["render", str(topology)])
    assert (code, out) == (1, "")
    assert err == topology.with_suffix(".err").read_text()
