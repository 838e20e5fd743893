"""Helpers for live tests: render a lab under a unique prefix, run its script, snapshot it.

Every name a live lab creates in the host starts with its random prefix, which is how
cleanup knows what it may remove: nothing without that prefix is ever deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nsgen import pipeline, tools

LOCK = Path("/run/lock/nsgen-live-tests.lock")
# Link flags the kernel sets asynchronously after link-up: state, not configuration.
ASYNC_FLAGS = {"LOWER_UP", "NO-CARRIER", "M-DOWN"}
FORWARDING = ["/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"]
LINK_LOCAL = re.compile(r"^fe80::|inet6 fe80::")


@contextlib.contextmanager
def host_lock() -> Iterator[None]:
    """Serialise live tests across processes: labs with host addresses share subnets."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# `setpriv` options for the two ways of not being root that nsgen refuses. Python and its
# packages may live under root's home (mode 700): the unprivileged runs keep the right to
# read files, and nothing else.
READ_ONLY = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
NOT_ROOT = {
    "nobody": ["--reuid=65534", "--regid=65534", "--clear-groups", *READ_ONLY],
    "root-without-net-admin": ["--bounding-set=-net_admin", "--inh-caps=-net_admin"],
}


def new_prefix() -> str:
    # Starts with "t" and a digit-free run so that no example name becomes a keyword.
    return "t" + secrets.token_hex(2)


def run(
    args: list[str],
    *,
    check: bool = True,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=check, env=env)


