"""Pass: the processes of each namespace (`processes`) and its one-shot commands (`exec`).

A process is named uniquely in its namespace; `after` names processes of the lab ("zebra"
in the same namespace, "r1:zebra" in another) that must be ready first, without cycles, and
on the same host in a lab across hosts (each host's script starts its own). The lab's
processes are kept in an order where each comes after those it names: the script starts
them in that order and stops them in the reverse one.
"""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter

from nsgen.lab import Exec, Process
from nsgen.validate.context import NAME_RE, Context

DURATION_RE = re.compile(r"([0-9]+)(ms|s|m)\Z")
MILLIS = {"ms": 1, "s": 1000, "m": 60_000}
DEFAULT_TIMEOUT = 30_000
TIMEOUT_MAX = 3_600_000


def parse_duration(text: str) -> int | None:
    """Milliseconds of "500ms", "30s" or "2m"; None when it is none of those."""
    match = DURATION_RE.match(text)
    return int(match[1]) * MILLIS[match[2]] if match else None


def processes(ctx: Context) -> None:
    declared: dict[str, Process] = {}
    for ns_key, final in ctx.namespaces.items():
        spec = ctx.spec.namespaces[ns_key]
        base: list[str | int] = ["namespaces", ns_key, "processes"]
        for path, written in ctx.indexed(base, spec.processes):
            process = _process(ctx, path, final, written.name, written.command)
            if process is None:
                continue
            ready = written.ready
            if ready is not None and not ready.strip():
                ctx.error(f"{path}.ready", "is empty: leave it out, or give a command")
                ready = None
            timeout = DEFAULT_TIMEOUT
            if written.ready_timeout is not None:
                parsed = parse_duration(written.ready_timeout)
                if parsed is None or not 0 < parsed <= TIMEOUT_MAX:
                    ctx.error(
                        f"{path}.ready_timeout",
                        f"'{written.ready_timeout}' is not a duration from 1ms to 60m "
                        '("500ms", "30s", "2m")',
                    )
                else:
                    timeout = parsed
            if process.ref in declared:
                first = declared[process.ref].key
                ctx.error(f"{path}.name", f"'{written.name}' is already {first}")
                continue
            after = tuple(_reference(ctx, ns_key, a) for a in written.after)
            declared[process.ref] = process._replace(after=after, ready=ready, timeout=timeout)
        if spec.exec:
            for index, command in enumerate(spec.exec):
                if not command.strip():
                    ctx.error(f"namespaces.{ns_key}.exec[{index}]", "is an empty command")
            ctx.execs.append(Exec(final, tuple(spec.exec)))
    ctx.processes.extend(_ordered(ctx, declared))


def _reference(ctx: Context, ns_key: str, written: str) -> str:
    """ "zebra" or "r1:zebra" as "NAMESPACE:NAME" with the namespace's final name."""
    ns, _, name = written.rpartition(":")
    ns = ns or ns_key
    return f"{ctx.namespaces.get(ns, ns)}:{name}"


def _process(ctx: Context, path: str, namespace: str, name: str, command: str) -> Process | None:
    ok = ctx.check_name(f"{path}.name", name, name, 64, "process name")
    if not command.strip():
        ctx.error(f"{path}.command", "is an empty command")
        ok = False
    return Process(namespace, name, command, (), None, DEFAULT_TIMEOUT, path) if ok else None


def _ordered(ctx: Context, declared: dict[str, Process]) -> list[Process]:
    machine = {final: ctx.placed.get(key) for key, final in ctx.namespaces.items()}
    graph: dict[str, list[str]] = {}
    for ref, process in declared.items():
        graph[ref] = []
        for index, other in enumerate(process.after):
            where = f"{process.key}.after" + (f"[{index}]" if len(process.after) > 1 else "")
            ns, _, name = other.partition(":")
            if not (NAME_RE.match(ns) and NAME_RE.match(name)) or other not in declared:
                ctx.error(where, f"'{other}' is not a process of this lab")
            elif other == ref:
                ctx.error(where, "a process cannot wait for itself")
            elif machine.get(ns) != machine.get(process.namespace):
                ctx.error(where, f"'{other}' runs on another host: each host starts its own")
            else:
                graph[ref].append(other)
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        cycle = " -> ".join(error.args[1])
        first = declared[error.args[1][0]]
        ctx.error(f"{first.key}.after", f"processes wait for each other in a cycle: {cycle}")
        return []
    # Declaration order where `after` leaves it free: graphlib's order alone is not stable.
    rank = {ref: i for i, ref in enumerate(declared)}
    placed: list[str] = []
    done: set[str] = set()
    pending = sorted(order, key=rank.__getitem__)
    while pending:
        ref = next(r for r in pending if all(a in done for a in graph[r]))
        pending.remove(ref)
        placed.append(ref)
        done.add(ref)
    return [declared[ref] for ref in placed]
