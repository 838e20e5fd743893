"""Plan: the lab as an ordered list of typed operations.

This is the one intermediate form. The script's plan table, its verify checks, and anything
else that describes the lab (dry-run, status, diagrams) derive from it, never from the TOML.
Order matters and is part of the contract: namespaces, then devices, then the host's
configuration, then each namespace's configuration in declaration order.
"""

from __future__ import annotations

import functools
import typing
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeVar

from nsgen.lab import (
    LO,
    End,
    Exec,
    File,
    IPAddress,
    IPInterface,
    IPNetwork,
    Lab,
    Macvlan,
    Process,
    Route,
    Shaping,
    Sysctl,
    Vxlan,
    where,
)

# The handles of nsgen's own qdiscs ("ns" in ASCII): a root qdisc with ROOT_HANDLE on a lab
# device is nsgen's; CHILD_HANDLE is the tbf under a netem root.
ROOT_HANDLE = "6e73:"
CHILD_HANDLE = "6e74:"

# Operations are NamedTuples, not frozen dataclasses: as immutable and as typed, but a class
# costs a seventh of the instructions to create (a frozen dataclass compiles six methods),
# and every nsgen command creates them all at start-up. Nothing compares two operations.


class AddNamespace(NamedTuple):
    name: str


class AddBridge(NamedTuple):
    namespace: str | None
    name: str
    mac: str | None = None


class AddVeth(NamedTuple):
    a: End
    b: End


class AddMacvlan(NamedTuple):
    """Created on its host parent, directly in its namespace (`link add link P ... netns`)."""

    macvlan: Macvlan


class AddTap(NamedTuple):
    """A persistent TAP device, created with the owner and group that may attach to it."""

    namespace: str | None
    name: str
    owner: str | None = None
    group: str | None = None


class SetQdisc(NamedTuple):
    """One qdisc on a device's egress: tbf for `rate`, netem for delay, jitter and loss.
    With both, netem is the root and tbf its child (`child` True), so that `rate` means the
    same tbf, burst and latency with or without netem."""

    namespace: str | None
    dev: str
    kind: Literal["tbf", "netem"]
    shaping: Shaping
    child: bool = False


class AddVxlan(NamedTuple):
    """A tunnel end, created from the host namespace (whose underlay it uses) in its place."""

    vxlan: Vxlan


class AddFlood(NamedTuple):
    """Head-end replication: broadcast and unknown frames on a tunnel device go to `dst` too."""

    dev: str
    dst: IPAddress


class SetLink(NamedTuple):
    """Bring a device up, with its MTU, MAC and bridge master as declared."""

    namespace: str | None
    name: str
    master: str | None = None
    mtu: int | None = None
    mac: str | None = None


class AddAddress(NamedTuple):
    namespace: str | None
    dev: str
    address: IPInterface


class AddRoute(NamedTuple):
    route: Route


class EnableForwarding(NamedTuple):
    namespace: str


class SetSysctl(NamedTuple):
    """A kernel setting inside a namespace, written on every up (drift repair)."""

    namespace: str
    sysctl: Sysctl


class RaiseNeighbourTable(NamedTuple):
    """[host] neighbour_table: the host's neighbour tables (one per family, shared by every
    namespace) hold at least `size` entries while the lab is up. Not an ip command: the
    runtime's neighbour step applies it and keeps the host-wide record."""

    size: int


class WriteFile(NamedTuple):
    """A file of a namespace, under /etc/netns: rewritten whenever it differs."""

    file: File


class StartProcess(NamedTuple):
    """A process kept running in a namespace. `digest` covers what it runs with (its command,
    its ready command, its namespace's files): a process started with another is restarted."""

    process: Process
    digest: str


class RunExec(NamedTuple):
    """A namespace's one-shot commands, run after its processes are ready, again whenever
    `digest` (its files, processes and commands) changes or the namespace is new."""

    exec: Exec
    digest: str


