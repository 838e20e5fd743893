"""Golden scripts: each example renders to exactly its committed script.

Regenerate on purpose with `pytest tests/test_golden.py --update-golden`, then read the diff.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nsgen import pipeline
from tests import golden
from tests.conftest import EXAMPLES, ROOT, tool

GOLDEN = ROOT / "golden"
TOPOLOGIES = sorted(EXAMPLES.glob("*.toml"))
IDS = [p.stem for p in TOPOLOGIES]


def golden_path(topology: Path) -> Path:
    return GOLDEN / f"{topology.stem}.sh"


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_script_matches_golden(topology: Path, update_golden: bool) -> None:
    golden.check(pipeline.render_file(topology), golden_path(topology), update_golden)


def test_every_example_has_a_golden_script() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.sh")) == IDS


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_render_is_deterministic(topology: Path) -> None:
    assert pipeline.render_file(topology) == pipeline.render_file(topology)


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_golden_script_passes_shellcheck(topology: Path) -> None:
    result = subprocess.run(
        [tool("shellcheck"), "-s", "sh", str(golden_path(topology))], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("shell", ["dash", "bash", "sh"])
@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_golden_script_parses(topology: Path, shell: str) -> None:
    tool(shell, f"the Debian package {shell}")
    result = subprocess.run(
        [shell, "-n", str(golden_path(topology))], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
