"""Checks of single values (addresses, MTUs, MACs) that several passes apply."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Interface, IPv6Interface, ip_interface, ip_network

from nsgen.lab import IPInterface, IPNetwork
from nsgen.validate.context import MAC_RE, Context

MTU_MIN, MTU_MAX, MTU_MIN_IPV6 = 68, 65535, 1280


def parse_network(ctx: Context, path: str, written: str, invalid: str) -> IPNetwork | None:
    """A network written exactly; with host bits set, the error names the network meant.
    `invalid` is the error for text that is no network at all."""
    try:
        return ip_network(written)
    except ValueError:
        pass
    try:
        loose = ip_network(written, strict=False)
    except ValueError:
        ctx.error(path, invalid)
        return None
    ctx.error(path, f"'{written}' has host bits set; did you mean {loose}?")
    return None


def parse_addresses(ctx: Context, path: str, written: Sequence[str]) -> list[IPInterface]:
    out: list[IPInterface] = []
    for index, text in enumerate(written):
        item = f"{path}[{index}]" if len(written) > 1 else path
        if "/" not in text:
            ctx.error(item, f"'{text}' needs a prefix length, e.g. '{text}/24'")
            continue
        try:
            address = ip_interface(text)
        except ValueError:
            ctx.error(item, f"'{text}' is not an IPv4 or IPv6 network")
            continue
        # .ip builds a new object on every access: take it once (thousands of addresses).
        ip, network = address.ip, address.network
        if (
            isinstance(address, IPv4Interface)
            and network.prefixlen < 31
            and ip in (network.network_address, network.broadcast_address)
        ):
            ctx.error(item, f"'{text}' is the network or broadcast address of {network}")
            continue
        if ip.is_multicast or ip.is_unspecified or ip.is_loopback:
            ctx.error(item, f"'{text}' is not a unicast address")
            continue
        if isinstance(address, IPv6Interface) and ip.is_link_local:
            ctx.error(item, f"'{text}' is link-local; the kernel assigns those itself")
            continue
        out.append(address)
    return out


def check_mtu(ctx: Context, path: str, mtu: int | None, addresses: Sequence[IPInterface]) -> None:
    if mtu is None:
        return
    if not MTU_MIN <= mtu <= MTU_MAX:
        ctx.error(path, f"{mtu} is not an MTU ({MTU_MIN} to {MTU_MAX})")
    elif mtu < MTU_MIN_IPV6 and any(a.version == 6 for a in addresses):
        ctx.error(path, f"{mtu} is below {MTU_MIN_IPV6}, the minimum for IPv6")


def check_mac(ctx: Context, path: str, mac: str | None) -> None:
    if mac is None:
        return
    if not MAC_RE.match(mac):
        ctx.error(path, f"'{mac}' is not a MAC address like 02:00:00:00:00:11")
    elif int(mac[:2], 16) & 1:
        ctx.error(path, f"'{mac}' is a multicast MAC; the first byte must be even")
    elif mac == "00:00:00:00:00:00":
        ctx.error(path, f"'{mac}' is not a usable MAC address")