Op = (
    AddNamespace
    | AddBridge
    | AddVeth
    | AddMacvlan
    | AddTap
    | AddVxlan
    | SetLink
    | AddAddress
    | AddRoute
    | EnableForwarding
    | SetSysctl
    | AddFlood
    | RaiseNeighbourTable
    | SetQdisc
    | WriteFile
    | StartProcess
    | RunExec
)


_O = TypeVar("_O")


class Ping(NamedTuple):
    """A verify check: from a namespace (None: the host) to an address: a ping, or with
    `port` a TCP connection; or with `command` (and no address) a command run there. With
    reachable False (a declared isolation check) it passes only when nothing answers."""

    namespace: str | None
    address: IPAddress | None
    what: str
    reachable: bool = True
    # From the host: the lab's host device the ping must leave by (ping -I), so that a lab
    # that is down or drifted never sends the ping out through the host's own routes.
    device: str | None = None
    port: int | None = None
    command: str | None = None
    wait: int | None = None  # seconds to retry for; None: verify's --wait, else one try


class HostName(NamedTuple):
    """A line of the /etc/netns/NS/hosts files (`names = true`): an address and its names."""

    address: IPAddress
    names: tuple[str, ...]  # the namespace, then "DEVICE.NAMESPACE"


@dataclass(frozen=True)
class Plan:
    lab: Lab
    ops: tuple[Op, ...]
    checks: tuple[Ping, ...]
    hosts: tuple[HostName, ...] = ()  # the same file for every namespace; () without names

    @functools.cached_property
    def _by_kind(self) -> dict[type, list[Op]]:
        kinds: dict[type, list[Op]] = defaultdict(list)
        for op in self.ops:
            kinds[type(op)].append(op)
        return kinds

    def of(self, kind: type[_O]) -> list[_O]:
        """The operations of one kind, in plan order: asked for several times per render,
        each a scan of thousands of operations without this index."""
        return typing.cast(list[_O], self._by_kind.get(kind, []))

    def namespaces_in_order(self) -> list[str]:
        return [op.name for op in self.of(AddNamespace)]

    def neighbour_table(self) -> int | None:
        sizes = [op.size for op in self.of(RaiseNeighbourTable)]
        return sizes[0] if sizes else None

    def neighbour_entries(self) -> dict[int, int]:
        """Neighbour entries the lab needs at least, by IP version: on a subnet that two or
        more addresses share, each address is learnt by another member and learns it back."""
        lab = self.lab
        held = [a for b in lab.bridges for a in b.addresses]
        held += [a for v in lab.veths for a in (*v.a.addresses, *v.b.addresses)]
        # Plain tuples as keys: comparing equal ipaddress networks runs Python code each time,
        # which alone would cost more than the rest of a 1000-namespace render's planning.
        members = Counter(
            (a.version, int(a.network.network_address), a.network.prefixlen) for a in held
        )
        need = {4: 0, 6: 0}
        for (version, _, _), count in members.items():
            if count > 1:
                need[version] += 2 * count
        return need


