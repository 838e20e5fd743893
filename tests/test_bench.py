"""The benchmark's smoke run: it still builds every method's lab and computes the ratios.

The real figures come from `sudo python3 -m bench` (docs/benchmarks.md); this only proves
the harness works, at N=20, so it stays out of the way of the rest of the suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, live_skip_reason
from tests.live import netns_names


def test_bench_smoke(tmp_path: Path) -> None:
    reason = live_skip_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the benchmark smoke test: {reason}")
        pytest.skip(reason)
    # The benchmark takes the live tests' lock itself, so it runs as a separate process.
    args = ["--sizes", "20", "--reps", "1", "--out", str(tmp_path), "--no-daemons"]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--no-plot", "--no-mininet", "--no-startup"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "benchmarks.md").read_text()
    goals = [
        "nsgen up / floor up",
        "nsgen re-run / floor up",
        "nsgen down / floor down",
        "nsgen verify / ping loop",
        "nsgen status / nsgen up",
        "nsgen one-change up / nsgen re-run",
    ]
    for goal in goals:
        # Judged at N=300 and 500 in the real run; at the one size there is here.
        row = re.search(
            rf"^\| {re.escape(goal)} \| 20 \| (\d+\.\d\d) \| [\d.]+ \| (yes|NO) \|$", report, re.M
        )
        assert row, f"ratio '{goal}' missing from the report"
        assert float(row.group(1)) > 0
    actions = {
        "nsgen": ["up", "up again (converged)", "up after a one-address change", "status"],
        "floor": ["up", "status", "down"],
        "tutorial": ["up", "status", "verify (ping loop)", "down"],
    }
    for method, names in actions.items():
        for action in names:
            assert re.search(
                rf"^\| {method} \| {re.escape(action)} \| \d+\.\d\d \|$", report, re.M
            ), f"{method} {action}"
    assert re.search(r"^\| nsgen \| verify \| \d+\.\d\d \|$", report, re.M)
    assert "| tutorial | up again | fails (File exists) |" in report, "the re-run should fail"
    # Its names are "b", four hex digits and the method's letter (it checks after each too).
    left = [n for n in netns_names() if re.match(r"b[0-9a-f]{4}[ftnm]h\d", n)]
    assert left == [], "the benchmark left namespaces behind"


def test_bench_ring_smoke(tmp_path: Path) -> None:
    """--only-daemons rewrites only the ring's section of an existing report."""
    reason = live_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    if shutil.which("bird") is None or shutil.which("birdc") is None:
        pytest.skip("bird2 is not installed (apt-get install bird2)")
    page = tmp_path / "benchmarks.md"
    page.write_text((ROOT / "docs" / "benchmarks.md").read_text())
    # Only its own names ("b", four hex digits, "r" and a number): other labs come and go.
    before = [n for n in netns_names() if re.match(r"b[0-9a-f]{4}r\d", n)]
    args = ["--only-daemons", "--routers", "4", "--reps", "1", "--out", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    report = page.read_text()
    assert report.count("## Daemons: a ring of BIRD routers") == 1
    assert ": 4 routers in a ring" in report
    assert re.search(r"^\| nsgen / by hand \| \d+\.\d\d \| 1\.2 \| (yes|NO) \|$", report, re.M)
    outside = report.split("## Daemons")[0] + report.split("\nA lab across hosts")[1]
    kept = (ROOT / "docs" / "benchmarks.md").read_text()
    assert outside == kept.split("## Daemons")[0] + kept.split("\nA lab across hosts")[1]
    left = [n for n in netns_names() if re.match(r"b[0-9a-f]{4}r\d", n)]
    assert sorted(set(left) - set(before)) == [], "the ring left namespaces behind"
