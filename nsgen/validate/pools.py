"""Passes: the lab's L2 segments, and addresses from the pools of [addressing].

Numbering must not move when a lab grows, since a running lab is converged in place and
people remember addresses. So every position is fixed by what comes before it in the file:
bridges take the pool's subnets from its start in the order of [bridges]; veth pairs take
them from its end, in the order their second interface is declared (both ends of a pair
must be declared, and a new namespace's pair is completed by the new namespace, wherever
its peer's interface is written); interfaces on a segment are numbered in declaration order
(the host's first, then each namespace's), after the bridge's own address. Appending a
bridge, a namespace or a pair therefore only appends. Every segment keeps its slot even
when nothing on it needs an address, so that giving it one later moves nothing else.
"""

from __future__ import annotations

import bisect
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_interface
from typing import NamedTuple

from nsgen.lab import HOST, Assigned, End, IPInterface, IPNetwork, Veth, where
from nsgen.shape import key_path
from nsgen.validate.context import Context, Iface, Member, Segment
from nsgen.validate.values import MTU_MAX, MTU_MIN, MTU_MIN_IPV6, parse_network


def segments(ctx: Context) -> None:
    order = {iface.path: index for index, iface in enumerate(ctx.ifaces.values())}
    by_path = {iface.path: iface for iface in ctx.ifaces.values()}
    linked = {end.key for veth in ctx.veths for end in (veth.a, veth.b)}
    for key, bridge in ctx.bridges.items():
        ns_key = ctx.spec.bridges[key].namespace or HOST
        path = key_path(["bridges", key])
        members = [Member(ns_key, bridge.ref, path, list(bridge.addresses), pooled=False)]
        members += [
            _member(iface)
            for iface in ctx.ifaces.values()
            if iface.spec.bridge == key and iface.path in linked
        ]
        ctx.segments.append(Segment(f"bridge {bridge.name}", True, members))
    pairs = [v for v in ctx.veths if v.a.master is None and v.b.master is None]
    pairs.sort(key=lambda v: max(order[v.a.key], order[v.b.key]))
    for veth in pairs:
        a, b = sorted((by_path[veth.a.key], by_path[veth.b.key]), key=lambda i: order[i.path])
        label = f"pair {where(a.namespace)}:{a.name} <-> {where(b.namespace)}:{b.name}"
        ctx.segments.append(Segment(label, False, [_member(a), _member(b)]))


def _member(iface: Iface) -> Member:
    ref = f"{where(iface.namespace)}:{iface.name}"
    return Member(iface.ns_key, ref, iface.path, iface.addresses, iface.spec.address is None)


class _Family(NamedTuple):
    version: int
    key: str  # "ipv4"
    bits: int


FAMILIES = (_Family(4, "ipv4", 32), _Family(6, "ipv6", 128))


def pools(ctx: Context) -> None:
    spec = ctx.spec.addressing
    for family in FAMILIES:
        written: str | None = getattr(spec, family.key)
        bridge_len: int = getattr(spec, f"{family.key}_prefix")
        pair_len: int = getattr(spec, f"{family.key}_p2p_prefix")
        if written is None:
            for name in (f"{family.key}_prefix", f"{family.key}_p2p_prefix"):
                if getattr(spec, name) != _default(name):
                    ctx.error(
                        f"addressing.{name}",
                        f"no addressing.{family.key} pool is set for it to divide",
                    )
            continue
        pool = _pool(ctx, family, written, bridge_len, pair_len)
        if pool is not None:
            _allocate(ctx, family, pool, bridge_len, pair_len)
    if ctx.pooled:
        _reattach(ctx)


def _default(name: str) -> int:
    from nsgen.model import AddressingSpec

    return int(getattr(AddressingSpec(), name))


def _pool(
    ctx: Context, family: _Family, written: str, bridge_len: int, pair_len: int
) -> IPNetwork | None:
    path = f"addressing.{family.key}"
    pool = parse_network(
        ctx, path, written, f"'{written}' is not a network like {_EXAMPLE[family.version]}"
    )
    if pool is None:
        return None
    if pool.version != family.version:
        ctx.error(path, f"'{written}' is not an IPv{family.version} network")
        return None
    if pool.is_multicast or pool.is_loopback or pool.is_link_local or pool.is_unspecified:
        ctx.error(path, f"'{written}' is not a range of unicast addresses")
        return None
    ok = True
    for name, length in (("prefix", bridge_len), ("p2p_prefix", pair_len)):
        if not pool.prefixlen <= length <= family.bits - 1:
            ctx.error(
                f"addressing.{family.key}_{name}",
                f"{length} must lie between the pool's /{pool.prefixlen} and /{family.bits - 1}",
            )
            ok = False
    return pool if ok else None


_EXAMPLE = {4: "10.0.0.0/16", 6: "fd00:1::/48"}


