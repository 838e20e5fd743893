"""Pass: routes, each through gateways on its namespace's subnets, or a device of its own.

A route is keyed as the kernel keys it: by family, destination and metric. Its `via` may name
several gateways (one multipath route), and `dev` the device it leaves by: alone, a device
route; with a link-local `via`, the link that gateway is on.
"""

from __future__ import annotations

from ipaddress import ip_address

from nsgen.lab import HOST, LO, IPAddress, IPInterface, IPNetwork, Route, where
from nsgen.model import RouteSpec
from nsgen.validate.context import Context
from nsgen.validate.values import parse_network

METRIC_MAX = 2**32 - 1
# A device a route may leave by: its final name and its addresses.
Device = tuple[str, list[IPInterface]]


def routes(ctx: Context) -> None:
    tables: list[tuple[str, str | None, list[RouteSpec]]] = [
        (HOST, None, list(ctx.spec.host.routes))
    ]
    tables += [
        (key, ctx.namespaces[key], list(ns.routes))
        for key, ns in ctx.spec.namespaces.items()
        if key in ctx.namespaces
    ]
    devices_of = _devices(ctx)
    for ns_key, namespace, specs in tables:
        if not specs:
            continue
        base: list[str | int] = ["host"] if namespace is None else ["namespaces", ns_key]
        seen: dict[tuple[int, str, int | None], str] = {}
        # A gateway is reached across a link: a loopback's subnet connects nothing.
        subnets = [h.address for h in ctx.held.get(ns_key, []) if not h.ref.endswith(f":{LO}")]
        devices = devices_of.get(ns_key, {})
        for path, spec in ctx.indexed([*base, "routes"], specs):
            for route in _routes(ctx, path, ns_key, namespace, spec, subnets, devices):
                ident = (route.version, route.to_text, route.metric)
                first = seen.setdefault(ident, path)
                if first != path:
                    metric = "" if route.metric is None else f" with metric {route.metric}"
                    ctx.error(
                        f"{path}.to", f"a route to {route.to_text}{metric} is already at {first}"
                    )
                    continue
                ctx.routes.append(route)


def _devices(ctx: Context) -> dict[str, dict[str, Device]]:
    """By namespace, the devices a route there may leave by, by the name written: its
    interfaces and bridges, each with its final name and addresses. Built once for all
    namespaces: a scan of the lab's interfaces per namespace costs N² in a lab of N."""
    out: dict[str, dict[str, Device]] = {}
    for (owner, key), iface in ctx.ifaces.items():
        out.setdefault(owner, {})[key] = (iface.name, iface.addresses)
    for key, bridge in ctx.bridges.items():
        owner = ctx.spec.bridges[key].namespace or HOST
        out.setdefault(owner, {})[key] = (bridge.name, list(bridge.addresses))
    return out


def _routes(
    ctx: Context,
    path: str,
    ns_key: str,
    namespace: str | None,
    spec: RouteSpec,
    subnets: list[IPInterface],
    devices: dict[str, Device],
) -> list[Route]:
    written = spec.via or []
    if not written and spec.dev is None:
        ctx.error(
            f"{path}.via", "a route needs `via` (its gateway), `dev` (a device route), or both"
        )
        return []
    to: IPNetwork | None = None
    if spec.to == "default":
        if namespace is None:
            ctx.error(
                f"{path}.to",
                "the host's default route is not the lab's to change; route the lab's "
                "subnets instead",
            )
            return []
    else:
        to = parse_network(
            ctx,
            f"{path}.to",
            spec.to,
            f"'{spec.to}' is not a network (e.g. 10.2.0.0/24) or 'default'",
        )
        if to is None:
            return []
    ok = True
    if spec.metric is not None and not 0 <= spec.metric <= METRIC_MAX:
        ctx.error(f"{path}.metric", f"{spec.metric} is not a metric (0 to {METRIC_MAX})")
        ok = False
    dev: Device | None = None
    if spec.dev is not None:
        dev = devices.get(spec.dev)
        if dev is None:
            ctx.error(
                f"{path}.dev", f"'{spec.dev}' is not an interface or bridge of {where(namespace)}"
            )
            ok = False
    if not written:
        if to is None or to.prefixlen == 0:
            ctx.error(
                f"{path}.to",
                "a route through a device alone names no family for a default route: give "
                "its gateway with `via`",
            )
            return []
        return [Route(namespace, to, (), dev[0], spec.metric)] if ok and dev else []
    gateways = _gateways(ctx, path, ns_key, spec.to, to, written)
    out = []
    for vias in gateways:
        if to is not None and to.version != vias[0].version:
            shown = ", ".join(map(str, vias))
            ctx.error(
                path,
                f"route to {to} (IPv{to.version}) via {shown} (IPv{vias[0].version}): "
                "families differ",
            )
            continue
        if len({v.version for v in vias}) > 1:
            ctx.error(f"{path}.via", "the gateways of one route must be of one family")
            continue
        if len(set(vias)) < len(vias):
            ctx.error(f"{path}.via", "a gateway is named twice")
            continue
        if all([_gateway(ctx, path, namespace, via, subnets, dev) for via in vias]) and ok:
            out.append(Route(namespace, to, vias, None if dev is None else dev[0], spec.metric))
    return out


