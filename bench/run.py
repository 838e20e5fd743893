"""Benchmark: every action on a star of N namespaces, several ways, side by side.

    sudo python3 -m bench                      # sizes 50 to 2000, 3 repetitions
    sudo python3 -m bench --sizes 20 --reps 1 --no-plot --out /tmp/b   # the CI smoke run

Every method builds the same lab from the same topology: N namespaces, each with a veth
whose outer end is a port of one bridge in the host, an IPv4 address, link and loopback up.
The floor is derived here from nsgen's own plan of that topology, so the comparison is
like for like; so are the plain ping loop and the per-step reads, which take nsgen's own
verify checks and namespaces. Methods run interleaved (each repetition runs all of them in
turn), so a change in the machine's load falls on all of them alike; the report gives medians.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import resource
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

from bench import daemons, svg
from nsgen import pipeline, render
from nsgen.lab import where
from nsgen.plan import AddAddress, AddBridge, AddNamespace, AddVeth, Plan

ROOT = Path(__file__).resolve().parent.parent
LOCK = Path("/run/lock/nsgen-live-tests.lock")  # the live tests' lock: never measure during them
# name: (numerator, denominator, limit, sizes it is judged at; absent ones: the largest run)
GOALS = {
    "nsgen up / floor up": ("nsgen up", "floor up", 1.2, (500,)),
    "nsgen re-run / floor up": ("nsgen re-run", "floor up", 1.0, (500,)),
    "nsgen down / floor down": ("nsgen down", "floor down", 1.5, (500,)),
    "nsgen verify / ping loop": ("nsgen verify", "tutorial verify", 0.3, (300, 500)),
    "nsgen status / nsgen up": ("nsgen status", "nsgen up", 0.6, (300, 500)),
    "nsgen one-change up / nsgen re-run": ("nsgen change", "nsgen re-run", 1.1, (300, 500)),
    # The same two on freshly built labs, each action at once after up.
    "nsgen verify / ping loop, fresh": (
        "nsgen verify fresh",
        "tutorial verify fresh",
        0.3,
        (300, 500),
    ),
    "nsgen one-change up / nsgen re-run, fresh": (
        "nsgen change fresh",
        "nsgen re-run fresh",
        1.1,
        (300, 500),
    ),
}
# Cost per namespace (per check for verify: the star has one per namespace) at the larger
# size over the smaller one, in the same run; and the seconds nsgen's up may take there.
GROWTH = (100, 1000, 1.25)
UP_SECONDS = (1000, 4.0)
TUTORIAL_MAX = 500  # one process per step: beyond this it only costs minutes
# Every action, in the order each method runs them on one lab.
ACTIONS = [
    "up",
    "re-run",
    "change",
    "status",
    "verify",
    "down",
    "re-run fresh",
    "change fresh",
    "verify fresh",
]
ACTION_TEXT = {
    "up": "up",
    "re-run": "up again (converged)",
    "change": "up after a one-address change",
    "status": "status",
    "verify": "verify",
    "down": "down",
    "re-run fresh": "up again, at once after up",
    "change fresh": "one-address change, at once after up",
    "verify fresh": "verify, at once after up",
}
# The host's neighbour tables for the run (README: Large labs): the default 1024 entries
# overflow near N=500 and stall every method's pings alike. Labs of this size and more also
# carry the opt-in [host] neighbour_table, so nsgen's own raise and record are measured.
NEIGH_TABLE = 8192
NEIGH_OPT_IN = 1000
# A star of more hosts is several stars of this many, one bridge and one /16 each: a broadcast
# domain of thousands of ports is not a lab anyone builds, and every ARP request is copied to
# each port of its bridge.
PORTS_PER_BRIDGE = 1000
# A settled lab: after up, its IPv6 start-up traffic (DAD, MLD reports, router solicitations
# retransmitted with back-off) comes in bursts, each frame copied to every port of the bridge,
# for about 20 s at N=1000 and again around 30 s (docs/performance.md: Cost per namespace).
# An action on a settled lab waits at least SETTLE_SECONDS after up, and then until its
# bridges have carried at most quiet_frames(N) frames in the last QUIET_WINDOW seconds; so it
# is measured between bursts, whenever they come. Waiting is not measured.
SETTLE_SECONDS = 3
QUIET_WINDOW = 1.0
SETTLE_MAX = 120.0


def quiet_frames(size: int) -> int:
    """Frames a settled bridge may carry per QUIET_WINDOW: each is copied to `size` ports."""
    return max(5, size // 100)


PICTURE = "bench-per-namespace.svg"  # beside benchmarks.md


def star_topology(hosts: int, changed: bool = False, neighbour_table: int | None = None) -> str:
    """The star; `changed`: the same with the first host's address moved. Beyond
    PORTS_PER_BRIDGE hosts, one more bridge (and /16) per PORTS_PER_BRIDGE."""
    lines = ['name = "star"', ""]
    if neighbour_table is not None:
        lines += ["[host]", f"neighbour_table = {neighbour_table}", ""]
    bridges = (hosts + PORTS_PER_BRIDGE - 1) // PORTS_PER_BRIDGE
    for k in range(bridges):
        lines += [f"[bridges.br{k}]", ""]
    for i in range(hosts):
        k, j = divmod(i, PORTS_PER_BRIDGE)
        address = f"10.{200 + k}.{j // 250}.{j % 250 + 1}/16"
        if changed and i == 0:
            address = "10.200.254.1/16"
        lines += [
            f"[namespaces.h{i}.interfaces.eth0]",
            f'bridge = "br{k}"',
            f'address = "{address}"',
        ]
        lines.append("")
    return "\n".join(lines)


# ---- the methods, each a pair of scripts derived from the same plan -------------------------


@dataclass(frozen=True)
class StarShape:
    """The star as plain lists, checked once so every method builds exactly the same thing."""

    bridges: list[str]
    namespaces: list[str]
    veths: list[tuple[str, str, str, str]]  # (namespace, inner name, outer name, bridge)
    addresses: dict[str, list[str]]  # namespace -> "ADDR dev IF"
    pings: list[tuple[str, str]]  # nsgen verify's checks: (from namespace, address)

    @classmethod
    def of(cls, star: Plan) -> StarShape:
        bridges = [op for op in star.ops if isinstance(op, AddBridge)]
        assert all(b.namespace is None for b in bridges), "benchmark needs host bridges"
        veths = []
        for op in star.ops:
            if isinstance(op, AddVeth):
                inner, outer = (op.a, op.b) if op.b.namespace is None else (op.b, op.a)
                assert inner.namespace is not None and outer.namespace is None and outer.master
                veths.append((inner.namespace, inner.name, outer.name, outer.master))
        addresses: dict[str, list[str]] = defaultdict(list)
        for op in star.ops:
            if isinstance(op, AddAddress):
                addresses[where(op.namespace)].append(f"{op.address} dev {op.dev}")
        pings = []
        for check in star.checks:
            assert check.namespace is not None and check.reachable, "pings between namespaces"
            pings.append((check.namespace, str(check.address)))
        return cls(
            [b.name for b in bridges],
            [op.name for op in star.ops if isinstance(op, AddNamespace)],
            veths,
            dict(addresses),
            pings,
        )


WAIT_GONE = "while ip -br link show | grep -q '^{prefix}'; do sleep 0.05; done\n"


@dataclass(frozen=True)
class Scripts:
    up: str
    down: str
    status: str  # reads what nsgen's status compares
    verify: str = ""  # "" when the method has no verify


def floor_scripts(shape: StarShape, prefix: str) -> Scripts:
    """One ip -batch for the host, then one `ip -n NS -batch -` per namespace: the least
    work iproute2 can do, with nothing checked and nothing idempotent. Its status reads the
    same way: the host's links, then one batch of link, address and route listings in each
    namespace, compared with nothing."""
    root = [f"netns add {ns}" for ns in shape.namespaces]
    for bridge in shape.bridges:
        root += [f"link add name {bridge} type bridge", f"link set dev {bridge} up"]
    for ns, inner, outer, bridge in shape.veths:
        root.append(f"link add name {inner} netns {ns} type veth peer name {outer}")
        root.append(f"link set dev {outer} master {bridge} up")
    up = ["set -e", "ip -batch - <<'EOF'", *root, "EOF"]
    for ns, inner, _, _ in shape.veths:
        batch = [f"address add {a}" for a in shape.addresses.get(ns, [])]
        batch += [f"link set dev {inner} up", "link set dev lo up"]
        up += [f"ip -n {ns} -batch - <<'EOF'", *batch, "EOF"]
    down = ["set -e", "ip -batch - <<'EOF'"]
    down += [f"netns del {ns}" for ns in shape.namespaces]
    down += [f"link del dev {bridge}" for bridge in shape.bridges]
    down += ["EOF", WAIT_GONE.format(prefix=prefix)]
    status = ["ip -j link show >/dev/null"]
    status += [
        f"printf 'link show\\naddress show\\nroute show\\n' | ip -n {ns} -j -batch - >/dev/null"
        for ns in shape.namespaces
    ]
    return Scripts("\n".join(up) + "\n", "\n".join(down), "\n".join(status) + "\n")


def tutorial_scripts(shape: StarShape, prefix: str) -> Scripts:
    """One ip process per step, as the hand-written tutorials do; status is a look at each
    namespace's addresses and routes, verify the plain loop of `ip netns exec NS ping`."""
    up = ["set -e"]
    up += [f"ip netns add {ns}" for ns in shape.namespaces]
    for bridge in shape.bridges:
        up += [f"ip link add name {bridge} type bridge", f"ip link set dev {bridge} up"]
    for ns, inner, outer, bridge in shape.veths:
        up.append(f"ip link add name {outer} type veth peer name {inner} netns {ns}")
        up.append(f"ip link set dev {outer} master {bridge}")
        up.append(f"ip link set dev {outer} up")
        up += [f"ip -n {ns} address add {a}" for a in shape.addresses.get(ns, [])]
        up.append(f"ip -n {ns} link set dev {inner} up")
        up.append(f"ip -n {ns} link set dev lo up")
    down = [f"ip netns del {ns}" for ns in shape.namespaces]
    down += [f"ip link del dev {bridge}" for bridge in shape.bridges]
    down += [WAIT_GONE.format(prefix=prefix)]
    status = []
    for ns in shape.namespaces:
        status += [f"ip -n {ns} address show >/dev/null", f"ip -n {ns} route show >/dev/null"]
    verify = ["failed=0"]
    verify += [
        f"ip netns exec {ns} ping -c 1 -w 3 -q {address} >/dev/null || failed=$((failed + 1))"
        for ns, address in shape.pings
    ]
    verify.append('[ "$failed" = 0 ] || { echo "$failed pings failed" >&2; exit 1; }')
    return Scripts(
        "\n".join(up) + "\n", "\n".join(down), "\n".join(status) + "\n", "\n".join(verify) + "\n"
    )


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
    # Each method's labs are named PREFIX + a letter + "star": all of them carry the prefix.
    for state in Path("/run/nsgen").glob(f"{prefix}*"):
        shutil.rmtree(state, ignore_errors=True)
    release_neighbour_hold(prefix)


