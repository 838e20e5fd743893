"""Show: the validated lab with every default applied, for a reviewer or a tool.

What the shorthand of a topology file means once nsgen has resolved it: final names
(prefix included, derived outer ends), derived MACs, address lists, the ownership mark and
the state directory. One view, printed as text or as JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from nsgen.lab import HOST, LO, End, Lab, Shaping, micros_text, where
from nsgen.lab import Route as LabRoute


@dataclass(frozen=True)
class Egress:
    """Shaping and impairments on a device's egress, as tc is given them."""

    rate: str | None
    burst: str | None  # derived unless written
    latency: str | None
    delay: str | None
    jitter: str | None
    loss: str | None


@dataclass(frozen=True)
class Device:
    kind: str  # "bridge", "veth" or "tap"
    name: str
    peer: str | None  # the other end of a veth, "NAMESPACE:NAME"
    master: str | None  # the bridge a veth end or a TAP is a port of
    mtu: int | None  # None: the kernel's default
    mac: str | None
    addresses: tuple[str, ...]
    parent: str | None = None  # a macvlan's host device, and its mode: "eth0 (bridge)"
    owner: str | None = None  # a TAP's user and group
    group: str | None = None
    egress: Egress | None = None


def egress(shaping: Shaping | None) -> Egress | None:
    if shaping is None:
        return None
    written = dict(shaping.written)
    return Egress(
        written.get("rate"),
        None if shaping.burst is None else f"{shaping.burst}b",
        None if shaping.latency is None else micros_text(shaping.latency),
        written.get("delay"),
        written.get("jitter"),
        written.get("loss"),
    )


@dataclass(frozen=True)
class Route:
    to: str
    via: str | list[str] | None  # one gateway; a list: one multipath route; None: a device route
    dev: str | None = None  # in JSON only when set, as metric: older views stay as they were
    metric: int | None = None


@dataclass(frozen=True)
class ShownFile:
    """A file of a namespace: where it reads it, where the host has it, and what it holds
    (its digest and size: the script itself carries the content)."""

    path: str  # as the namespace sees it: "/etc/frr/frr.conf"
    host_path: str  # "/etc/netns/r1/frr/frr.conf"
    mode: str  # "0644"
    sha256: str
    size: int  # bytes


@dataclass(frozen=True)
class ShownProcess:
    name: str
    command: str
    after: tuple[str, ...]  # "NAMESPACE:NAME", final names
    ready: str | None
    ready_timeout_ms: int
    log: str


@dataclass(frozen=True)
class Place:
    """The host (name "host") or one of the lab's namespaces, with what the lab puts there.
    Files, processes and exec: in JSON only when the namespace declares them, so that the
    view of a lab without daemons stays what it was."""

    name: str
    forwarding: bool
    devices: tuple[Device, ...]
    routes: tuple[Route, ...]
    files: tuple[ShownFile, ...] = ()
    processes: tuple[ShownProcess, ...] = ()
    exec: tuple[str, ...] = ()  # one-shot commands, in order


@dataclass(frozen=True)
class Assigned:
    """A subnet an address pool gave one segment, and the addresses it numbered there."""

    pool: str
    segment: str
    subnet: str
    addresses: dict[str, str]  # "ns:dev" -> address


@dataclass(frozen=True)
class View:
    name: str
    source: str
    sha256: str
    mark: str
    state_dir: str
    namespaces: tuple[Place, ...]
    assigned: tuple[Assigned, ...]
    neighbour_table: int | None = None  # [host] neighbour_table: host-wide, so lab-level here


