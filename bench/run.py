"""Benchmark: bring-up and tear-down of a star of N namespaces, several ways, side by side.

    sudo python3 -m bench                      # sizes 50,200,500,1000, 3 repetitions
    sudo python3 -m bench --sizes 20 --reps 1 --no-plot --out /tmp/b   # the CI smoke run

Every method builds the same lab from the same topology: N namespaces, each with a veth
whose outer end is a port of one bridge in the host, an IPv4 address, link and loopback up.
The floor is derived here from nsgen's own plan of that topology, so the comparison is
like for like. Methods run interleaved (each repetition runs all of them in turn), so a
change in the machine's load falls on all of them alike; the report gives medians.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nsgen import pipeline, render
from nsgen.lab import where
from nsgen.plan import AddAddress, AddBridge, AddNamespace, AddVeth, Plan

ROOT = Path(__file__).resolve().parent.parent
LOCK = Path("/run/lock/nsgen-live-tests.lock")  # the live tests' lock: never measure during them
GOALS = {  # (numerator, denominator, limit) at the reference size
    "nsgen up / floor up": ("nsgen up", "floor up", 1.2),
    "nsgen re-run / floor up": ("nsgen re-run", "floor up", 1.0),
    "nsgen down / floor down": ("nsgen down", "floor down", 1.5),
}
TUTORIAL_MAX = 500  # one process per step: beyond this it only costs minutes


def star_topology(hosts: int) -> str:
    lines = ['name = "star"', "", "[bridges.br0]", ""]
    for i in range(hosts):
        lines += [
            f"[namespaces.h{i}.interfaces.eth0]",
            'bridge = "br0"',
            f'address = "10.200.{i // 250}.{i % 250 + 1}/16"',
            "",
        ]
    return "\n".join(lines)


# ---- the methods, each a pair of scripts derived from the same plan -------------------------


@dataclass(frozen=True)
class StarShape:
    """The star as plain lists, checked once so every method builds exactly the same thing."""

    bridge: str
    namespaces: list[str]
    veths: list[tuple[str, str, str]]  # (namespace, inner name, outer name)
    addresses: dict[str, list[str]]  # namespace -> "ADDR dev IF"

    @classmethod
    def of(cls, star: Plan) -> StarShape:
        bridges = [op for op in star.ops if isinstance(op, AddBridge)]
        assert len(bridges) == 1 and bridges[0].namespace is None, "benchmark needs one host bridge"
        veths = []
        for op in star.ops:
            if isinstance(op, AddVeth):
                inner, outer = (op.a, op.b) if op.b.namespace is None else (op.b, op.a)
                assert inner.namespace is not None and outer.namespace is None
                veths.append((inner.namespace, inner.name, outer.name))
        addresses: dict[str, list[str]] = defaultdict(list)
        for op in star.ops:
            if isinstance(op, AddAddress):
                addresses[where(op.namespace)].append(f"{op.address} dev {op.dev}")
        return cls(
            bridges[0].name,
            [op.name for op in star.ops if isinstance(op, AddNamespace)],
            veths,
            dict(addresses),
        )


WAIT_GONE = "while ip -br link show | grep -q '^{prefix}'; do sleep 0.05; done\n"


def floor_scripts(shape: StarShape, prefix: str) -> tuple[str, str]:
    """One ip -batch for the host, then one `ip -n NS -batch -` per namespace: the least
    work iproute2 can do, with nothing checked and nothing idempotent."""
    root = [f"netns add {ns}" for ns in shape.namespaces]
    root += [f"link add name {shape.bridge} type bridge", f"link set dev {shape.bridge} up"]
    for ns, inner, outer in shape.veths:
        root.append(f"link add name {inner} netns {ns} type veth peer name {outer}")
        root.append(f"link set dev {outer} master {shape.bridge} up")
    up = ["set -e", "ip -batch - <<'EOF'", *root, "EOF"]
    for ns, inner, _ in shape.veths:
        batch = [f"address add {a}" for a in shape.addresses.get(ns, [])]
        batch += [f"link set dev {inner} up", "link set dev lo up"]
        up += [f"ip -n {ns} -batch - <<'EOF'", *batch, "EOF"]
    down = ["set -e", "ip -batch - <<'EOF'"]
    down += [f"netns del {ns}" for ns in shape.namespaces]
    down += [f"link del dev {shape.bridge}", "EOF", WAIT_GONE.format(prefix=prefix)]
    return "\n".join(up) + "\n", "\n".join(down)


def tutorial_scripts(shape: StarShape, prefix: str) -> tuple[str, str]:
    """One ip process per step, as the hand-written tutorials do."""
    up = ["set -e"]
    up += [f"ip netns add {ns}" for ns in shape.namespaces]
    up += [f"ip link add name {shape.bridge} type bridge", f"ip link set dev {shape.bridge} up"]
    for ns, inner, outer in shape.veths:
        up.append(f"ip link add name {outer} type veth peer name {inner} netns {ns}")
        up.append(f"ip link set dev {outer} master {shape.bridge}")
        up.append(f"ip link set dev {outer} up")
        up += [f"ip -n {ns} address add {a}" for a in shape.addresses.get(ns, [])]
        up.append(f"ip -n {ns} link set dev {inner} up")
        up.append(f"ip -n {ns} link set dev lo up")
    down = [f"ip netns del {ns}" for ns in shape.namespaces]
    down += [f"ip link del dev {shape.bridge}", WAIT_GONE.format(prefix=prefix)]
    return "\n".join(up) + "\n", "\n".join(down)


# ---- running and timing ----------------------------------------------------------------------


@contextlib.contextmanager
def host_lock() -> Iterator[None]:
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def timed(
    args: list[str], expect_ok: bool = True, env: dict[str, str] | None = None
) -> tuple[float, bool]:
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    if expect_ok and result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(args)} failed: {result.stderr.strip()[-400:]}")
    return elapsed, result.returncode == 0


def residue(prefix: str) -> list[str]:
    names = []
    netns = Path("/run/netns")
    if netns.is_dir():
        names += [p.name for p in netns.iterdir() if p.name.startswith(prefix)]
    links = subprocess.run(["ip", "-br", "link", "show"], capture_output=True, text=True).stdout
    names += [line.split()[0] for line in links.splitlines() if line.startswith(prefix)]
    return names


def remove_residue(prefix: str) -> None:
    """Only names that carry this run's random prefix: nothing else is ever deleted."""
    for name in residue(prefix):
        if Path(f"/run/netns/{name}").exists():
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        else:
            dev = name.split("@")[0]
            subprocess.run(["ip", "link", "del", "dev", dev], capture_output=True, check=False)
    shutil.rmtree(f"/run/nsgen/{prefix}star", ignore_errors=True)


