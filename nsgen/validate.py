"""Validate: turn a parsed TOML document into a Lab, or raise TopologyError with every problem.

Two passes, both collecting rather than stopping: nsgen.shape checks the shape (keys,
types), then the checks here look at the lab as a whole (names, references, addresses, routes).
The second pass runs on whatever parts of the first were well formed, so one run reports as
much as possible.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv6Interface, ip_address, ip_interface, ip_network
from typing import TypeVar

from nsgen import linkprops, shape
from nsgen.errors import Issue, TopologyError
from nsgen.lab import (
    HOST,
    Bridge,
    Check,
    End,
    IPAddress,
    IPInterface,
    IPNetwork,
    Lab,
    Namespace,
    Route,
    Shaping,
    Tap,
    Veth,
    where,
)
from nsgen.load import Source
from nsgen.model import CheckSpec, InterfaceSpec, RouteSpec, TopologySpec
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
MTU_MIN, MTU_MAX, MTU_MIN_IPV6 = 68, 65535, 1280
RESERVED_DEVICES = frozenset({"lo"})


def validate(source: Source, prefix: str = "") -> Lab:
    """Validate a parsed topology. `prefix` is prepended to every name the host sees."""
    issues: list[Issue] = []
    if prefix and not (NAME_RE.match(prefix) and len(prefix) <= PREFIX_MAX):
        raise TopologyError(
            source.name,
            [Issue("", f"prefix '{prefix}' must be 1-{PREFIX_MAX} of [A-Za-z0-9_.-]")],
        )
    spec, shape_issues = shape.read(TopologySpec, source.data)
    issues.extend(shape_issues)
    checker = _Checker(source, spec, prefix, shape_issues.dropped)
    lab = checker.run()
    issues.extend(checker.issues)
    if issues:
        raise TopologyError(source.name, issues)
    return lab


@dataclass
class _Iface:
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


@dataclass
class _Checker:
    source: Source
    spec: TopologySpec
    prefix: str
    dropped: set[str]  # array items the first pass left out: the rest keep their index
    issues: list[Issue] = field(default_factory=list)
    taps: list[Tap] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.issues.append(Issue(path, message))

    # -- names ----------------------------------------------------------------------------

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

    def host_name(self, name: str) -> str:
        """Names in the host namespace are shared with everything else: they get the prefix."""
        return self.prefix + name

    # -- the whole pass -------------------------------------------------------------------

    def run(self) -> Lab:
        spec = self.spec
        lab_name = self.lab_name()
        namespaces: dict[str, str] = {}  # key as written -> final name
        for key in spec.namespaces:
            path = key_path(["namespaces", key])
            if key == HOST:
                self.error(path, "'host' is reserved for the host namespace; use [host]")
                continue
            final = self.prefix + key
            if self.check_name(path, key, final, NETNS_MAX, "namespace name"):
                namespaces[key] = final

        bridges = self.bridges(namespaces)
        ifaces = self.interfaces(namespaces)
        veths = self.connect(ifaces, bridges)
        self.check_unique_devices(veths, bridges, self.taps)
        self.check_addresses(ifaces, bridges)
        held = self.held_addresses(ifaces, bridges)
        routes = self.routes(namespaces, held)
        checks = self.checks(namespaces, held)
        return Lab(
            name=lab_name,
            source_name=self.source.name,
            source_sha256=self.source.sha256,
            namespaces=tuple(
                Namespace(final, spec.namespaces[key].forwarding)
                for key, final in namespaces.items()
            ),
            bridges=tuple(bridges.values()),
            veths=tuple(veths),
            routes=tuple(routes),
            checks=tuple(checks),
            taps=tuple(self.taps),
        )

    def lab_name(self) -> str:
        written = self.spec.name
        if written is None:
            written = self.source.stem
            path, what = "name", 'lab name (from the file name; set name = "...")'
        else:
            path, what = "name", "lab name"
        final = self.prefix + written
        self.check_name(path, written, final, LAB_MAX, what)
        return final

    def bridges(self, namespaces: dict[str, str]) -> dict[str, Bridge]:
        """Bridges by the name written in the file."""
        out: dict[str, Bridge] = {}
        for key, bridge in self.spec.bridges.items():
            path = key_path(["bridges", key])
            ns_key = bridge.namespace
            namespace: str | None = None
            if ns_key is not None and ns_key != HOST:
                if ns_key not in namespaces:
                    self.error(f"{path}.namespace", f"namespace '{ns_key}' is not declared")
                    continue
                namespace = namespaces[ns_key]
            final = self.host_name(key) if namespace is None else key
            if not self.check_name(path, key, final, IFNAMSIZ, "bridge name", device=True):
                continue
            if key in RESERVED_DEVICES:
                self.error(path, f"'{key}' is reserved for the loopback device")
                continue
            addresses = self.parse_addresses(f"{path}.address", bridge.address)
            self.check_mtu(f"{path}.mtu", bridge.mtu, addresses)
            out[key] = Bridge(
                namespace, final, tuple(addresses), bridge.mtu, derive_mac(namespace, final)
            )
        return out

    def interfaces(self, namespaces: dict[str, str]) -> dict[tuple[str, str], _Iface]:
        """Declared interfaces by (namespace as written, name as written)."""
        out: dict[tuple[str, str], _Iface] = {}
        tables: list[tuple[str, str | None, dict[str, InterfaceSpec]]] = [
            (HOST, None, self.spec.host.interfaces)
        ]
        tables += [
            (key, namespaces[key], ns.interfaces)
            for key, ns in self.spec.namespaces.items()
            if key in namespaces
        ]
        for ns_key, namespace, table in tables:
            base = ["host"] if namespace is None else ["namespaces", ns_key]
            for key, spec in table.items():
                path = key_path([*base, "interfaces", key])
                final = self.host_name(key) if namespace is None else key
                if not self.check_name(path, key, final, IFNAMSIZ, "interface name", device=True):
                    continue
                if key in RESERVED_DEVICES:
                    self.error(path, f"'{key}' is reserved for the loopback device")
                    continue
                iface = _Iface(namespace, ns_key, key, final, path, spec)
                iface.addresses = self.parse_addresses(f"{path}.address", spec.address)
                self.check_mtu(f"{path}.mtu", spec.mtu, iface.addresses)
                self.check_mac(f"{path}.mac", spec.mac)
                iface.owner, iface.group = linkprops.tap_keys(path, spec, self.error)
                iface.shaping = linkprops.shaping(path, spec, spec.mtu, self.error)
                out[(ns_key, key)] = iface
        return out

    def connect(
        self, ifaces: dict[tuple[str, str], _Iface], bridges: dict[str, Bridge]
    ) -> list[Veth]:
        """Pair every interface with its other end: a bridge port or another interface."""
        veths: list[Veth] = []
        targets: dict[tuple[str, str], list[_Iface]] = defaultdict(list)
        for iface in ifaces.values():
            spec = iface.spec
            if spec.kind == "tap":
                self.tap(iface, bridges)
                continue
            if spec.bridge is not None and spec.peer is not None:
                self.error(iface.path, "set either bridge or peer, not both")
                continue
            if spec.outer is not None and spec.bridge is None:
                self.error(f"{iface.path}.outer", "outer names the bridge side; set bridge too")
            if spec.bridge is not None:
                bridge = bridges.get(spec.bridge)
                if bridge is None:
                    if spec.bridge not in self.spec.bridges:
                        self.error(
                            f"{iface.path}.bridge", f"bridge '{spec.bridge}' is not declared"
                        )
                    continue
                outer = self.outer_name(iface, bridge)
                if outer is None:
                    continue
                end = self.end(iface)
                port = End(
                    bridge.namespace,
                    outer,
                    mtu=spec.mtu,
                    mac=derive_mac(bridge.namespace, outer),
                    master=bridge.name,
                    key=f"{iface.path}.outer" if spec.outer else "",
                )
                veths.append(Veth(end, port))
            elif spec.peer is not None:
                target = self.parse_peer(iface, ifaces)
                if target is not None:
                    targets[(target.ns_key, target.key)].append(iface)

        for iface in ifaces.values():
            spec = iface.spec
            if spec.bridge is not None or spec.kind == "tap":
                continue
            claimants = targets.get((iface.ns_key, iface.key), [])
            if spec.peer is None:
                if not claimants:
                    self.error(
                        iface.path,
                        "not connected: set bridge or peer, or name it in another interface's peer",
                    )
                elif len(claimants) > 1:
                    names = ", ".join(f"{c.ns_key}:{c.key}" for c in claimants)
                    self.error(iface.path, f"is the peer of more than one interface: {names}")
                else:
                    veths.append(Veth(self.end(claimants[0]), self.end(iface)))
                continue
            if len(claimants) > 1:
                names = ", ".join(f"{c.ns_key}:{c.key}" for c in claimants)
                self.error(iface.path, f"is the peer of more than one interface: {names}")
            elif claimants and (iface.ns_key, iface.key) < (claimants[0].ns_key, claimants[0].key):
                # Both sides name each other: emit the pair once, from the side that sorts first.
                veths.append(Veth(self.end(iface), self.end(claimants[0])))
        return veths

    def tap(self, iface: _Iface, bridges: dict[str, Bridge]) -> None:
        """A TAP device: standalone, or itself a port of a bridge in its own namespace."""
        master = None
        if iface.spec.bridge is not None:
            bridge = bridges.get(iface.spec.bridge)
            if bridge is None:
                if iface.spec.bridge not in self.spec.bridges:
                    self.error(
                        f"{iface.path}.bridge", f"bridge '{iface.spec.bridge}' is not declared"
                    )
                return
            if bridge.namespace != iface.namespace:
                self.error(
                    f"{iface.path}.bridge",
                    f"bridge '{iface.spec.bridge}' is in {where(bridge.namespace)}: a TAP can "
                    f"only be a port of a bridge in its own namespace ({where(iface.namespace)})",
                )
                return
            master = bridge.name
        end = self.end(iface)
        self.taps.append(
            Tap(
                end.namespace,
                end.name,
                end.addresses,
                end.mtu,
                end.mac,
                master,
                iface.owner,
                iface.group,
                iface.path,
                iface.shaping,
            )
        )

    def parse_peer(self, iface: _Iface, ifaces: dict[tuple[str, str], _Iface]) -> _Iface | None:
        peer = iface.spec.peer or ""
        path = f"{iface.path}.peer"
        ns_key, sep, name = peer.partition(":")
        if not sep or not ns_key or not name:
            self.error(path, f"'{peer}' is not of the form NAMESPACE:INTERFACE (or host:NAME)")
            return None
        if ns_key != HOST and ns_key not in self.spec.namespaces:
            self.error(path, f"namespace '{ns_key}' is not declared")
            return None
        target = ifaces.get((ns_key, name))
        if target is None:
            if not self._declared(ns_key, name):
                self.error(path, f"interface '{peer}' is not declared")
            return None
        if target is iface:
            self.error(path, "an interface cannot be its own peer")
            return None
        if target.spec.kind == "tap":
            self.error(path, f"'{peer}' is a TAP device, which has no peer")
            return None
        if target.spec.bridge is not None:
            self.error(path, f"'{peer}' is already connected to bridge '{target.spec.bridge}'")
            return None
        back = target.spec.peer
        if back is not None and back != f"{iface.ns_key}:{iface.key}":
            self.error(
                path,
                f"'{peer}' names '{back}' as its peer, not '{iface.ns_key}:{iface.key}'",
            )
            return None
        return target

    def _declared(self, ns_key: str, name: str) -> bool:
        if ns_key == HOST:
            return name in self.spec.host.interfaces
        return name in self.spec.namespaces[ns_key].interfaces

    def end(self, iface: _Iface) -> End:
        spec = iface.spec
        mac = spec.mac.lower() if spec.mac is not None and MAC_RE.match(spec.mac) else None
        return End(
            iface.namespace,
            iface.name,
            tuple(iface.addresses),
            spec.mtu,
            mac or derive_mac(iface.namespace, iface.name),
            key=iface.path,
            shaping=iface.shaping,
        )

    def outer_name(self, iface: _Iface, bridge: Bridge) -> str | None:
        in_host = bridge.namespace is None
        if iface.spec.outer is not None:
            final = self.host_name(iface.spec.outer) if in_host else iface.spec.outer
            path = f"{iface.path}.outer"
            if not self.check_name(
                path, iface.spec.outer, final, IFNAMSIZ, "outer name", device=True
            ):
                return None
            if iface.spec.outer in RESERVED_DEVICES:
                self.error(path, f"'{iface.spec.outer}' is reserved for the loopback device")
                return None
            return final
        derived = derive_outer(iface.ns_key, iface.key, self.prefix if in_host else "")
        what = "derived outer name (set outer to choose one)"
        if not self.check_name(iface.path, derived, derived, IFNAMSIZ, what, device=True):
            return None
        return derived

    def check_unique_devices(
        self, veths: list[Veth], bridges: dict[str, Bridge], taps: list[Tap]
    ) -> None:
        seen: dict[tuple[str | None, str], str] = {}

        def claim(namespace: str | None, name: str, path: str) -> None:
            first = seen.setdefault((namespace, name), path)
            if first != path:
                self.error(
                    path or first,
                    f"device name '{name}' is used twice in namespace '{where(namespace)}' "
                    f"(also by {first or 'a derived outer name'})",
                )

        for key, bridge in bridges.items():
            claim(bridge.namespace, bridge.name, key_path(["bridges", key]))
        for veth in veths:
            for end in (veth.a, veth.b):
                claim(end.namespace, end.name, end.key or f"{veth.a.key}.outer")
        for tap in taps:
            claim(tap.namespace, tap.name, tap.key)

    # -- values ---------------------------------------------------------------------------

    def parse_addresses(self, path: str, written: Sequence[str]) -> list[IPInterface]:
        out: list[IPInterface] = []
        for index, text in enumerate(written):
            item = f"{path}[{index}]" if len(written) > 1 else path
            if "/" not in text:
                self.error(item, f"'{text}' needs a prefix length, e.g. '{text}/24'")
                continue
            try:
                address = ip_interface(text)
            except ValueError:
                self.error(item, f"'{text}' is not an IPv4 or IPv6 network")
                continue
            # .ip builds a new object on every access: take it once (thousands of addresses).
            ip, network = address.ip, address.network
            if (
                isinstance(address, IPv4Interface)
                and network.prefixlen < 31
                and ip in (network.network_address, network.broadcast_address)
            ):
                self.error(item, f"'{text}' is the network or broadcast address of {network}")
                continue
            if ip.is_multicast or ip.is_unspecified or ip.is_loopback:
                self.error(item, f"'{text}' is not a unicast address")
                continue
            if isinstance(address, IPv6Interface) and ip.is_link_local:
                self.error(item, f"'{text}' is link-local; the kernel assigns those itself")
                continue
            out.append(address)
        return out

    def check_mtu(self, path: str, mtu: int | None, addresses: Sequence[IPInterface]) -> None:
        if mtu is None:
            return
        if not MTU_MIN <= mtu <= MTU_MAX:
            self.error(path, f"{mtu} is not an MTU ({MTU_MIN} to {MTU_MAX})")
        elif mtu < MTU_MIN_IPV6 and any(a.version == 6 for a in addresses):
            self.error(path, f"{mtu} is below {MTU_MIN_IPV6}, the minimum for IPv6")

    def check_mac(self, path: str, mac: str | None) -> None:
        if mac is None:
            return
        if not MAC_RE.match(mac):
            self.error(path, f"'{mac}' is not a MAC address like 02:00:00:00:00:11")
        elif int(mac[:2], 16) & 1:
            self.error(path, f"'{mac}' is a multicast MAC; the first byte must be even")
        elif mac == "00:00:00:00:00:00":
            self.error(path, f"'{mac}' is not a usable MAC address")

    def check_addresses(
        self, ifaces: dict[tuple[str, str], _Iface], bridges: dict[str, Bridge]
    ) -> None:
        owners: dict[IPAddress, str] = {}
        macs: dict[str, str] = {}
        places: list[tuple[str, Sequence[IPInterface]]] = [
            (key_path(["bridges", key]), b.addresses) for key, b in bridges.items()
        ]
        places += [(i.path, i.addresses) for i in ifaces.values()]
        for path, addresses in places:
            for address in addresses:
                first = owners.setdefault(address.ip, path)
                if first != path or addresses.count(address) > 1:
                    self.error(f"{path}.address", f"address {address.ip} is also used by {first}")
        for iface in ifaces.values():
            mac = (iface.spec.mac or "").lower()
            if mac and MAC_RE.match(mac):
                first = macs.setdefault(mac, iface.path)
                if first != iface.path:
                    self.error(f"{iface.path}.mac", f"MAC {mac} is also used by {first}")

    def held_addresses(
        self, ifaces: dict[tuple[str, str], _Iface], bridges: dict[str, Bridge]
    ) -> dict[str, list[_Held]]:
        """Every declared address by the namespace as written ("host" for the host)."""
        held: dict[str, list[_Held]] = defaultdict(list)
        for key, bridge in bridges.items():
            ns_key = self.spec.bridges[key].namespace or HOST
            held[ns_key] += [_Held(a, bridge.ref) for a in bridge.addresses]
        for iface in ifaces.values():
            ref = f"{where(iface.namespace)}:{iface.name}"
            held[iface.ns_key] += [_Held(a, ref) for a in iface.addresses]
        return dict(held)

    def routes(self, namespaces: dict[str, str], held: dict[str, list[_Held]]) -> list[Route]:
        out: list[Route] = []
        tables: list[tuple[str, str | None, list[RouteSpec]]] = [
            (HOST, None, list(self.spec.host.routes))
        ]
        tables += [
            (key, namespaces[key], list(ns.routes))
            for key, ns in self.spec.namespaces.items()
            if key in namespaces
        ]
        for ns_key, namespace, specs in tables:
            base = ["host"] if namespace is None else ["namespaces", ns_key]
            seen: dict[tuple[int, str], str] = {}
            for path, spec in self.indexed([*base, "routes"], specs):
                subnets = [h.address for h in held.get(ns_key, [])]
                route = self.route(path, namespace, spec, subnets)
                if route is None:
                    continue
                ident = (route.via.version, route.to_text)
                first = seen.setdefault(ident, path)
                if first != path:
                    self.error(f"{path}.to", f"a route to {route.to_text} is already at {first}")
                    continue
                out.append(route)
        return out

    def route(
        self, path: str, namespace: str | None, spec: RouteSpec, subnets: list[IPInterface]
    ) -> Route | None:
        to: IPNetwork | None = None
        ok = True
        try:
            via = ip_address(spec.via)
        except ValueError:
            self.error(f"{path}.via", f"'{spec.via}' is not an IPv4 or IPv6 address")
            return None
        if spec.to == "default":
            if namespace is None:
                self.error(
                    f"{path}.to",
                    "the host's default route is not the lab's to change; route the lab's "
                    "subnets instead",
                )
                ok = False
        else:
            try:
                to = ip_network(spec.to)
            except ValueError:
                try:
                    loose = ip_network(spec.to, strict=False)
                    self.error(
                        f"{path}.to", f"'{spec.to}' has host bits set; did you mean {loose}?"
                    )
                except ValueError:
                    self.error(
                        f"{path}.to",
                        f"'{spec.to}' is not a network (e.g. 10.2.0.0/24) or 'default'",
                    )
                return None
            if to.version != via.version:
                self.error(
                    path,
                    f"route to {to} (IPv{to.version}) via {via} (IPv{via.version}): "
                    "families differ",
                )
                return None
        connected = [s for s in subnets if s.version == via.version and via in s.network]
        if not connected:
            self.error(
                f"{path}.via",
                f"gateway {via} is not inside any subnet of {where(namespace)}'s interfaces",
            )
            ok = False
        elif any(s.ip == via for s in subnets):
            self.error(f"{path}.via", f"gateway {via} is an address of {where(namespace)} itself")
            ok = False
        return Route(namespace, to, via) if ok else None

    def indexed(self, base: list[str | int], items: list[_S]) -> Iterator[tuple[str, _S]]:
        """Array items with their key paths as written, counting the items left out."""
        index = 0
        for item in items:
            while key_path([*base, index]) in self.dropped:
                index += 1
            yield key_path([*base, index]), item
            index += 1

    # -- declared reachability checks -------------------------------------------------------

    def checks(self, namespaces: dict[str, str], held: dict[str, list[_Held]]) -> list[Check]:
        """One Check per address each `[[checks]]` entry pings, in declaration order."""
        out: list[Check] = []
        first: dict[tuple[str | None, IPAddress], tuple[bool, str]] = {}
        for path, spec in self.indexed(["checks"], self.spec.checks):
            start = self.check_from(path, spec, namespaces, held)
            targets = self.check_targets(path, spec, namespaces, held, start)
            if start is None or targets is None:
                continue
            reachable = spec.expect == "reachable"
            for address, ref in targets:
                seen = first.setdefault((start[0], address), (reachable, path))
                if seen[0] != reachable:
                    self.error(
                        f"{path}.expect",
                        f"contradicts {seen[1]}: {address} from {spec.from_} cannot be both "
                        "reachable and unreachable",
                    )
                elif seen[1] == path:
                    out.append(Check(start[0], address, reachable, path, ref))
        return out

    def check_from(
        self,
        path: str,
        spec: CheckSpec,
        namespaces: dict[str, str],
        held: dict[str, list[_Held]],
    ) -> tuple[str | None, set[int]] | None:
        """The final namespace a check starts in and the IP versions it has addresses of."""
        written = spec.from_
        if written == HOST:
            namespace = None
        elif written in namespaces:
            namespace = namespaces[written]
        else:
            if written not in self.spec.namespaces:
                self.error(f"{path}.from", f"namespace '{written}' is not declared")
            return None
        versions: set[int] = {h.address.version for h in held.get(written, [])}
        if not versions:
            self.error(
                f"{path}.from",
                "the host has no address in this lab, so a ping from it would test the host's "
                "own routes, not the lab"
                if namespace is None
                else f"namespace '{written}' has no address to ping from",
            )
            return None
        return namespace, versions

    def check_targets(
        self,
        path: str,
        spec: CheckSpec,
        namespaces: dict[str, str],
        held: dict[str, list[_Held]],
        start: tuple[str | None, set[int]] | None,
    ) -> list[tuple[IPAddress, str]] | None:
        """What a check pings: each address of a namespace in a family `from` has one of, or
        the one address written; each with the device holding it ("" when none does)."""
        written, at = spec.to, f"{path}.to"
        versions = start[1] if start is not None else {4, 6}
        if written == HOST or written in self.spec.namespaces:
            if written != HOST and written not in namespaces:
                return None  # its name is wrong, which is reported already
            if written == spec.from_:
                self.error(at, f"'{written}' is also the check's from; name another namespace")
                return None
            addresses = held.get(written, [])
            if not addresses:
                self.error(at, f"'{written}' has no address in this lab to ping")
                return None
            usable = [(h.address.ip, h.ref) for h in addresses if h.address.version in versions]
            if not usable:
                (only,) = versions
                self.error(
                    at, f"'{written}' has no IPv{only} address, the only family of {spec.from_}"
                )
            return usable or None
        try:
            address = ip_address(written)
        except ValueError:
            if "/" in written:
                self.error(at, f"'{written}' has a prefix length; name the address alone")
            else:
                self.error(at, f"'{written}' is neither a declared namespace nor an IP address")
            return None
        if address.is_multicast or address.is_unspecified or address.is_loopback:
            self.error(at, f"'{written}' is not a unicast address")
            return None
        if address.version == 6 and address.is_link_local:
            self.error(at, f"'{written}' is link-local; name a global address")
            return None
        if address.version not in versions:
            self.error(at, f"{spec.from_} has no IPv{address.version} address to ping it from")
            return None
        if any(h.address.ip == address for h in held.get(spec.from_, [])):
            self.error(at, f"{address} is an address of {spec.from_} itself")
            return None
        owner = next((h.ref for hs in held.values() for h in hs if h.address.ip == address), "")
        return [(address, owner)]


@dataclass(frozen=True)
class _Held:
    """A declared address and the device that holds it ("ns:dev")."""

    address: IPInterface
    ref: str


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
    digest = hashlib.sha256(f"{where(namespace)}/{device}".encode()).hexdigest()
    return f"02:{digest[0:2]}:{digest[2:4]}:{digest[4:6]}:{digest[6:8]}:{digest[8:10]}"
