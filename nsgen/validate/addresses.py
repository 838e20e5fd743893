"""Passes: addresses and MACs are unique in the lab; the addresses each namespace holds; no two
devices of one namespace on overlapping subnets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from nsgen.lab import HOST, LOOPBACK, IPAddress, IPInterface, where
from nsgen.shape import key_path
from nsgen.validate.context import MAC_RE, Context, Held


def unique_addresses(ctx: Context) -> None:
    owners: dict[IPAddress, str] = {}
    macs: dict[str, str] = {}
    for _, path, addresses in _places(ctx):
        for address in addresses:
            first = owners.setdefault(address.ip, path)
            if first != path or addresses.count(address) > 1:
                pool = ctx.pooled.get((first, address.ip))
                how = f" (given by {pool})" if pool else ""
                ctx.error(_at(path), f"address {address.ip} is also used by {first}{how}")
    for iface in ctx.ifaces.values():
        mac = (iface.spec.mac or "").lower()
        if mac and MAC_RE.match(mac):
            first = macs.setdefault(mac, iface.path)
            if first != iface.path:
                ctx.error(f"{iface.path}.mac", f"MAC {mac} is also used by {first}")


def _places(ctx: Context) -> list[tuple[str, str, Sequence[IPInterface]]]:
    """Every device that holds addresses: its namespace as written, key path, addresses.
    A loopback's key path is that of its list (namespaces.r1.loopback), a device's that of
    the device."""
    places: list[tuple[str, str, Sequence[IPInterface]]] = [
        (ctx.spec.bridges[key].namespace or HOST, key_path(["bridges", key]), b.addresses)
        for key, b in ctx.bridges.items()
    ]
    places += [(i.ns_key, i.path, i.addresses) for i in ctx.ifaces.values()]
    places += [
        (key, key_path(["namespaces", key, LOOPBACK]), addresses)
        for key, addresses in ctx.loopbacks.items()
    ]
    return places


def _at(path: str) -> str:
    """Where a device's addresses are written: its `address` key, or the loopback list."""
    return path if path.endswith(f".{LOOPBACK}") else f"{path}.address"


def overlapping_subnets(ctx: Context) -> None:
    """Two devices of one namespace on overlapping subnets of different segments make the
    kernel send both subnets' traffic out of one device: verify fails with no word of why.
    (Two ports of one bridge may share a subnet: either device reaches it.) CIDR blocks nest
    or are disjoint, so sorted by first address, widest first, the blocks that contain a block
    are those left on a stack of the blocks seen whose ends it has not passed."""
    segment = {m.path: s.label for s in ctx.segments for m in s.members}
    by_namespace: dict[str, list[tuple[int, int, int, str, IPInterface]]] = defaultdict(list)
    for ns_key, path, addresses in _places(ctx):
        for address in addresses:
            net = address.network
            first, last = int(net.network_address), int(net.broadcast_address)
            by_namespace[ns_key].append((net.version, first, -last, path, address))
    for blocks in by_namespace.values():
        blocks.sort(key=lambda block: block[:3])
        enclosing: list[tuple[int, int, int, str, IPInterface]] = []
        for block in blocks:
            version, first, _, path, address = block
            while enclosing and (enclosing[-1][0] != version or -enclosing[-1][2] < first):
                enclosing.pop()
            other = next(
                (e for e in enclosing if segment.get(e[3], e[3]) != segment.get(path, path)),
                None,
            )
            if other:
                ctx.error(
                    _at(path),
                    f"subnet {address.network} ({address}) overlaps {other[4].network} "
                    f"({other[4]}) of {other[3]} in the same namespace: the kernel would "
                    "route both through one device",
                )
            enclosing.append(block)


def held_addresses(ctx: Context) -> None:
    """Every declared address by the namespace as written ("host" for the host)."""
    held: dict[str, list[Held]] = defaultdict(list)
    for key, bridge in ctx.bridges.items():
        ns_key = ctx.spec.bridges[key].namespace or HOST
        held[ns_key] += [Held(a, bridge.ref) for a in bridge.addresses]
    for iface in ctx.ifaces.values():
        ref = f"{where(iface.namespace)}:{iface.name}"
        held[iface.ns_key] += [Held(a, ref) for a in iface.addresses]
    for key, addresses in ctx.loopbacks.items():
        held[key] += [Held(a, f"{ctx.namespaces[key]}:lo") for a in addresses]
    ctx.held = dict(held)