@dataclass
class Results:
    runs: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)

    def add(self, method: str, size: int, seconds: float) -> None:
        self.runs[(method, size)].append(seconds)

    def median(self, method: str, size: int) -> float | None:
        values = self.runs.get((method, size))
        return statistics.median(values) if values else None


def run_size(size: int, work: Path, results: Results, mininet: str | None) -> None:
    topology = work / f"star{size}.toml"
    topology.write_text(star_topology(size))
    base = "b" + secrets.token_hex(2)
    try:
        for method, run in methods(topology, size, base, work, mininet):
            run(results)
            left = residue(base)
            if left:
                raise SystemExit(f"bench: {method} left {len(left)} objects: {left[:5]}")
    finally:
        remove_residue(base)


Method = tuple[str, Callable[[Results], None]]


def methods(topology: Path, size: int, base: str, work: Path, mininet: str | None) -> list[Method]:
    def scripted(name: str, prefix: str, build: Callable[[StarShape, str], tuple[str, str]]):
        def run(results: Results) -> None:
            shape = StarShape.of(pipeline.compile_plan(topology, prefix))
            up, down = build(shape, prefix)
            (work / f"{name}-up.sh").write_text(up)
            (work / f"{name}-down.sh").write_text(down)
            results.add(f"{name} up", size, timed(["sh", str(work / f"{name}-up.sh")])[0])
            if name == "tutorial":
                _seconds, ok = timed(["sh", str(work / f"{name}-up.sh")], expect_ok=False)
                if ok:
                    results.notes.append(f"tutorial re-run at N={size} did not fail")
            results.add(f"{name} down", size, timed(["sh", str(work / f"{name}-down.sh")])[0])

        return run

    def nsgen(results: Results) -> None:
        prefix = base + "n"
        script = work / "nsgen.sh"
        script.write_text(render.render(pipeline.compile_plan(topology, prefix), prefix=prefix))
        results.add("nsgen up", size, timed(["sh", str(script), "up"])[0])
        results.add("nsgen re-run", size, timed(["sh", str(script), "up"])[0])
        results.add("nsgen down", size, timed(["sh", str(script), "down"])[0])

    def mininet_star(results: Results) -> None:
        assert mininet is not None
        script = Path(__file__).with_name("mininet_star.py")
        out = subprocess.run(
            [mininet, str(script), str(size), base + "m"], capture_output=True, text=True
        )
        if out.returncode != 0:
            raise SystemExit(f"bench: mininet failed: {out.stderr.strip()[-400:]}")
        times = json.loads(out.stdout.strip().splitlines()[-1])
        results.add("mininet up", size, times["up"])
        results.add("mininet down", size, times["down"])

    chosen: list[Method] = [("floor", scripted("floor", base + "f", floor_scripts))]
    if size <= TUTORIAL_MAX:
        chosen.append(("tutorial", scripted("tutorial", base + "t", tutorial_scripts)))
    chosen.append(("nsgen", nsgen))
    if mininet is not None and size <= TUTORIAL_MAX:
        chosen.append(("mininet", mininet_star))
    return chosen


