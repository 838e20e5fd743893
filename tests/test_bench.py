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
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench import svg
from bench.run import PICTURE, PORTS_PER_BRIDGE, StarShape, star_topology
from nsgen import pipeline
from tests.conftest import ROOT, live_skip_reason
from tests.live import netns_names

SVG = "{http://www.w3.org/2000/svg}"


def test_bench_smoke(tmp_path: Path) -> None:
    reason = live_skip_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the benchmark smoke test: {reason}")
        pytest.skip(reason)
    # The benchmark takes the live tests' lock itself, so it runs as a separate process.
    args = ["--sizes", "20", "--reps", "1", "--out", str(tmp_path), "--no-daemons"]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--no-mininet", "--no-startup"],
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
        "nsgen verify / ping loop, fresh",
        "nsgen one-change up / nsgen re-run, fresh",
    ]
    for goal in goals:
        # Judged at N=300 and 500 in the real run; at the one size there is here.
        row = re.search(
            rf"^\| {re.escape(goal)} \| 20 \| (\d+\.\d\d) \| [\d.]+ \| (yes|NO) \|$", report, re.M
        )
        assert row, f"ratio '{goal}' missing from the report"
        assert float(row.group(1)) > 0
    actions = {
        "nsgen": [
            "up",
            "up again (converged)",
            "up after a one-address change",
            "status",
            "up again, at once after up",
            "one-address change, at once after up",
            "verify, at once after up",
        ],
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
    # Settled actions wait, unmeasured, for the lab's bridges to be quiet; the report says how long.
    assert re.search(
        r"^Seconds a settled action waited for quiet bridges \(medians\): N=20: \d+\.\d\.$",
        report,
        re.M,
    )
    # The cost per namespace of every nsgen action, in seconds and in CPU time of its own
    # processes (two tables), and in the picture beside them.
    for action in ["up", "re-run", "change", "status", "verify", "down", "verify fresh"]:
        rows = re.findall(rf"^\| nsgen {action} \| (\d+\.\d\d) \|$", report, re.M)
        assert len(rows) == 2 and float(rows[1]) > 0, action
    assert f"]({PICTURE})" in report
    picture = ET.parse(tmp_path / PICTURE).getroot()
    titles = [line.findtext(f"{SVG}title") for line in picture.iter(f"{SVG}polyline")]
    assert "nsgen up" in titles and "floor up" in titles and "nsgen verify fresh" in titles
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
    # Its names are "b", four hex digits, "r" and the router's number; other labs may come and
    # go on this host meanwhile.
    left = [n for n in set(netns_names()) - set(before) if re.match(r"b[0-9a-f]{4}r\d+$", n)]
    assert left == [], "the ring left namespaces behind"


def test_line_chart_places_points_by_value() -> None:
    """x on a log axis (10, 100, 1000 evenly spaced), y linear from 0 (higher is further up),
    one polyline per series that has points, its name in the legend."""
    chart = svg.line_chart(
        {"a": [(1000.0, 1.0), (10.0, 3.0), (100.0, 2.0)], "b": [(100.0, 4.0)], "empty": []},
        "t",
        "N",
        "ms",
    )
    root = ET.fromstring(chart)
    lines = {line.findtext(f"{SVG}title"): line for line in root.iter(f"{SVG}polyline")}
    assert sorted(lines) == ["a", "b"]
    points = [tuple(map(float, p.split(","))) for p in lines["a"].attrib["points"].split()]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert xs == sorted(xs), "points in order of N"
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.2), "log spacing"
    assert ys[0] < ys[1] < ys[2], "N=10 (3 ms) is above N=100 (2 ms), above N=1000 (1 ms)"
    legend = [text.text for text in root.iter(f"{SVG}text")]
    assert "a" in legend and "b" in legend and "empty" not in legend
    with pytest.raises(ValueError):
        svg.line_chart({"empty": []}, "t", "N", "ms")


def test_large_star_is_bridges_of_a_thousand_ports(tmp_path: Path) -> None:
    """Beyond PORTS_PER_BRIDGE hosts the star is one more bridge and /16 per thousand, and
    every method's shape puts each veth on its own bridge."""
    topology = tmp_path / "star.toml"
    topology.write_text(star_topology(PORTS_PER_BRIDGE + 2, neighbour_table=8192))
    shape = StarShape.of(pipeline.compile_plan(topology, "x"))
    assert shape.bridges == ["xbr0", "xbr1"]
    bridges = {ns: bridge for ns, _, _, bridge in shape.veths}
    assert bridges["xh0"] == "xbr0" and bridges[f"xh{PORTS_PER_BRIDGE - 1}"] == "xbr0"
    assert bridges[f"xh{PORTS_PER_BRIDGE}"] == "xbr1"
    assert shape.addresses[f"xh{PORTS_PER_BRIDGE}"] == ["10.201.0.1/16 dev eth0"]
    assert {ns for ns, _ in shape.pings} == set(shape.namespaces)
