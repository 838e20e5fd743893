"""Checks of single values (addresses, MTUs, MACs) that several passes apply."""

from __future__ import annotations

import re
from collections.abc import Sequence
from ipaddress import IPv4Interface, IPv4Network, IPv6Interface, ip_interface

from nsgen.lab import IPInterface, IPNetwork, read_network
from nsgen.validate.context import MAC_RE, Context

MTU_MIN, MTU_MAX, MTU_MIN_IPV6 = 68, 65535, 1280


def parse_network(ctx: Context, path: str, written: str, invalid: str) -> IPNetwork | None:
    """A network written exactly; with host bits set, the error names the network meant.
    `invalid` is the error for text that is no network at all."""
    network, meant = read_network(written)
    if network is None:
        ctx.error(
            path,
            invalid if meant is None else f"'{written}' has host bits set; did you mean {meant}?",
        )
    return network


# An IPv4 address with a prefix length as labs write it ("10.0.0.1/24"; no leading zeros, no
# netmask), which ipaddress would accept alike. Parsing it here and checking its integer is a
# third of the cost of ipaddress's own parsing and checks, which were most of validating a
# 1000-namespace lab. Anything else takes ipaddress's path, and its errors.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/(3[0-2]|[12]?[0-9])\Z")


def _plain_ipv4(text: str) -> IPv4Interface | str | None:
    """`text` as an IPv4 interface, or why it is no usable address, or None: not the
    plain form (ipaddress decides)."""
    match = _PLAIN_IPV4.match(text)
    if match is None:
        return None
    a, b, c, d, length = map(int, match.groups())
    value = a << 24 | b << 16 | c << 8 | d
    host = (1 << (32 - length)) - 1
    if length < 31 and value & host in (0, host):
        network = IPv4Network((value & ~host, length))
        return f"'{text}' is the network or broadcast address of {network}"
    if a >> 4 == 0xE or value == 0 or a == 127:  # multicast 224/4, 0.0.0.0, loopback 127/8
        return f"'{text}' is not a unicast address"
    return IPv4Interface((value, length))


def parse_addresses(ctx: Context, path: str, written: Sequence[str]) -> list[IPInterface]:
    out: list[IPInterface] = []
    for index, text in enumerate(written):
        item = f"{path}[{index}]" if len(written) > 1 else path
        if "/" not in text:
            ctx.error(item, f"'{text}' needs a prefix length, e.g. '{text}/24'")
            continue
        plain = _plain_ipv4(text)
        if isinstance(plain, str):
            ctx.error(item, plain)
            continue
        if plain is not None:
            out.append(plain)
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
