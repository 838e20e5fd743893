"""Pass: bridges, each placed in its namespace and named as the host will see it."""

from __future__ import annotations

from nsgen.lab import HOST, Bridge
from nsgen.shape import key_path
from nsgen.validate.context import IFNAMSIZ, RESERVED_DEVICES, Context, derive_mac
from nsgen.validate.values import check_mtu, parse_addresses


def bridges(ctx: Context) -> None:
    for key, bridge in ctx.spec.bridges.items():
        path = key_path(["bridges", key])
        ns_key = bridge.namespace
        namespace: str | None = None
        if ns_key is not None and ns_key != HOST:
            if ns_key not in ctx.namespaces:
                ctx.error(f"{path}.namespace", f"namespace '{ns_key}' is not declared")
                continue
            namespace = ctx.namespaces[ns_key]
        final = ctx.host_name(key) if namespace is None else key
        if not ctx.check_name(path, key, final, IFNAMSIZ, "bridge name", device=True):
            continue
        if key in RESERVED_DEVICES:
            ctx.error(path, f"'{key}' is reserved for the loopback device")
            continue
        addresses = parse_addresses(ctx, f"{path}.address", bridge.address)
        check_mtu(ctx, f"{path}.mtu", bridge.mtu, addresses)
        ctx.bridges[key] = Bridge(
            namespace, final, tuple(addresses), bridge.mtu, derive_mac(namespace, final)
        )
