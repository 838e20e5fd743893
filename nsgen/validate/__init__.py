"""Validate: turn a parsed TOML document into a Lab, or raise TopologyError with every problem.

nsgen.shape checks the document's shape (keys, types); then the passes below, in order, each
resolve and check one part of the lab as a whole. None stops at the first problem, and each
runs on whatever earlier passes found well formed, so one run reports as much as possible.
A new kind of object gets a pass of its own here.
"""

from __future__ import annotations

from collections.abc import Callable

from nsgen import shape
from nsgen.errors import Issue, TopologyError
from nsgen.lab import Lab, Namespace
from nsgen.load import Source
from nsgen.model import TopologySpec
from nsgen.shape import key_path
from nsgen.validate import (
    addresses,
    bridges,
    checks,
    devices,
    files,
    hosts,
    interfaces,
    limits,
    linkprops,
    links,
    loopbacks,
    macvlans,
    names,
    nat,
    pools,
    processes,
    routes,
    sysctls,
    taps,
    tunnels,
)
from nsgen.validate.context import (
    IFINDEX_RE,
    NAME_RE,
    PREFIX_MAX,
    Context,
    derive_mac,
    derive_outer,
)

__all__ = ["IFINDEX_RE", "NAME_RE", "PASSES", "derive_mac", "derive_outer", "key_path", "validate"]

Pass = Callable[[Context], None]

# netlab's model: a flat list of named passes, in the order they run.
PASSES: tuple[tuple[str, Pass], ...] = (
    ("lab-name", names.lab_name),
    ("hosts", hosts.machines),
    ("namespaces", names.namespaces),
    ("placement", hosts.placement),
    ("bridges", bridges.bridges),
    ("bridge-hosts", hosts.bridge_hosts),
    ("interfaces", interfaces.interfaces),
    ("link-properties", linkprops.link_properties),
    ("taps", taps.taps),
    ("links", links.links),
    ("tunnels", tunnels.tunnels),
    ("macvlans", macvlans.macvlans),
    ("loopbacks", loopbacks.loopbacks),
    ("segments", pools.segments),
    ("pools", pools.pools),
    ("kernel-limits", limits.limits),
    ("unique-devices", devices.unique_devices),
    ("unique-addresses", addresses.unique_addresses),
    ("overlapping-subnets", addresses.overlapping_subnets),
    ("held-addresses", addresses.held_addresses),
    ("routes", routes.routes),
    ("sysctls", sysctls.sysctls),
    ("nat", nat.nat),
    ("checks", checks.checks),
    ("files", files.files),
    ("processes", processes.processes),
)


def validate(source: Source, prefix: str = "") -> Lab:
    """Validate a parsed topology. `prefix` is prepended to every name the host sees."""
    if prefix and not (NAME_RE.match(prefix) and len(prefix) <= PREFIX_MAX):
        raise TopologyError(
            source.name,
            [Issue("", f"prefix '{prefix}' must be 1-{PREFIX_MAX} of [A-Za-z0-9_.-]")],
        )
    spec, shape_issues = shape.read(TopologySpec, source.data)
    ctx = Context(source, spec, prefix, shape_issues.dropped)
    for _name, run in PASSES:
        run(ctx)
    issues = [*shape_issues, *ctx.issues]
    if issues:
        raise TopologyError(source.name, issues)
    # Templates see the lab resolved: only a valid lab has one.
    lab, template_issues = files.render_templates(_lab(ctx), ctx.templates, prefix)
    if template_issues:
        raise TopologyError(source.name, template_issues)
    return lab


def _lab(ctx: Context) -> Lab:
    return Lab(
        name=ctx.lab_name,
        source_name=ctx.source.name,
        source_sha256=ctx.source.sha256,
        namespaces=tuple(
            Namespace(
                final,
                ctx.spec.namespaces[key].forwarding,
                tuple(ctx.sysctls.get(key, ())),
                ctx.placed.get(key),
                tuple(ctx.loopbacks.get(key, ())),
            )
            for key, final in ctx.namespaces.items()
        ),
        bridges=tuple(ctx.bridges.values()),
        veths=tuple(ctx.veths),
        routes=tuple(ctx.routes),
        checks=tuple(ctx.checks),
        assigned=tuple(ctx.assigned),
        names=ctx.spec.names,
        macvlans=tuple(ctx.macvlans),
        nat=tuple(ctx.nat),
        machines=tuple(ctx.machines.values()),
        vxlans=tuple(ctx.vxlans),
        neighbour_table=ctx.spec.host.neighbour_table,
        taps=tuple(ctx.taps),
        files=tuple(ctx.files),
        processes=tuple(ctx.processes),
        execs=tuple(ctx.execs),
    )
