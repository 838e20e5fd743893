"""Passes: the machines a lab spans ([hosts]), and where each namespace and bridge lives.

A file without [hosts] is a lab on one host, exactly as before: these passes leave it alone.
"""

from __future__ import annotations

import re
from ipaddress import ip_address

from nsgen.lab import HOST, Machine
from nsgen.shape import key_path
from nsgen.validate.context import IFNAMSIZ, NAME_RE, Context
from nsgen.validate.values import MTU_MIN_IPV6

UNDERLAY_MTU = 1500
# What ssh and an inventory accept as [user@]host: no option, no space, no shell word.
SSH_RE = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.-]*@)?[A-Za-z0-9_][A-Za-z0-9_.:-]*\Z")
MACHINE_MAX = 32


def machines(ctx: Context) -> None:
    families: dict[int, str] = {}
    for key, spec in ctx.spec.hosts.items():
        path = key_path(["hosts", key])
        if not NAME_RE.match(key) or len(key) > MACHINE_MAX:
            ctx.error(
                path,
                f"host name '{key}' must be 1-{MACHINE_MAX} of [A-Za-z0-9_.-], starting with "
                "a letter, digit or '_'",
            )
            continue
        try:
            address = ip_address(spec.address)
        except ValueError:
            ctx.error(f"{path}.address", f"'{spec.address}' is not an IPv4 or IPv6 address")
            continue
        if address.is_multicast or address.is_unspecified:
            ctx.error(f"{path}.address", f"'{spec.address}' is not a unicast address")
            continue
        families.setdefault(address.version, path)
        ssh = spec.ssh if spec.ssh is not None else str(address)
        if not SSH_RE.match(ssh):
            ctx.error(f"{path}.ssh", f"'{ssh}' is not [user@]host")
            continue
        if spec.device is not None and not ctx.check_name(
            f"{path}.device", spec.device, spec.device, IFNAMSIZ, "device name", device=True
        ):
            continue
        mtu = UNDERLAY_MTU if spec.mtu is None else spec.mtu
        if not MTU_MIN_IPV6 <= mtu <= 65535:
            ctx.error(f"{path}.mtu", f"{mtu} is not an underlay MTU ({MTU_MIN_IPV6} to 65535)")
            continue
        ctx.machines[key] = Machine(key, address, ssh, spec.device, mtu)
    if len(families) > 1:
        ctx.error(
            families[6] + ".address",
            f"is IPv6 and {families[4]} is IPv4: the tunnels between hosts need one family",
        )
    seen: dict[object, str] = {}
    for key, machine in ctx.machines.items():
        first = seen.setdefault(machine.address, key)
        if first != key:
            ctx.error(
                key_path(["hosts", key, "address"]),
                f"{machine.address} is also the address of hosts.{first}",
            )


def placement(ctx: Context) -> None:
    """Each namespace's machine: required when there are several, else the one (if any)."""
    names = list(ctx.spec.hosts)
    for key, spec in ctx.spec.namespaces.items():
        if spec.host is not None:
            path = key_path(["namespaces", key, "host"])
            if not names:
                ctx.error(path, "the lab declares no [hosts]; remove host or add [hosts.NAME]")
            elif spec.host not in ctx.spec.hosts:
                ctx.error(path, f"host '{spec.host}' is not declared in [hosts]")
            elif spec.host in ctx.machines:
                ctx.placed[key] = spec.host
        elif len(names) > 1:
            ctx.error(
                key_path(["namespaces", key]),
                f'the lab spans hosts ({", ".join(names)}): say which with host = "NAME"',
            )
        elif names and names[0] in ctx.machines:
            ctx.placed[key] = names[0]
    if len(names) > 1:
        _host_namespace_unplaced(ctx, names)


def _host_namespace_unplaced(ctx: Context, names: list[str]) -> None:
    """[host] and checks from or to "host" name no machine in a lab across hosts."""
    why = 'a lab across hosts has no one host namespace: use a namespace with host = "..."'
    if ctx.spec.host.interfaces:
        ctx.error("host.interfaces", why)
    if ctx.spec.host.routes:
        ctx.error("host.routes", why)
    for path, check in ctx.indexed(["checks"], ctx.spec.checks):
        if check.from_ == HOST:
            ctx.error(f"{path}.from", why)
        if check.to == HOST:
            ctx.error(f"{path}.to", why)


def bridge_hosts(ctx: Context) -> None:
    """Each bridge's machines: its namespace's, its host, or its hosts (one bridge on each)."""
    if not ctx.spec.hosts:
        return
    names = list(ctx.spec.hosts)
    for key, bridge in list(ctx.bridges.items()):
        spec = ctx.spec.bridges[key]
        path = key_path(["bridges", key])
        if spec.host is not None and spec.hosts:
            ctx.error(path, "set host or hosts, not both")
            continue
        wanted = [spec.host] if spec.host is not None else list(spec.hosts)
        unknown = [h for h in wanted if h not in ctx.spec.hosts]
        where_key = f"{path}.host" if spec.host is not None else f"{path}.hosts"
        if unknown:
            ctx.error(where_key, f"host '{unknown[0]}' is not declared in [hosts]")
            continue
        if len(set(wanted)) != len(wanted):
            ctx.error(where_key, "names a host twice")
            continue
        if spec.namespace is not None and spec.namespace != HOST:
            holder = ctx.placed.get(spec.namespace)
            if spec.hosts:
                ctx.error(where_key, "a bridge inside a namespace is on that namespace's host")
                continue
            if spec.host is not None and holder is not None and holder != spec.host:
                ctx.error(where_key, f"namespace '{spec.namespace}' is on host '{holder}'")
                continue
            wanted = [holder] if holder is not None else []
        elif not wanted:
            if len(names) > 1:
                ctx.error(
                    path,
                    f'the lab spans hosts ({", ".join(names)}): say where with host = "NAME" '
                    'or hosts = ["NAME", ...]',
                )
                continue
            wanted = names
        if len(wanted) > 1 and bridge.addresses:
            ctx.error(
                f"{path}.address",
                "a bridge on several hosts would hold its address on each: put the address "
                "on a namespace's interface",
            )
            continue
        if (spec.vni is not None or spec.dstport is not None) and len(wanted) < 2:
            ctx.error(path, "vni and dstport go with a bridge on several hosts (hosts = [...])")
        ctx.bridges[key] = bridge._replace(machines=tuple(h for h in wanted if h in ctx.machines))
