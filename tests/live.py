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
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nsgen import pipeline

LOCK = Path("/run/lock/nsgen-live-tests.lock")
# Link flags the kernel sets asynchronously after link-up: state, not configuration.
ASYNC_FLAGS = {"LOWER_UP", "NO-CARRIER", "M-DOWN"}


@contextlib.contextmanager
def host_lock() -> Iterator[None]:
    """Serialise live tests across processes: labs with host addresses share subnets."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def new_prefix() -> str:
    # Starts with "t" and a digit-free run so that no example name becomes a keyword.
    return "t" + secrets.token_hex(2)


def run(
    args: list[str], *, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=check)


@dataclass
class Lab:
    topology: Path
    prefix: str
    script: Path

    @property
    def text(self) -> str:
        return self.script.read_text()

    def sh(self, *args: str, shell: str = "sh") -> subprocess.CompletedProcess[str]:
        return run([shell, str(self.script), *args], check=False)

    def up(self) -> subprocess.CompletedProcess[str]:
        result = self.sh("up")
        assert result.returncode == 0, result.stderr + result.stdout
        return result

    def down(self) -> subprocess.CompletedProcess[str]:
        result = self.sh("down")
        assert result.returncode == 0, result.stderr + result.stdout
        return result

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
                lines += [line for line in out.splitlines() if "fe80::" not in line]
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
    return found


def netns_names() -> list[str]:
    directory = Path("/run/netns")
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


@dataclass
class LabFactory:
    prefix: str = field(default_factory=new_prefix)
    labs: list[Lab] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(os.environ.get("TMPDIR", "/tmp")))

    def __call__(self, topology: Path, prefix: str | None = None) -> Lab:
        prefix = self.prefix if prefix is None else prefix
        script = self.workdir / f"nsgen-{prefix}-{topology.stem}.sh"
        script.write_text(pipeline.render_file(topology, prefix))
        lab = Lab(topology, prefix, script)
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
            deadline = time.monotonic() + 10
            while host_residue(prefix) and time.monotonic() < deadline:
                time.sleep(0.05)
        for lab in self.labs:
            lab.script.unlink(missing_ok=True)
