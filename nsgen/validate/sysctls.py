"""Pass: kernel settings of each namespace (`sysctls`), keys under net. only.

Keys outside net. are host-wide (a namespace has its own copy only of net.*), so setting one
would change the host for everyone. A key names a per-device setting when it reads
net.ipv4|ipv6.conf|neigh.DEVICE.x: that file exists only once the device does, so the
device must be one the lab puts in that namespace (or lo, all, default), and the script
checks the key's `default` counterpart in a new namespace before it changes anything.
"""

from __future__ import annotations

import re

from nsgen.lab import Sysctl, proc_path
from nsgen.shape import key_path
from nsgen.validate.context import Context

KEY_RE = re.compile(r"net(\.[A-Za-z0-9_][A-Za-z0-9_/-]*)+\Z")
# Printed into the script unquoted inside a double-quoted `sh -c`: words of safe characters.
VALUE_RE = re.compile(r"[A-Za-z0-9_.:/+-]+( [A-Za-z0-9_.:/+-]+)*\Z")
ALWAYS = frozenset({"all", "default", "lo"})
FORWARDING_KEYS = frozenset({"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"})


def sysctls(ctx: Context) -> None:
    devices: dict[str | None, set[str]] = {}
    for bridge in ctx.bridges.values():
        devices.setdefault(bridge.namespace, set()).add(bridge.name)
    ends = [end for veth in ctx.veths for end in (veth.a, veth.b)]
    for end in ends + [m.end for m in ctx.macvlans]:
        devices.setdefault(end.namespace, set()).add(end.name)
    for ns_key, final in ctx.namespaces.items():
        spec = ctx.spec.namespaces[ns_key]
        found: list[Sysctl] = []
        for key, value in spec.sysctls.items():
            path = key_path(["namespaces", ns_key, "sysctls", key])
            sysctl = _sysctl(ctx, path, key, value, devices.get(final, set()), final)
            if sysctl is None:
                continue
            if spec.forwarding and key in FORWARDING_KEYS and sysctl.value != "1":
                ctx.error(path, f"contradicts forwarding = true, which sets {key} to 1")
                continue
            found.append(sysctl)
        if found:
            ctx.sysctls[ns_key] = found


def _sysctl(
    ctx: Context, path: str, key: str, value: int | str, devices: set[str], namespace: str
) -> Sysctl | None:
    if not key.startswith("net."):
        ctx.error(path, "only keys under net. belong to a namespace; others are host-wide")
        return None
    if not KEY_RE.match(key):
        ctx.error(
            path, "is not a sysctl key like net.ipv4.conf.all.rp_filter (letters, digits, _ - /)"
        )
        return None
    text = str(value)
    if not VALUE_RE.match(text):
        ctx.error(path, f"'{text}' is not a value nsgen can write: words of [A-Za-z0-9_.:/+-]")
        return None
    parts = key.split(".")
    probe = key
    if len(parts) >= 5 and parts[1] in ("ipv4", "ipv6") and parts[2] in ("conf", "neigh"):
        device = parts[3].replace("/", ".")
        if device not in ALWAYS:
            if device not in devices:
                ctx.error(
                    path,
                    f"'{device}' is not a device of namespace {namespace} in this lab: the "
                    "key exists only with the device",
                )
                return None
            probe = ".".join([*parts[:3], "default", *parts[4:]])
    return Sysctl(key, text, proc_path(probe))
