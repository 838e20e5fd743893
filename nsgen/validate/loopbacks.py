"""Pass: the addresses each namespace puts on its loopback device (`loopback`)."""

from __future__ import annotations

from nsgen.shape import key_path
from nsgen.validate.context import Context
from nsgen.validate.values import parse_addresses


def loopbacks(ctx: Context) -> None:
    for key, spec in ctx.spec.namespaces.items():
        if key not in ctx.namespaces or not spec.loopback:
            continue
        path = key_path(["namespaces", key, "loopback"])
        ctx.loopbacks[key] = parse_addresses(ctx, path, spec.loopback)