def find_mininet() -> str | None:
    for python in ("/usr/bin/python3", shutil.which("python3") or ""):
        if (
            python
            and subprocess.run(
                [python, "-c", "import mininet.net"], capture_output=True, check=False
            ).returncode
            == 0
        ):
            return python
    return None


def startup_times(work: Path, reps: int) -> dict[str, float]:
    """Render of a 1000-namespace star and --help, against importing nsgen's two libraries.

    Measured as an installed nsgen runs: with its bytecode cached (pip compiles it at
    install time, as it did jinja2's and typer's), so a warm-up run first writes the cache
    even where PYTHONDONTWRITEBYTECODE is set.
    """
    topology = work / "star1000.toml"
    topology.write_text(star_topology(1000))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    commands = {
        "python -c 'import jinja2, typer'": [sys.executable, "-c", "import jinja2, typer"],
        "nsgen render (N=1000)": [sys.executable, "-m", "nsgen", "render", str(topology)],
        "nsgen --help": [sys.executable, "-m", "nsgen", "--help"],
    }
    for args in commands.values():
        subprocess.run(args, capture_output=True, env=env, check=False)
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(max(reps, 5)):
        for name, args in commands.items():
            samples[name].append(timed(args, env=env)[0])
    return {name: statistics.median(values) for name, values in samples.items()}


# ---- the report ------------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ip_version = subprocess.run(["ip", "-V"], capture_output=True, text=True).stdout.strip()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {memory:.0f} GiB; Linux {platform.release()}; "
        f"{ip_version}; Python {platform.python_version()}; sh is "
        f"{os.path.realpath(shutil.which('sh') or 'sh')}"
    )


def ratio(results: Results, goal: str, size: int) -> float | None:
    top, bottom, _ = GOALS[goal]
    a, b = results.median(top, size), results.median(bottom, size)
    return None if a is None or not b else a / b


