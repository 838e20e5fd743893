"""Pass: macvlan interfaces, each on a host device that is not the lab's.

The parent belongs to the host (a NIC, or someone's veth): nsgen creates the macvlan on it and
moves it into its namespace, and never changes the parent itself, so the parent must not
be a device the lab creates or removes.
"""

from __future__ import annotations

from nsgen.lab import HOST, Macvlan
from nsgen.validate.context import IFNAMSIZ, NAME_RE, Context
from nsgen.validate.links import end_of


def macvlans(ctx: Context) -> None:
    lab_devices = {b.name for b in ctx.bridges.values() if b.namespace is None}
    lab_devices |= {e.name for v in ctx.veths for e in (v.a, v.b) if e.namespace is None}
    for iface in ctx.ifaces.values():
        spec = iface.spec
        if spec.kind != "macvlan":
            for key in ("parent", "mode"):
                if getattr(spec, key) is not None:
                    ctx.error(f"{iface.path}.{key}", 'goes with kind = "macvlan"')
            continue
        ok = True
        for key in ("bridge", "peer", "outer"):
            if getattr(spec, key) is not None:
                ctx.error(f"{iface.path}.{key}", "a macvlan has no other end; set parent")
                ok = False
        if iface.ns_key == HOST:
            ctx.error(f"{iface.path}.kind", "a macvlan goes into a namespace, not the host")
            continue
        parent = spec.parent
        if parent is None:
            ctx.error(iface.path, 'kind = "macvlan" needs parent, the host device it sits on')
            continue
        if not NAME_RE.match(parent) or len(parent) > IFNAMSIZ:
            ctx.error(f"{iface.path}.parent", f"'{parent}' is not a device name")
            continue
        if parent in lab_devices or ctx.host_name(parent) in lab_devices:
            ctx.error(
                f"{iface.path}.parent",
                f"'{parent}' is a device of this lab; a macvlan's parent is a host device "
                "the lab does not create",
            )
            continue
        end = end_of(iface)
        if spec.mode == "passthru":
            # A passthru macvlan's MAC is its parent's: setting one would change the parent.
            if spec.mac is not None:
                ctx.error(f"{iface.path}.mac", "a passthru macvlan has its parent's MAC")
                ok = False
            end = end._replace(mac=None)
        if ok:
            ctx.macvlans.append(Macvlan(end, parent, spec.mode or "bridge"))