@dataclass
class Lab:
    topology: Path
    prefix: str
    script: Path
    # A namespace that stands in for the host: the script runs in it (nsenter, which keeps
    # the mount namespace, so /run/netns is the real one) and sees its links as the host's.
    host_netns: str | None = None

    @property
    def text(self) -> str:
        return self.script.read_text()

    def command(self, *args: str, shell: str = "sh") -> list[str]:
        enter = (
            [] if self.host_netns is None else ["nsenter", f"--net=/run/netns/{self.host_netns}"]
        )
        return [*enter, shell, str(self.script), *args]

    def sh(
        self, *args: str, shell: str = "sh", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(self.command(*args, shell=shell), check=False, env=env)

    def up(self) -> subprocess.CompletedProcess[str]:
        result = self.sh("up")
        assert result.returncode == 0, result.stderr + result.stdout
        return result

    def down(self) -> subprocess.CompletedProcess[str]:
        result = self.sh("down")
        assert result.returncode == 0, result.stderr + result.stdout
        return result

    @property
    def state(self) -> Path:
        """The lab's state directory on the host."""
        return Path("/run/nsgen") / re.findall(r"^LAB='(.*)'$", self.text, re.M)[0]

    def namespaces(self) -> list[str]:
        names = re.findall(r"^NAMESPACES='(.*)'$", self.text, re.M)[0].split()
        return names

    def snapshot(self, *, indexes: bool = True) -> dict[str, list[str]]:
        """The lab's kernel state: links, addresses and routes of each namespace and of the
        host devices it owns. With indexes=False, interface indexes are blanked so that a
        re-created lab compares equal to the original."""
        state: dict[str, list[str]] = {"host": host_objects(self.prefix)}
        for ns in self.namespaces():
            lines: list[str] = []
            for args in (["-o", "link"], ["-o", "addr"], ["route"], ["-6", "route"]):
                out = run(["ip", "-n", ns, *args], check=False).stdout
                # The kernel's own link-local addresses and their routes come and go with
                # DAD; a declared route through a link-local gateway stays compared.
                lines += [line for line in out.splitlines() if not LINK_LOCAL.search(line)]
            forwarding = run(["ip", "netns", "exec", ns, "cat", *FORWARDING], check=False)
            lines.append("forwarding " + " ".join(forwarding.stdout.split()))
            state[ns] = sorted(normalise(line, indexes) for line in lines)
        return state


def normalise(line: str, indexes: bool) -> str:
    line = re.sub(r"\s+", " ", line.replace("\\", " ")).strip()
    line = re.sub(r" (valid_lft|preferred_lft) \S+", "", line)
    # Carrier and operational state follow link-up asynchronously (linkwatch): not config.
    line = re.sub(r" state \S+| linkdown|,LOWER_UP|NO-CARRIER,|,M-DOWN", "", line)
    if not indexes:
        line = re.sub(r"^\d+: ", "N: ", line)
        line = re.sub(r"@if\d+", "@ifN", line)
        line = re.sub(r"link-netnsid \d+", "link-netnsid N", line)
    return line


def host_objects(prefix: str) -> list[str]:
    """Host devices, addresses and routes whose device name carries the prefix."""
    links = json.loads(run(["ip", "-j", "link", "show"]).stdout)
    names = {link["ifname"] for link in links if link["ifname"].startswith(prefix)}
    out = []
    for link in links:
        if link["ifname"] in names:
            flags = ",".join(sorted(set(link["flags"]) - ASYNC_FLAGS))
            out.append(
                f"link {link['ifname']} {link.get('address')} {link.get('master', '-')} "
                f"{link.get('ifalias', '-')} {flags} {link['mtu']}"
            )
    addrs = json.loads(run(["ip", "-j", "addr", "show"]).stdout)
    for item in addrs:
        if item["ifname"] in names:
            for info in item.get("addr_info", []):
                if info.get("scope") != "link":
                    out.append(f"addr {item['ifname']} {info['local']}/{info['prefixlen']}")
    for family in ("-4", "-6"):
        for route in json.loads(run(["ip", "-j", family, "route", "show"]).stdout):
            if route.get("dev") in names and not str(route.get("dst")).startswith("fe80"):
                out.append(f"route {route.get('dst')} {route.get('gateway', '-')} {route['dev']}")
    return sorted(out)


def host_residue(prefix: str) -> list[str]:
    """Anything in the host named with this prefix: namespaces, devices, state records."""
    found = [f"netns {n}" for n in netns_names() if n.startswith(prefix)]
    found += [f"link {line}" for line in host_objects(prefix) if line.startswith("link")]
    state = Path("/run/nsgen")
    if state.is_dir():
        found += [f"state {p.name}" for p in state.iterdir() if p.name.startswith(prefix)]
    found += [f"files {p}" for p in Path("/etc/netns").glob(f"{prefix}*")]
    locks = state / ".lock"
    if locks.is_dir():
        found += [f"lock {p.name}" for p in locks.iterdir() if p.name.startswith(prefix)]
    return found


def netns_names() -> list[str]:
    directory = Path("/run/netns")
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


@dataclass
class LabFactory:
    prefix: str = field(default_factory=new_prefix)
    labs: list[Lab] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(os.environ.get("TMPDIR", "/tmp")))

    def __call__(
        self, topology: Path, prefix: str | None = None, host_netns: str | None = None
    ) -> Lab:
        prefix = self.prefix if prefix is None else prefix
        script = self.workdir / f"nsgen-{prefix}-{topology.stem}.sh"
        script.write_text(pipeline.render_file(topology, prefix))
        lab = Lab(topology, prefix, script, host_netns)
        self.labs.append(lab)
        return lab

    def cleanup(self) -> None:
        """Remove everything the test's labs made: first the scripts' own down, then by
        prefix for whatever a deliberately broken state left behind."""
        prefixes = {lab.prefix for lab in self.labs}
        for lab in self.labs:
            lab.sh("down")
        for prefix in prefixes:
            for ns in netns_names():
                if ns.startswith(prefix):
                    run(["ip", "netns", "del", ns], check=False)
            for line in host_objects(prefix):
                if line.startswith("link "):
                    run(["ip", "link", "del", "dev", line.split()[1]], check=False)
            run(
                ["rm", "-rf", *[str(p) for p in Path("/run/nsgen").glob(f"{prefix}*")]], check=False
            )
            run(
                ["rm", "-rf", *[str(p) for p in Path("/etc/netns").glob(f"{prefix}*")]], check=False
            )
            for lock in Path("/run/nsgen/.lock").glob(f"{prefix}*"):
                lock.unlink(missing_ok=True)
            deadline = time.monotonic() + 10
            while host_residue(prefix) and time.monotonic() < deadline:
                time.sleep(0.05)
        for lab in self.labs:
            lab.script.unlink(missing_ok=True)


