"""The validated lab: every name final, every reference resolved, every default applied.

This is what nsgen.validate produces and nsgen.plan consumes. `namespace` is None for the
host (root) namespace throughout.

Its types are NamedTuples, not frozen dataclasses: as immutable and as typed, and a class
costs a seventh of the instructions to create (a frozen dataclass compiles six methods at
every start-up); `_replace` is dataclasses.replace.
"""

from __future__ import annotations

from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
    ip_network,
)
from typing import NamedTuple

IPInterface = IPv4Interface | IPv6Interface
IPNetwork = IPv4Network | IPv6Network
IPAddress = IPv4Address | IPv6Address

HOST = "host"
# The loopback device of every namespace, and the key its addresses are declared under.
LOOPBACK = "loopback"
LO = "lo"
# Where the script keeps each lab's ownership records (a tmpfs: gone at reboot, as the lab is).
STATE_ROOT = "/run/nsgen"


def read_network(written: str) -> tuple[IPNetwork | None, IPNetwork | None]:
    """(the network, None) when `written` is one exactly; (None, the network meant) when it
    has host bits set; (None, None) when it is no network at all."""
    try:
        return ip_network(written), None
    except ValueError:
        pass
    try:
        return None, ip_network(written, strict=False)
    except ValueError:
        return None, None


def where(namespace: str | None) -> str:
    """How a namespace is named in messages and tables."""
    return HOST if namespace is None else namespace


class Shaping(NamedTuple):
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


class End(NamedTuple):
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


class Tap(NamedTuple):
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


class Veth(NamedTuple):
    a: End
    b: End
    machine: str | None = None  # the [hosts] entry it is on, in a lab that names hosts


class Macvlan(NamedTuple):
    """A macvlan interface on a host device, created there and moved into its namespace."""

    end: End  # in its namespace, with its addresses, MTU and MAC
    parent: str  # the host device, never changed
    mode: str


class Bridge(NamedTuple):
    namespace: str | None
    name: str
    addresses: tuple[IPInterface, ...] = ()
    mtu: int | None = None
    mac: str | None = None
    machines: tuple[str, ...] = ()  # the [hosts] entries it is on; several: joined by VXLAN

    @property
    def ref(self) -> str:
        return f"{where(self.namespace)}:{self.name}"


class Machine(NamedTuple):
    """A [hosts] entry: one machine of a lab across hosts, with its own script."""

    name: str
    address: IPAddress
    ssh: str
    device: str | None
    mtu: int  # of the underlay towards it


class Vxlan(NamedTuple):
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


class Route(NamedTuple):
    """A static route, keyed as the kernel keys it: family, destination and metric."""

    namespace: str | None
    to: IPNetwork | None  # None is the default route of the gateways' family
    vias: tuple[IPAddress, ...]  # (): a device route; two or more: one multipath route
    dev: str | None = None  # the device it leaves by (a device route, a link-local gateway)
    metric: int | None = None  # None: the kernel's default (0 for IPv4, 1024 for IPv6)

    @property
    def to_text(self) -> str:
        return "default" if self.to is None else str(self.to)

    @property
    def version(self) -> int:
        return self.vias[0].version if self.vias else 4 if self.to is None else self.to.version

    def text(self) -> str:
        """As tables and diagrams print it: "10.9.0.0/24 via 10.1.0.2, 10.2.0.2 dev eth1"."""
        out = self.to_text
        if self.vias:
            out += " via " + ", ".join(map(str, self.vias))
        if self.dev is not None:
            out += f" dev {self.dev}"
        if self.metric is not None:
            out += f" metric {self.metric}"
        return out


class Sysctl(NamedTuple):
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


class File(NamedTuple):
    """A file of a namespace: /etc/netns/NAMESPACE/PATH, which `ip netns exec` shows as
    /etc/PATH inside it."""

    namespace: str
    path: str  # relative to /etc: "frr/frr.conf"
    content: str
    mode: int  # permission bits
    key: str  # its key path in the topology file

    @property
    def digest(self) -> str:
        import hashlib

        return hashlib.sha256(self.content.encode()).hexdigest()