def view(lab: Lab) -> View:
    ends: list[tuple[End, End]] = []
    for veth in lab.veths:
        ends += [(veth.a, veth.b), (veth.b, veth.a)]
    places = [(None, False)] + [(ns.name, ns.forwarding) for ns in lab.namespaces]

    def place(namespace: str | None, forwarding: bool) -> Place:
        devices = [
            Device("bridge", b.name, None, None, b.mtu, b.mac, tuple(map(str, b.addresses)))
            for b in lab.bridges
            if b.namespace == namespace
        ]
        devices += [
            Device(
                "veth",
                end.name,
                other.ref,
                end.master,
                end.mtu,
                end.mac,
                tuple(map(str, end.addresses)),
                egress=egress(end.shaping),
            )
            for end, other in ends
            if end.namespace == namespace
        ]
        devices += [
            Device(
                "macvlan",
                m.end.name,
                None,
                None,
                m.end.mtu,
                m.end.mac,
                tuple(map(str, m.end.addresses)),
                f"{m.parent} ({m.mode})",
            )
            for m in lab.macvlans
            if m.end.namespace == namespace
        ]
        devices += [
            Device("loopback", LO, None, None, None, None, tuple(map(str, ns.loopback)))
            for ns in lab.namespaces
            if ns.name == namespace and ns.loopback
        ]
        devices += [
            Device(
                "tap",
                tap.name,
                None,
                tap.master,
                tap.mtu,
                tap.mac,
                tuple(map(str, tap.addresses)),
                owner=tap.owner,
                group=tap.group,
                egress=egress(tap.shaping),
            )
            for tap in lab.taps
            if tap.namespace == namespace
        ]
        routes = [_route(r) for r in lab.routes if r.namespace == namespace]
        return Place(
            where(namespace),
            forwarding,
            tuple(devices),
            tuple(routes),
            tuple(
                ShownFile(
                    f"/etc/{f.path}",
                    f"/etc/netns/{f.namespace}/{f.path}",
                    f"{f.mode:04o}",
                    f.digest,
                    len(f.content.encode()),
                )
                for f in lab.files
                if f.namespace == namespace
            ),
            tuple(
                ShownProcess(
                    p.name, p.command, p.after, p.ready, p.timeout, lab.log(p.namespace, p.name)
                )
                for p in lab.processes
                if p.namespace == namespace
            ),
            tuple(c for e in lab.execs if e.namespace == namespace for c in e.commands),
        )

    return View(
        lab.name,
        lab.source_name,
        lab.source_sha256,
        lab.mark,
        lab.state_dir,
        tuple(place(namespace, forwarding) for namespace, forwarding in places),
        tuple(
            Assigned(
                str(a.pool),
                a.segment,
                str(a.subnet),
                {ref: str(address) for ref, address in a.addresses},
            )
            for a in lab.assigned
        ),
        lab.neighbour_table,
    )


def _route(route: LabRoute) -> Route:
    vias = [str(v) for v in route.vias]
    via: str | list[str] | None = vias[0] if len(vias) == 1 else vias or None
    return Route(route.to_text, via, route.dev, route.metric)


def to_json(lab: Lab) -> str:
    data = asdict(view(lab))
    for place in data["namespaces"]:
        for route in place["routes"]:
            for key in ("dev", "metric"):
                if route[key] is None:
                    del route[key]
        for key in ("files", "processes", "exec"):
            if not place[key]:
                del place[key]
    if lab.machines:
        data.update(_hosts(lab))
        on = {ns.name: ns.machine for ns in lab.namespaces}
        placed = {b.name: list(b.machines) for b in lab.bridges}
        for place in data["namespaces"]:
            if place["name"] == HOST:
                place["host"] = None
                for device in place["devices"]:
                    if device["kind"] == "bridge":
                        device["hosts"] = placed.get(device["name"], [])
            else:
                place["host"] = on.get(place["name"])
    return json.dumps(data, indent=2) + "\n"


def _hosts(lab: Lab) -> dict[str, object]:
    """A lab that declares [hosts]: its machines and its tunnel ends (only then, so that
    the view of a lab on one host stays what it was)."""
    return {
        "hosts": [
            {
                "name": m.name,
                "address": str(m.address),
                "ssh": m.ssh,
                "device": m.device,
                "mtu": m.mtu,
            }
            for m in lab.machines
        ],
        "tunnels": [
            {
                "host": x.machine,
                "namespace": x.namespace,
                "name": x.name,
                "vni": x.vni,
                "port": x.port,
                "local": str(x.local),
                "remote": None if x.remote is None else str(x.remote),
                "flood": [str(a) for a in x.flood],
                "remote_hosts": list(x.remotes),
                "mtu": x.mtu,
                "mac": x.mac,
                "master": x.master,
                "addresses": [str(a) for a in x.addresses],
                "carries": x.carries,
            }
            for x in lab.vxlans
        ],
    }


