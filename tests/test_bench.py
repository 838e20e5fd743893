"""The benchmark's smoke run: it still builds every method's lab and computes the ratios.

The real figures come from `sudo python3 -m bench` (docs/benchmarks.md); this only proves
the harness works, at N=20, so it stays out of the way of the rest of the suite.
"""

from __future__ import annotations

import os
import re
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
    args = ["--sizes", "20", "--reps", "1", "--out", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--no-plot", "--no-mininet", "--no-startup"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "benchmarks.md").read_text()
    for goal in ("nsgen up / floor up", "nsgen re-run / floor up", "nsgen down / floor down"):
        row = re.search(
            rf"^\| {re.escape(goal)} \| (\d+\.\d\d) \| [\d.]+ \| (yes|NO) \|$", report, re.M
        )
        assert row, f"ratio '{goal}' missing from the report"
        assert float(row.group(1)) > 0
    for method in ("floor", "tutorial", "nsgen"):
        assert re.search(rf"^\| {method} \| \d+\.\d\d \|", report, re.M), method
    assert "fails (File exists)" in report, "the tutorial's re-run should fail"
    # Its names are "b", four hex digits and the method's letter (it checks after each too).
    left = [n for n in netns_names() if re.match(r"b[0-9a-f]{4}[ftnm]h\d", n)]
    assert left == [], "the benchmark left namespaces behind"