def _gateways(
    ctx: Context, path: str, ns_key: str, to_text: str, to: IPNetwork | None, written: list[str]
) -> list[tuple[IPAddress, ...]]:
    """The gateways of the route in each family it is for: a namespace named in `via` is its
    address on the first segment both are on. A default route through namespaces goes
    through each family they all have there."""
    at = f"{path}.via"
    resolved: list[dict[int, IPAddress]] = []
    for index, name in enumerate(written):
        item = at if len(written) == 1 else f"{at}[{index}]"
        one = _resolve(ctx, item, ns_key, name, to_text, to)
        if one is None:
            return []
        resolved.append(one)
    literal = {
        v
        for name, r in zip(written, resolved, strict=True)
        if name != HOST and name not in ctx.spec.namespaces
        for v in r
    }
    # An address written fixes the family; mixed ones are reported by the caller.
    versions = sorted(literal) if literal else [4, 6] if to is None else [to.version]
    out = [tuple(r[v] for r in resolved) for v in versions if all(v in r for r in resolved)]
    return out or [tuple(next(iter(r.values())) for r in resolved)]


def _resolve(
    ctx: Context, at: str, ns_key: str, target: str, to_text: str, to: IPNetwork | None
) -> dict[int, IPAddress] | None:
    """One gateway as written: an address, or the addresses by family of the namespace named,
    on the first segment both are on (bridges before pairs, in their order)."""
    if target != HOST and target not in ctx.spec.namespaces:
        try:
            via = ip_address(target)
        except ValueError:
            ctx.error(at, f"'{target}' is neither an IP address nor a declared namespace")
            return None
        return {via.version: via}
    if target == ns_key:
        ctx.error(at, f"'{target}' is the route's own namespace")
        return None
    if target != HOST and target not in ctx.namespaces:
        return None  # its name is wrong, which is reported already
    shared = [
        s
        for s in ctx.segments
        if any(m.ns_key == ns_key for m in s.members) and any(m.ns_key == target for m in s.members)
    ]
    if not shared:
        ctx.error(at, f"'{target}' is on no bridge or veth pair with {ns_key}")
        return None
    segment = shared[0]
    found: dict[int, IPAddress] = {}
    for address in (a for m in segment.members if m.ns_key == target for a in m.addresses):
        found.setdefault(address.version, address.ip)
    if to is not None and to.version not in found:
        ctx.error(at, f"'{target}' has no IPv{to.version} address on {segment.label}")
        return None
    if not found:
        ctx.error(at, f"'{target}' has no address on {segment.label}")
        return None
    return found if to is None else {to.version: found[to.version]}


def _gateway(
    ctx: Context,
    path: str,
    namespace: str | None,
    via: IPAddress,
    subnets: list[IPInterface],
    dev: Device | None,
) -> bool:
    """A gateway is on a subnet of the namespace (of `dev`, when named), or link-local on
    the device `dev` names."""
    at = f"{path}.via"
    if via.version == 6 and via.is_link_local:
        if dev is None:
            ctx.error(at, f"gateway {via} is link-local: name the device it is on with `dev`")
            return False
        return True
    if via.is_multicast or via.is_unspecified or via.is_loopback:
        ctx.error(at, f"gateway {via} is not a unicast address")
        return False
    on = subnets if dev is None else dev[1]
    if any(s.ip == via for s in subnets):
        ctx.error(at, f"gateway {via} is an address of {where(namespace)} itself")
        return False
    if not any(s.version == via.version and via in s.network for s in on):
        place = f"{where(namespace)}'s interfaces" if dev is None else f"{dev[0]}"
        ctx.error(at, f"gateway {via} is not inside any subnet of {place}")
        return False
    return True
