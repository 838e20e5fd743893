"""Churn: many cycles of up, verify, down leave the host exactly as it was after each one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.live import LabFactory, host_state, state_changes
from tests.reliability import Recorder

CYCLES = 50


@pytest.mark.slow
def test_up_verify_down_cycles_leave_no_residue(
    lab_factory: LabFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: Recorder
) -> None:
    lab = lab_factory(EXAMPLES / "routed.toml")
    # The script's temporary directories go here, so a leaked one is counted too.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    before = host_state(lab.prefix)
    for cycle in range(1, CYCLES + 1):
        lab.up()
        verify = lab.sh("verify")
        assert verify.returncode == 0, f"cycle {cycle}: {verify.stdout}"
        lab.down()
        changes = state_changes(before, host_state(lab.prefix))
        assert changes == [], f"cycle {cycle} left the host changed:\n" + "\n".join(changes)
        assert list(scratch.iterdir()) == [], f"cycle {cycle} left temporary files"
    figures.record(
        "churn.routed",
        f"{CYCLES} of {CYCLES} cycles verified (every ping answered); 0 objects added or removed "
        "after any cycle, so 0 growth",
    )
