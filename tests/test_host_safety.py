"""Host safety: down never removes a host address or route the lab did not add, and up never
changes a host sysctl (forwarding is set only inside namespaces)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import EXAMPLES
from tests.live import LabFactory, host_state, run, state_changes
from tests.reliability import Recorder

# The host's side of a lab: a veth end with an address, a route through a forwarding namespace.
HOST_SIDE_LAB = """
name = "hostside"

[host]
routes = [{ to = "10.234.0.0/24", via = "10.233.0.2" }]

[host.interfaces.up0]
peer = "gw:eth0"
address = ["10.233.0.1/24", "fd00:233::1/64"]

[namespaces.gw]
forwarding = true

[namespaces.gw.interfaces.eth0]
address = ["10.233.0.2/24", "fd00:233::2/64"]

[namespaces.gw.interfaces.eth1]
peer = "leaf:eth0"
address = "10.234.0.1/24"

[namespaces.leaf]
routes = [{ to = "default", via = "10.234.0.1" }]

[namespaces.leaf.interfaces.eth0]
address = "10.234.0.2/24"
"""


def settle_link_local(devices: list[str]) -> None:
    """Wait for the kernel to give each device its IPv6 link-local address and, once duplicate
    address detection is done, its local route: both come after link-up, asynchronously
    (linkwatch may wait a second, DAD another), so a snapshot taken at once would miss them
    and count them as the lab's change."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        routes = [
            run(["ip", "-6", "route", "show", "table", "local", "dev", d]).stdout for d in devices
        ]
        if all("fe80::" in text for text in routes):
            return
        time.sleep(0.05)


def test_down_never_removes_host_addresses_or_routes_it_did_not_add(
    lab_factory: LabFactory, tmp_path: Path, figures: Recorder
) -> None:
    topology = tmp_path / "hostside.toml"
    topology.write_text(HOST_SIDE_LAB)
    lab = lab_factory(topology)
    p = lab.prefix
    # Someone else's veth pair on the host, with addresses and routes near the lab's.
    run(["ip", "link", "add", "name", f"{p}d0", "type", "veth", "peer", "name", f"{p}d1"])
    for dev in (f"{p}d0", f"{p}d1"):
        run(["ip", "link", "set", "dev", dev, "up"])
    decoys = [
        ["address", "add", "10.235.0.1/24", "dev", f"{p}d0"],
        ["address", "add", "fd00:235::1/64", "dev", f"{p}d0", "nodad"],
        ["route", "add", "10.236.0.0/24", "via", "10.235.0.2", "dev", f"{p}d0"],
        ["route", "add", "10.233.128.0/25", "via", "10.235.0.2", "dev", f"{p}d0"],
        ["-6", "route", "add", "fd00:236::/64", "via", "fd00:235::2", "dev", f"{p}d0"],
    ]
    for decoy in decoys:
        run(["ip", *decoy])
    settle_link_local([f"{p}d0", f"{p}d1"])
    before = host_state(p)
    lab.up()
    assert lab.sh("verify").returncode == 0
    lab.down()
    assert state_changes(before, host_state(p)) == [], "up and down changed the host"

    # Decoys equal to the lab's own: its host address and its host route's destination.
    clashes = [
        ["address", "add", "10.233.0.1/24", "dev", f"{p}d1"],
        ["route", "add", "10.234.0.0/24", "via", "10.235.0.2", "dev", f"{p}d0"],
    ]
    for clash in clashes:
        run(["ip", *clash])
    before = host_state(p)
    refused = lab.sh("up")
    assert refused.returncode == 1
    assert f"address 10.233.0.1 is already on host device {p}d1" in refused.stderr
    assert f"the host already has a route to 10.234.0.0/24 (dev {p}d0)" in refused.stderr
    assert state_changes(before, host_state(p)) == [], "a refused up changed the host"
    assert lab.sh("down").returncode == 0
    assert state_changes(before, host_state(p)) == [], "down removed what it did not add"
    figures.record(
        "host.routes",
        f"{len(decoys)} decoys around the lab: after `up`, `verify`, `down`, host addresses and "
        f"routes identical (0 removed); {len(clashes)} decoys equal to the lab's own: `up` "
        "refused naming both, and neither it nor `down` changed anything",
    )


def read_sysctls() -> dict[str, str]:
    values = {}
    for directory, _, files in os.walk("/proc/sys/net"):
        for name in files:
            path = os.path.join(directory, name)
            try:
                with open(path) as handle:
                    values[path] = handle.read()
            except OSError:
                continue  # write-only (route/flush) or gone with its device meanwhile
    return values


def per_device(path: str) -> bool:
    """conf/DEV/... and neigh/DEV/...: they come and go with their device."""
    parts = path.split("/")
    return any(
        part in ("conf", "neigh") and i + 2 < len(parts) and parts[i + 1] not in ("all", "default")
        for i, part in enumerate(parts)
    )


def sysctl_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    common = before.keys() & after.keys()
    changed = [f"{k}: {before[k]!r} -> {after[k]!r}" for k in common if before[k] != after[k]]
    appeared = [f"+ {k}" for k in after.keys() - before.keys() if not per_device(k)]
    vanished = [f"- {k}" for k in before.keys() - after.keys() if not per_device(k)]
    return sorted(changed + appeared + vanished)


def test_up_and_down_never_change_a_host_sysctl(
    lab_factory: LabFactory, tmp_path: Path, figures: Recorder
) -> None:
    hostside = tmp_path / "hostside.toml"
    hostside.write_text(HOST_SIDE_LAB)
    base = lab_factory.prefix
    labs = [
        lab_factory(EXAMPLES / "star.toml", prefix=base + "a"),
        lab_factory(EXAMPLES / "routed.toml", prefix=base + "b"),
        lab_factory(hostside, prefix=base + "c"),
    ]
    before = read_sysctls()
    for lab in labs:
        lab.up()
    during = read_sysctls()
    # The reading sees the lab: its host devices' own entries appeared.
    assert f"/proc/sys/net/ipv4/conf/{base}cup0/forwarding" in during
    assert f"/proc/sys/net/ipv4/conf/{base}abr0/forwarding" in during
    assert sysctl_changes(before, during) == [], "up changed a host sysctl"
    for lab in labs:
        lab.down()
    assert sysctl_changes(before, read_sysctls()) == [], "down changed a host sysctl"
    figures.record(
        "host.sysctl",
        "0 changed by `up`, 0 by `down` (entries of devices that come and go with the lab "
        "compared only while they exist); host `ip_forward` untouched beside a forwarding "
        "namespace",
    )
