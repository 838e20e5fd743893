"""`nsgen capture`: where a lab's traffic can be captured, and the tcpdump that does it.

Every device the lab makes is a capture point: each end of a veth pair (the outer end of a
bridge port too, under the name the kernel has, derived and hashed when long), each bridge,
TAP and macvlan. The points come from the resolved Lab, never from guessing how nsgen names
devices; `nsgen capture --list` prints them, and the pytest fixture's `lab.capture` starts
the same tcpdump.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from nsgen import pipeline
from nsgen.errors import NeedsRootError, RunnerError, UsageError
from nsgen.execute import ExecRequest, check_enterable, has_net_admin, namespace_argv
from nsgen.lab import HOST, Lab

TCPDUMP = "tcpdump"


class Point(NamedTuple):
    name: str  # as the user writes it: "r1:eth1", "host:r1-eth1", or a bridge's "br0"
    namespace: str | None  # the namespace's final name; None: the host
    device: str  # the device's name in the kernel
    what: str  # what the device is, for --list


def points(lab: Lab, prefix: str) -> list[Point]:
    """Every capture point of LAB (rendered under PREFIX), in the lab's order."""
    found: list[Point] = []

    def add(namespace: str | None, device: str, what: str) -> None:
        found.append(Point(_name(namespace, device, prefix), namespace, device, what))

    for veth in lab.veths:
        for end, other in ((veth.a, veth.b), (veth.b, veth.a)):
            port = (
                f"port of bridge {_plain(end.master, end.namespace, prefix)}, "
                if end.master
                else ""
            )
            add(
                end.namespace,
                end.name,
                f"{port}veth to {_name(other.namespace, other.name, prefix)}",
            )
    for tap in lab.taps:
        add(tap.namespace, tap.name, "TAP")
    for macvlan in lab.macvlans:
        add(macvlan.end.namespace, macvlan.end.name, f"macvlan on host device {macvlan.parent}")
    for bridge in lab.bridges:
        name = _plain(bridge.name, bridge.namespace, prefix)
        where = (
            "in the host"
            if bridge.namespace is None
            else f"in {_written(bridge.namespace, prefix)}"
        )
        found.append(Point(name, bridge.namespace, bridge.name, f"bridge {where}"))
    return found


def find(lab: Lab, prefix: str, written: str) -> Point:
    """The point WRITTEN names: NS:IF (IF with or without the prefix in the host) or a
    bridge; UsageError listing the points otherwise."""
    if lab.machines:
        raise UsageError(
            f"{lab.source_name} spans hosts: capture on the host that has the device, with "
            "ip netns exec NS tcpdump (nsgen capture --list names the devices)"
        )
    every = points(lab, prefix)
    for point in every:
        if written in (point.name, _ref(point.namespace, point.device, prefix)):
            return point
    names = ", ".join(point.name for point in every) or "none"
    raise UsageError(f"{lab.source_name} has no capture point '{written}'; its points: {names}")


class Request(NamedTuple):
    """One `nsgen capture FILE POINT [-w OUTPUT] [--prefix P] -- FILTER...`."""

    topology: Path
    point: str
    bpf: tuple[str, ...] = ()
    prefix: str = ""
    output: str = "-"

    def invocation(self) -> str:
        words = ["nsgen", "capture", str(self.topology), self.point]
        if self.output != "-":
            words += ["-w", self.output]
        if self.prefix:
            words += ["--prefix", self.prefix]
        return shlex.join([*words, "--", *self.bpf] if self.bpf else words)


def request_argv(request: Request, *, is_root: Callable[[], bool] = has_net_admin) -> list[str]:
    """The tcpdump command line of REQUEST; everything that can be refused (an unknown point,
    no tcpdump, not root, the lab not up) is refused here, before it starts."""
    lab = pipeline.compile_lab(request.topology, request.prefix)
    point = find(lab, request.prefix, request.point)
    command = argv(point, request.bpf, request.output)
    if point.namespace is None:
        if not is_root():
            raise NeedsRootError(f"needs root (CAP_NET_ADMIN): try sudo {request.invocation()}")
    else:
        written = _written(point.namespace, request.prefix)
        enter = ExecRequest(request.topology, written, (), request.prefix)
        check_enterable(lab, point.namespace, enter, request.invocation(), is_root=is_root)
    return command


def argv(point: Point, bpf: Sequence[str], output: str = "-") -> list[str]:
    """The tcpdump that writes POINT's packets (matching the filter BPF) to OUTPUT as pcap,
    packet by packet: a reader on a pipe sees each at once, and none is still in the
    kernel's buffer (which tcpdump otherwise drains once a second) when it is stopped."""
    if shutil.which(TCPDUMP) is None:
        raise RunnerError("tcpdump is not installed (Debian, Ubuntu: apt-get install tcpdump)")
    command = [TCPDUMP, "-i", point.device, "--immediate-mode", "-U", "-w", output, *bpf]
    return namespace_argv(point.namespace, command)


def table(lab: Lab, prefix: str) -> str:
    """--list: one line per point, the name to give, the namespace and device on the host."""
    rows = [("POINT", "NAMESPACE", "DEVICE", "WHAT")]
    rows += [(p.name, p.namespace or HOST, p.device, p.what) for p in points(lab, prefix)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + f"  {row[3]}\n"
        for row in rows
    )


def _written(namespace: str | None, prefix: str) -> str:
    """A namespace as the file names it."""
    return HOST if namespace is None else namespace[len(prefix) :]


def _plain(device: str, namespace: str | None, prefix: str) -> str:
    """A device as the file names it: host devices carry the prefix, others do not."""
    if namespace is None and prefix and device.startswith(prefix):
        return device[len(prefix) :]
    return device


def _name(namespace: str | None, device: str, prefix: str) -> str:
    """A point as the file names it."""
    return f"{_written(namespace, prefix)}:{_plain(device, namespace, prefix)}"


def _ref(namespace: str | None, device: str, prefix: str) -> str:
    """A point as the host names it: the namespace as the file does, the device as the kernel."""
    return f"{_written(namespace, prefix)}:{device}"
