"""Passes: addresses and MACs are unique in the lab; the addresses each namespace holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from nsgen.lab import HOST, IPAddress, IPInterface, where
from nsgen.shape import key_path
from nsgen.validate.context import MAC_RE, Context, Held


def unique_addresses(ctx: Context) -> None:
    owners: dict[IPAddress, str] = {}
    macs: dict[str, str] = {}
    places: list[tuple[str, Sequence[IPInterface]]] = [
        (key_path(["bridges", key]), b.addresses) for key, b in ctx.bridges.items()
    ]
    places += [(i.path, i.addresses) for i in ctx.ifaces.values()]
    for path, addresses in places:
        for address in addresses:
            first = owners.setdefault(address.ip, path)
            if first != path or addresses.count(address) > 1:
                pool = ctx.pooled.get((first, address.ip))
                how = f" (given by {pool})" if pool else ""
                ctx.error(f"{path}.address", f"address {address.ip} is also used by {first}{how}")
    for iface in ctx.ifaces.values():
        mac = (iface.spec.mac or "").lower()
        if mac and MAC_RE.match(mac):
            first = macs.setdefault(mac, iface.path)
            if first != iface.path:
                ctx.error(f"{iface.path}.mac", f"MAC {mac} is also used by {first}")


def held_addresses(ctx: Context) -> None:
    """Every declared address by the namespace as written ("host" for the host)."""
    held: dict[str, list[Held]] = defaultdict(list)
    for key, bridge in ctx.bridges.items():
        ns_key = ctx.spec.bridges[key].namespace or HOST
        held[ns_key] += [Held(a, bridge.ref) for a in bridge.addresses]
    for iface in ctx.ifaces.values():
        ref = f"{where(iface.namespace)}:{iface.name}"
        held[iface.ns_key] += [Held(a, ref) for a in iface.addresses]
    ctx.held = dict(held)
