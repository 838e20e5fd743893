"""Crash at any point: `up` and `down` SIGKILLed right after each of their operations, and at
random moments on a large lab. The next run must converge to exactly the declared lab, and
`down` must leave nothing.

The fake `ip` in tests/live.py runs each batch line through the real ip and kills the script
once its budget is spent, so "the state after the first k operations" is exact.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.live import (
    UNCONFIRMED,
    Lab,
    LabFactory,
    bridged_namespaces,
    crash_after,
    host_residue,
    operations,
    remedied_run,
    sigkill_after,
)
from tests.reliability import Recorder


def converged(
    lab: Lab, reference: dict[str, list[str]], where: str, *, status: bool = False
) -> int:
    """Up after a crash: how many objects needed the user's remedy first."""
    result, remedied = remedied_run(lab, "up", where)
    assert result.returncode == 0, f"{where}: {result.stderr}"
    assert lab.snapshot(indexes=False) == reference, f"{where}: up did not converge"
    if status:
        listed = lab.sh("status")
        assert listed.returncode == 0, f"{where}: status after up\n{listed.stdout}"
    return remedied


def torn_down(lab: Lab, where: str) -> int:
    result, remedied = remedied_run(lab, "down", where)
    assert result.returncode == 0, f"{where}: {result.stderr}"
    assert not UNCONFIRMED.search(result.stderr), f"{where}: {result.stderr}"
    # A veth end whose peer was in a namespace down deleted goes a moment later.
    deadline = time.monotonic() + 5
    while remedied and host_residue(lab.prefix) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert host_residue(lab.prefix) == [], f"{where}: residue"
    return remedied


@pytest.mark.parametrize("topology", ["star", "routed", "tap", "routing"])
def test_up_converges_after_a_crash_after_any_operation(
    lab_factory: LabFactory, topology: str, tmp_path: Path, figures: Recorder
) -> None:
    lab = lab_factory(EXAMPLES / f"{topology}.toml")
    lab.up()
    reference = lab.snapshot(indexes=False)
    lab.down()
    total = operations(lab, "up")
    assert total > 5
    remedied = 0
    for cut in range(total + 1):
        crash_after(lab, "up", cut, tmp_path)
        # The route kinds of routing labs: status reads each one back (next hops, device,
        # metric) after the run that finished a killed one.
        remedied += (
            converged(
                lab, reference, f"up killed after {cut} of {total}", status=topology == "routing"
            )
            > 0
        )
        torn_down(lab, f"up killed after {cut} of {total}")
    figures.record(
        f"crash.up.{topology}",
        f"{total + 1} of {total + 1} prefixes (k = 0..{total}) converged to exactly the "
        f"declared lab ({remedied} of them killed between creating an object and recording its "
        "identity: `up` refused it in one line naming the remedy, and converged after it); "
        "`down` then left 0 residue",
    )


@pytest.mark.parametrize("topology", ["star", "routed", "tap", "routing"])
def test_down_converges_after_a_crash_after_any_operation(
    lab_factory: LabFactory, topology: str, tmp_path: Path, figures: Recorder
) -> None:
    lab = lab_factory(EXAMPLES / f"{topology}.toml")
    lab.up()
    reference = lab.snapshot(indexes=False)
    total = operations(lab, "down")
    assert total >= 2  # routing: its two namespaces; tap: its namespace, its bridge, its TAP
    for cut in range(total + 1):
        where = f"down killed after {cut} of {total}"
        # A half torn-down lab is brought back by up ...
        crash_after(lab, "down", cut, tmp_path)
        converged(lab, reference, where)
        # ... and finished by down.
        crash_after(lab, "down", cut, tmp_path)
        torn_down(lab, where)
        lab.up()
    figures.record(
        f"crash.down.{topology}",
        f"{total + 1} of {total + 1} prefixes (k = 0..{total}): `down` again left 0 residue; "
        "`up` instead converged to exactly the declared lab",
    )


def test_down_finishes_what_a_killed_up_left(
    lab_factory: LabFactory, tmp_path: Path, figures: Recorder
) -> None:
    lab = lab_factory(EXAMPLES / "star.toml")
    total = operations(lab, "up")
    remedied = 0
    for cut in range(total + 1):
        crash_after(lab, "up", cut, tmp_path)
        remedied += torn_down(lab, f"up killed after {cut} of {total}") > 0
    figures.record(
        "crash.up_then_down",
        f"{total + 1} of {total + 1} prefixes (k = 0..{total}): `down` left 0 residue ({remedied} "
        "of them after the remedy it named in one line for an object made but not yet recorded)",
    )


@pytest.mark.slow
def test_up_converges_after_sigkill_at_random_moments(
    lab_factory: LabFactory, tmp_path: Path, figures: Recorder
) -> None:
    lab = lab_factory(bridged_namespaces(tmp_path / "fifty.toml", "fifty", 50, 231))
    started = time.monotonic()
    lab.up()
    duration = time.monotonic() - started
    reference = lab.snapshot(indexes=False)
    lab.down()
    # A killed script cannot remove its temporary directory: keep those out of /tmp.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    moments = random.Random(5)
    kills, in_flight = 10, 0
    for attempt in range(kills):
        in_flight += sigkill_after(lab, "up", moments.uniform(0.02, 0.9) * duration, env)
        converged(lab, reference, f"kill {attempt}")
        status = lab.sh("status")
        assert status.returncode == 0, f"kill {attempt}: {status.stdout}"
        torn_down(lab, f"kill {attempt}")
    print(f"{in_flight} of {kills} kills landed while up was running ({duration:.2f} s)")
    figures.record(
        "crash.sigkill",
        f"{kills} of {kills} runs converged to exactly the declared lab, `status` all ok; "
        "`down` then left 0 residue",
    )


def test_a_killed_runs_temporary_directory_goes_with_the_next_run(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = lab_factory(EXAMPLES / "star.toml")
    crash_after(lab, "up", 3, tmp_path)
    scratch = tmp_path / "scratch"  # crash_after's TMPDIR
    assert len(list(scratch.iterdir())) == 1
    holder = subprocess.Popen(["sleep", "60"])
    try:
        stat = Path(f"/proc/{holder.pid}/stat").read_text().rsplit(")", 1)[1].split()
        alive = scratch / f"nsgen.{holder.pid}-{stat[19]}.abcdef"
        alive.mkdir()
        result = lab.sh("status", env=dict(os.environ, TMPDIR=str(scratch)))
        assert result.returncode == 3, result.stderr
        # The killed run's directory is gone; a running one's is kept.
        assert list(scratch.iterdir()) == [alive]
    finally:
        holder.kill()
        holder.wait()