def _allocate(
    ctx: Context, family: _Family, pool: IPNetwork, bridge_len: int, pair_len: int
) -> None:
    pool_key = f"addressing.{family.key}"
    bridges = [s for s in ctx.segments if s.is_bridge]
    pairs = [s for s in ctx.segments if not s.is_bridge]
    bridge_size, pair_size = 1 << (family.bits - bridge_len), 1 << (family.bits - pair_len)
    if len(bridges) * bridge_size + len(pairs) * pair_size > pool.num_addresses:
        ctx.error(
            pool_key,
            f"pool {pool} is too small: the lab has {len(bridges)} bridges (a /{bridge_len} "
            f"each) and {len(pairs)} veth pairs (a /{pair_len} each)",
        )
        return
    start, end = int(pool.network_address), int(pool.broadcast_address) + 1
    slots = [(s, start + i * bridge_size, bridge_len) for i, s in enumerate(bridges)]
    slots += [(s, end - (i + 1) * pair_size, pair_len) for i, s in enumerate(pairs)]
    used: list[tuple[int, int, Segment, IPNetwork]] = []  # the slots that numbered something
    for segment, base, length in slots:
        adopted = _adopted(segment, family.version)
        subnet = adopted if adopted is not None else _network(family.version, base, length)
        numbered = _number(ctx, segment, subnet, family.version, pool_key)
        if numbered:
            ctx.assigned.append(Assigned(pool, segment.label, subnet, tuple(numbered)))
            if adopted is None:
                used.append((base, base + subnet.num_addresses - 1, segment, subnet))
    _check_overlaps(ctx, family.version, pool_key, sorted(used, key=lambda u: u[0]))


def _network(version: int, base: int, length: int) -> IPNetwork:
    if version == 4:
        return IPv4Network((base, length))
    return IPv6Network((base, length))


def _adopted(segment: Segment, version: int) -> IPNetwork | None:
    """A bridge's own address, or an address written on one end of a pair, fixes the
    segment's subnet: the pool then numbers the others inside it. A bridge's members do
    not, since one written on a later member would move the numbers of earlier ones."""
    candidates = segment.members[:1] if segment.is_bridge else segment.members
    for member in candidates:
        for address in member.addresses:
            if address.version == version and not member.pooled:
                return address.network
    return None


def _number(
    ctx: Context, segment: Segment, subnet: IPNetwork, version: int, pool_key: str
) -> list[tuple[str, IPInterface]]:
    base = int(subnet.network_address)
    if subnet.prefixlen >= subnet.max_prefixlen - 1:
        first, last = 0, subnet.num_addresses - 1  # RFC 3021 / 6164: both ends usable
    else:
        first, last = 1, subnet.num_addresses - 2
    taken: set[int] = set()

    def take(member: Member) -> None:
        taken.update(
            int(a.ip) - base for a in member.addresses if a.version == version and a.ip in subnet
        )

    if not segment.is_bridge:
        # Both ends of a pair are declared together: step over the written one.
        for member in segment.members:
            if not member.pooled:
                take(member)
    following = first
    numbered: list[tuple[str, IPInterface]] = []
    for member in segment.members:
        if not member.pooled:
            # On a bridge only addresses written before a number is handed out are stepped
            # over; one written later on that number is reported as a duplicate address.
            take(member)
            continue
        while following in taken:
            following += 1
        if following > last:
            ctx.error(member.path, f"{subnet} of {segment.label} has no address left for it")
            break
        address = ip_interface(f"{ip_address(base + following)}/{subnet.prefixlen}")
        following += 1
        member.addresses.append(address)
        ctx.pooled[(member.path, address.ip)] = pool_key
        numbered.append((member.ref, address))
    return numbered


def _check_overlaps(
    ctx: Context, version: int, pool_key: str, used: list[tuple[int, int, Segment, IPNetwork]]
) -> None:
    """A written address on a subnet the pool gave another segment would make two links
    one subnet: routes and ARP would pick either. Used slots are disjoint and sorted."""
    if not used:
        return
    ends = [u[1] for u in used]
    for segment in ctx.segments:
        for member in segment.members:
            for address in member.addresses:
                if address.version != version or (member.path, address.ip) in ctx.pooled:
                    continue
                low = int(address.network.network_address)
                high = int(address.network.broadcast_address)
                index = bisect.bisect_left(ends, low)
                while index < len(used) and used[index][0] <= high:
                    other, subnet = used[index][2], used[index][3]
                    if other is not segment:
                        ctx.error(
                            f"{member.path}.address",
                            f"{address} overlaps {subnet}, which {pool_key} gives to {other.label}",
                        )
                    index += 1


def _reattach(ctx: Context) -> None:
    """The veth ends were built before the pools ran: give them their numbered addresses,
    and check the MTU against IPv6 now that some ends have it."""
    by_path = {iface.path: iface for iface in ctx.ifaces.values()}

    def end(e: End) -> End:
        iface = by_path.get(e.key)
        if iface is None or iface.spec.address is not None or not iface.addresses:
            return e
        mtu = iface.spec.mtu
        if (
            mtu is not None
            and MTU_MIN <= mtu < MTU_MIN_IPV6 <= MTU_MAX
            and any(a.version == 6 for a in iface.addresses)
        ):
            ctx.error(f"{iface.path}.mtu", f"{mtu} is below {MTU_MIN_IPV6}, the minimum for IPv6")
        return e._replace(addresses=tuple(iface.addresses))

    ctx.veths = [Veth(end(v.a), end(v.b)) for v in ctx.veths]