def release_neighbour_hold(prefix: str) -> None:
    """A run stopped between a lab's up and its down leaves that lab named as a holder of the
    neighbour-table raise in the host-wide record; with the record the test suite, and every
    later `down`, would take the raise for another lab's. The values themselves are
    neighbour_tables()'s to put back."""
    record = Path("/run/nsgen/.host/neigh")
    if not record.exists():
        return
    lines = record.read_text().splitlines()
    kept = [line for line in lines if not line.startswith(f"lab {prefix}")]
    if kept == lines:
        return
    if any(line.startswith("lab ") for line in kept):
        record.write_text("".join(f"{line}\n" for line in kept))
    else:
        record.unlink()


def bridge_frames(bridges: list[str]) -> int:
    """Frames the bridges have received: every frame they flood reaches the bridge too."""
    return sum(int(Path(f"/sys/class/net/{b}/statistics/rx_packets").read_text()) for b in bridges)


def settle(bridges: list[str], size: int, since_up: float, results: Results) -> None:
    """Wait (unmeasured) until the lab is settled: SETTLE_SECONDS after its up (`since_up`, a
    perf_counter time), and its bridges quiet for QUIET_WINDOW seconds."""
    time.sleep(max(0.0, since_up + SETTLE_SECONDS - time.perf_counter()))
    start = time.perf_counter()
    before = bridge_frames(bridges)
    while True:
        time.sleep(QUIET_WINDOW)
        after = bridge_frames(bridges)
        if after - before <= quiet_frames(size):
            break
        if time.perf_counter() - start > SETTLE_MAX:
            results.notes.append(f"a lab of N={size} was not quiet after {SETTLE_MAX:.0f} s")
            break
        before = after
    results.waits[size].append(time.perf_counter() - start)


