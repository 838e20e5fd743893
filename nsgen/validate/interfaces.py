"""Pass: every declared interface, with its final name and its own values checked."""

from __future__ import annotations

from nsgen.lab import HOST
from nsgen.model import InterfaceSpec
from nsgen.shape import key_path
from nsgen.validate.context import IFNAMSIZ, RESERVED_DEVICES, Context, Iface
from nsgen.validate.values import check_mac, check_mtu, parse_addresses


def interfaces(ctx: Context) -> None:
    tables: list[tuple[str, str | None, dict[str, InterfaceSpec]]] = [
        (HOST, None, ctx.spec.host.interfaces)
    ]
    tables += [
        (key, ctx.namespaces[key], ns.interfaces)
        for key, ns in ctx.spec.namespaces.items()
        if key in ctx.namespaces
    ]
    for ns_key, namespace, table in tables:
        base = ["host"] if namespace is None else ["namespaces", ns_key]
        base_key = key_path(base)
        for key, spec in table.items():
            path = key_path([*base, "interfaces", key])
            final = ctx.host_name(key) if namespace is None else key
            if not ctx.check_name(path, key, final, IFNAMSIZ, "interface name", device=True):
                continue
            if key in RESERVED_DEVICES:
                hint = "" if namespace is None else f"; its addresses go in {base_key}.loopback"
                ctx.error(path, f"'{key}' is reserved for the loopback device{hint}")
                continue
            iface = Iface(namespace, ns_key, key, final, path, spec)
            iface.addresses = parse_addresses(ctx, f"{path}.address", spec.address or [])
            check_mtu(ctx, f"{path}.mtu", spec.mtu, iface.addresses)
            check_mac(ctx, f"{path}.mac", spec.mac)
            ctx.ifaces[(ns_key, key)] = iface
