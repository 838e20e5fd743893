"""The validated lab: every name final, every reference resolved, every default applied.

This is what nsgen.validate produces and nsgen.plan consumes. `namespace` is None for the
host (root) namespace throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
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
class Shaping:
    """Egress shaping (tbf) and impairments (netem) of one interface, in the kernel's units,
    with the values as written (normalised) for the commands a reviewer reads."""

    rate: int | None = None  # bits per second
    burst: int | None = None  # bytes: derived unless written
    latency: int | None = None  # microseconds: derived unless written
    delay: int | None = None  # microseconds
    jitter: int | None = None  # microseconds
    loss: str | None = None  # percent, without the sign: "1", "0.5"
    written: tuple[tuple[str, str], ...] = ()  # (key, value) in declaration order

    @property
    def netem(self) -> bool:
        return self.delay is not None or self.loss is not None

    def text(self, key: str) -> str:
        return dict(self.written)[key]

    def summary(self) -> str:
        """One line for tables and diagrams: "rate 10mbit, delay 20ms ±5ms, loss 1%"."""
        values = dict(self.written)
        parts = []
        if "rate" in values:
            parts.append(f"rate {values['rate']}")
        if "delay" in values:
            jitter = f" ±{values['jitter']}" if "jitter" in values else ""
            parts.append(f"delay {values['delay']}{jitter}")
        if "loss" in values:
            parts.append(f"loss {values['loss']}")
        return ", ".join(parts)

    def detail(self) -> str:
        """The summary with tbf's derived burst and latency spelt out."""
        text = self.summary()
        if self.rate is None or self.latency is None:
            return text
        rate = f"rate {self.text('rate')}"
        full = f"{rate} (burst {self.burst}b, latency {micros_text(self.latency)})"
        return text.replace(rate, full, 1)


def micros_text(micros: int) -> str:
    """A time as tc reads it: "50ms", or "1500us" when not a whole number of milliseconds."""
    return f"{micros // 1000}ms" if micros % 1000 == 0 else f"{micros}us"


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
    shaping: Shaping | None = None  # on this end's egress

    @property
    def ref(self) -> str:
        return f"{where(self.namespace)}:{self.name}"


@dataclass(frozen=True)
class Tap:
    """A persistent TAP device: a VM attaches to it, as its owner or group, unprivileged."""

    namespace: str | None
    name: str
    addresses: tuple[IPInterface, ...] = ()
    mtu: int | None = None
    mac: str | None = None
    master: str | None = None  # the bridge the TAP itself is a port of, in the same namespace
    owner: str | None = None  # a user name or number, as written
    group: str | None = None
    key: str = ""
    shaping: Shaping | None = None

    @property
    def ref(self) -> str:
        return f"{where(self.namespace)}:{self.name}"


@dataclass(frozen=True)
class Veth:
    a: End
    b: End


@dataclass(frozen=True)
class Macvlan:
    """A macvlan interface on a host device, created there and moved into its namespace."""

    end: End  # in its namespace, with its addresses, MTU and MAC
    parent: str  # the host device, never changed
    mode: str


@dataclass(frozen=True)
class Bridge:
    namespace: str | None
    name: str
    addresses: tuple[IPInterface, ...] = ()
    mtu: int | None = None
    mac: str | None = None

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
class Sysctl:
    """A kernel setting inside a namespace: `key` as written ("net.ipv4.conf.eth0.rp_filter")."""

    key: str
    value: str  # as the kernel prints it, fields separated by one space
    probe: str  # the /proc/sys path whose presence in a new namespace proves the key exists

    @property
    def path(self) -> str:
        return proc_path(self.key)


def proc_path(key: str) -> str:
    """A key's file under /proc/sys: dots separate, a slash stands for a dot in a device name."""
    return key.translate(str.maketrans("./", "/."))


@dataclass(frozen=True)
class Namespace:
    name: str
    forwarding: bool = False
    sysctls: tuple[Sysctl, ...] = ()


@dataclass(frozen=True)
class Check:
    """One ping of a declared `[[checks]]` entry: a namespace target becomes one per address."""

    namespace: str | None  # where the ping starts; None is the host
    address: IPAddress
    reachable: bool  # False: passes only when the ping gets no answer
    key: str  # the entry in the topology file, e.g. "checks[2]"
    target: str = ""  # the declared device holding the address ("b1:eth0"), if any


@dataclass(frozen=True)
class Assigned:
    """A subnet that a pool of [addressing] gave one L2 segment, and what it numbered there."""

    pool: IPNetwork
    segment: str  # "bridge lan1", or "pair r1:eth0 <-> r2:eth0" (final names)
    subnet: IPNetwork
    addresses: tuple[tuple[str, IPInterface], ...]  # ("ns:dev", address), in numbering order


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
    assigned: tuple[Assigned, ...] = ()  # by the address pools, segment by segment
    names: bool = False  # write /etc/netns/NS/hosts in every namespace
    macvlans: tuple[Macvlan, ...] = ()
    nat: tuple[IPv4Network, ...] = ()  # [host] nat: masqueraded on their way out
    # [host] neighbour_table: the host-wide neighbour table size the lab raises, if it asks.
    neighbour_table: int | None = None
    taps: tuple[Tap, ...] = ()

    @property
    def mark(self) -> str:
        """The alias nsgen sets on every device this lab creates in the host namespace."""
        return f"nsgen:{self.name}"

    @property
    def state_dir(self) -> str:
        """Where the script records what the lab created (namespaces with inodes, intent)."""
        return f"{STATE_ROOT}/{self.name}"