@dataclass
class Results:
    runs: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    # CPU seconds (user and system) of the method's processes in each run: what the method
    # itself spends, without the kernel's work elsewhere (softirq) or waiting.
    cpu: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)
    # Seconds each settle() waited for quiet bridges, by N: not part of any measurement.
    waits: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, method: str, size: int, seconds: float) -> None:
        self.runs[(method, size)].append(seconds)

    def median(self, method: str, size: int) -> float | None:
        values = self.runs.get((method, size))
        return statistics.median(values) if values else None

    def median_cpu(self, method: str, size: int) -> float | None:
        values = self.cpu.get((method, size))
        return statistics.median(values) if values else None

    def measure(self, method: str, size: int, args: list[str], expect_ok: bool = True) -> bool:
        """Run args, add its seconds and CPU seconds; whether it succeeded."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds, ok = timed(args, expect_ok)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.add(method, size, seconds)
        self.cpu[(method, size)].append(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        )
        return ok


def run_size(size: int, work: Path, results: Results, mininet: str | None) -> None:
    topology = work / f"star{size}.toml"
    opt_in = NEIGH_TABLE if size >= NEIGH_OPT_IN else None
    topology.write_text(star_topology(size, neighbour_table=opt_in))
    (work / f"star{size}-changed.toml").write_text(
        star_topology(size, changed=True, neighbour_table=opt_in)
    )
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
    def verify(results: Results, key: str, args: list[str]) -> None:
        """Failed pings are noted in the report, not fatal."""
        if not results.measure(key, size, ["sh", *args], expect_ok=False):
            results.notes.append(f"{key} at N={size} had failed checks")

    def scripted(
        name: str, prefix: str, build: Callable[[StarShape, str], Scripts]
    ) -> Callable[[Results], None]:
        def run(results: Results) -> None:
            shape = StarShape.of(pipeline.compile_plan(topology, prefix))
            scripts = build(shape, prefix)
            paths = {}
            for action in ("up", "down", "status", "verify"):
                paths[action] = work / f"{name}-{action}.sh"
                paths[action].write_text(getattr(scripts, action))
            if scripts.verify:
                # Fresh: the verify a user runs at once after up, in the lab's start-up traffic.
                results.measure(f"{name} up", size, ["sh", str(paths["up"])])
                verify(results, f"{name} verify fresh", [str(paths["verify"])])
                results.measure(f"{name} down", size, ["sh", str(paths["down"])])
            results.measure(f"{name} up", size, ["sh", str(paths["up"])])
            built = time.perf_counter()
            if name == "tutorial":
                _seconds, ok = timed(["sh", str(paths["up"])], expect_ok=False)
                if ok:
                    results.notes.append(f"tutorial re-run at N={size} did not fail")
            if scripts.verify:  # settled, as nsgen's own status and verify are
                settle(shape.bridges, size, built, results)
            results.measure(f"{name} status", size, ["sh", str(paths["status"])])
            if scripts.verify:
                settle(shape.bridges, size, built, results)
                verify(results, f"{name} verify", [str(paths["verify"])])
            results.measure(f"{name} down", size, ["sh", str(paths["down"])])

        return run

    def nsgen(results: Results) -> None:
        prefix = base + "n"
        script, changed = work / "nsgen.sh", work / "nsgen-changed.sh"
        plan = pipeline.compile_plan(topology, prefix)
        bridges = [op.name for op in plan.ops if isinstance(op, AddBridge)]
        script.write_text(render.render(plan, prefix=prefix))
        other = topology.with_name(topology.stem + "-changed.toml")
        changed.write_text(render.render(pipeline.compile_plan(other, prefix), prefix=prefix))
        results.measure("nsgen up", size, ["sh", str(script), "up"])
        built = time.perf_counter()
        # The re-runs and changes compare steady states, each measured on a settled lab: in a
        # burst of the lab's IPv6 start-up traffic, whichever run falls in it pays for it.
        # Back to the lab as first declared after the change, so status and verify judge the
        # same lab each time: a one-address change too, then a re-run once more. Two samples
        # of each per repetition: one run's spread at N=300 here (0.1 s) is more than the
        # difference the goal between them measures.
        for key, path in (
            ("nsgen re-run", script),
            ("nsgen change", changed),
            ("nsgen change", script),
            ("nsgen re-run", script),
        ):
            settle(bridges, size, built, results)
            results.measure(key, size, ["sh", str(path), "up"])
        settle(bridges, size, built, results)
        results.measure("nsgen status", size, ["sh", str(script), "status"])
        settle(bridges, size, built, results)
        verify(results, "nsgen verify", [str(script), "verify"])
        results.measure("nsgen down", size, ["sh", str(script), "down"])
        # Fresh labs, as a user meets them: each action at once after the up that built the lab,
        # in its start-up traffic; one lab each, so that none follows another.
        for action, then in (
            ("verify fresh", [str(script), "verify"]),
            ("change fresh", [str(changed), "up"]),
            ("re-run fresh", [str(script), "up"]),
        ):
            results.measure("nsgen up", size, ["sh", str(script), "up"])
            if action == "verify fresh":
                verify(results, "nsgen verify fresh", then)
            else:
                results.measure(f"nsgen {action}", size, ["sh", *then])
            results.measure("nsgen down", size, ["sh", str(script), "down"])

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


@contextlib.contextmanager
def neighbour_tables(size: int) -> Iterator[dict[str, int]]:
    """Raise the host's gc_thresh values to hold `size` entries for the run (never lower),
    and put back exactly what was there. They exist only in the host's initial namespace."""
    found: dict[str, int] = {}
    for family in (4, 6):
        for i, want in ((1, size // 8), (2, size // 2), (3, size)):
            path = Path(f"/proc/sys/net/ipv{family}/neigh/default/gc_thresh{i}")
            if path.exists():
                found[str(path)] = int(path.read_text())
                if found[str(path)] < want:
                    path.write_text(f"{want}\n")
    try:
        yield found
    finally:
        for name, value in found.items():
            Path(name).write_text(f"{value}\n")


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
    top, bottom, _, _ = GOALS[goal]
    a, b = results.median(top, size), results.median(bottom, size)
    return None if a is None or not b else a / b


def goal_sizes(goal: str, sizes: list[int]) -> list[int]:
    return [n for n in GOALS[goal][3] if n in sizes] or [max(sizes)]


def per_namespace(results: Results, key: str, size: int, cpu: bool = False) -> float | None:
    """Milliseconds (of CPU time: `cpu`) per namespace of a method's action at size."""
    value = (results.median_cpu if cpu else results.median)(key, size)
    return None if value is None else value / size * 1000


def growth(results: Results, key: str, small: int, large: int) -> float | None:
    a, b = per_namespace(results, key, large), per_namespace(results, key, small)
    return None if a is None or not b else a / b


# The series of the per-namespace table and picture: nsgen's every action, and the floor's up.
PER_NAMESPACE = [f"nsgen {action}" for action in ACTIONS] + ["floor up"]


def per_namespace_table(results: Results, sizes: list[int], cpu: bool = False) -> list[str]:
    out = ["| method action | " + " | ".join(f"N={n}" for n in sizes) + " |"]
    out.append("|" + "---|" * (len(sizes) + 1))
    for key in PER_NAMESPACE:
        cells = [per_namespace(results, key, n, cpu) for n in sizes]
        if any(c is not None for c in cells):
            out.append(f"| {key} | " + " | ".join(fmt(c) for c in cells) + " |")
    return out


def per_namespace_picture(results: Results, sizes: list[int]) -> str:
    series = {
        key: [(float(n), v) for n in sizes if (v := per_namespace(results, key, n)) is not None]
        for key in PER_NAMESPACE
    }
    return svg.line_chart(
        series, "Cost per namespace of every action", "namespaces (N)", "ms per namespace"
    )


def every_action_table(results: Results, sizes: list[int]) -> list[str]:
    header = ["method", "action"] + [f"N={n}" for n in sizes]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in ["nsgen", "floor", "tutorial", "mininet"]:
        for action in ACTIONS:
            key = f"{method} {action}"
            if not any(results.median(key, n) is not None for n in sizes):
                if (
                    method == "tutorial"
                    and action == "re-run"
                    and results.median("tutorial up", sizes[0])
                ):
                    out.append(
                        "| tutorial | up again | "
                        + " | ".join(
                            "fails (File exists)" if results.median("tutorial up", n) else "-"
                            for n in sizes
                        )
                        + " |"
                    )
                continue
            name = {
                "tutorial verify": "verify (ping loop)",
                "tutorial verify fresh": "verify (ping loop), at once after up",
            }.get(key, ACTION_TEXT[action])
            cells = [method, name] + [fmt(results.median(key, n)) for n in sizes]
            out.append("| " + " | ".join(cells) + " |")
    return out


def report(
    results: Results,
    sizes: list[int],
    reps: int,
    startup: dict[str, float],
    command: str,
    ring: dict[str, list[float]] | None = None,
    routers: int = daemons.ROUTERS,
    picture: str | None = None,
) -> str:
    reference = 500 if 500 in sizes else max(sizes)
    opt_in = [n for n in sizes if n >= NEIGH_OPT_IN]
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
        f"{reps} interleaved repetitions. *nsgen*: the rendered script's actions; *up again*:",
        "`up` on the built lab once it is settled (below),",
        "twice per repetition: before the change and after the way back; *one-address change*:",
        "`up` of the lab with one host's address moved, and of the first lab again (the way",
        "back: two samples per repetition); *status*, *verify*: the script's own. *floor*: one",
        "`ip -batch` for the host and",
        "one `ip -n NS -batch -` per namespace, derived from nsgen's own plan (its status: one",
        "batch of listings per namespace, compared with nothing); *tutorial*: one `ip` process",
        "per step, as hand-written scripts do, its status `ip -n NS address show` and `route",
        "show` for each namespace, its verify the plain loop `ip netns exec NS ping -c 1 -w 3`",
        "over nsgen's own verify checks; *down*: until the kernel has removed everything.",
        "Re-runs, changes, status and verify run on a settled lab (the loop and the floor's",
        f"status too): at least {SETTLE_SECONDS} s after its up, and each once its bridges have",
        f"carried at most max(5, N/100) frames in the last {QUIET_WINDOW:.0f} s, between the",
        "bursts of the lab's IPv6 start-up traffic (the waits are not measured; their medians",
        "are below); *at once after up*: on a freshly built lab, one per measurement, the",
        "action right after the up that built it, as a user meets it.",
        f"The host's neighbour tables hold {NEIGH_TABLE} entries during the run (the default",
        "1024 overflow near N=500 and stall every method's pings alike); the values found are",
        "put back afterwards."
        + (
            f" At N={', '.join(map(str, opt_in))} nsgen's lab carries the opt-in "
            f"`[host] neighbour_table = {NEIGH_TABLE}`."
            if opt_in
            else ""
        ),
        "",
        "## Every action",
        "",
        *every_action_table(results, sizes),
    ]
    waits = [f"N={n}: {statistics.median(results.waits[n]):.1f}" for n in sizes if results.waits[n]]
    if waits:
        out += [
            "",
            "Seconds a settled action waited for quiet bridges (medians): "
            + ", ".join(waits)
            + ".",
        ]

    out += ["", "## Goals", ""]
    out += ["| goal | N | measured | limit | met |", "|---|---|---|---|---|"]
    for goal, (_, _, limit, _) in GOALS.items():
        for n in goal_sizes(goal, sizes):
            value = ratio(results, goal, n)
            met = "-" if value is None else ("yes" if value <= limit else "NO")
            out.append(f"| {goal} | {n} | {fmt(value)} | {limit} | {met} |")
    n, limit = UP_SECONDS
    if n in sizes:
        up = results.median("nsgen up", n)
        met = "-" if up is None else ("yes" if up <= limit else "NO")
        out.append(f"| nsgen up (seconds) | {n} | {fmt(up)} | {limit} | {met} |")
    small, large, limit = GROWTH
    if small in sizes and large in sizes:
        for action in ACTIONS:
            value = growth(results, f"nsgen {action}", small, large)
            if value is not None:
                met = "yes" if value <= limit else "NO"
                out.append(
                    f"| nsgen {action} per namespace, N={large} / N={small} | {large} "
                    f"| {value:.2f} | {limit} | {met} |"
                )
    speedups = [
        ("tutorial up / nsgen up", "tutorial up"),
        ("mininet up / nsgen up", "mininet up"),
    ]
    for name, other in speedups:
        a, b = results.median(other, reference), results.median("nsgen up", reference)
        if a is not None and b:
            out.append(f"| {name} (speed-up) | {reference} | {a / b:.1f} | | |")

    out += [
        "",
        "## Growth: cost per namespace of every action",
        "",
        "Milliseconds per namespace (verify: per check, one per namespace), medians; a flat",
        f"row is a constant cost per namespace. Beyond {PORTS_PER_BRIDGE} namespaces the star",
        f"is several bridges of {PORTS_PER_BRIDGE} ports, one /16 each.",
        "",
        *per_namespace_table(results, sizes),
        "",
        "The same as CPU time (user and system) of the method's own processes, in",
        "milliseconds per namespace: the rest of the time above is the kernel's work elsewhere",
        "(a bridge copies each broadcast and multicast frame to every port, in softirq) and",
        "waiting.",
        "",
        *per_namespace_table(results, sizes, cpu=True),
    ]
    if picture:
        out += ["", f"![Cost per namespace of every action against N]({picture})"]

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
            bound = limits.get(name)
            out.append(
                f"| {name} | {seconds:.3f} | {seconds / base:.2f} | {bound if bound else ''} |"
            )

    if ring is not None:
        out += ["", daemons.section(ring, routers, command).rstrip()]
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="50,100,200,300,500,1000,2000", help="comma-separated N values"
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions (medians are reported)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="report directory")
    parser.add_argument("--no-plot", action="store_true", help=f"skip docs/{PICTURE}")
    parser.add_argument("--no-mininet", action="store_true", help="skip Mininet even if present")
    parser.add_argument("--no-startup", action="store_true", help="skip render/--help timing")
    parser.add_argument("--no-daemons", action="store_true", help="skip the ring of BIRD routers")
    parser.add_argument("--routers", type=int, default=daemons.ROUTERS, help="size of the ring")
    parser.add_argument(
        "--only-daemons",
        action="store_true",
        help="only the ring of BIRD routers: rewrite its section of benchmarks.md",
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (CAP_NET_ADMIN) to build namespaces")
    command = "sudo python3 -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.only_daemons:
        with host_lock():
            runs = daemons.run(args.reps, args.routers)
        page = args.out / "benchmarks.md"
        new = daemons.section(runs, args.routers, command.strip())
        page.write_text(daemons.replace_section(page.read_text(), new, MULTIHOST))
        print(new)
        return
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    mininet = None if args.no_mininet else find_mininet()
    results = Results()
    if mininet is None and not args.no_mininet:
        results.notes.append("Mininet is not installed here (apt-get install mininet bridge-utils)")
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="nsgen-bench-") as tmp,
        host_lock(),
        neighbour_tables(NEIGH_TABLE),
    ):
        work = Path(tmp)
        for rep in range(args.reps):
            for size in sizes:
                print(f"bench: repetition {rep + 1}/{args.reps}, N={size}", file=sys.stderr)
                run_size(size, work, results, mininet)
        startup = {} if args.no_startup else startup_times(work, args.reps)
        ring = None if args.no_daemons else daemons.run(args.reps, args.routers)
    picture = None if args.no_plot else PICTURE
    if picture is not None:
        (args.out / picture).write_text(per_namespace_picture(results, sizes))
    text = report(results, sizes, args.reps, startup, command.strip(), ring, args.routers, picture)
    (args.out / "benchmarks.md").write_text(text)
    print(text)
