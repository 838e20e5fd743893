"""Passes: the lab's own name, and the namespaces it declares."""

from __future__ import annotations

from nsgen.lab import HOST
from nsgen.shape import key_path
from nsgen.validate.context import LAB_MAX, NETNS_MAX, Context


def lab_name(ctx: Context) -> None:
    written = ctx.spec.name
    if written is None:
        written = ctx.source.stem
        what = 'lab name (from the file name; set name = "...")'
    else:
        what = "lab name"
    ctx.lab_name = ctx.prefix + written
    ctx.check_name("name", written, ctx.lab_name, LAB_MAX, what)


def namespaces(ctx: Context) -> None:
    for key in ctx.spec.namespaces:
        path = key_path(["namespaces", key])
        if key == HOST:
            ctx.error(path, "'host' is reserved for the host namespace; use [host]")
            continue
        final = ctx.prefix + key
        if ctx.check_name(path, key, final, NETNS_MAX, "namespace name"):
            ctx.namespaces[key] = final
