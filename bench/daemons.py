"""Benchmark: a ring of 50 BIRD routers running OSPF, from `up` to converged, two ways.

    sudo python3 -m bench --only-daemons          # this one only: its section of benchmarks.md
    sudo python3 -m bench --only-daemons --routers 6 --reps 1 --out /tmp/b   # the smoke run

The lab: N routers in a ring, each linked to the next by a veth pair with a /30, all of them
configured by one template (bird.conf.j2 below). *nsgen*: the rendered script's `up`, which
writes the configurations under /etc/netns and starts every BIRD as a process, waiting until
each answers `birdc`. *by hand*: the same script rendered without files and processes (the
wires only), then a loop of `ip netns exec` starting BIRD in each router from the same
configurations (rendered by nsgen) in a scratch directory. Both are timed from the start of
`up` to the same convergence check: every router has an OSPF route (proto bird) to each link
it is not on.
"""

from __future__ import annotations

import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from nsgen import pipeline

ROUTERS = 50
LIMIT = 1.2  # nsgen / by hand
CONVERGED_WITHIN = 120.0
TEMPLATE = """\
router id {{ ns.interfaces | map(attribute="ips") | map("first") | sort | first }};
protocol device {}
protocol kernel { ipv4 { export where source = RTS_OSPF; }; }
protocol ospf v2 {
	ipv4 { import all; export none; };
	area 0 {
{%- for i in ns.interfaces %}
		interface "{{ i.name }}" { type ptp; hello 1; dead 4; };
{%- endfor %}
	};
}
"""
PROCESS = (
    'processes = [{ name = "bird", command = "exec bird -f -s $NSGEN_RUN/bird.ctl", '
    'ready = "birdc -s $NSGEN_RUN/bird.ctl show status" }]'
)


def ring(routers: int, daemons: bool) -> str:
    lines = ['name = "ring"', ""]
    for i in range(routers):
        lines += [f"[namespaces.r{i}]", "forwarding = true"]
        lines.append(
            f'interfaces.eth0 = {{ peer = "r{(i + 1) % routers}:eth1", '
            f'address = "10.{100 + i // 64}.{i % 64 * 4}.1/30" }}'
        )
        j = (i - 1) % routers
        lines.append(f'interfaces.eth1 = {{ address = "10.{100 + j // 64}.{j % 64 * 4}.2/30" }}')
        if daemons:
            lines += ['files."bird/bird.conf" = "bird.conf.j2"', PROCESS]
        lines.append("")
    return "\n".join(lines)


def sh(*args: str) -> None:
    result = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(args)} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def converged(namespaces: list[str]) -> bool:
    """Every router has a bird route to each of the ring's links it is not on."""
    for ns in namespaces:
        listing = subprocess.run(
            ["ip", "-n", ns, "route", "show", "proto", "bird"], capture_output=True, text=True
        ).stdout
        if len(listing.splitlines()) < len(namespaces) - 2:
            return False
    return True


def wait_converged(namespaces: list[str], start: float) -> float:
    while not converged(namespaces):
        if time.monotonic() - start > CONVERGED_WITHIN:
            raise SystemExit(f"bench: the ring did not converge within {CONVERGED_WITHIN:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - start


def measure(work: Path, routers: int) -> dict[str, float]:
    """One repetition of both methods, nsgen first."""
    prefix = f"b{secrets.token_hex(2)}"
    (work / "bird.conf.j2").write_text(TEMPLATE)
    lab_file = work / "ring.toml"
    lab_file.write_text(ring(routers, daemons=True))
    with_daemons = work / "ring.sh"
    with_daemons.write_text(pipeline.render_file(lab_file, prefix))
    lab = pipeline.compile_lab(lab_file, prefix)
    namespaces = [f"{prefix}r{i}" for i in range(routers)]
    out: dict[str, float] = {}

    start = time.monotonic()
    sh("sh", str(with_daemons), "up")
    out["nsgen"] = wait_converged(namespaces, start)
    sh("sh", str(with_daemons), "down")

    wires_file = work / "wires.toml"
    wires_file.write_text(ring(routers, daemons=False))
    wires = work / "wires.sh"
    wires.write_text(pipeline.render_file(wires_file, prefix))
    hand = work / "hand"
    hand.mkdir(exist_ok=True)
    loop = ["set -e"]
    for f in lab.files:
        conf = hand / f"{f.namespace}.conf"
        conf.write_text(f.content)
        loop.append(f"ip netns exec {f.namespace} bird -c {conf} -s {hand / f.namespace}.ctl")
    (hand / "start.sh").write_text("\n".join(loop) + "\n")
    try:
        start = time.monotonic()
        sh("sh", str(wires), "up")
        sh("sh", str(hand / "start.sh"))
        out["by hand"] = wait_converged(namespaces, start)
    finally:
        # down stops what runs in the namespaces it deletes: the BIRDs started by hand too.
        sh("sh", str(wires), "down")
        shutil.rmtree(hand)
    return out


def run(reps: int, routers: int = ROUTERS) -> dict[str, list[float]]:
    if shutil.which("bird") is None or shutil.which("birdc") is None:
        raise SystemExit("bench: the ring needs BIRD (apt-get install bird2)")
    runs: dict[str, list[float]] = {"nsgen": [], "by hand": []}
    with tempfile.TemporaryDirectory(prefix="nsgen-bench-ring-") as tmp:
        for _ in range(reps):
            for method, seconds in measure(Path(tmp), routers).items():
                runs[method].append(seconds)
    return runs


HEADING = "## Daemons: a ring of BIRD routers"


def section(runs: dict[str, list[float]], routers: int, command: str) -> str:
    nsgen = statistics.median(runs["nsgen"])
    hand = statistics.median(runs["by hand"])
    ratio = nsgen / hand
    return "\n".join(
        [
            HEADING,
            "",
            f"Produced by `bench/daemons.py` (`{command}`): {routers} routers in a ring,",
            "OSPF (BIRD 2), one template. Seconds from the start of `up` until every router has",
            "an OSPF route to every link it is not on; medians of "
            f"{len(runs['nsgen'])} interleaved repetitions.",
            "*nsgen*: `up` of the lab with its files and processes; *by hand*: `up` of the same",
            "lab without them, then a loop of `ip netns exec NS bird -c FILE` over the same",
            "configurations.",
            "",
            "| method | up to converged | runs |",
            "|---|---|---|",
            *(
                f"| {m} | {statistics.median(v):.2f} | {' '.join(f'{x:.2f}' for x in v)} |"
                for m, v in runs.items()
            ),
            "",
            "| goal | measured | limit | met |",
            "|---|---|---|---|",
            f"| nsgen / by hand | {ratio:.2f} | {LIMIT} | {'yes' if ratio <= LIMIT else 'NO'} |",
            "",
        ]
    )


def replace_section(page: str, new: str, before: str) -> str:
    """PAGE with its ring section replaced by NEW, or put before the line BEFORE; the section
    ends at the next heading or at that line."""
    if HEADING not in page:
        head, rest = page.split(before, 1)
        return head + new + "\n" + before + rest
    head, rest = page.split(HEADING, 1)
    ends = [at + 1 for at in (rest.find("\n## "), rest.find("\n" + before)) if at >= 0]
    return head + new + "\n" + (rest[min(ends) :] if ends else "")
