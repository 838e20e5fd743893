"""Graph: the lab as a picture of namespaces, bridges and veth links, for pull requests.

`build` reads only the Plan's operations, so the picture shows what the script does, not
what the TOML says. Two printers format the one Diagram: Mermaid (GitHub renders it
inline in pull requests and READMEs) and Graphviz DOT.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from nsgen.lab import HOST, where
from nsgen.plan import (
    AddAddress,
    AddBridge,
    AddNamespace,
    AddRoute,
    AddTap,
    AddVeth,
    EnableForwarding,
    Plan,
    SetLink,
    SetQdisc,
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
    notes: tuple[str, ...]  # forwarding, routes
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
    """A TAP device, where a VM attaches: drawn as a node of its own."""

    id: str
    lines: tuple[str, ...]  # its name, "TAP", who may attach, its addresses


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

    @property
    def lines(self) -> tuple[str, ...]:
        # Both ends of a veth share one MTU (nsgen sets it on both), so it is said once.
        ends = tuple(label for label in (self.a_label, self.b_label) if label)
        mtu = () if self.mtu is None else (f"mtu {self.mtu}",)
        return ends + mtu + tuple(e for e in (self.a_egress, self.b_egress) if e)

    def reversed(self) -> Link:
        return Link(
            self.b, self.a, self.b_label, self.a_label, self.mtu, self.b_egress, self.a_egress
        )


@dataclass(frozen=True)
class Diagram:
    lab: str
    source: str
    places: tuple[Place, ...]
    links: tuple[Link, ...]
    taps: tuple[Tap, ...] = ()


def node_id(kind: str, name: str) -> str:
    """A Mermaid- and DOT-safe id that is unique per name: names may hold '.' and '-',
    which Mermaid would read as edge syntax, so they are spelt out (and '_' doubled)."""
    return kind + "_" + name.replace("_", "__").replace("-", "_h").replace(".", "_d")


def place_id(namespace: str | None) -> str:
    return HOST if namespace is None else node_id("ns", namespace)


def build(plan: Plan) -> Diagram:
    namespaces: list[str | None] = [None]
    namespaces += [op.name for op in plan.ops if isinstance(op, AddNamespace)]
    bridges: dict[str | None, list[str]] = defaultdict(list)
    links: dict[tuple[str | None, str], SetLink] = {}
    addresses: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    notes: dict[str | None, list[str]] = defaultdict(list)
    veths: list[AddVeth] = []
    taps: list[AddTap] = []
    egress: dict[tuple[str | None, str], str] = {}
    for op in plan.ops:
        match op:
            case AddTap():
                taps.append(op)
            case SetQdisc(namespace, dev, _, shaping):
                egress[(namespace, dev)] = f"egress {where(namespace)}:{dev}: {shaping.summary()}"
            case AddBridge(namespace, name, _):
                bridges[namespace].append(name)
            case AddVeth():
                veths.append(op)
            case SetLink(namespace, name):
                links[(namespace, name)] = op
            case AddAddress(namespace, dev, address):
                addresses[(namespace, dev)].append(str(address))
            case AddRoute(namespace, to, via):
                notes[namespace].append(f"{'default' if to is None else to} via {via}")
            case EnableForwarding(namespace):
                notes[namespace].insert(0, "forwarding")

    def endpoint(namespace: str | None, name: str) -> tuple[str, str]:
        """The node a veth end attaches to, and its line of the link's label."""
        master = links[(namespace, name)].master
        if master is not None:
            return node_id("br", master), f"port {name}"
        own = addresses[(namespace, name)]
        return place_id(namespace), f"{name}: {', '.join(own)}" if own else name

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
        tid = node_id("tap", where(tap.namespace)) + "_s" + node_id("", tap.name)[1:]
        access = [f"owner {tap.owner}"] if tap.owner is not None else []
        access += [f"group {tap.group}"] if tap.group is not None else []
        own = addresses[(tap.namespace, tap.name)]
        lines = (tap.name, "TAP" + (f", {', '.join(access)}" if access else ""), *own)
        nodes.append(Tap(tid, lines))
        master = links[(tap.namespace, tap.name)]
        where_to = node_id("br", master.master) if master.master else place_id(tap.namespace)
        label = "" if master.master else f"in {where(tap.namespace)}"
        tap_egress = egress.get((tap.namespace, tap.name), "")
        edges.append(Link(where_to, tid, label, "", master.mtu, "", tap_egress))
    attached = {e.a for e in edges} | {e.b for e in edges}

    places: list[Place] = []
    for namespace in namespaces:
        pid = place_id(namespace)
        held = tuple(
            Bridge(node_id("br", name), (name, *addresses[(namespace, name)]))
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

    out = [f"%% Lab {diagram.lab} from {diagram.source}, drawn by nsgen graph", "flowchart TD"]
    for place in diagram.places:
        shape = ("[", "]") if place.is_host else ("(", ")")
        node = f"{place.id}{shape[0]}{text(place.lines)}{shape[1]}"
        if not place.bridges:
            out.append(f"    {node}")
            continue
        out.append(f'    subgraph {place.box_id} ["{place.name}"]')
        if place.has_node:
            out.append(f"        {node}")
        out += [f"        {b.id}{{{{{text(b.lines)}}}}}" for b in place.bridges]
        out.append("    end")
    out += [f"    {tap.id}[/{text(tap.lines)}/]" for tap in diagram.taps]
    out += [
        f"    {link.a} ---|{text(link.lines)}| {link.b}"
        if link.lines
        else f"    {link.a} --- {link.b}"
        for link in diagram.links
    ]
    return "\n".join(out) + "\n"


def dot(diagram: Diagram) -> str:
    def text(lines: tuple[str, ...]) -> str:
        return '"' + "\\n".join(lines) + '"'

    out = [
        f"// Lab {diagram.lab} from {diagram.source}, drawn by nsgen graph",
        f'graph "{diagram.lab}" {{',
        "    node [shape=box, style=rounded];",
    ]
    for place in diagram.places:
        style = ", style=solid" if place.is_host else ""
        node = f"{place.id} [label={text(place.lines)}{style}];"
        if not place.bridges:
            out.append(f"    {node}")
            continue
        out.append(f"    subgraph cluster_{place.box_id} {{")
        out.append(f'        label="{place.name}";')
        if place.has_node:
            out.append(f"        {node}")
        out += [f"        {b.id} [label={text(b.lines)}, shape=hexagon];" for b in place.bridges]
        out.append("    }")
    out += [f"    {tap.id} [label={text(tap.lines)}, shape=parallelogram];" for tap in diagram.taps]
    out += [f"    {link.a} -- {link.b} [label={text(link.lines)}];" for link in diagram.links]
    out.append("}")
    return "\n".join(out) + "\n"


PRINTERS = {"mermaid": mermaid, "dot": dot}


def draw(plan: Plan, fmt: str) -> str:
    """The lab's diagram in `fmt`, one of PRINTERS."""
    return PRINTERS[fmt](build(plan))
