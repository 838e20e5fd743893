"""Pass: declared checks: one Check per address each `[[checks]]` ping entry pings, one per
TCP connection or command, each with how long it may be retried."""

from __future__ import annotations

import re
from ipaddress import ip_address

from nsgen.lab import HOST, Check, IPAddress
from nsgen.model import CheckSpec
from nsgen.validate.context import Context

# Whole seconds or minutes: what the script's own `--wait` reads too.
WAIT_RE = re.compile(r"([0-9]+)(s|m)\Z")
WAIT_MAX = 3600
TCP_RE = re.compile(r"(?:\[(?P<v6>[^]]+)\]|(?P<v4>[^:\[\]]+)):(?P<port>[0-9]+)\Z")


def parse_wait(text: str) -> int | None:
    """A wait in seconds, or None when it is not one ("60s", "2m")."""
    match = WAIT_RE.match(text)
    if match is None:
        return None
    seconds = int(match[1]) * (60 if match[2] == "m" else 1)
    return seconds if seconds <= WAIT_MAX else None


def checks(ctx: Context) -> None:
    first: dict[tuple[str | None, IPAddress], tuple[bool, str]] = {}
    for path, spec in ctx.indexed(["checks"], ctx.spec.checks):
        kinds = [k for k in ("to", "tcp", "command") if getattr(spec, k) is not None]
        if len(kinds) != 1:
            given = " and ".join(kinds) if kinds else "none"
            ctx.error(path, f"a check is one of `to` (ping), `tcp` or `command`; got {given}")
            continue
        wait = None
        if spec.wait is not None:
            wait = parse_wait(spec.wait)
            if wait is None:
                ctx.error(
                    f"{path}.wait",
                    f"'{spec.wait}' is not a wait: whole seconds or minutes up to an hour, "
                    'e.g. "60s", "2m"',
                )
                continue
        if spec.command is not None:
            _command(ctx, path, spec, wait)
            continue
        start = _start(ctx, path, spec)
        targets = _tcp(ctx, path, spec, start) if spec.tcp is not None else None
        if spec.to is not None:
            targets = _targets(ctx, path, spec, start, spec.to, f"{path}.to")
        if start is None or targets is None:
            continue
        reachable = spec.expect == "reachable"
        port = None
        if spec.tcp is not None:
            port = int(spec.tcp.rsplit(":", 1)[1])
        for address, ref in targets:
            if port is None:
                seen = first.setdefault((start[0], address), (reachable, path))
                if seen[0] != reachable:
                    ctx.error(
                        f"{path}.expect",
                        f"contradicts {seen[1]}: {address} from {spec.from_} cannot be both "
                        "reachable and unreachable",
                    )
                    continue
                if seen[1] != path:
                    continue
            ctx.checks.append(Check(start[0], address, reachable, path, ref, port, wait=wait))


def _command(ctx: Context, path: str, spec: CheckSpec, wait: int | None) -> None:
    assert spec.command is not None
    ok = True
    if spec.from_ == HOST or spec.from_ not in ctx.namespaces:
        if spec.from_ == HOST:
            ctx.error(f"{path}.from", "a command check runs inside a namespace of the lab")
        elif spec.from_ not in ctx.spec.namespaces:
            ctx.error(f"{path}.from", f"namespace '{spec.from_}' is not declared")
        ok = False
    if not spec.command.strip() or "\n" in spec.command or "\r" in spec.command:
        ctx.error(f"{path}.command", "a command is one line of shell, not empty")
        ok = False
    if spec.expect != "reachable":
        ctx.error(f"{path}.expect", "a command passes when it exits 0; expect is for to and tcp")
        ok = False
    if ok:
        namespace = ctx.namespaces[spec.from_]
        ctx.checks.append(Check(namespace, None, True, path, command=spec.command, wait=wait))


def _tcp(
    ctx: Context, path: str, spec: CheckSpec, start: tuple[str | None, set[int]] | None
) -> list[tuple[IPAddress, str]] | None:
    assert spec.tcp is not None
    at = f"{path}.tcp"
    if spec.from_ == HOST:
        # The host has no lab device to bind a connection to: it would go by the host's routes.
        ctx.error(f"{path}.from", "a tcp check starts in a namespace of the lab")
        return None
    match = TCP_RE.match(spec.tcp)
    if match is None or not 0 < int(match["port"]) < 65536:
        ctx.error(at, f'\'{spec.tcp}\' is not ADDRESS:PORT ("10.0.0.2:179", "[fd00::2]:179")')
        return None
    written = match["v6"] or match["v4"]
    return _targets(ctx, path, spec, start, written, at, address_only=True)


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
    ctx: Context,
    path: str,
    spec: CheckSpec,
    start: tuple[str | None, set[int]] | None,
    written: str,
    at: str,
    *,
    address_only: bool = False,
) -> list[tuple[IPAddress, str]] | None:
    """What a check pings: each address of a namespace in a family `from` has one of, or
    the one address written; each with the device holding it ("" when none does)."""
    held = ctx.held
    versions = start[1] if start is not None else {4, 6}
    if not address_only and (written == HOST or written in ctx.spec.namespaces):
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