def report(
    results: Results, sizes: list[int], reps: int, startup: dict[str, float], command: str
) -> str:
    reference = 500 if 500 in sizes else max(sizes)
    out = [
        "# Benchmarks",
        "",
        "Produced by `bench/run.py` on this project's machine; reproduce with",
        "",
        f"    {command}",
        "",
        f"Machine: {machine()}.",
        "",
        "A star of N namespaces on one bridge in the host namespace (each: a veth, an IPv4",
        "address, link and loopback up). Medians in seconds of "
        f"{reps} interleaved repetitions. *floor*: one `ip -batch` for the host and one",
        "`ip -n NS -batch -` per namespace, derived from nsgen's own plan; *tutorial*: one `ip`",
        "process per step, as hand-written scripts do; *re-run*: `up` again on the built lab;",
        "*down*: until the kernel has removed everything.",
        "",
        "## Bring-up and tear-down",
        "",
    ]
    methods = ["floor", "tutorial", "nsgen", "mininet"]
    header = ["method"] + [f"up N={n}" for n in sizes]
    header += [f"re-run N={reference}", f"down N={reference}"]
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in methods:
        if not any(results.median(f"{method} up", n) is not None for n in sizes):
            continue
        cells = [method] + [fmt(results.median(f"{method} up", n)) for n in sizes]
        rerun = results.median(f"{method} re-run", reference)
        if method == "tutorial" and results.median("tutorial up", reference) is not None:
            cells.append("fails (File exists)")
        else:
            cells.append(fmt(rerun))
        cells.append(fmt(results.median(f"{method} down", reference)))
        out.append("| " + " | ".join(cells) + " |")

    out += ["", f"## Goals at N={reference}", ""]
    out += ["| goal | measured | limit | met |", "|---|---|---|---|"]
    for goal, (_, _, limit) in GOALS.items():
        value = ratio(results, goal, reference)
        met = "-" if value is None else ("yes" if value <= limit else "NO")
        out.append(f"| {goal} | {fmt(value)} | {limit} | {met} |")
    speedups = [
        ("tutorial up / nsgen up", "tutorial up"),
        ("mininet up / nsgen up", "mininet up"),
    ]
    for name, other in speedups:
        a, b = results.median(other, reference), results.median("nsgen up", reference)
        if a is not None and b:
            out.append(f"| {name} (speed-up) | {a / b:.1f} | | |")

    out += [
        "",
        "## Growth: per-namespace cost of nsgen up",
        "",
        "| N | nsgen up (s) | per namespace (ms) | floor per namespace (ms) |",
        "|---|---|---|---|",
    ]
    for n in sizes:
        up, floor = results.median("nsgen up", n), results.median("floor up", n)
        if up is not None:
            floor_ms = "-" if floor is None else f"{floor / n * 1000:.2f}"
            out.append(f"| {n} | {up:.2f} | {up / n * 1000:.2f} | {floor_ms} |")

    if startup:
        base = startup["python -c 'import jinja2, typer'"]
        limits = {"nsgen render (N=1000)": 2.5, "nsgen --help": 2.0}
        out += [
            "",
            "## Start-up and render",
            "",
            "Medians of at least 5 runs each, with nsgen's bytecode cached as after `pip install`.",
            "",
            "| command | median (s) | / import jinja2, typer | limit |",
            "|---|---|---|---|",
        ]
        for name, seconds in startup.items():
            limit = limits.get(name)
            out.append(
                f"| {name} | {seconds:.3f} | {seconds / base:.2f} | {limit if limit else ''} |"
            )

    out += ["", MULTIHOST]
    out += ["", "## Every run (seconds)", "", "| method | N | runs |", "|---|---|---|"]
    for (method, n), values in sorted(results.runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        out.append(f"| {method} | {n} | {' '.join(f'{v:.3f}' for v in values)} |")
    out += ["", *[f"Note: {note}." for note in results.notes]] if results.notes else []
    return "\n".join(out).rstrip() + "\n"


MULTIHOST = (
    "A lab across hosts is measured by `bench/multihost.py`: "
    "[benchmarks-multihost.md](benchmarks-multihost.md)."
)


def plot(results: Results, sizes: list[int], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for method in ["tutorial up", "mininet up", "nsgen up", "floor up", "nsgen re-run"]:
        points = [(n, results.median(method, n)) for n in sizes]
        xs = [n for n, v in points if v is not None]
        ys = [v for _, v in points if v is not None]
        if xs:
            ax.plot(xs, ys, marker="o", label=method)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("namespaces (N)")
    ax.set_ylabel("seconds (median)")
    ax.set_title("Bringing up a star of N namespaces")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(target)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,500,1000", help="comma-separated N values")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (medians are reported)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="report directory")
    parser.add_argument("--no-plot", action="store_true", help="skip docs/bench.png")
    parser.add_argument("--no-mininet", action="store_true", help="skip Mininet even if present")
    parser.add_argument("--no-startup", action="store_true", help="skip render/--help timing")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (CAP_NET_ADMIN) to build namespaces")
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    mininet = None if args.no_mininet else find_mininet()
    results = Results()
    if mininet is None and not args.no_mininet:
        results.notes.append("Mininet is not installed here (apt-get install mininet bridge-utils)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nsgen-bench-") as tmp, host_lock():
        work = Path(tmp)
        for rep in range(args.reps):
            for size in sizes:
                print(f"bench: repetition {rep + 1}/{args.reps}, N={size}", file=sys.stderr)
                run_size(size, work, results, mininet)
        startup = {} if args.no_startup else startup_times(work, args.reps)
    command = "sudo python3 -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(results, sizes, args.reps, startup, command.strip())
    (args.out / "benchmarks.md").write_text(text)
    if not args.no_plot:
        plot(results, sizes, args.out / "bench.png")
    print(text)
