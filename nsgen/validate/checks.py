"""Pass: declared reachability checks, one Check per address each `[[checks]]` entry pings."""

from __future__ import annotations

from ipaddress import ip_address

from nsgen.lab import HOST, Check, IPAddress
from nsgen.model import CheckSpec
from nsgen.validate.context import Context


def checks(ctx: Context) -> None:
    first: dict[tuple[str | None, IPAddress], tuple[bool, str]] = {}
    for path, spec in ctx.indexed(["checks"], ctx.spec.checks):
        start = _start(ctx, path, spec)
        targets = _targets(ctx, path, spec, start)
        if start is None or targets is None:
            continue
        reachable = spec.expect == "reachable"
        for address, ref in targets:
            seen = first.setdefault((start[0], address), (reachable, path))
            if seen[0] != reachable:
                ctx.error(
                    f"{path}.expect",
                    f"contradicts {seen[1]}: {address} from {spec.from_} cannot be both "
                    "reachable and unreachable",
                )
            elif seen[1] == path:
                ctx.checks.append(Check(start[0], address, reachable, path, ref))


def _start(ctx: Context, path: str, spec: CheckSpec) -> tuple[str | None, set[int]] | None:
    """The final namespace a check starts in and the IP versions it has addresses of."""
    written = spec.from_
    namespace: str | None
    if written == HOST:
        namespace = None
    elif written in ctx.namespaces:
        namespace = ctx.namespaces[written]
    else:
        if written not in ctx.spec.namespaces:
            ctx.error(f"{path}.from", f"namespace '{written}' is not declared")
        return None
    versions: set[int] = {h.address.version for h in ctx.held.get(written, [])}
    if not versions:
        ctx.error(
            f"{path}.from",
            "the host has no address in this lab, so a ping from it would test the host's "
            "own routes, not the lab"
            if namespace is None
            else f"namespace '{written}' has no address to ping from",
        )
        return None
    return namespace, versions


def _targets(
    ctx: Context, path: str, spec: CheckSpec, start: tuple[str | None, set[int]] | None
) -> list[tuple[IPAddress, str]] | None:
    """What a check pings: each address of a namespace in a family `from` has one of, or
    the one address written; each with the device holding it ("" when none does)."""
    written, at = spec.to, f"{path}.to"
    held = ctx.held
    versions = start[1] if start is not None else {4, 6}
    if written == HOST or written in ctx.spec.namespaces:
        if written != HOST and written not in ctx.namespaces:
            return None  # its name is wrong, which is reported already
        if written == spec.from_:
            ctx.error(at, f"'{written}' is also the check's from; name another namespace")
            return None
        addresses = held.get(written, [])
        if not addresses:
            ctx.error(at, f"'{written}' has no address in this lab to ping")
            return None
        usable = [(h.address.ip, h.ref) for h in addresses if h.address.version in versions]
        if not usable:
            (only,) = versions
            ctx.error(at, f"'{written}' has no IPv{only} address, the only family of {spec.from_}")
        return usable or None
    try:
        address = ip_address(written)
    except ValueError:
        if "/" in written:
            ctx.error(at, f"'{written}' has a prefix length; name the address alone")
        else:
            ctx.error(at, f"'{written}' is neither a declared namespace nor an IP address")
        return None
    if address.is_multicast or address.is_unspecified or address.is_loopback:
        ctx.error(at, f"'{written}' is not a unicast address")
        return None
    if address.version == 6 and address.is_link_local:
        ctx.error(at, f"'{written}' is link-local; name a global address")
        return None
    if address.version not in versions:
        ctx.error(at, f"{spec.from_} has no IPv{address.version} address to ping it from")
        return None
    if any(h.address.ip == address for h in held.get(spec.from_, [])):
        ctx.error(at, f"{address} is an address of {spec.from_} itself")
        return None
    owner = next((h.ref for hs in held.values() for h in hs if h.address.ip == address), "")
    return [(address, owner)]