def to_text(lab: Lab) -> str:
    shown = view(lab)
    out = [
        f"lab {shown.name}",
        f"  source     {shown.source} (sha256 {shown.sha256})",
        f"  mark       {shown.mark} (alias of every device it creates in the host namespace)",
        f"  state dir  {shown.state_dir}",
    ]
    pooled = {(ref, address) for a in shown.assigned for ref, address in a.addresses.items()}
    if shown.neighbour_table is not None:
        out.append(
            f"  neighbours the host's neighbour tables hold at least {shown.neighbour_table} "
            "entries while the lab is up ([host] neighbour_table)"
        )
    on = {ns.name: ns.machine for ns in lab.namespaces}
    if lab.machines:
        out += ["", "hosts"]
        out += [
            f"  {m.name:<8} {m.address}  ssh {m.ssh}  underlay mtu {m.mtu}"
            + (f"  device {m.device}" if m.device else "")
            for m in lab.machines
        ]
    for place in shown.namespaces:
        title = HOST if place.name == HOST else f"namespace {place.name}"
        if lab.machines and place.name != HOST and on.get(place.name):
            title += f" (on host {on[place.name]})"
        out += ["", title + (" (forwarding)" if place.forwarding else "")]
        if place.name == HOST and not place.devices and not place.routes:
            out.append("  nothing: the lab adds no device, address or route here")
        for device in place.devices:
            out.append(f"  {device.kind} {device.name}")
            fields = [
                ("peer", device.peer),
                ("parent", device.parent),
                ("master", device.master),
                ("mtu", device.mtu),
                ("mac", device.mac),
                ("owner", device.owner),
                ("group", device.group),
            ]
            ref = f"{place.name}:{device.name}"
            fields += [
                ("address", address + (" (pool)" if (ref, address) in pooled else ""))
                for address in device.addresses
            ]
            if device.egress is not None:
                fields.append(("egress", _egress_text(device.egress)))
            out += [f"    {key:<8} {value}" for key, value in fields if value is not None]
        out += [f"  route {_route_text(route)}" for route in place.routes]
        for file in place.files:
            out += [
                f"  file {file.path}",
                f"    {'host':<8} {file.host_path}",
                f"    {'mode':<8} {file.mode}",
                f"    {'content':<8} {file.size} bytes, sha256 {file.sha256}",
            ]
        for process in place.processes:
            out += [f"  process {process.name}", f"    {'command':<8} {process.command}"]
            out += [f"    {'after':<8} {', '.join(process.after)}"] * bool(process.after)
            if process.ready is not None:
                ms = process.ready_timeout_ms
                timeout = f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
                out.append(f"    {'ready':<8} {process.ready} (within {timeout})")
            out.append(f"    {'log':<8} {process.log}")
        out += [f"  exec {command}" for command in place.exec]
    if lab.vxlans:
        out += ["", "tunnels (VXLAN)"]
        for x in lab.vxlans:
            far = (
                f"remote {x.remote}"
                if x.remote is not None
                else "flood " + ", ".join(str(a) for a in x.flood)
            )
            out.append(
                f"  {x.machine}: {x.ref}  vni {x.vni} port {x.port} local {x.local} {far} "
                f"mtu {x.mtu}  ({x.carries})"
            )
    return "\n".join(out) + "\n"


def _route_text(route: Route) -> str:
    via = ", ".join(route.via) if isinstance(route.via, list) else route.via
    text = route.to if via is None else f"{route.to} via {via}"
    text += "" if route.dev is None else f" dev {route.dev}"
    return text + ("" if route.metric is None else f" metric {route.metric}")


def _egress_text(egress: Egress) -> str:
    """ "rate 10mbit burst 12500b latency 50ms delay 20ms jitter 5ms loss 1%", what is set."""
    return " ".join(f"{key} {value}" for key, value in asdict(egress).items() if value is not None)