def bridged_namespaces(
    path: Path, name: str, count: int, subnet: int, *, host_address: bool = True
) -> Path:
    """A lab of `count` namespaces on one host bridge, in 10.SUBNET.0.0/24: most of up's work
    is creating and marking host devices, and up and down take long enough to be cut or
    overlapped. Without host_address the bridge has none, and the host no route to it."""
    lines = [f'name = "{name}"', "", "[bridges.br]"]
    if host_address:
        lines.append(f'address = "10.{subnet}.0.1/24"')
    for i in range(1, count + 1):
        lines += [
            "",
            f"[namespaces.n{i}.interfaces.eth0]",
            'bridge = "br"',
            f'address = "10.{subnet}.0.{i + 1}/24"',
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- Crashes at exact points -------------------------------------------------------------

FAKE_IP = """#!/bin/sh
# The real ip, except that each `-batch FILE` runs one line at a time, and the calling script
# is SIGKILLed the moment the budget in $CUT_FILE is spent: a crash right after the k-th
# operation (k = 0: before the first). Reads (`-batch -`, plain commands) are not counted.
real=$REAL_IP
case " $* " in
*" -batch - "*) exec "$real" "$@" ;;
*" -batch "*) ;;
*) exec "$real" "$@" ;;
esac
file=
opts=
while [ $# -gt 0 ]; do
    case $1 in
    -batch) file=$2; shift 2 ;;
    *) opts="$opts $1"; shift ;;
    esac
done
# The script runs in a session of its own (setsid): its whole process group, namespace
# workers included, dies at once, as in a real crash. With $FILL set, the disk fills up
# instead (the file FILL grows until the filesystem is full) and the run goes on.
crash() {
    if [ -n "${FILL:-}" ]; then
        [ -e "$FILL" ] || dd if=/dev/zero of="$FILL" bs=4096 2>/dev/null
        return 0
    fi
    read -r _ _ _ _ group _ </proc/$$/stat
    kill -9 "-$group"
    exit 1
}
exec 9>>"$CUT_FILE.lock"
[ "$(cat "$CUT_FILE")" -gt 0 ] || crash
while IFS= read -r line; do
    # One line per real `ip -batch -`, so ip parses its quotes exactly as in the script.
    # shellcheck disable=SC2086
    printf '%s\\n' "$line" | "$real" $opts -batch - || exit 1
    # One decrement at a time: namespace batches run in parallel.
    flock 9
    left=$(($(cat "$CUT_FILE") - 1))
    echo "$left" >"$CUT_FILE.new"
    mv "$CUT_FILE.new" "$CUT_FILE"
    flock -u 9
    [ "$left" -gt 0 ] || crash
done <"$file"
"""


# An object a killed run made in the one operation before its identity was recorded (a
# namespace before the stat of its batch, a host device before its mark): never adopted, never
# removed; the next run names it in one line with the command that removes it.
UNCONFIRMED = re.compile(
    r"^(?P<lab>\S+): (refusing: |leaving )(namespace|device|host device) (?P<name>\S+): made by "
    r"someone else or by a run of lab (?P=lab) killed before it recorded it; if nothing else "
    r"uses it, remove it with: (?P<remedy>ip (netns del|link del dev) (?P=name))$",
    re.M,
)

INTERRUPTED = "Dump was interrupted and may be inconsistent."


def follow_remedies(lab: Lab, stderr: str, where: str) -> int:
    """Run the remedy of every unconfirmed object named in `stderr`: how many there were.
    Any other line there fails the test."""
    # A link dump that other labs on this host kept interrupting is retried, then said.
    lines = [line for line in stderr.splitlines() if line != INTERRUPTED]
    matches = [UNCONFIRMED.match(line) for line in lines]
    assert all(matches), f"{where}: {stderr}"
    for match in matches:
        assert match is not None
        assert match["name"].startswith(lab.prefix), where
        # A veth end whose peer was in a namespace down deleted is gone already, or going.
        run(match["remedy"].split(), check=False)
    return len(matches)


def remedied_run(lab: Lab, action: str, where: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """`action` after a killed run: when it names objects that run made and had not recorded
    yet, the user's remedy for each, then `action` again. Its result, and how many there were."""
    result = lab.sh(action)
    if not UNCONFIRMED.search(result.stderr):
        return result, 0
    remedied = follow_remedies(lab, result.stderr, where)
    return lab.sh(action), remedied


def operations(lab: Lab, action: str) -> int:
    """How many operations `action` would run now: the ip commands of its dry run."""
    dry = lab.sh(action, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    return sum(1 for line in dry.stdout.splitlines() if line.startswith("ip "))


def crash_after(lab: Lab, action: str, cut: int, workdir: Path) -> None:
    """Run `action` and SIGKILL it right after its first `cut` operations."""
    bindir = workdir / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / "ip"
    if not fake.exists():
        fake.write_text(FAKE_IP)
        fake.chmod(0o755)
    budget = workdir / "budget"
    budget.write_text(str(cut))
    real = tools.find("ip")
    assert real is not None
    # A killed script cannot remove its temporary directory: keep those out of /tmp.
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        PATH=f"{bindir}:{os.environ['PATH']}",
        CUT_FILE=str(budget),
        REAL_IP=real,
        TMPDIR=str(scratch),
    )
    result = run(["setsid", *lab.command(action)], check=False, env=env)
    assert result.returncode in (0, -9, 137), f"{action} cut {cut}: {result.stderr}"


def sigkill_after(lab: Lab, action: str, seconds: float, env: dict[str, str]) -> bool:
    """Run `action` in a session of its own and SIGKILL all of it after `seconds`: whether
    it was still running then."""
    process = subprocess.Popen(
        lab.command(action),
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(seconds)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait() == -signal.SIGKILL


# ---- The whole host -------------------------------------------------------------------------


# The names other live runs make: a letter and four hex digits, as new_prefix (tests,
# tests/churner.py), the benchmarks and other developers' labs name theirs; and "ifINDEX", a
# device that was deleted while ip listed its routes. Those objects come and go while a test
# runs, with or without an nsgen mark (a decoy made by hand, a benchmark's typed commands).
RUN_NAME = re.compile(r"[a-z][0-9a-f]{4}|if[0-9]+$")


def someone_elses(name: str, prefix: str) -> bool:
    """Whether `name` was made by another live run than the one of `prefix`."""
    return RUN_NAME.match(name) is not None and not name.startswith(prefix)


def ip_json(*args: str) -> list[dict[str, Any]]:
    """`ip -j ARGS`, read again while other labs' churn interrupts the kernel's dump."""
    for _ in range(50):
        result = run(["ip", "-j", *args])
        if "Dump was interrupted" not in result.stderr:
            break
        time.sleep(0.02)
    items: list[dict[str, Any]] = json.loads(result.stdout)
    return items


def host_state(prefix: str) -> dict[str, list[str]]:
    """What of the host a lab could leave behind or damage: namespaces, links, addresses,
    routes of every table, nsfs mounts, state directories.

    Objects of other nsgen labs (marked with their own name, or recorded in their state
    directory) and of other live runs (someone_elses) are left out: they come and go on this
    machine while a test runs, and tests of this prefix never create them. So this is what
    the test owns (its prefix) and what the host had of its own before."""
    foreign_devices, foreign_netns = other_labs(prefix)
    links = ip_json("link", "show")
    state: dict[str, list[str]] = {
        "netns": [
            n for n in netns_names() if n not in foreign_netns and not someone_elses(n, prefix)
        ],
        "links": [],
        "addresses": [],
        "routes": [],
        "mounts": [],
        "state": [],
    }
    for link in links:
        if link["ifname"] in foreign_devices or someone_elses(link["ifname"], prefix):
            continue
        flags = ",".join(sorted(set(link["flags"]) - ASYNC_FLAGS))
        state["links"].append(
            f"{link['ifname']} {link.get('address')} mtu {link['mtu']} "
            f"master {link.get('master', '-')} alias {link.get('ifalias', '-')} {flags}"
        )
    for item in ip_json("address", "show"):
        if item["ifname"] not in foreign_devices and not someone_elses(item["ifname"], prefix):
            state["addresses"] += [
                f"{item['ifname']} {info['local']}/{info['prefixlen']}"
                for info in item.get("addr_info", [])
            ]
    for family in ("-4", "-6"):
        routes = ip_json(family, "route", "show", "table", "all")
        state["routes"] += [
            f"{r.get('type', 'unicast')} {r.get('dst')} via {r.get('gateway', '-')} "
            f"dev {r.get('dev', '-')} table {r.get('table', 'main')}"
            for r in routes
            if r.get("dev") not in foreign_devices and not someone_elses(r.get("dev", "-"), prefix)
        ]
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        name = point.removeprefix("/run/netns/")
        if name != point and name not in foreign_netns and not someone_elses(name, prefix):
            state["mounts"].append(point)
    records = Path("/run/nsgen")
    if records.is_dir():
        state["state"] = [p.name for p in records.iterdir() if p.name.startswith(prefix)]
    # A set: a dump that other labs' churn interrupts can hold an entry twice (the kernel
    # resumes it from a position that moved), and an object is there or not.
    return {key: sorted(set(value)) for key, value in state.items()}


def other_labs(prefix: str) -> tuple[set[str], set[str]]:
    """Host devices and namespaces that belong to nsgen labs not named with this prefix."""
    devices = {
        link["ifname"]
        for link in json.loads(run(["ip", "-j", "link", "show"]).stdout)
        if link.get("ifalias", "").startswith("nsgen:")
        and not link["ifalias"].startswith(f"nsgen:{prefix}")
    }
    namespaces: set[str] = set()
    records = Path("/run/nsgen")
    for directory in records.iterdir() if records.is_dir() else []:
        if directory.name.startswith(prefix):
            continue
        for name in ("netns", "intent"):
            with contextlib.suppress(OSError):
                for line in (directory / name).read_text().splitlines():
                    words = line.split()
                    if name == "netns" and words:
                        namespaces.add(words[0])
                    elif len(words) == 2 and words[0] == "netns":
                        namespaces.add(words[1])
    return devices, namespaces


def state_changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    """What appeared (+) and vanished (-) between two host_state() readings."""
    changes = []
    for key in before:
        old, new = set(before[key]), set(after[key])
        changes += [f"+ {key}: {item}" for item in sorted(new - old)]
        changes += [f"- {key}: {item}" for item in sorted(old - new)]
    return changes


# ---- A private host -------------------------------------------------------------------------

# A private host: its own mount namespace with empty /run/netns and /run/nsgen, and its own
# network namespace as "the host". Everything made in it dies with this process.
PRIVATE_HOST = """
set -u
mount --make-rprivate / || exit 99
mkdir -p /run/netns /run/nsgen
mount -t tmpfs nsgen-sandbox /run/netns || exit 99
mount -t tmpfs -o mode=755 nsgen-sandbox /run/nsgen || exit 99
ip link set lo up
"""

SANDBOX = (
    PRIVATE_HOST
    + """out=$1
script=$2
shift 2
state() {
    ls -A /run/netns /run/nsgen
    ip -o link show
    ip -o address show
    ip route show table all
    ip -6 route show table all
}
state >"$out/state.before"
i=0
for action in "$@"; do
    i=$((i + 1))
    # shellcheck disable=SC2086 # an action is "up" or "up --dry-run"
    sh "$script" $action >"$out/$i.out" 2>"$out/$i.err"
    echo $? >"$out/$i.rc"
done
state >"$out/state.after"
"""
)


@dataclass(frozen=True)
class SandboxRun:
    results: list[tuple[int, str, str]]  # (exit code, stdout, stderr) per action
    before: str
    after: str


def in_sandbox(script: Path, actions: list[str], workdir: Path) -> SandboxRun:
    """Run the script's actions, in order, on a private host (no prefix needed, nothing left)."""
    out = workdir / "sandbox"
    out.mkdir()
    driver = workdir / "sandbox.sh"
    driver.write_text(SANDBOX)
    result = run(
        ["unshare", "--mount", "--net", "sh", str(driver), str(out), str(script), *actions],
        check=False,
    )
    assert result.returncode == 0, f"sandbox failed: {result.stderr}"
    results = [
        (
            int((out / f"{i}.rc").read_text()),
            (out / f"{i}.out").read_text(),
            (out / f"{i}.err").read_text(),
        )
        for i in range(1, len(actions) + 1)
    ]
    return SandboxRun(
        results, (out / "state.before").read_text(), (out / "state.after").read_text()
    )


def run_private_host(body: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run a shell script on a private host (as in_sandbox: its own mount and network
    namespace, empty /run/netns and /run/nsgen); everything it makes dies with it."""
    driver = workdir / "private-host.sh"
    driver.write_text(PRIVATE_HOST + body)
    return run(["unshare", "--mount", "--net", "sh", str(driver)], check=False)
