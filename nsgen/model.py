"""The topology format as typed, frozen dataclasses: the public interface of nsgen.

Each field's type is what TOML must hold there (checked strictly by nsgen.shape: "1500" is
not an MTU, 1 is not `true`), its default says whether the key is optional, and its `doc`
is the description that `nsgen schema` and docs/format.md carry. These classes only describe
the shape of a file; everything that needs the whole lab at once (names, references,
addresses, routes) is checked in nsgen.validate, so that all errors are collected in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal


class OneOrMany:
    """Marks a list field that also accepts a single value: address = "10.0.0.1/24"."""


Addresses = Annotated[list[str], OneOrMany]


def doc(text: str, *, key: str | None = None, **kwargs: Any) -> Any:
    """A field with its description; `key` is its TOML key where that is a Python keyword."""
    return field(metadata={"doc": text, "key": key} if key else {"doc": text}, **kwargs)


ADDRESS_DOC = 'One IPv4/IPv6 address with prefix length ("10.0.0.11/24"), or a list of them.'


@dataclass(frozen=True)
class RouteSpec:
    """A static route inside a namespace (or the host)."""

    to: str = doc('Destination network ("10.2.0.0/24", "fd00:2::/64") or "default".')
    via: Addresses | None = doc(
        "Gateway address, inside a subnet of an interface of the same namespace; or a "
        'namespace ("r1", or "host"): its address on a segment both share. A list of two or '
        "more is one multipath route (`nexthop via A nexthop via B`). Without it, `dev` makes "
        "a device route.",
        default=None,
    )
    dev: str | None = doc(
        "The namespace's own interface the route leaves by: a device route without `via`, or "
        'the device a link-local `via` ("fe80::2") is on.',
        default=None,
    )
    metric: int | None = doc(
        "Route metric, 0 to 4294967295 (the kernel's default: 0 for IPv4, 1024 for IPv6). "
        "Routes are keyed by destination and metric, as the kernel keys them: two routes to "
        "one destination with different metrics are two routes.",
        default=None,
    )


@dataclass(frozen=True)
class InterfaceSpec:
    """A veth end (set `bridge` or `peer`, or be the target of another interface's `peer`),
    or with `kind = "tap"` a TAP device for a VM, or with `kind = "macvlan"` an interface on
    a host device (`parent`)."""

    parent: str | None = doc(
        'With kind = "macvlan": the host device it sits on (not one of the lab\'s); it is '
        "never changed.",
        default=None,
    )
    mode: Literal["bridge", "private", "vepa", "passthru"] | None = doc(
        'With kind = "macvlan": its mode; default "bridge".', default=None
    )

    kind: Literal["veth", "tap", "macvlan"] = doc(
        '"veth" (default), "tap": a persistent TAP device that a VM (qemu) attaches to, or '
        '"macvlan": an interface on the host device `parent`, moved into this namespace.',
        default="veth",
    )
    bridge: str | None = doc(
        "Bridge whose port the other end of this veth becomes; for a TAP, the bridge (in the "
        "same namespace) the TAP itself is a port of.",
        default=None,
    )
    peer: str | None = doc(
        'The other end of this veth pair, as "NAMESPACE:INTERFACE" or "host:NAME".', default=None
    )
    outer: str | None = doc(
        "Name of the bridge-side end (only with `bridge`); default: derived, deterministic, "
        "at most 15 characters.",
        default=None,
    )
    address: Addresses | None = doc(
        f"{ADDRESS_DOC} Without it, one address from each pool of [addressing]; [] for none.",
        default=None,
    )
    mtu: int | None = doc("MTU, 68 to 65535 (1280 or more with IPv6).", default=None)
    mac: str | None = doc(
        'Unicast MAC address, e.g. "02:00:00:00:00:11"; default: derived from the names.',
        default=None,
    )
    owner: str | int | None = doc(
        "TAP only: the user (name or number) allowed to attach to it without privileges.",
        default=None,
    )
    group: str | int | None = doc(
        "TAP only: the group (name or number) allowed to attach to it without privileges.",
        default=None,
    )
    rate: str | None = doc(
        'Egress rate limit (tbf), e.g. "10mbit", "500kbit", "1gbit".', default=None
    )
    burst: str | None = doc(
        'With rate: tbf\'s bucket size, e.g. "32kb"; default: 10 ms at the rate, at least '
        "two full frames.",
        default=None,
    )
    latency: str | None = doc(
        'With rate: how long a packet may wait in tbf\'s queue, e.g. "50ms"; default "50ms".',
        default=None,
    )
    delay: str | None = doc('Egress delay (netem), e.g. "20ms", "500us".', default=None)
    jitter: str | None = doc(
        'With delay: random variation of the delay (netem), e.g. "5ms".', default=None
    )
    loss: str | None = doc('Egress packet loss (netem), e.g. "1%", "0.5%".', default=None)
    vni: int | None = doc(
        "VXLAN network identifier (1 to 16777215) of the tunnel this link becomes when its "
        "two ends are on different hosts; default: derived from the lab and the link.",
        default=None,
    )
    dstport: int | None = doc(
        "UDP port of that tunnel; default 4789.",
        default=None,
    )


@dataclass(frozen=True)
class MachineSpec:
    """A machine the lab spans: it runs its own script, joined to the others by VXLAN."""

    address: str = doc(
        "Underlay address the other hosts reach it at (IPv4 or IPv6): the tunnels' local "
        "and remote."
    )
    ssh: str | None = doc(
        '"[user@]host" that ansible and ssh log in to; default: the address.', default=None
    )
    device: str | None = doc(
        "Underlay device the tunnels are bound to (VXLAN dev); default: none, routed.",
        default=None,
    )
    mtu: int | None = doc(
        "MTU of the underlay towards this host; default 1500. Tunnels lose 50 bytes to "
        "VXLAN over IPv4, 70 over IPv6.",
        default=None,
    )


@dataclass(frozen=True)
class FileSpec:
    """A file of a namespace written out in the lab file itself."""

    text: str = doc("The file's content, as it is written.")
    mode: str | None = doc('Its permissions in octal ("0640"); default "0644".', default=None)


@dataclass(frozen=True)
class ProcessSpec:
    """A process kept running inside a namespace: started by `up` after the wires and files,
    restarted when its command or its namespace's files change, stopped by `down`."""

    name: str = doc("Its name, unique in the namespace: logs and `after` go by it.")
    command: str = doc(
        "Run by /bin/sh -c inside the namespace (ip netns exec, so the lab's files apply); "
        "it must stay in the foreground (bird -f, FRR daemons without -d)."
    )
    after: Annotated[list[str], OneOrMany] = doc(
        'Processes that must be ready before it starts: "zebra" in the same namespace, '
        '"r1:zebra" in another.',
        default_factory=list,
    )
    ready: str | None = doc(
        "A command run in the namespace that exits 0 once the process is ready: its "
        "dependants start, and `up` returns, only then.",
        default=None,
    )
    ready_timeout: str | None = doc(
        'How long `ready` may take to pass ("30s", "500ms", "2m"); default "30s".', default=None
    )


@dataclass(frozen=True)
class NamespaceSpec:
    """A network namespace: one host or router of the lab."""

    host: str | None = doc(
        "The [hosts] entry it lives on; required when the lab names more than one.",
        default=None,
    )

    forwarding: bool = doc("Turn IPv4 and IPv6 forwarding on inside it (a router).", default=False)
    routes: list[RouteSpec] = doc("Static routes.", default_factory=list)
    interfaces: dict[str, InterfaceSpec] = doc(
        "Its veth ends and TAP devices, by device name.", default_factory=dict
    )
    loopback: Addresses = doc(
        'Addresses on its loopback device `lo` ("10.255.0.1/32", "fd00:ff::1/128"): router '
        "ids and the like. They are addresses like any other (unique, checked, recorded, "
        "removed when no longer declared), reached through routes, never a `via` target.",
        default_factory=list,
    )
    sysctls: dict[str, int | str] = doc(
        'Kernel settings inside it, by key under net. ("net.ipv4.conf.all.rp_filter" = 0), '
        "applied on every up.",
        default_factory=dict,
    )
    files: dict[str, str | FileSpec] = doc(
        'Files under /etc as the namespace sees it ("frr/frr.conf"), each from a source '
        'file relative to the lab file ("r1/frr.conf"; one ending in .j2 is a Jinja2 '
        "template of the resolved lab) or { text, mode }. Installed as /etc/netns/NS/PATH, "
        "which ip netns exec shows as /etc/PATH.",
        default_factory=dict,
    )
    processes: list[ProcessSpec] = doc(
        "Processes kept running inside it (daemons).", default_factory=list
    )
    exec: list[str] = doc(
        "One-shot commands run inside it after its processes are ready: on the up that "
        "creates it, and again whenever its files, processes or exec change.",
        default_factory=list,
    )


@dataclass(frozen=True)
class HostSpec:
    """The host (root) namespace: interfaces the lab adds there, and routes towards the lab."""

    interfaces: dict[str, InterfaceSpec] = doc(
        'Veth ends and TAP devices in the host namespace; others refer to them as "host:NAME".',
        default_factory=dict,
    )
    routes: list[RouteSpec] = doc(
        "Host routes towards the lab (never a default route); they go away with the lab.",
        default_factory=list,
    )
    nat: list[str] = doc(
        'Lab IPv4 networks ("10.0.0.0/24") whose traffic leaving the host by a device that '
        "is not the lab's is masqueraded (nftables table nsgen-LAB; host IPv4 forwarding on).",
        default_factory=list,
    )
    neighbour_table: int | None = doc(
        "Opt-in: raise the host's neighbour (ARP/NDP) tables, shared by every namespace, to "
        "hold at least this many entries (gc_thresh3; gc_thresh2 and gc_thresh1 in proportion), "
        "never lowering them; put back when the last lab that raised them goes.",
        default=None,
    )


@dataclass(frozen=True)
class BridgeSpec:
    """A Linux bridge."""

    namespace: str | None = doc(
        "Namespace that holds it; default: the host namespace.", default=None
    )
    address: Addresses = doc(ADDRESS_DOC, default_factory=list)
    mtu: int | None = doc("MTU of the bridge device.", default=None)
    host: str | None = doc(
        "The [hosts] entry it lives on (or use hosts); default: its namespace's host.",
        default=None,
    )
    hosts: list[str] = doc(
        "Several [hosts] entries: one bridge on each, joined by VXLAN (head-end replication).",
        default_factory=list,
    )
    vni: int | None = doc(
        "With hosts: VXLAN network identifier of the bridge's tunnels; default: derived.",
        default=None,
    )
    dstport: int | None = doc("With hosts: UDP port of its tunnels; default 4789.", default=None)


@dataclass(frozen=True)
class CheckSpec:
    """A declared check that `verify` runs after its own pings: a ping (`to`), a TCP
    connection (`tcp`) or a command (`command`), exactly one of them."""

    from_: str = doc(
        'Namespace the check starts in, or "host" when the lab gives the host an address '
        "(not for `command`).",
        key="from",
    )
    to: str | None = doc(
        'A ping: to a namespace ("h3": each of its addresses in a family `from` has an address '
        'of; "host": the host\'s addresses in the lab) or one address ("10.2.0.11").',
        default=None,
    )
    tcp: str | None = doc(
        'A TCP connection from `from` to "ADDRESS:PORT" ("10.0.0.2:179", "[fd00::2]:179").',
        default=None,
    )
    command: str | None = doc(
        "A command run by /bin/sh inside `from` (through `ip netns exec`, so the namespace's "
        "/etc/netns files apply), with NSGEN_LAB, NSGEN_NS and NSGEN_RUN=/run/nsgen/LAB/run/NS "
        "set; exit 0 passes.",
        default=None,
    )
    expect: Literal["reachable", "unreachable"] = doc(
        '"reachable": every ping must be answered, the connection made; "unreachable": none '
        "may be (an isolation test). Not for `command`.",
        default="reachable",
    )
    wait: str | None = doc(
        'Retry until the check passes or this much time is up ("60s", "2m"): for routes a '
        "daemon has yet to learn. Default: `verify --wait`, else one try.",
        default=None,
    )


@dataclass(frozen=True)
class AddressingSpec:
    """Address pools for interfaces declared without `address`.

    Each L2 segment (a bridge, or a veth pair with no bridge) gets a subnet of each pool:
    bridges from the pool's start in the order of [bridges], pairs from its end in the
    order their second interface is declared; the interfaces on a segment are numbered
    in declaration order (the host's first, then each namespace's).
    """

    ipv4: str | None = doc('IPv4 pool, e.g. "10.0.0.0/16".', default=None)
    ipv6: str | None = doc('IPv6 pool, e.g. "fd00:1::/48".', default=None)
    ipv4_prefix: int = doc("Prefix length of a bridge's IPv4 subnet.", default=24)
    ipv4_p2p_prefix: int = doc(
        "Prefix length of a veth pair's IPv4 subnet: 31 (RFC 3021, both addresses usable) or 30.",
        default=31,
    )
    ipv6_prefix: int = doc("Prefix length of a bridge's IPv6 subnet.", default=64)
    ipv6_p2p_prefix: int = doc("Prefix length of a veth pair's IPv6 subnet.", default=64)


@dataclass(frozen=True)
class TopologySpec:
    """An nsgen lab."""

    name: str | None = doc(
        "Lab name, used in the script header and ownership marks; default: the file's stem.",
        default=None,
    )
    hosts: dict[str, MachineSpec] = doc(
        "Machines the lab spans, by name: one script each, joined by VXLAN tunnels.",
        default_factory=dict,
    )
    bridges: dict[str, BridgeSpec] = doc("Bridges by name.", default_factory=dict)
    namespaces: dict[str, NamespaceSpec] = doc("Namespaces by name.", default_factory=dict)
    host: HostSpec = doc(
        "The host (root) namespace: veth ends and routes the lab adds there.",
        default_factory=HostSpec,
    )
    names: bool = doc(
        "Write /etc/netns/NS/hosts for every namespace, naming every namespace of the lab "
        "by its addresses, so that `ip netns exec h1 ping h2` resolves.",
        default=False,
    )
    addressing: AddressingSpec = doc(
        "Address pools: interfaces without `address` get theirs from these.",
        default_factory=AddressingSpec,
    )
    checks: list[CheckSpec] = doc(
        "Reachability checks, the lab's own test plan: `verify` runs them after its "
        "neighbour and gateway pings.",
        default_factory=list,
    )
