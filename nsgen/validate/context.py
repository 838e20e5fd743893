"""What every validation pass shares: the document, the issues found so far, and the lab as
resolved by the passes before it.

Each pass reads the fields earlier passes filled and fills its own; a part an earlier pass
found broken is simply absent, so later passes check what they can and report nothing twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import NamedTuple, TypeVar

from nsgen.errors import Issue
from nsgen.lab import (
    Assigned,
    Bridge,
    Check,
    Exec,
    File,
    IPAddress,
    IPInterface,
    Machine,
    Macvlan,
    Process,
    Route,
    Shaping,
    Sysctl,
    Tap,
    Veth,
    Vxlan,
    where,
)
from nsgen.load import Source
from nsgen.model import InterfaceSpec, TopologySpec
from nsgen.shape import key_path

_S = TypeVar("_S")

# The allow-list is what keeps every name safe to print unquoted into the script.
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
# iproute2 reads a device name of "if" and a number as that interface index when no device
# has the name: a command for a device that has just vanished would act on another one.
IFINDEX_RE = re.compile(r"if-?[0-9]")
IFNAMSIZ = 15
NETNS_MAX = 64
LAB_MAX = 48
PREFIX_MAX = 8
MAC_RE = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}\Z")
RESERVED_DEVICES = frozenset({"lo"})


@dataclass
class Iface:
    """A declared interface while it is being resolved."""

    namespace: str | None  # final namespace name
    ns_key: str  # the namespace as written in the file ("host" for the host)
    key: str  # its name as written
    name: str  # final device name
    path: str
    spec: InterfaceSpec
    addresses: list[IPInterface] = field(default_factory=list)
    owner: str | None = None  # a TAP's, as the script writes it
    group: str | None = None
    shaping: Shaping | None = None


class Member(NamedTuple):
    """A device on an L2 segment: a bridge itself, or an interface on it or on a pair."""

    ns_key: str  # as written ("host" for the host)
    ref: str  # "ns:dev", final names
    path: str
    addresses: list[IPInterface]  # the interface's own list: the pools pass appends to it
    pooled: bool  # declared without `address`: the pools number it


@dataclass
class Segment:
    """An L2 segment: a bridge with the interfaces attached to it, or a veth pair."""

    label: str  # "bridge lan1", "pair r1:eth0 <-> r2:eth0"
    is_bridge: bool
    members: list[Member]


class Held(NamedTuple):
    """A declared address and the device that holds it ("ns:dev")."""

    address: IPInterface
    ref: str


class Template(NamedTuple):
    """A file whose content is a Jinja2 template, rendered once the lab is resolved."""

    at: int  # its index in Context.files
    path: Path


@dataclass
class Context:
    source: Source
    spec: TopologySpec
    prefix: str
    dropped: set[str]  # array items the shape pass left out: the rest keep their index
    issues: list[Issue] = field(default_factory=list)

    # Filled by the passes, in the order nsgen.validate.PASSES runs them.
    lab_name: str = ""
    machines: dict[str, Machine] = field(default_factory=dict)  # [hosts], by name
    placed: dict[str, str] = field(default_factory=dict)  # namespace key -> its machine
    namespaces: dict[str, str] = field(default_factory=dict)  # key as written -> final name
    bridges: dict[str, Bridge] = field(default_factory=dict)  # by the name written
    ifaces: dict[tuple[str, str], Iface] = field(default_factory=dict)  # (ns key, name key)
    veths: list[Veth] = field(default_factory=list)
    macvlans: list[Macvlan] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)  # bridges in order, then pairs
    pooled: dict[tuple[str, IPAddress], str] = field(default_factory=dict)  # -> pool key
    assigned: list[Assigned] = field(default_factory=list)
    taps: list[Tap] = field(default_factory=list)
    vxlans: list[Vxlan] = field(default_factory=list)  # tunnel ends, in a lab across hosts
    loopbacks: dict[str, list[IPInterface]] = field(default_factory=dict)  # by namespace key
    held: dict[str, list[Held]] = field(default_factory=dict)  # by namespace key ("host")
    routes: list[Route] = field(default_factory=list)
    sysctls: dict[str, list[Sysctl]] = field(default_factory=dict)  # by namespace key
    nat: list[IPv4Network] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    files: list[File] = field(default_factory=list)
    templates: list[Template] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)  # in dependency order
    execs: list[Exec] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.issues.append(Issue(path, message))

    def host_name(self, name: str) -> str:
        """Names in the host namespace are shared with everything else: they get the prefix."""
        return self.prefix + name

    def check_name(
        self, path: str, written: str, final: str, limit: int, what: str, *, device: bool = False
    ) -> bool:
        if not NAME_RE.match(written):
            self.error(
                path,
                f"{what} '{written}' is not a safe name: use letters, digits, '_', '.' and '-', "
                "starting with a letter, digit or '_'",
            )
            return False
        if len(final) > limit:
            shown = f"'{final}' (with prefix '{self.prefix}')" if final != written else f"'{final}'"
            self.error(path, f"{what} {shown} is {len(final)} characters; the limit is {limit}")
            return False
        if device and IFINDEX_RE.match(final):
            self.error(
                path,
                f"{what} '{final}' would be read by iproute2 as an interface index "
                "('ifN') whenever no device has that name; choose another name",
            )
            return False
        if limit == NETNS_MAX and final.isdigit():
            self.error(
                path,
                f"{what} '{final}' is a number, which iproute2 reads after 'netns' as a "
                "process id; choose another name",
            )
            return False
        return True

    def indexed(self, base: list[str | int], items: list[_S]) -> Iterator[tuple[str, _S]]:
        """Array items with their key paths as written, counting the items left out."""
        index = 0
        for item in items:
            while key_path([*base, index]) in self.dropped:
                index += 1
            yield key_path([*base, index]), item
            index += 1


def derive_outer(ns_key: str, iface: str, prefix: str) -> str:
    """The bridge-side end's name: readable when it fits in 15 characters, else hashed.

    Deterministic in (namespace, interface) so that re-rendering never renames a device.
    """
    plain = f"{prefix}{ns_key}-{iface}"
    if len(plain) <= IFNAMSIZ:
        return plain
    digest = hashlib.sha256(f"{ns_key}:{iface}".encode()).hexdigest()[:6]
    room = IFNAMSIZ - len(prefix) - len(digest) - 1
    return f"{prefix}{ns_key[:room]}-{digest}" if room > 0 else f"{prefix}{digest}"


def derive_mac(namespace: str | None, device: str) -> str:
    """A stable, locally administered MAC for a device the file gives none.

    A device re-created by a repairing `up` then comes back with the same MAC, so its
    neighbours' ARP and NDP caches stay right and traffic resumes at once.
    """
    digest = hashlib.sha256(f"{where(namespace)}/{device}".encode()).digest()
    return "02:" + digest[:5].hex(":")
