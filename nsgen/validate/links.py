"""Pass: pair every interface with its other end, a bridge port or another interface."""

from __future__ import annotations

from collections import defaultdict

from nsgen.lab import HOST, Bridge, End, Veth
from nsgen.validate.context import (
    IFNAMSIZ,
    MAC_RE,
    RESERVED_DEVICES,
    Context,
    Iface,
    derive_mac,
    derive_outer,
)


def links(ctx: Context) -> None:
    targets: dict[tuple[str, str], list[Iface]] = defaultdict(list)
    for iface in ctx.ifaces.values():
        spec = iface.spec
        if spec.kind in ("tap", "macvlan"):
            continue  # the taps and macvlans passes
        if spec.bridge is not None and spec.peer is not None:
            ctx.error(iface.path, "set either bridge or peer, not both")
            continue
        if spec.outer is not None and spec.bridge is None:
            ctx.error(f"{iface.path}.outer", "outer names the bridge side; set bridge too")
        if spec.bridge is not None:
            bridge = ctx.bridges.get(spec.bridge)
            if bridge is None:
                if spec.bridge not in ctx.spec.bridges:
                    ctx.error(f"{iface.path}.bridge", f"bridge '{spec.bridge}' is not declared")
                continue
            outer = _outer_name(ctx, iface, bridge)
            if outer is None:
                continue
            port = End(
                bridge.namespace,
                outer,
                mtu=spec.mtu,
                mac=derive_mac(bridge.namespace, outer),
                master=bridge.name,
                key=f"{iface.path}.outer" if spec.outer else "",
            )
            ctx.veths.append(Veth(end_of(iface), port))
        elif spec.peer is not None:
            target = _peer(ctx, iface)
            if target is not None:
                targets[(target.ns_key, target.key)].append(iface)

    for iface in ctx.ifaces.values():
        spec = iface.spec
        if spec.bridge is not None or spec.kind in ("tap", "macvlan"):
            continue
        claimants = targets.get((iface.ns_key, iface.key), [])
        if spec.peer is None:
            if not claimants:
                ctx.error(
                    iface.path,
                    "not connected: set bridge or peer, or name it in another interface's peer",
                )
            elif len(claimants) > 1:
                names = ", ".join(f"{c.ns_key}:{c.key}" for c in claimants)
                ctx.error(iface.path, f"is the peer of more than one interface: {names}")
            else:
                ctx.veths.append(Veth(end_of(claimants[0]), end_of(iface)))
            continue
        if len(claimants) > 1:
            names = ", ".join(f"{c.ns_key}:{c.key}" for c in claimants)
            ctx.error(iface.path, f"is the peer of more than one interface: {names}")
        elif claimants and (iface.ns_key, iface.key) < (claimants[0].ns_key, claimants[0].key):
            # Both sides name each other: emit the pair once, from the side that sorts first.
            ctx.veths.append(Veth(end_of(iface), end_of(claimants[0])))


def _peer(ctx: Context, iface: Iface) -> Iface | None:
    peer = iface.spec.peer or ""
    path = f"{iface.path}.peer"
    ns_key, sep, name = peer.partition(":")
    if not sep or not ns_key or not name:
        ctx.error(path, f"'{peer}' is not of the form NAMESPACE:INTERFACE (or host:NAME)")
        return None
    if ns_key != HOST and ns_key not in ctx.spec.namespaces:
        ctx.error(path, f"namespace '{ns_key}' is not declared")
        return None
    target = ctx.ifaces.get((ns_key, name))
    if target is None:
        declared = (
            ctx.spec.host.interfaces if ns_key == HOST else ctx.spec.namespaces[ns_key].interfaces
        )
        if name not in declared:
            ctx.error(path, f"interface '{peer}' is not declared")
        return None
    if target is iface:
        ctx.error(path, "an interface cannot be its own peer")
        return None
    if target.spec.kind == "macvlan":
        ctx.error(path, f"'{peer}' is a macvlan, which has no peer")
    if target.spec.kind == "tap":
        ctx.error(path, f"'{peer}' is a TAP device, which has no peer")
        return None
    if target.spec.bridge is not None:
        ctx.error(path, f"'{peer}' is already connected to bridge '{target.spec.bridge}'")
        return None
    back = target.spec.peer
    if back is not None and back != f"{iface.ns_key}:{iface.key}":
        ctx.error(path, f"'{peer}' names '{back}' as its peer, not '{iface.ns_key}:{iface.key}'")
        return None
    return target


def end_of(iface: Iface) -> End:
    """The interface as a device: its final name, addresses, MTU, MAC and shaping."""
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


def _outer_name(ctx: Context, iface: Iface, bridge: Bridge) -> str | None:
    in_host = bridge.namespace is None
    if iface.spec.outer is not None:
        final = ctx.host_name(iface.spec.outer) if in_host else iface.spec.outer
        path = f"{iface.path}.outer"
        if not ctx.check_name(path, iface.spec.outer, final, IFNAMSIZ, "outer name", device=True):
            return None
        if iface.spec.outer in RESERVED_DEVICES:
            ctx.error(path, f"'{iface.spec.outer}' is reserved for the loopback device")
            return None
        return final
    derived = derive_outer(iface.ns_key, iface.key, ctx.prefix if in_host else "")
    what = "derived outer name (set outer to choose one)"
    if not ctx.check_name(iface.path, derived, derived, IFNAMSIZ, what, device=True):
        return None
    return derived
