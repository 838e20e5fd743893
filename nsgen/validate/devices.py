"""Pass: no two devices of the lab share a name in one namespace."""

from __future__ import annotations

from nsgen.lab import where
from nsgen.shape import key_path
from nsgen.validate.context import Context


def unique_devices(ctx: Context) -> None:
    seen: dict[tuple[str | None, str], str] = {}

    def claim(namespace: str | None, name: str, path: str) -> None:
        first = seen.setdefault((namespace, name), path)
        if first != path:
            ctx.error(
                path or first,
                f"device name '{name}' is used twice in namespace '{where(namespace)}' "
                f"(also by {first or 'a derived outer name'})",
            )

    for key, bridge in ctx.bridges.items():
        claim(bridge.namespace, bridge.name, key_path(["bridges", key]))
    for veth in ctx.veths:
        for end in (veth.a, veth.b):
            claim(end.namespace, end.name, end.key or f"{veth.a.key}.outer")
    for macvlan in ctx.macvlans:
        claim(macvlan.end.namespace, macvlan.end.name, macvlan.end.key)
    for tap in ctx.taps:
        claim(tap.namespace, tap.name, tap.key)
    for vxlan in ctx.vxlans:
        # A bridge's tunnel device has one name on all its hosts: claimed once.
        claim(vxlan.namespace, vxlan.name, vxlan.key or "a derived tunnel port")
