"""Pass: TAP devices, standalone or each a port of a bridge in its own namespace."""

from __future__ import annotations

from nsgen.lab import Tap, where
from nsgen.validate.context import Context, Iface
from nsgen.validate.links import end_of


def taps(ctx: Context) -> None:
    for iface in ctx.ifaces.values():
        if iface.spec.kind == "tap":
            _tap(ctx, iface)


def _tap(ctx: Context, iface: Iface) -> None:
    master = None
    if iface.spec.bridge is not None:
        bridge = ctx.bridges.get(iface.spec.bridge)
        if bridge is None:
            if iface.spec.bridge not in ctx.spec.bridges:
                ctx.error(f"{iface.path}.bridge", f"bridge '{iface.spec.bridge}' is not declared")
            return
        if bridge.namespace != iface.namespace:
            ctx.error(
                f"{iface.path}.bridge",
                f"bridge '{iface.spec.bridge}' is in {where(bridge.namespace)}: a TAP can only "
                f"be a port of a bridge in its own namespace ({where(iface.namespace)})",
            )
            return
        master = bridge.name
    end = end_of(iface)
    ctx.taps.append(
        Tap(
            end.namespace,
            end.name,
            end.addresses,
            end.mtu,
            end.mac,
            master,
            iface.owner,
            iface.group,
            iface.path,
            iface.shaping,
        )
    )
