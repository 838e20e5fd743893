"""The lab an importer builds: namespaces, bridges, links and what could not be mapped, then
written as a nsgen topology file.

The importers (one module per source format) only fill a Draft; this module decides the
names nsgen accepts, checks what nsgen's validator would refuse (a gateway on no subnet of
its namespace, an address given twice), and prints the TOML in the layout of `nsgen new`.
Whatever is not mapped stays in the file as a comment at the table it belongs to, and is
counted by its Kind for the one warning line per kind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import ip_interface, ip_network
from pathlib import Path

from nsgen.errors import printable
from nsgen.lab import HOST, IPInterface
from nsgen.validate.context import (
    IFINDEX_RE,
    IFNAMSIZ,
    LAB_MAX,
    NAME_RE,
    NETNS_MAX,
    RESERVED_DEVICES,
    derive_outer,
)


class Kind(Enum):
    """What a comment keeps, and the warning line that counts them: (tag, warning text)."""

    IMAGE = ("image", "container images (nsgen makes namespaces, not containers)")
    NOS = ("kind", "nodes of kinds other than linux (imported as plain namespaces)")
    DAEMON = ("daemon", "daemon commands nsgen cannot keep in the foreground as a process")
    VTYSH = ("vtysh", "vtysh lines (FRR is not imported as processes)")
    BIND = ("file", "bound or copied files not under /etc or without their source beside")
    COMMAND = ("command", "other commands (an exec must be safe to run again)")
    LOOPBACK = ("loopback", "loopback addresses (nsgen has no loopback keys yet)")
    LINK = ("link", "links nsgen cannot make")
    SETTING = ("setting", "settings with no nsgen key")
    REFUSED = ("refused", "addresses, routes and settings nsgen would refuse")
    TEST = ("test", "test commands (write nsgen's own as [[checks]])")
    RENAMED = ("renamed", "names changed to names nsgen accepts")

    @property
    def tag(self) -> str:
        return self.value[0]

    @property
    def what(self) -> str:
        return self.value[1]


@dataclass
class Iface:
    name: str
    peer: str | None = None  # "NAMESPACE:INTERFACE" or "host:DEVICE", final names
    bridge: str | None = None
    parent: str | None = None  # a macvlan on this host device
    addresses: list[str] = field(default_factory=list)
    mtu: int | None = None
    mac: str | None = None
    comments: list[str] = field(default_factory=list)


@dataclass
class Process:
    name: str
    command: str
    ready: str


@dataclass
class Node:
    name: str
    forwarding: bool = False
    routes: list[tuple[str, str]] = field(default_factory=list)  # (to, via)
    sysctls: dict[str, int | str] = field(default_factory=dict)
    interfaces: dict[str, Iface] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # path under /etc -> source
    processes: list[Process] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


@dataclass
class Draft:
    """A lab being imported from SOURCE (a file name) written for TOOL."""

    source: str
    tool: str
    directory: Path  # where the source's relative file names start
    name: str = ""
    nodes: dict[str, Node] = field(default_factory=dict)
    bridges: dict[str, list[str]] = field(default_factory=dict)  # name -> its comments
    host_ends: list[str] = field(default_factory=list)  # veth ends in the host namespace
    comments: list[str] = field(default_factory=list)  # the lab's own, at the end
    counts: dict[Kind, int] = field(default_factory=dict)
    # (node, the source's interface name) -> nsgen's; the importers keep their own maps of
    # node and bridge names, which are resolved once, before any link.
    renamed_ifaces: dict[tuple[str, str], str] = field(default_factory=dict)

    def keep(self, where: list[str], kind: Kind, text: str) -> None:
        """Keep TEXT as a comment in WHERE (a table's comments), counted under KIND."""
        where.append(f"# not imported, {kind.tag}: {one_line(text)}")
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def warnings(self) -> list[str]:
        """One line per kind of thing kept as a comment."""
        return [
            f"nsgen import: {self.source}: {count} {kind.what} kept as '# not imported, "
            f"{kind.tag}:' comments"
            for kind, count in sorted(
                self.counts.items(), key=lambda item: list(Kind).index(item[0])
            )
        ]

    # ---- names -------------------------------------------------------------------------

    def set_name(self, written: str) -> None:
        self.name = _safe(written, LAB_MAX, set()) or "imported"

    def add_node(self, written: str) -> Node:
        """A namespace for the source's node WRITTEN (renamed if nsgen would refuse it)."""
        name = self._rename(written, NETNS_MAX, self._taken())
        node = Node(name)
        self.nodes[name] = node
        if name != written:
            self.keep(node.comments, Kind.RENAMED, f"{written} is {name} here")
        return node

    def add_bridge(self, written: str) -> str:
        comments: list[str] = []
        name = self._rename(written, IFNAMSIZ, self._taken())
        self.bridges[name] = comments
        if name != written:
            self.keep(comments, Kind.RENAMED, f"{written} is {name} here")
        return name

    def _taken(self) -> set[str]:
        return {*self.nodes, *self.bridges, HOST}

    def _rename(self, written: str, limit: int, taken: set[str]) -> str:
        return _safe(written, limit, taken) or _safe("node", limit, taken) or "node"

    def interface(self, node: Node, written: str) -> Iface:
        """NODE's interface WRITTEN, declared on first use."""
        key = (node.name, written)
        name = self.renamed_ifaces.get(key)
        if name is None:
            taken = {*node.interfaces, *RESERVED_DEVICES}
            name = _safe(written, IFNAMSIZ, taken, device=True) or _safe("eth", IFNAMSIZ, taken)
            self.renamed_ifaces[key] = name
            node.interfaces[name] = Iface(name)
            if name != written:
                self.keep(node.interfaces[name].comments, Kind.RENAMED, f"{written} is {name} here")
        return node.interfaces[name]

    # ---- links: an interface is declared by the one link that ends at it ---------------

    def free(self, node: Node, written: str, where: list[str], link: str) -> Iface | None:
        """NODE's interface WRITTEN for LINK, or None (kept as a comment in WHERE) when
        another link already ends there."""
        if self.existing_interface(node, written) is not None:
            self.keep(where, Kind.LINK, f"{link} ({node.name}:{written} is linked already)")
            return None
        return self.interface(node, written)

    def pair(self, a: tuple[Node, str], b: tuple[Node, str], where: list[str], link: str) -> None:
        """A veth pair between two nodes' interfaces."""
        if a == b or self.existing_interface(*b) is not None:
            self.keep(where, Kind.LINK, f"{link} ({b[0].name}:{b[1]} is linked already)")
            return
        end_a = self.free(*a, where, link)
        if end_a is not None:
            end_b = self.interface(*b)
            end_a.peer = f"{b[0].name}:{end_b.name}"
            end_b.peer = f"{a[0].name}:{end_a.name}"

    def port(self, end: tuple[Node, str], bridge: str, where: list[str], link: str) -> None:
        iface = self.free(*end, where, link)
        if iface is not None:
            iface.bridge = bridge

    def to_host(self, end: tuple[Node, str], device: str, where: list[str], link: str) -> None:
        """A veth pair whose other end is DEVICE in the host namespace."""
        name = _safe(device, IFNAMSIZ, set(RESERVED_DEVICES), device=True)
        if not name:
            self.keep(where, Kind.REFUSED, f"{link} (no device nsgen can name {device})")
        elif name in self.host_ends:
            self.keep(where, Kind.LINK, f"{link} (host:{name} is linked already)")
        else:
            iface = self.free(*end, where, link)
            if iface is not None:
                iface.peer = f"{HOST}:{name}"
                self.host_ends.append(name)

    def macvlan(self, end: tuple[Node, str], parent: str, where: list[str], link: str) -> None:
        name = _safe(parent, IFNAMSIZ, set(RESERVED_DEVICES), device=True)
        iface = self.free(*end, where, link) if name == parent else None
        if name != parent:
            self.keep(where, Kind.REFUSED, f"{link} (no device nsgen can name {parent})")
        elif iface is not None:
            iface.parent = parent

    def existing_interface(self, node: Node, written: str) -> Iface | None:
        name = self.renamed_ifaces.get((node.name, written))
        return None if name is None else node.interfaces[name]

    # ---- what nsgen's validator would refuse ---------------------------------------------

    def settle(self) -> None:
        """Move to comments what nsgen would refuse: an address given twice in the lab, a
        gateway on none of its namespace's subnets; and rename a bridge that has the name of
        a device nsgen makes in the host."""
        self._rename_clashing_bridges()
        seen: set[str] = set()
        for node in self.nodes.values():
            subnets = []
            for iface in node.interfaces.values():
                kept = []
                for written in iface.addresses:
                    address = ip_interface(written)
                    if str(address.ip) in seen:
                        self.keep(iface.comments, Kind.REFUSED, f"address {written} given twice")
                        continue
                    seen.add(str(address.ip))
                    subnets.append(address.network)
                    kept.append(written)
                iface.addresses = kept
            routes = []
            for to, via in node.routes:
                gateway = ip_interface(via).ip
                if any(gateway in subnet for subnet in subnets):
                    routes.append((to, via))
                else:
                    self.keep(
                        node.comments,
                        Kind.REFUSED,
                        f"route to {to} via {via}: the gateway is on none of the subnets this "
                        "file gives the namespace",
                    )
            node.routes = routes

    def _rename_clashing_bridges(self) -> None:
        # nsgen names a bridge port's end in the host NS-IF, so tinet's bridge `r1#eth1`
        # (r1-eth1 here) beside r1's eth1 on a bridge would be two devices of one name.
        ports = [
            (node.name, iface)
            for node in self.nodes.values()
            for iface in node.interfaces.values()
            if iface.bridge is not None
        ]
        host_devices = {*self.host_ends, *(derive_outer(n, iface.name, "") for n, iface in ports)}
        taken = {*host_devices, *self.bridges, *self.nodes, HOST}
        renamed: dict[str, list[str]] = {}
        for name, comments in self.bridges.items():
            if name in host_devices:
                new = _safe(name, IFNAMSIZ, taken) or _safe("br", IFNAMSIZ, taken)
                taken.add(new)
                why = f" is {new} here ({name} is a device of the host)"
                earlier = f" is {name} here"
                if comments and comments[0].endswith(earlier):
                    # Renamed already: one comment, one count, from the source's name.
                    comments[0] = comments[0].removesuffix(earlier) + why
                else:
                    self.keep(comments, Kind.RENAMED, f"{name}{why}")
                for _, iface in ports:
                    if iface.bridge == name:
                        iface.bridge = new
                name = new
            renamed[name] = comments
        self.bridges = renamed

    # ---- the file ------------------------------------------------------------------------

    def write(self) -> str:
        lines = [
            f"# Imported by nsgen import from {one_line(self.source)} ({self.tool}).",
            "# Lines '# not imported, KIND: ...' are what nsgen does not make; see",
            "# docs/import-and-capture.md.",
            "",
            f"name = {string(self.name)}",
            "",
        ]
        for name, comments in self.bridges.items():
            lines += [f"[bridges.{key(name)}]", *comments, ""]
        for name in self.host_ends:
            lines += [f"[host.interfaces.{key(name)}]", ""]
        for node in self.nodes.values():
            lines += [f"[namespaces.{key(node.name)}]", *_node_keys(node), *node.comments, ""]
            for iface in node.interfaces.values():
                table = f"[namespaces.{key(node.name)}.interfaces.{key(iface.name)}]"
                lines += [table, *_iface_keys(iface), *iface.comments, ""]
        if self.comments:
            lines += [f"# The rest of {one_line(self.source)}, not tied to a node:", *self.comments]
        return "\n".join(lines).rstrip("\n") + "\n"


def _node_keys(node: Node) -> list[str]:
    lines = ["forwarding = true"] if node.forwarding else []
    routes = [f"{{ to = {string(to)}, via = {string(via)} }}" for to, via in node.routes]
    if len(routes) == 1:
        lines.append(f"routes = [{routes[0]}]")
    elif routes:
        lines += ["routes = [", *(f"  {route}," for route in routes), "]"]
    if node.sysctls:
        pairs = ", ".join(f"{string(k)} = {_value(v)}" for k, v in node.sysctls.items())
        lines.append(f"sysctls = {{ {pairs} }}")
    lines += [f"files.{string(path)} = {string(source)}" for path, source in node.files.items()]
    if node.processes:
        lines += ["processes = ["]
        lines += [
            f"  {{ name = {string(p.name)}, command = {string(p.command)}, "
            f"ready = {string(p.ready)} }},"
            for p in node.processes
        ]
        lines += ["]"]
    return lines


def _iface_keys(iface: Iface) -> list[str]:
    lines = []
    if iface.parent is not None:
        lines += ['kind = "macvlan"', f"parent = {string(iface.parent)}"]
    if iface.peer is not None:
        lines.append(f"peer = {string(iface.peer)}")
    if iface.bridge is not None:
        lines.append(f"bridge = {string(iface.bridge)}")
    if len(iface.addresses) == 1:
        lines.append(f"address = {string(iface.addresses[0])}")
    elif iface.addresses:
        lines.append(f"address = [{', '.join(string(a) for a in iface.addresses)}]")
    if iface.mtu is not None:
        lines.append(f"mtu = {iface.mtu}")
    if iface.mac is not None:
        lines.append(f"mac = {string(iface.mac)}")
    return lines


def _value(value: int | str) -> str:
    return str(value) if isinstance(value, int) else string(value)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def string(text: str) -> str:
    """TEXT as a TOML basic string: JSON's escapes are a subset of TOML's."""
    return json.dumps(text)


def key(name: str) -> str:
    return name if _BARE_KEY.match(name) else string(name)


def one_line(text: str) -> str:
    """TEXT on one printable line: a comment cannot end early or drive a terminal."""
    return printable(" ".join(text.split("\n")).strip())


def _safe(written: str, limit: int, taken: set[str], *, device: bool = False) -> str:
    """WRITTEN as a name nsgen accepts, at most LIMIT characters and none of TAKEN; "" when
    nothing of it is usable."""
    name = _UNSAFE.sub("-", written).lstrip(".-")[:limit]
    if device and IFINDEX_RE.match(name):
        name = "x" + name[: limit - 1]
    if name.isdigit():
        name = ("n" + name)[:limit]
    if not name or not NAME_RE.match(name):
        return ""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}"
        candidate = name[: limit - len(suffix)] + suffix
    return candidate


def parse_address(text: str) -> IPInterface | None:
    """An address as `ip address add` reads it (no prefix length: a host route)."""
    try:
        return ip_interface(text)
    except ValueError:
        return None


def parse_destination(text: str) -> str | None:
    """A route's destination as nsgen writes it, or None when it is not a network."""
    if text == "default":
        return text
    try:
        return str(ip_network(text))
    except ValueError:
        return None