def build(lab: Lab) -> Plan:
    ops: list[Op] = [AddNamespace(ns.name) for ns in lab.namespaces]
    ops += [AddBridge(b.namespace, b.name, b.mac) for b in lab.bridges]
    ops += [AddVeth(v.a, v.b) for v in lab.veths]
    ops += [AddMacvlan(m) for m in lab.macvlans]
    ops += [AddTap(t.namespace, t.name, t.owner, t.group) for t in lab.taps]
    ops += [AddVxlan(x) for x in lab.vxlans]

    # Configuration, grouped by the namespace it runs in: the host first, then the lab's.
    config: dict[str | None, list[Op]] = defaultdict(list)
    for ns in lab.namespaces:
        config[ns.name].append(SetLink(ns.name, "lo"))
    for bridge in lab.bridges:
        config[bridge.namespace].append(
            SetLink(bridge.namespace, bridge.name, mtu=bridge.mtu, mac=bridge.mac)
        )
    for end in _ends(lab):
        config[end.namespace].append(
            SetLink(end.namespace, end.name, master=end.master, mtu=end.mtu, mac=end.mac)
        )
    for tap in lab.taps:
        config[tap.namespace].append(
            SetLink(tap.namespace, tap.name, master=tap.master, mtu=tap.mtu, mac=tap.mac)
        )
    for x in lab.vxlans:
        config[x.namespace].append(SetLink(x.namespace, x.name, x.master, x.mtu, x.mac))
    for bridge in lab.bridges:
        config[bridge.namespace] += [
            AddAddress(bridge.namespace, bridge.name, a) for a in bridge.addresses
        ]
    for end in _ends(lab):
        config[end.namespace] += [AddAddress(end.namespace, end.name, a) for a in end.addresses]
    for tap in lab.taps:
        config[tap.namespace] += [AddAddress(tap.namespace, tap.name, a) for a in tap.addresses]
    for x in lab.vxlans:
        config[x.namespace] += [AddAddress(x.namespace, x.name, a) for a in x.addresses]
    for ns in lab.namespaces:
        config[ns.name] += [AddAddress(ns.name, LO, a) for a in ns.loopback]
    for route in lab.routes:
        config[route.namespace].append(AddRoute(route))
    shaped = [(e.namespace, e.name, e.shaping) for e in _ends(lab)]
    shaped += [(t.namespace, t.name, t.shaping) for t in lab.taps]
    for namespace, dev, shaping in shaped:
        if shaping is not None:
            config[namespace] += qdiscs(namespace, dev, shaping)
    # Forwarding is a sysctl inside the namespace, set from the host's batch (`netns exec`).
    config[None] += [EnableForwarding(ns.name) for ns in lab.namespaces if ns.forwarding]
    # After forwarding, which sets some of the same keys, and after every device exists.
    config[None] += [SetSysctl(ns.name, s) for ns in lab.namespaces for s in ns.sysctls]
    config[None] += [AddFlood(x.name, dst) for x in lab.vxlans for dst in x.flood]

    # Before any namespace is configured, so the lab's first traffic finds room.
    if lab.neighbour_table is not None:
        ops.append(RaiseNeighbourTable(lab.neighbour_table))
    ops += config.pop(None, [])
    for ns in lab.namespaces:
        ops += config.pop(ns.name, [])
    ops += daemons(lab)
    return Plan(lab, tuple(ops), tuple(_checks(lab)), tuple(_hosts(lab)) if lab.names else ())


def daemons(lab: Lab) -> list[Op]:
    """What runs in the namespaces, after they are wired: files, then processes in dependency
    order, then each namespace's one-shot commands."""
    ops: list[Op] = [WriteFile(f) for f in lab.files]
    files: dict[str, list[str]] = defaultdict(list)
    for f in lab.files:
        files[f.namespace].append(f"{f.path} {f.mode:o} {f.digest}")
    processes: dict[str, list[str]] = defaultdict(list)
    for p in lab.processes:
        digest = _digest(p.command, p.ready or "", *files[p.namespace])
        processes[p.namespace].append(f"{p.name} {digest}")
        ops.append(StartProcess(p, digest))
    for e in lab.execs:
        ops.append(RunExec(e, _digest(*files[e.namespace], *processes[e.namespace], *e.commands)))
    return ops


def _digest(*parts: str) -> str:
    import hashlib

    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _hosts(lab: Lab) -> list[HostName]:
    """Every address of every namespace, in plan order. The host is not named: it is not a
    namespace of the lab, and its own name is already in its /etc/hosts."""
    out: list[HostName] = []
    devices: dict[str, list[tuple[str, tuple[IPInterface, ...]]]] = defaultdict(list)
    for bridge in lab.bridges:
        if bridge.namespace is not None:
            devices[bridge.namespace].append((bridge.name, bridge.addresses))
    for end in _ends(lab):
        if end.namespace is not None:
            devices[end.namespace].append((end.name, end.addresses))
    for ns in lab.namespaces:
        for device, addresses in [*devices[ns.name], (LO, ns.loopback)]:
            out += [HostName(a.ip, (ns.name, f"{device}.{ns.name}")) for a in addresses]
    return out


