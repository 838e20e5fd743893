"""Graph: the lab as a picture of namespaces, bridges and veth links, for pull requests.

`build` reads only the Plan's operations, so the picture shows what the script does, not
what the TOML says. Two printers format the one Diagram: Mermaid (GitHub renders it
inline in pull requests and READMEs) and Graphviz DOT.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from nsgen.lab import HOST, LO, Lab, Vxlan, where
from nsgen.plan import (
    AddAddress,
    AddBridge,
    AddMacvlan,
    AddNamespace,
    AddRoute,
    AddTap,
    AddVeth,
    EnableForwarding,
    Plan,
    RunExec,
    SetLink,
    SetQdisc,
    StartProcess,
    WriteFile,
    build_for,
)


@dataclass(frozen=True)
class Bridge:
    id: str
    lines: tuple[str, ...]  # its name, then its addresses


@dataclass(frozen=True)
class Place:
    """The host or a namespace. Drawn as a box around its bridges when it holds any, and
    as a node of its own when something attaches to it directly or it has notes."""

    id: str
    box_id: str
    name: str
    notes: tuple[str, ...]  # forwarding, loopback addresses, routes, files, processes, exec
    bridges: tuple[Bridge, ...]
    has_node: bool

    @property
    def lines(self) -> tuple[str, ...]:
        return (self.name, *self.notes)

    @property
    def is_host(self) -> bool:
        return self.id == HOST


@dataclass(frozen=True)
class Tap:
    """A device the lab's wires end at outside its places: a TAP, where a VM attaches, or
    the host NIC a macvlan sits on. Drawn as a node of its own."""

    id: str
    lines: tuple[str, ...]  # its name, what it is ("TAP", "host NIC"), its addresses


@dataclass(frozen=True)
class Link:
    """A veth pair from one place or bridge to another, labelled with both ends (or a TAP
    and where it attaches), and with each end's egress shaping."""

    a: str
    b: str
    a_label: str
    b_label: str
    mtu: int | None
    a_egress: str = ""  # "egress r1:wan: rate 10mbit, delay 20ms"
    b_egress: str = ""
    tunnel: str | None = None  # "VXLAN 123": a link between hosts, drawn as its own kind

    @property
    def lines(self) -> tuple[str, ...]:
        # Both ends of a veth share one MTU (nsgen sets it on both), so it is said once.
        head = () if self.tunnel is None else (self.tunnel,)
        ends = tuple(label for label in (self.a_label, self.b_label) if label)
        mtu = () if self.mtu is None else (f"mtu {self.mtu}",)
        return head + ends + mtu + tuple(e for e in (self.a_egress, self.b_egress) if e)

    def reversed(self) -> Link:
        return Link(
            self.b,
            self.a,
            self.b_label,
            self.a_label,
            self.mtu,
            self.b_egress,
            self.a_egress,
            self.tunnel,
        )


@dataclass(frozen=True)
class Machine:
    """A host of a lab across hosts: a cluster around the places on it."""

    id: str
    label: str
    places: tuple[str, ...]  # ids of its places


@dataclass(frozen=True)
class Diagram:
    lab: str
    source: str
    places: tuple[Place, ...]
    links: tuple[Link, ...]
    taps: tuple[Tap, ...] = ()
    machines: tuple[Machine, ...] = ()


def node_id(kind: str, name: str) -> str:
    """A Mermaid- and DOT-safe id that is unique per name: names may hold '.' and '-',
    which Mermaid would read as edge syntax, so they are spelt out (and '_' doubled)."""
    return kind + "_" + name.replace("_", "__").replace("-", "_h").replace(".", "_d")


def place_id(namespace: str | None, machine: str | None = None) -> str:
    if namespace is None:
        return HOST if machine is None else node_id("host", machine)
    return node_id("ns", namespace)


def bridge_id(name: str, machine: str | None = None) -> str:
    """A bridge's node: one per host for a bridge that spans several."""
    return node_id("br", name) if machine is None else node_id("br", f"{name}.{machine}")


