"""Races: two actors on one lab at once. The second waits for the first (the per-lab lock),
so every pair ends as if run one after the other, and nothing is orphaned."""

from __future__ import annotations

import os
import random
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
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


def start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat, as the script's lock records it."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[19]


def test_a_live_holder_is_waited_for_and_a_dead_one_taken_over(lab_factory: LabFactory) -> None:
    lab = lab_factory(EXAMPLES / "star.toml")
    name = re.findall(r"^LAB='(.*)'$", lab.text, re.M)[0]
    lock = Path("/run/nsgen/.lock") / name
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(["sleep", "60"])
    try:
        lock.symlink_to(f"{holder.pid} {start_time(holder.pid)} up")
        refused = lab.sh("up", env=dict(os.environ, NSGEN_LOCK_WAIT="1"))
        assert refused.returncode == 1
        assert refused.stderr.splitlines() == [
            f"{name}: waiting for pid {holder.pid} (up) to finish with this lab (up to 1 s)",
            f"{name}: error: pid {holder.pid} (up) still holds the lock of this lab after 1 s; "
            "nothing changed, try again when it ends",
        ]
        assert refused.stdout == ""
        assert host_residue(lab.prefix) == [f"lock {name}"]
    finally:
        holder.kill()
        holder.wait()
    # Its holder gone (the pid may even be reused: the start time tells), the lock is taken.
    lab.up()
    assert lab.sh("status").returncode == 0
    assert not lock.is_symlink()