def qdiscs(namespace: str | None, dev: str, shaping: Shaping) -> list[Op]:
    """netem's own `rate` has no burst and paces each packet as it comes, a GSO super-packet
    of 64 KB included; a tbf child keeps `rate` exactly the tbf it is without netem."""
    out: list[Op] = []
    if shaping.netem:
        out.append(SetQdisc(namespace, dev, "netem", shaping))
    if shaping.rate is not None:
        out.append(SetQdisc(namespace, dev, "tbf", shaping, child=shaping.netem))
    return out


def build_for(lab: Lab, machine: str) -> Plan:
    """The plan of one machine of a lab across hosts: what that host's script does. Its
    checks are the whole lab's that start on this machine, tunnels included."""
    here = lab.on_machine(machine)
    plan = build(here)
    if not lab.spans_hosts:
        return plan
    on = {ns.name: ns.machine for ns in lab.namespaces}
    checks = tuple(c for c in _checks(lab) if c.namespace and on[c.namespace] == machine)
    # Names resolve across hosts: every machine's hosts files list the whole lab.
    return Plan(here, plan.ops, checks, tuple(_hosts(lab)) if lab.names else ())


def _ends(lab: Lab) -> list[End]:
    return [end for veth in lab.veths for end in (veth.a, veth.b)] + [m.end for m in lab.macvlans]


# (namespace, address, its device's ref, its device, the address's .ip: built on each access)
Member = tuple[str | None, IPInterface, str, str, IPAddress]


def _checks(lab: Lab) -> list[Ping]:
    """Each declared address is pinged once from another place on its subnet; each gateway
    once from the namespace that routes through it; then the declared `[[checks]]`. Linear
    in the number of addresses: the members of a subnet form a ring, and each is pinged by
    its partner in it or by the previous member that is somewhere else (see _pinger).
    """
    members: dict[IPNetwork, list[Member]] = defaultdict(list)
    for bridge in lab.bridges:
        for address in bridge.addresses:
            members[address.network].append(
                (bridge.namespace, address, bridge.ref, bridge.name, address.ip)
            )
    for end in _ends(lab):
        for address in end.addresses:
            members[address.network].append((end.namespace, address, end.ref, end.name, address.ip))
    for x in lab.vxlans:
        for address in x.addresses:
            members[address.network].append((x.namespace, address, x.ref, x.name, address.ip))
    host_devices = [m for ring in members.values() for m in ring if m[0] is None]
    # In a lab across hosts every address is pinged from another host where its subnet
    # reaches one, so that verify proves the tunnels; and each line names the far host.
    on: dict[str, str | None] = {}
    owner: dict[IPAddress, str | None] = {}
    if lab.spans_hosts:
        on = {ns.name: ns.machine for ns in lab.namespaces}
        owner = {m[4]: on.get(m[0]) for ring in members.values() for m in ring if m[0]}

    def far(origin: str | None, target: IPAddress) -> str:
        machine = owner.get(target)
        if origin is None or machine is None or on.get(origin) == machine:
            return ""
        return f", on host {machine}"

    checks: list[Ping] = []
    for ring in members.values():
        for index, (namespace, _, ref, _, ip) in enumerate(ring):
            other = _pinger(ring, index, namespace, on)
            if other is not None:
                device = other[3] if other[0] is None else None
                checks.append(Ping(other[0], ip, ref + far(other[0], ip), device=device))
    seen: set[tuple[str | None, IPAddress]] = set()
    for route in lab.routes:
        for via in route.vias:
            if (route.namespace, via) in seen:
                continue
            seen.add((route.namespace, via))
            # A link-local gateway is only reached on its own link, so the ping leaves by it.
            device = route.dev if via.version == 6 and via.is_link_local else None
            if route.namespace is None and device is None:
                device = _host_device(lab, via, host_devices)
            what = f"gateway of {where(route.namespace)}{far(route.namespace, via)}"
            checks.append(Ping(route.namespace, via, what, device=device))
    checks += _loopback_checks(lab, members)
    # The lab's own test plan last, so a failure there is read after the wiring is known good.
    for check in lab.checks:
        if check.address is None:
            checks.append(
                Ping(check.namespace, None, check.key, command=check.command, wait=check.wait)
            )
            continue
        what = f"{check.key}: {check.target}" if check.target else check.key
        what += far(check.namespace, check.address)
        device = _host_device(lab, check.address, host_devices) if check.namespace is None else None
        checks.append(
            Ping(
                check.namespace,
                check.address,
                what,
                check.reachable,
                device,
                port=check.port,
                wait=check.wait,
            )
        )
    return checks


