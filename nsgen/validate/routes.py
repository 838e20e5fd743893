"""Pass: routes, each with a gateway on one of its namespace's subnets."""

from __future__ import annotations

from ipaddress import ip_address

from nsgen.lab import HOST, IPInterface, IPNetwork, Route, where
from nsgen.model import RouteSpec
from nsgen.validate.context import Context
from nsgen.validate.values import parse_network


def routes(ctx: Context) -> None:
    tables: list[tuple[str, str | None, list[RouteSpec]]] = [
        (HOST, None, list(ctx.spec.host.routes))
    ]
    tables += [
        (key, ctx.namespaces[key], list(ns.routes))
        for key, ns in ctx.spec.namespaces.items()
        if key in ctx.namespaces
    ]
    for ns_key, namespace, specs in tables:
        base: list[str | int] = ["host"] if namespace is None else ["namespaces", ns_key]
        seen: dict[tuple[int, str], str] = {}
        for path, written in ctx.indexed([*base, "routes"], specs):
            subnets = [h.address for h in ctx.held.get(ns_key, [])]
            for spec in _by_gateway_name(ctx, path, ns_key, written):
                route = _route(ctx, path, namespace, spec, subnets)
                if route is None:
                    continue
                ident = (route.via.version, route.to_text)
                first = seen.setdefault(ident, path)
                if first != path:
                    ctx.error(f"{path}.to", f"a route to {route.to_text} is already at {first}")
                    continue
                ctx.routes.append(route)


def _by_gateway_name(ctx: Context, path: str, ns_key: str, spec: RouteSpec) -> list[RouteSpec]:
    """A route whose `via` names a namespace (or "host"), as the routes through that
    namespace's address on the first segment both are on: bridges before pairs, in their
    order. A default route goes through each family both have there."""
    target = spec.via
    if target != HOST and target not in ctx.spec.namespaces:
        return [spec]
    if target == ns_key:
        ctx.error(f"{path}.via", f"'{target}' is the route's own namespace")
        return []
    if target != HOST and target not in ctx.namespaces:
        return []  # its name is wrong, which is reported already
    shared = [
        s
        for s in ctx.segments
        if any(m.ns_key == ns_key for m in s.members) and any(m.ns_key == target for m in s.members)
    ]
    if not shared:
        ctx.error(f"{path}.via", f"'{target}' is on no bridge or veth pair with {ns_key}")
        return []
    segment = shared[0]
    gateways = [a for m in segment.members if m.ns_key == target for a in m.addresses]
    versions = [4, 6] if spec.to == "default" else [_version(spec.to)]
    out = []
    for version in versions:
        via = next((a.ip for a in gateways if a.version == version), None)
        if via is not None:
            out.append(RouteSpec(spec.to, str(via)))
        elif spec.to != "default":
            ctx.error(f"{path}.via", f"'{target}' has no IPv{version} address on {segment.label}")
    if not out and spec.to == "default":
        ctx.error(f"{path}.via", f"'{target}' has no address on {segment.label}")
    return out


def _version(to: str) -> int:
    return 6 if ":" in to else 4


def _route(
    ctx: Context, path: str, namespace: str | None, spec: RouteSpec, subnets: list[IPInterface]
) -> Route | None:
    to: IPNetwork | None = None
    ok = True
    try:
        via = ip_address(spec.via)
    except ValueError:
        ctx.error(f"{path}.via", f"'{spec.via}' is neither an IP address nor a declared namespace")
        return None
    if spec.to == "default":
        if namespace is None:
            ctx.error(
                f"{path}.to",
                "the host's default route is not the lab's to change; route the lab's "
                "subnets instead",
            )
            ok = False
    else:
        to = parse_network(
            ctx,
            f"{path}.to",
            spec.to,
            f"'{spec.to}' is not a network (e.g. 10.2.0.0/24) or 'default'",
        )
        if to is None:
            return None
        if to.version != via.version:
            ctx.error(
                path,
                f"route to {to} (IPv{to.version}) via {via} (IPv{via.version}): families differ",
            )
            return None
    connected = [s for s in subnets if s.version == via.version and via in s.network]
    if not connected:
        ctx.error(
            f"{path}.via",
            f"gateway {via} is not inside any subnet of {where(namespace)}'s interfaces",
        )
        ok = False
    elif any(s.ip == via for s in subnets):
        ctx.error(f"{path}.via", f"gateway {via} is an address of {where(namespace)} itself")
        ok = False
    return Route(namespace, to, via) if ok else None
