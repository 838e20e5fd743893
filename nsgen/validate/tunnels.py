"""Pass: links between machines become VXLAN tunnels.

A veth whose ends are on different hosts, and a bridge port whose namespace is on another
host than its bridge, become one point-to-point tunnel each: a VXLAN device at both ends
with a unicast remote. A bridge on several hosts gets one VXLAN device per host that floods
to every other host (head-end replication). Every path through a tunnel has its MTU lowered
by the encapsulation unless the file sets one, and a set MTU that does not fit is an error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from nsgen.lab import Bridge, End, Machine, Veth, Vxlan, machine_mac
from nsgen.shape import key_path
from nsgen.validate.context import Context, Iface, derive_outer

VNI_MAX = 2**24 - 1
VXLAN_PORT = 4789
# Outer Ethernet, IP, UDP and VXLAN headers: what a tunnelled frame loses of the underlay MTU.
OVERHEAD = {4: 50, 6: 70}


def derive_vni(lab: str, link: str) -> int:
    """A VNI fixed by the lab's name and the link: the same on every host and every render,
    and different for two copies of a lab under different prefixes."""
    digest = hashlib.sha256(f"{lab}/{link}".encode()).digest()
    return 1 + int.from_bytes(digest[:4], "big") % VNI_MAX


def vxlan_name(bridge_key: str, prefix: str) -> str:
    """The VXLAN port of a bridge spanning hosts: the same name on each of them."""
    return derive_outer(bridge_key, "vx", prefix)


@dataclass
class Segment:
    """A bridge with a tunnel: its machines, and the MTU every path across it gets."""

    bridge: Bridge
    path: str
    machines: set[str]
    mtu: int = 0


def tunnels(ctx: Context) -> None:
    if not ctx.machines:
        return
    on = {ctx.namespaces[k]: m for k, m in ctx.placed.items() if k in ctx.namespaces}
    single = next(iter(ctx.machines)) if len(ctx.spec.hosts) == 1 else None
    by_path = {iface.path: iface for iface in ctx.ifaces.values()}
    bridge_keys = {(b.namespace, b.name): k for k, b in ctx.bridges.items()}

    def machine_of(end: End) -> str | None:
        if end.master is not None:
            key = bridge_keys.get((end.namespace, end.master))
            holders = ctx.bridges[key].machines if key is not None else ()
            return holders[0] if holders else None
        return single if end.namespace is None else on.get(end.namespace)

    segments: dict[str, Segment] = {}
    for key, declared in ctx.bridges.items():
        path = key_path(["bridges", key])
        segments[declared.name] = Segment(declared, path, set(declared.machines))
    local: list[Veth] = []
    remote: list[tuple[Veth, str, str]] = []
    for veth in ctx.veths:
        here, there = machine_of(veth.a), machine_of(veth.b)
        if here is None or there is None:
            continue  # placed nowhere: that is reported already
        bridge = _bridge_of(ctx, bridge_keys, veth.b)
        if (here in bridge.machines) if bridge is not None else here == there:
            local.append(veth._replace(machine=here))
        else:
            remote.append((veth, here, there))
            if bridge is not None:
                segments[bridge.name].machines.add(here)

    for segment in segments.values():
        if len(segment.machines) > 1:
            _segment_mtu(ctx, segment)
    ctx.veths = [_lowered(ctx, veth, segments) for veth in local]
    for key, bridge in list(ctx.bridges.items()):
        segment = segments[bridge.name]
        if segment.mtu and bridge.mtu is None:
            ctx.bridges[key] = bridge._replace(mtu=segment.mtu)

    ids: dict[tuple[int, int], str] = {}
    for veth, here, there in remote:
        a_spec = by_path.get(veth.a.key)
        b_spec = by_path.get(veth.b.key) if veth.b.master is None else None
        vni, port = _numbers(ctx, veth.a.key, [a_spec, b_spec], f"{veth.a.ref}~{veth.b.ref}")
        if vni is None or port is None:
            continue
        if not _unique(ctx, ids, vni, port, veth.a.key):
            continue
        mtu = _link_mtu(ctx, veth, here, there, segments)
        if mtu is None:
            continue
        m_a, m_b = ctx.machines[here], ctx.machines[there]
        other = f"bridge {veth.b.master}" if veth.b.master is not None else veth.b.ref
        carries = f"{veth.a.ref} - {other}"
        ctx.vxlans.append(_end(veth.a, m_a, m_b, vni, port, mtu, carries))
        ctx.vxlans.append(_end(veth.b, m_b, m_a, vni, port, mtu, carries))

    for key, bridge in ctx.bridges.items():
        if len(bridge.machines) < 2:
            continue
        spec = ctx.spec.bridges[key]
        path = key_path(["bridges", key])
        vni, port = _checked(ctx, path, spec.vni, spec.dstport, f"bridge {bridge.name}")
        if vni is None or port is None or not _unique(ctx, ids, vni, port, path):
            continue
        name = vxlan_name(key, ctx.prefix)
        for machine in bridge.machines:
            m = ctx.machines[machine]
            others = [ctx.machines[o] for o in bridge.machines if o != machine]
            ctx.vxlans.append(
                Vxlan(
                    machine,
                    None,
                    name,
                    vni,
                    port,
                    m.address,
                    None,
                    tuple(o.address for o in others),
                    m.device,
                    segments[bridge.name].mtu,
                    machine_mac(machine, name),
                    master=bridge.name,
                    carries=f"bridge {bridge.name}",
                    remotes=tuple(o.name for o in others),
                    key=path,
                )
            )


def _bridge_of(ctx: Context, keys: dict[tuple[str | None, str], str], end: End) -> Bridge | None:
    if end.master is None:
        return None
    key = keys.get((end.namespace, end.master))
    return ctx.bridges[key] if key is not None else None


def overhead(machines: list[Machine]) -> int:
    return max(OVERHEAD[m.address.version] for m in machines)


def _underlay(ctx: Context, names: set[str] | list[str]) -> tuple[int, str]:
    """The largest MTU a tunnel between these machines can carry, and why."""
    machines = [ctx.machines[n] for n in sorted(names)]
    lowest = min(machines, key=lambda m: m.mtu)
    cost = overhead(machines)
    family = "IPv4" if cost == OVERHEAD[4] else "IPv6"
    why = f"underlay MTU of host {lowest.name}, {lowest.mtu}, less {cost} for VXLAN over {family}"
    return lowest.mtu - cost, why


def _segment_mtu(ctx: Context, segment: Segment) -> None:
    limit, why = _underlay(ctx, segment.machines)
    declared = segment.bridge.mtu
    if declared is not None and declared > limit:
        ctx.error(
            f"{segment.path}.mtu",
            f"{declared} is too large for its tunnels: at most {limit} ({why})",
        )
        segment.mtu = limit
        return
    segment.mtu = declared if declared is not None else limit


def _too_large(ctx: Context, path: str, mtu: int, limit: int, why: str) -> None:
    ctx.error(f"{path}.mtu", f"{mtu} is too large for the tunnel: at most {limit} ({why})")


def _lowered(ctx: Context, veth: Veth, segments: dict[str, Segment]) -> Veth:
    """A local port of a bridge with tunnels carries the same frames: the same MTU."""
    master = veth.b.master
    segment = segments.get(master) if master is not None else None
    if segment is None or not segment.mtu:
        return veth
    if veth.a.mtu is not None:
        if veth.a.mtu > segment.mtu:
            ctx.error(
                f"{veth.a.key}.mtu",
                f"{veth.a.mtu} is larger than the MTU of bridge {master}'s tunnels, {segment.mtu}",
            )
        return veth
    return veth._replace(a=veth.a._replace(mtu=segment.mtu), b=veth.b._replace(mtu=segment.mtu))


def _link_mtu(
    ctx: Context, veth: Veth, here: str, there: str, segments: dict[str, Segment]
) -> int | None:
    declared = veth.a.mtu if veth.a.mtu is not None else veth.b.mtu
    segment = segments.get(veth.b.master) if veth.b.master is not None else None
    if segment is not None:
        limit, why = segment.mtu, f"the MTU of bridge {veth.b.master}'s tunnels"
    else:
        limit, why = _underlay(ctx, {here, there})
    if declared is not None and declared > limit:
        key = veth.a.key if veth.a.mtu is not None else veth.b.key
        _too_large(ctx, key, declared, limit, why)
        return None
    return declared if declared is not None else limit


def _numbers(
    ctx: Context, path: str, specs: list[Iface | None], link: str
) -> tuple[int | None, int | None]:
    given = [i for i in specs if i is not None]
    vnis = {(i.path, i.spec.vni) for i in given if i.spec.vni is not None}
    ports = {(i.path, i.spec.dstport) for i in given if i.spec.dstport is not None}
    for values, what in ((vnis, "vni"), (ports, "dstport")):
        if len({v for _, v in values}) > 1:
            (first, a), (second, b) = sorted(values)
            ctx.error(f"{second}.{what}", f"{b} differs from {first}.{what} = {a}: one tunnel")
            return None, None
    vni = next(iter(vnis))[1] if vnis else None
    port = next(iter(ports))[1] if ports else None
    where = next((p for p, _ in sorted(vnis | ports)), path)
    return _checked(ctx, where, vni, port, link)


def _checked(
    ctx: Context, path: str, vni: int | None, port: int | None, link: str
) -> tuple[int | None, int | None]:
    ok = True
    if vni is not None and not 1 <= vni <= VNI_MAX:
        ctx.error(f"{path}.vni", f"{vni} is not a VNI (1 to {VNI_MAX})")
        ok = False
    if port is not None and not 1 <= port <= 65535:
        ctx.error(f"{path}.dstport", f"{port} is not a UDP port (1 to 65535)")
        ok = False
    if not ok:
        return None, None
    return (vni if vni is not None else derive_vni(ctx.lab_name, link)), (
        port if port is not None else VXLAN_PORT
    )


def _unique(ctx: Context, ids: dict[tuple[int, int], str], vni: int, port: int, path: str) -> bool:
    first = ids.setdefault((vni, port), path)
    if first != path:
        ctx.error(
            f"{path}.vni" if path.startswith("namespaces") else path,
            f"VNI {vni} on UDP port {port} is also the tunnel of {first}; set another vni",
        )
        return False
    return True


def _end(
    end: End, here: Machine, there: Machine, vni: int, port: int, mtu: int, carries: str
) -> Vxlan:
    return Vxlan(
        here.name,
        end.namespace,
        end.name,
        vni,
        port,
        here.address,
        there.address,
        (),
        here.device,
        mtu,
        end.mac or "",
        master=end.master,
        addresses=end.addresses,
        carries=carries,
        remotes=(there.name,),
        key=end.key,
    )


__all__ = ["OVERHEAD", "VNI_MAX", "VXLAN_PORT", "derive_vni", "tunnels", "vxlan_name"]
