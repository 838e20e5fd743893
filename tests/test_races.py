"""Races: two actors on one lab at once. The second waits for the first (the per-lab lock),
so every pair ends as if run one after the other, and nothing is orphaned."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from tests.live import Lab, LabFactory, bridged_namespaces, host_residue
from tests.reliability import Recorder

RUNS = 50


def race(lab: Lab, first: str, second: str, delay: float) -> list[tuple[int, str]]:
    """Start `first`, then `second` after `delay` seconds; both results, in that order."""
    one = subprocess.Popen(
        lab.command(first), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(delay)
    two = subprocess.run(lab.command(second), capture_output=True, text=True, check=False)
    out, err = one.communicate()
    return [(one.returncode, out + err), (two.returncode, two.stdout + two.stderr)]


@pytest.mark.slow
def test_racing_pairs_end_as_one_after_the_other(
    lab_factory: LabFactory, tmp_path: Path, figures: Recorder
) -> None:
    lab = lab_factory(bridged_namespaces(tmp_path / "ten.toml", "ten", 10, 232))
    started = time.monotonic()
    lab.up()
    duration = time.monotonic() - started
    lab.down()
    moments = random.Random(20)
    waited = ups = 0
    for first, second in (("up", "up"), ("up", "down"), ("down", "down")):
        for attempt in range(RUNS):
            where = f"{first}/{second} run {attempt}"
            if first == "down":
                lab.up()
            results = race(lab, first, second, moments.uniform(0, duration))
            for code, output in results:
                assert code == 0, f"{where}: {output}"
            waited += sum("waiting for pid" in output for _, output in results)
            # The pair ends as one run after the other would, in either order: the lab all
            # there (the last was up), or nothing at all (the last was down).
            status = lab.sh("status")
            if "up" in (first, second) and status.returncode == 0:
                ups += first != second
            else:
                assert second == "down", f"{where}: {status.stdout}"
                assert host_residue(lab.prefix) == [], f"{where}: orphans"
            lab.down()
            assert host_residue(lab.prefix) == [], f"{where}: orphans after down"
    print(f"{waited} of {3 * RUNS} second actors waited; {ups} of {RUNS} up/down ended up")
    figures.record(
        "race.pairs",
        f"{RUNS} of {RUNS} runs of each pair (up/up, up/down, down/down) ended as one "
        "run after the other would (all there, or nothing), both exit 0; `down` then left 0 "
        "residue (0 orphans)",
    )
