"""Pass: the kernel's hard limits, refused here rather than half way through `up`.

A limit that only the host knows (its neighbour table's size) is the runtime's to check;
this pass refuses what no host can hold.
"""

from __future__ import annotations

from collections import Counter

from nsgen.shape import key_path
from nsgen.validate.context import Context

# BR_MAX_PORTS is 1024 in net/bridge/br_private.h and port number 0 is never given out, so
# the 1024th port fails with "Exchange full" (EXFULL) after everything before it
# has been created.
BRIDGE_PORTS_MAX = 1023
# [host] neighbour_table: below the kernel's default gc_thresh3 it could never raise anything;
# above 2^24 entries (some GiB of neighbour entries) it is a typing mistake, not a lab.
NEIGHBOUR_TABLE_MIN, NEIGHBOUR_TABLE_MAX = 1024, 1 << 24


def limits(ctx: Context) -> None:
    ports: Counter[tuple[str | None, str]] = Counter()
    for veth in ctx.veths:
        for end in (veth.a, veth.b):
            if end.master is not None:
                ports[end.namespace, end.master] += 1
    for key, bridge in ctx.bridges.items():
        count = ports[bridge.namespace, bridge.name]
        if count > BRIDGE_PORTS_MAX:
            ctx.error(
                key_path(["bridges", key]),
                f"bridge '{key}' would have {count} ports; a Linux bridge holds at most "
                f"{BRIDGE_PORTS_MAX} (BR_MAX_PORTS): split the hosts over several bridges",
            )
    size = ctx.spec.host.neighbour_table
    if size is not None and not NEIGHBOUR_TABLE_MIN <= size <= NEIGHBOUR_TABLE_MAX:
        ctx.error(
            "host.neighbour_table",
            f"{size} is not a neighbour table size ({NEIGHBOUR_TABLE_MIN} to "
            f"{NEIGHBOUR_TABLE_MAX}; the kernel's default is 1024)",
        )