def _loopback_checks(lab: Lab, members: dict[IPNetwork, list[Member]]) -> list[Ping]:
    """Each loopback address is pinged from a neighbour of its namespace: one on a segment
    both share with an address of its family, the first (segments in plan order) with a
    static route that covers it, else the first. Nothing on a link routes to a loopback by
    itself: without such a route, or a daemon's, the ping fails, and says why."""
    out: list[Ping] = []
    for ns in lab.namespaces:
        if not ns.loopback:
            continue
        neighbours: dict[int, list[str]] = defaultdict(list)
        for ring in members.values():
            if any(m[0] == ns.name for m in ring):
                for other in ring:
                    family = neighbours[other[1].version]
                    if other[0] not in (None, ns.name) and other[0] not in family:
                        family.append(other[0])
        for address in ns.loopback:
            ip = address.ip
            near = neighbours.get(ip.version, [])
            if not near:
                continue
            routed = [
                n
                for n in near
                for r in lab.routes
                if r.namespace == n and r.version == ip.version and (r.to is None or ip in r.to)
            ]
            origin = (routed or near)[0]
            out.append(Ping(origin, ip, f"{ns.name}:{LO} (loopback)"))
    return out


def _pinger(
    ring: list[Member], index: int, namespace: str | None, on: dict[str, str | None]
) -> Member | None:
    """Who pings ring[index]: the previous member on another host if any (a lab across
    hosts), else its partner (members pair up in ring order: 0 and 1, 2 and 3...) when that
    one is in another namespace, else the previous member in another namespace. Partners ping
    each other, one after the other (verify keeps them in one worker): the first ping's ARP
    request or neighbour solicitation leaves the entry the second needs, so a bridge of N
    ports copies one broadcast per pair to them all instead of one per address."""
    machine = on.get(namespace) if namespace is not None else None
    if machine is None and (index ^ 1) < len(ring) and ring[index ^ 1][0] != namespace:
        return ring[index ^ 1]
    # Walked lazily: the answer is almost always one step back, and a list of the whole ring
    # for every member made planning a 1000-namespace star quadratic.
    steps = range(1, len(ring))
    if machine is not None:
        for step in steps:
            other = ring[(index - step) % len(ring)]
            if other[0] is not None and on.get(other[0]) not in (None, machine):
                return other
    for step in steps:
        other = ring[(index - step) % len(ring)]
        if other[0] != namespace:
            return other
    return None


def _host_device(lab: Lab, target: IPAddress, host_devices: list[Member]) -> str:
    """The lab's host device a ping from the host to `target` leaves by: the one on the
    target's subnet, else the one on the subnet of the gateway of the host route that
    covers it, else any lab device of the family (validation has made sure there is one)."""
    on_link = [d for _, a, _, d, _ in host_devices if target in a.network]
    if on_link:
        return on_link[0]
    routes = [
        r
        for r in lab.routes
        if r.namespace is None and r.version == target.version and (r.to is None or target in r.to)
    ]
    routes.sort(key=lambda r: -1 if r.to is None else r.to.prefixlen, reverse=True)
    for route in routes:
        if route.dev is not None:
            return route.dev
        via = [d for _, a, _, d, _ in host_devices for v in route.vias if v in a.network]
        if via:
            return via[0]
    same_family = [d for _, a, _, d, _ in host_devices if a.version == target.version]
    return same_family[0] if same_family else host_devices[0][3]