def build(plan: Plan, machine: str | None = None) -> Diagram:
    namespaces: list[str | None] = [None]
    namespaces += [op.name for op in plan.ops if isinstance(op, AddNamespace)]
    bridges: dict[str | None, list[str]] = defaultdict(list)
    links: dict[tuple[str | None, str], SetLink] = {}
    addresses: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    notes: dict[str | None, list[str]] = defaultdict(list)
    veths: list[AddVeth] = []
    taps: list[AddTap] = []
    macvlans: list[AddMacvlan] = []
    egress: dict[tuple[str | None, str], str] = {}
    for op in plan.ops:
        match op:
            case AddTap():
                taps.append(op)
            case AddMacvlan():
                macvlans.append(op)
            case SetQdisc(namespace, dev, _, shaping):
                egress[(namespace, dev)] = f"egress {where(namespace)}:{dev}: {shaping.summary()}"
            case AddBridge(namespace, name, _):
                bridges[namespace].append(name)
            case AddVeth():
                veths.append(op)
            case SetLink(namespace, name):
                links[(namespace, name)] = op
            case AddAddress(namespace, dev, address) if dev == LO:
                notes[namespace].append(f"{LO} {address}")
            case AddAddress(namespace, dev, address):
                addresses[(namespace, dev)].append(str(address))
            case AddRoute(route):
                notes[route.namespace].append(route.text())
            case EnableForwarding(namespace):
                notes[namespace].insert(0, "forwarding")
            case WriteFile(file):
                notes[file.namespace].append(f"file /etc/{file.path}")
            case StartProcess(process):
                notes[process.namespace].append(f"process {process.name}")
            case RunExec(run):
                count = len(run.commands)
                notes[run.namespace].append(f"exec: {count} command{'s' * (count > 1)}")

    def endpoint(namespace: str | None, name: str) -> tuple[str, str]:
        """The node a veth end attaches to, and its line of the link's label."""
        master = links[(namespace, name)].master
        if master is not None:
            return bridge_id(master, machine), f"port {name}"
        own = addresses[(namespace, name)]
        return place_id(namespace, machine), f"{name}: {', '.join(own)}" if own else name

    edges: list[Link] = []
    for veth in veths:
        a, a_label = endpoint(veth.a.namespace, veth.a.name)
        b, b_label = endpoint(veth.b.namespace, veth.b.name)
        a_egress = egress.get((veth.a.namespace, veth.a.name), "")
        b_egress = egress.get((veth.b.namespace, veth.b.name), "")
        mtu = links[(veth.a.namespace, veth.a.name)].mtu
        edges.append(Link(a, b, a_label, b_label, mtu, a_egress, b_egress))
    nodes: list[Tap] = []
    for tap in taps:
        # "_s" never comes out of node_id's escaping: it joins the two names unambiguously.
        home = where(tap.namespace) if tap.namespace or machine is None else f"host.{machine}"
        tid = node_id("tap", home) + "_s" + node_id("", tap.name)[1:]
        access = [f"owner {tap.owner}"] if tap.owner is not None else []
        access += [f"group {tap.group}"] if tap.group is not None else []
        own = addresses[(tap.namespace, tap.name)]
        lines = (tap.name, "TAP" + (f", {', '.join(access)}" if access else ""), *own)
        nodes.append(Tap(tid, lines))
        master = links[(tap.namespace, tap.name)]
        where_to = (
            bridge_id(master.master, machine) if master.master else place_id(tap.namespace, machine)
        )
        label = "" if master.master else f"in {where(tap.namespace)}"
        tap_egress = egress.get((tap.namespace, tap.name), "")
        edges.append(Link(where_to, tid, label, "", master.mtu, "", tap_egress))
    for m in macvlans:
        # The parent is the host's, never the lab's: one node per NIC, however many sit on it.
        nic = node_id(
            "nic", m.macvlan.parent if machine is None else f"{m.macvlan.parent}.{machine}"
        )
        if all(n.id != nic for n in nodes):
            nodes.append(Tap(nic, (m.macvlan.parent, "host NIC")))
        end = m.macvlan.end
        own = addresses[(end.namespace, end.name)]
        label = f"{end.name}: {', '.join(own)}" if own else end.name
        edges.append(
            Link(
                place_id(end.namespace, machine),
                nic,
                label,
                f"macvlan {m.macvlan.mode}",
                links[(end.namespace, end.name)].mtu,
            )
        )
    attached = {e.a for e in edges} | {e.b for e in edges}

    places: list[Place] = []
    for namespace in namespaces:
        pid = place_id(namespace, machine)
        held = tuple(
            Bridge(bridge_id(name, machine), (name, *addresses[(namespace, name)]))
            for name in bridges[namespace]
        )
        has_node = not held or pid in attached or bool(notes[namespace])
        if namespace is None and not held and pid not in attached and not notes[None]:
            continue  # the host is drawn only when the lab puts something there
        box_id = "in_" + pid
        places.append(Place(pid, box_id, where(namespace), tuple(notes[namespace]), held, has_node))
    order = [node for p in places for node in (*(b.id for b in p.bridges), p.id)]
    diagram = Diagram(plan.lab.name, plan.lab.source_name, tuple(places), _orient(edges, order))
    return Diagram(diagram.lab, diagram.source, diagram.places, diagram.links, tuple(nodes))


