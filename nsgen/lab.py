"""The validated lab: every name final, every reference resolved, every default applied.

This is what nsgen.validate produces and nsgen.plan consumes. `namespace` is None for the
host (root) namespace throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)

IPInterface = IPv4Interface | IPv6Interface
IPNetwork = IPv4Network | IPv6Network
IPAddress = IPv4Address | IPv6Address

HOST = "host"
# Where the script keeps each lab's ownership records (a tmpfs: gone at reboot, as the lab is).
STATE_ROOT = "/run/nsgen"


def where(namespace: str | None) -> str:
    """How a namespace is named in messages and tables."""
    return HOST if namespace is None else namespace


@dataclass(frozen=True)
class End:
    """One end of a veth pair as it will exist in the kernel."""

    namespace: str | None
    name: str
    addresses: tuple[IPInterface, ...] = ()
    mtu: int | None = None
    mac: str | None = None
    master: str | None = None  # the bridge this end is a port of, in the same namespace
    key: str = ""  # key path in the topology file, for messages; "" for derived ends

    @property
    def ref(self) -> str:
        return f"{where(self.namespace)}:{self.name}"


@dataclass(frozen=True)
class Veth:
    a: End
    b: End
    machine: str | None = None  # the [hosts] entry it is on, in a lab that names hosts


@dataclass(frozen=True)
class Bridge:
    namespace: str | None
    name: str
    addresses: tuple[IPInterface, ...] = ()
    mtu: int | None = None
    mac: str | None = None
    machines: tuple[str, ...] = ()  # the [hosts] entries it is on; several: joined by VXLAN

    @property
    def ref(self) -> str:
        return f"{where(self.namespace)}:{self.name}"


@dataclass(frozen=True)
class Machine:
    """A [hosts] entry: one machine of a lab across hosts, with its own script."""

    name: str
    address: IPAddress
    ssh: str
    device: str | None
    mtu: int  # of the underlay towards it


@dataclass(frozen=True)
class Vxlan:
    """One end of a VXLAN tunnel, on one machine: a port of a bridge spanning hosts (in the
    host namespace, flooding to every other host of the bridge), or a link's end that is on
    another machine than its other end (inside the end's namespace, or a bridge's port)."""

    machine: str
    namespace: str | None  # created from the host namespace, whose underlay it uses
    name: str
    vni: int
    port: int
    local: IPAddress
    remote: IPAddress | None  # unicast, point to point; None: head-end replication to flood
    flood: tuple[IPAddress, ...]
    device: str | None  # the underlay device
    mtu: int
    mac: str
    master: str | None = None
    addresses: tuple[IPInterface, ...] = ()
    carries: str = ""  # what the tunnel joins, for the script header and diagrams
    remotes: tuple[str, ...] = ()  # the machines at the other end(s)
    key: str = ""

    @property
    def ref(self) -> str:
        return f"{where(self.namespace)}:{self.name}"


@dataclass(frozen=True)
class Route:
    namespace: str | None
    to: IPNetwork | None  # None is the default route of via's family
    via: IPAddress

    @property
    def to_text(self) -> str:
        return "default" if self.to is None else str(self.to)


@dataclass(frozen=True)
class Namespace:
    name: str
    forwarding: bool = False
    machine: str | None = None  # the [hosts] entry it lives on


@dataclass(frozen=True)
class Check:
    """One ping of a declared `[[checks]]` entry: a namespace target becomes one per address."""

    namespace: str | None  # where the ping starts; None is the host
    address: IPAddress
    reachable: bool  # False: passes only when the ping gets no answer
    key: str  # the entry in the topology file, e.g. "checks[2]"
    target: str = ""  # the declared device holding the address ("b1:eth0"), if any


@dataclass(frozen=True)
class Lab:
    name: str
    source_name: str
    source_sha256: str
    namespaces: tuple[Namespace, ...]
    bridges: tuple[Bridge, ...]
    veths: tuple[Veth, ...]
    routes: tuple[Route, ...]
    checks: tuple[Check, ...] = ()
    machines: tuple[Machine, ...] = ()  # [hosts]: empty for a lab on one host
    vxlans: tuple[Vxlan, ...] = ()
    on: str | None = None  # the machine this lab was projected on (see on_machine)
    # [host] neighbour_table: the host-wide neighbour table size the lab raises, if it asks.
    neighbour_table: int | None = None

    @property
    def mark(self) -> str:
        """The alias nsgen sets on every device this lab creates in the host namespace."""
        return f"nsgen:{self.name}"

    @property
    def state_dir(self) -> str:
        """Where the script records what the lab created (namespaces with inodes, intent)."""
        return f"{STATE_ROOT}/{self.name}"

    @property
    def spans_hosts(self) -> bool:
        return len(self.machines) > 1

    def machine(self, name: str) -> Machine:
        return next(m for m in self.machines if m.name == name)

    def on_machine(self, name: str) -> Lab:
        """What the lab puts on one of its machines: that host's own lab, rendered into
        its own script. The declared checks stay whole; the plan keeps those that start
        on this machine."""
        here = {ns.name for ns in self.namespaces if ns.machine == name}
        return replace(
            self,
            namespaces=tuple(ns for ns in self.namespaces if ns.machine == name),
            bridges=tuple(
                b if len(b.machines) < 2 else replace(b, mac=machine_mac(name, b.name))
                for b in self.bridges
                if name in b.machines
            ),
            veths=tuple(v for v in self.veths if v.machine == name),
            routes=tuple(
                r
                for r in self.routes
                if r.namespace in here or (r.namespace is None and not self.spans_hosts)
            ),
            vxlans=tuple(x for x in self.vxlans if x.machine == name),
            on=name,
        )


def machine_mac(machine: str, device: str) -> str:
    """The MAC of a host device that every machine of a bridge spanning hosts has under the
    same name: distinct per machine, or the bridges would share one MAC on one segment."""
    import hashlib

    digest = hashlib.sha256(f"{machine}/host/{device}".encode()).hexdigest()
    return f"02:{digest[0:2]}:{digest[2:4]}:{digest[4:6]}:{digest[6:8]}:{digest[8:10]}"