class Process(NamedTuple):
    """A process kept running inside a namespace."""

    namespace: str
    name: str
    command: str
    after: tuple[str, ...]  # "NAMESPACE:NAME" of the processes that must be ready first
    ready: str | None
    timeout: int  # milliseconds `ready` may take
    key: str

    @property
    def ref(self) -> str:
        return f"{self.namespace}:{self.name}"


class Exec(NamedTuple):
    """The one-shot commands of a namespace, run after its processes are ready."""

    namespace: str
    commands: tuple[str, ...]


class Namespace(NamedTuple):
    name: str
    forwarding: bool = False
    sysctls: tuple[Sysctl, ...] = ()
    machine: str | None = None  # the [hosts] entry it lives on
    loopback: tuple[IPInterface, ...] = ()  # on its `lo`


class Check(NamedTuple):
    """One try of a declared `[[checks]]` entry: a ping (a namespace target becomes one per
    address), a TCP connection (`port`), or a command (`command`, no address)."""

    namespace: str | None  # where it starts; None is the host
    address: IPAddress | None  # None: a command
    reachable: bool  # False: passes only when the ping or connection gets no answer
    key: str  # the entry in the topology file, e.g. "checks[2]"
    target: str = ""  # the declared device holding the address ("b1:eth0"), if any
    port: int | None = None  # a TCP connection to address:port
    command: str | None = None
    wait: int | None = None  # seconds to retry for; None: verify's default


class Assigned(NamedTuple):
    """A subnet that a pool of [addressing] gave one L2 segment, and what it numbered there."""

    pool: IPNetwork
    segment: str  # "bridge lan1", or "pair r1:eth0 <-> r2:eth0" (final names)
    subnet: IPNetwork
    addresses: tuple[tuple[str, IPInterface], ...]  # ("ns:dev", address), in numbering order


class Lab(NamedTuple):
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
    machines: tuple[Machine, ...] = ()  # [hosts]: empty for a lab on one host
    vxlans: tuple[Vxlan, ...] = ()
    on: str | None = None  # the machine this lab was projected on (see on_machine)
    # [host] neighbour_table: the host-wide neighbour table size the lab raises, if it asks.
    neighbour_table: int | None = None
    taps: tuple[Tap, ...] = ()
    files: tuple[File, ...] = ()
    processes: tuple[Process, ...] = ()  # in dependency order: each after those it names
    execs: tuple[Exec, ...] = ()

    @property
    def mark(self) -> str:
        """The alias nsgen sets on every device this lab creates in the host namespace."""
        return f"nsgen:{self.name}"

    @property
    def state_dir(self) -> str:
        """Where the script records what the lab created (namespaces with inodes, intent)."""
        return f"{STATE_ROOT}/{self.name}"

    def run_dir(self, namespace: str) -> str:
        """NSGEN_RUN of a namespace: the directory of its processes' sockets and pid files."""
        return f"{self.state_dir}/run/{namespace}"

    def log(self, namespace: str, process: str) -> str:
        """Where the script appends the output of a process of a namespace (final names)."""
        return f"{self.state_dir}/log/{namespace}/{process}.log"

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
        return self._replace(
            namespaces=tuple(ns for ns in self.namespaces if ns.machine == name),
            bridges=tuple(
                b if len(b.machines) < 2 else b._replace(mac=machine_mac(name, b.name))
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
            macvlans=tuple(m for m in self.macvlans if m.end.namespace in here),
            # A lab across hosts has no host interfaces (validation): a host TAP is on the one.
            taps=tuple(t for t in self.taps if t.namespace is None or t.namespace in here),
            files=tuple(f for f in self.files if f.namespace in here),
            processes=tuple(p for p in self.processes if p.namespace in here),
            execs=tuple(e for e in self.execs if e.namespace in here),
            on=name,
        )


def machine_mac(machine: str, device: str) -> str:
    """The MAC of a host device that every machine of a bridge spanning hosts has under the
    same name: distinct per machine, or the bridges would share one MAC on one segment."""
    import hashlib

    digest = hashlib.sha256(f"{machine}/host/{device}".encode()).hexdigest()
    return f"02:{digest[0:2]}:{digest[2:4]}:{digest[4:6]}:{digest[6:8]}:{digest[8:10]}"