def build_hosts(lab: Lab) -> Diagram:
    """A lab across hosts: each host a cluster of its places, each tunnel an edge of its own
    between the hosts (a bridge on several hosts: one edge per pair of hosts)."""
    places: list[Place] = []
    edges: list[Link] = []
    machines: list[Machine] = []
    taps: list[Tap] = []
    for m in lab.machines:
        part = build(build_for(lab, m.name), m.name)
        places += part.places
        edges += part.links
        taps += part.taps
        label = f"host {m.name} ({m.address})"
        machines.append(Machine(node_id("on", m.name), label, tuple(p.id for p in part.places)))
    ends: dict[tuple[int, int], list[Vxlan]] = defaultdict(list)
    for x in lab.vxlans:
        ends[(x.vni, x.port)].append(x)
    for (vni, _), pair in ends.items():
        for i, one in enumerate(pair):
            for other in pair[i + 1 :]:
                a, a_label = _tunnel_end(one)
                b, b_label = _tunnel_end(other)
                edges.append(Link(a, b, a_label, b_label, one.mtu, tunnel=f"VXLAN {vni}"))
    order = [node for p in places for node in (*(b.id for b in p.bridges), p.id)]
    known = {node for p in places for node in (*(b.id for b in p.bridges), p.id)}
    known |= {tap.id for tap in taps}
    edges = [e for e in edges if e.a in known and e.b in known]
    return Diagram(
        lab.name,
        lab.source_name,
        tuple(places),
        _orient(edges, order),
        tuple(taps),
        tuple(machines),
    )


def _tunnel_end(x: Vxlan) -> tuple[str, str]:
    if x.master is not None:
        return bridge_id(x.master, x.machine), f"{x.machine}: {x.name}"
    own = ", ".join(str(a) for a in x.addresses)
    return place_id(x.namespace, x.machine), f"{x.name}: {own}" if own else x.name


def _orient(links: list[Link], order: list[str]) -> tuple[Link, ...]:
    """Point every link away from where a breadth-first walk reached first. Layout engines
    rank nodes along edge directions, so the picture becomes a tree: a router is drawn
    between its subnets, not beside the hosts on them."""
    neighbours: dict[str, list[str]] = defaultdict(list)
    for link in links:
        neighbours[link.a].append(link.b)
        neighbours[link.b].append(link.a)
    reached: dict[str, int] = {}
    for start in order:
        if start in reached or start not in neighbours:
            continue
        reached[start] = len(reached)
        queue = deque([start])
        while queue:
            for other in neighbours[queue.popleft()]:
                if other not in reached:
                    reached[other] = len(reached)
                    queue.append(other)
    return tuple(link if reached[link.a] <= reached[link.b] else link.reversed() for link in links)


