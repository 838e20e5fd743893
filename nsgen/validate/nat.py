"""Pass: [host] nat, the lab networks masqueraded when they leave the host.

NAT changes the host for everyone (a firewall table, IPv4 forwarding), so it is opt-in and
narrow: IPv4 networks only (IPv6 labs should route, not translate), each written exactly,
none of them everything.
"""

from __future__ import annotations

from ipaddress import IPv4Network

from nsgen.shape import key_path
from nsgen.validate.context import Context
from nsgen.validate.values import parse_network


def nat(ctx: Context) -> None:
    seen: dict[IPv4Network, str] = {}
    for index, written in enumerate(ctx.spec.host.nat):
        path = key_path(["host", "nat", index]) if len(ctx.spec.host.nat) > 1 else "host.nat"
        network = parse_network(
            ctx, path, written, f"'{written}' is not an IPv4 network like 10.0.0.0/24"
        )
        if network is None:
            continue
        if not isinstance(network, IPv4Network):
            ctx.error(path, f"'{written}' is IPv6; nat masquerades IPv4 only")
            continue
        if network.prefixlen == 0:
            ctx.error(path, "0.0.0.0/0 would masquerade the host's own traffic; name the lab's")
            continue
        if network in seen:
            ctx.error(path, f"{network} is also at {seen[network]}")
            continue
        seen[network] = path
        if not any(h.address.ip in network for held in ctx.held.values() for h in held):
            ctx.error(path, f"no address of the lab is in {network}: it is not a lab network")
            continue
        ctx.nat.append(network)