# ---------------------------------------------------------------------------------------------
# Printers: only formatting, every decision is in the Diagram.


def mermaid(diagram: Diagram) -> str:
    def text(lines: tuple[str, ...]) -> str:
        return '"' + "<br>".join(lines) + '"'

    def draw(place: Place, indent: str) -> list[str]:
        shape = ("[", "]") if place.is_host else ("(", ")")
        node = f"{place.id}{shape[0]}{text(place.lines)}{shape[1]}"
        if not place.bridges:
            return [f"{indent}{node}"]
        lines = [f'{indent}subgraph {place.box_id} ["{place.name}"]']
        if place.has_node:
            lines.append(f"{indent}    {node}")
        lines += [f"{indent}    {b.id}{{{{{text(b.lines)}}}}}" for b in place.bridges]
        return [*lines, f"{indent}end"]

    out = [f"%% Lab {diagram.lab} from {diagram.source}, drawn by nsgen graph", "flowchart TD"]
    by_id = {place.id: place for place in diagram.places}
    for machine in diagram.machines:
        out.append(f'    subgraph {machine.id} ["{machine.label}"]')
        for pid in machine.places:
            out += draw(by_id.pop(pid), "        ")
        out.append("    end")
    for place in by_id.values():
        out += draw(place, "    ")
    out += [f"    {tap.id}[/{text(tap.lines)}/]" for tap in diagram.taps]
    for link in diagram.links:
        edge = "---" if link.tunnel is None else "-.-"
        out.append(
            f"    {link.a} {edge}|{text(link.lines)}| {link.b}"
            if link.lines
            else f"    {link.a} {edge} {link.b}"
        )
    return "\n".join(out) + "\n"


def dot(diagram: Diagram) -> str:
    def text(lines: tuple[str, ...]) -> str:
        return '"' + "\\n".join(lines) + '"'

    out = [
        f"// Lab {diagram.lab} from {diagram.source}, drawn by nsgen graph",
        f'graph "{diagram.lab}" {{',
        "    node [shape=box, style=rounded];",
    ]

    def draw(place: Place, indent: str) -> list[str]:
        style = ", style=solid" if place.is_host else ""
        node = f"{place.id} [label={text(place.lines)}{style}];"
        if not place.bridges:
            return [f"{indent}{node}"]
        lines = [
            f"{indent}subgraph cluster_{place.box_id} {{",
            f'{indent}    label="{place.name}";',
        ]
        if place.has_node:
            lines.append(f"{indent}    {node}")
        lines += [
            f"{indent}    {b.id} [label={text(b.lines)}, shape=hexagon];" for b in place.bridges
        ]
        return [*lines, f"{indent}}}"]

    by_id = {place.id: place for place in diagram.places}
    for machine in diagram.machines:
        out += [f"    subgraph cluster_{machine.id} {{", f'        label="{machine.label}";']
        for pid in machine.places:
            out += draw(by_id.pop(pid), "        ")
        out.append("    }")
    for place in by_id.values():
        out += draw(place, "    ")
    out += [f"    {tap.id} [label={text(tap.lines)}, shape=parallelogram];" for tap in diagram.taps]
    for link in diagram.links:
        style = "" if link.tunnel is None else ", style=dashed"
        out.append(f"    {link.a} -- {link.b} [label={text(link.lines)}{style}];")
    out.append("}")
    return "\n".join(out) + "\n"


PRINTERS = {"mermaid": mermaid, "dot": dot}


def draw(plan: Plan, fmt: str) -> str:
    """The lab's diagram in `fmt`, one of PRINTERS."""
    return PRINTERS[fmt](build(plan))


def draw_lab(lab: Lab, plan: Plan | None, fmt: str) -> str:
    """A lab across hosts is drawn whole, host by host; any other from its plan."""
    if lab.spans_hosts or plan is None:
        return PRINTERS[fmt](build_hosts(lab))
    return draw(plan, fmt)
