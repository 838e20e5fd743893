"""containerlab topologies (`*.clab.yml`): nodes, groups, kinds and defaults; links in the
brief form (`endpoints: ["r1:eth1", "r2:eth1"]`) and the extended one (`type: veth`, `host`,
`macvlan`, ...).

`linux` nodes become namespaces, `bridge` and `ovs-bridge` nodes Linux bridges in the host;
every other kind a plain namespace with its kind kept as a comment. A node's `exec:` lines
go through the shared translator (nsgen.importer.commands).
"""

from __future__ import annotations

from typing import Any

from nsgen.importer import commands, daemons
from nsgen.importer.document import Document, shown
from nsgen.importer.draft import Draft, Kind, Node

BRIDGE_KINDS = frozenset({"bridge", "ovs-bridge"})
LINUX_KINDS = frozenset({"linux"})
# Endpoint "nodes" that are not nodes of the topology.
HOST, MACVLAN = "host", "macvlan"
SPECIAL_ENDPOINTS = frozenset({HOST, MACVLAN, "macvtap", "mgmt-net", "dummy"})
# Node keys the importer reads itself; every other key is kept as a comment.
READ = frozenset({"kind", "group", "image", "exec", "binds", "startup-config", "license"})
READ |= {"type", "sysctls"}
INHERITED = ("image", "exec", "binds", "startup-config", "license", "type", "sysctls")


def recognise(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("topology"), dict)


def build(data: object, doc: Document, stem: str) -> Draft:
    draft = Draft(doc.source, "containerlab", doc.directory)
    top = doc.mapping(data, [])
    topology = doc.mapping(top.get("topology"), ["topology"])
    draft.set_name(doc.text(top["name"], ["name"]) if top.get("name") is not None else stem)
    for name, value in top.items():
        if name not in ("name", "topology"):
            draft.keep(draft.comments, Kind.SETTING, f"{name}: {shown(value)}")
    for name, value in topology.items():
        if name not in ("nodes", "links", "kinds", "groups", "defaults"):
            draft.keep(draft.comments, Kind.SETTING, f"topology.{name}: {shown(value)}")

    inherit = _Inheritance(doc, topology)
    nodes: dict[str, Node] = {}
    bridges: dict[str, str] = {}
    settings: dict[str, dict[str, Any]] = {}
    node_map = doc.mapping(topology.get("nodes"), ["topology", "nodes"])
    for written, raw in node_map.items():
        loc: list[str | int] = ["topology", "nodes", written]
        spec = inherit.resolve(doc.mapping(raw, loc), loc)
        kind = spec.get("kind")
        if kind in BRIDGE_KINDS:
            bridges[written] = draft.add_bridge(written)
            continue
        node = draft.add_node(written)
        nodes[written] = node
        settings[written] = spec
        _node(draft, doc, node, spec, loc)

    links = doc.sequence(topology.get("links"), ["topology", "links"])
    for index, raw in enumerate(links):
        _link(draft, doc, nodes, bridges, raw, ["topology", "links", index])

    for written, node in nodes.items():
        loc = ["topology", "nodes", written]
        for line in doc.texts(settings[written].get("exec"), [*loc, "exec"]):
            commands.translate(draft, node, line)
        sysctls = doc.mapping(settings[written].get("sysctls"), [*loc, "sysctls"])
        for key, value in sysctls.items():
            text = doc.text(value, [*loc, "sysctls", key])
            commands.set_key(draft, node, key, text, f"sysctls: {key}: {text}")
    return draft


class _Inheritance:
    """A node's settings: its own, else its group's, its kind's, the defaults' (the order
    in which containerlab looks them up)."""

    def __init__(self, doc: Document, topology: dict[str, Any]) -> None:
        self.doc = doc
        self.defaults = doc.mapping(topology.get("defaults"), ["topology", "defaults"])
        self.kinds = doc.mapping(topology.get("kinds"), ["topology", "kinds"])
        self.groups = doc.mapping(topology.get("groups"), ["topology", "groups"])

    def resolve(self, node: dict[str, Any], loc: list[str | int]) -> dict[str, Any]:
        group: dict[str, Any] = {}
        if node.get("group") is not None:
            name = self.doc.text(node["group"], [*loc, "group"])
            group = self.doc.mapping(self.groups.get(name), ["topology", "groups", name])
        kind = next((s["kind"] for s in (node, group, self.defaults) if "kind" in s), None)
        kind_text = self.doc.optional_text(kind, [*loc, "kind"])
        spec = dict(node)
        spec["kind"] = kind_text
        if kind_text is not None:
            by_kind = self.doc.mapping(self.kinds.get(kind_text), ["topology", "kinds", kind_text])
        else:
            by_kind = {}
        for key in INHERITED:
            for source in (node, group, by_kind, self.defaults):
                if source.get(key) is not None:
                    spec[key] = source[key]
                    break
        return spec


def _node(
    draft: Draft, doc: Document, node: Node, spec: dict[str, Any], loc: list[str | int]
) -> None:
    kind = spec.get("kind")
    if kind not in LINUX_KINDS:
        what = "none" if kind is None else kind
        if spec.get("type") is not None:
            what += f", type {doc.text(spec['type'], [*loc, 'type'])}"
        draft.keep(node.comments, Kind.NOS, what)
    if spec.get("image") is not None:
        draft.keep(node.comments, Kind.IMAGE, doc.text(spec["image"], [*loc, "image"]))
    for key in ("startup-config", "license"):
        if spec.get(key) is not None:
            daemons.bind(draft, node, f"{key}: {doc.text(spec[key], [*loc, key])}")
    for bind in doc.texts(spec.get("binds"), [*loc, "binds"]):
        daemons.bind_mount(draft, node, bind)
    for key, value in spec.items():
        if key not in READ:
            draft.keep(node.comments, Kind.SETTING, f"{key}: {shown(value)}")


def _link(
    draft: Draft,
    doc: Document,
    nodes: dict[str, Node],
    bridges: dict[str, str],
    raw: object,
    loc: list[str | int],
) -> None:
    link = doc.mapping(raw, loc)
    link_type = doc.optional_text(link.get("type"), [*loc, "type"])
    text = shown(link)
    if link_type in (None, "veth"):
        ends = [
            _endpoint(doc, item, [*loc, "endpoints", i])
            for i, item in enumerate(doc.sequence(link.get("endpoints"), [*loc, "endpoints"]))
        ]
    elif link_type in (HOST, MACVLAN):
        end = _endpoint(doc, link.get("endpoint"), [*loc, "endpoint"])
        device = doc.text(link.get("host-interface"), [*loc, "host-interface"])
        ends = [end, (link_type, device)]
    else:
        ends = []
    # "host:eth9" is the host, as containerlab reads it, even beside a node called host.
    linked = {name: node for name, node in nodes.items() if name not in SPECIAL_ENDPOINTS}
    first = next((linked[n] for n, _ in ends if n in linked), None)
    where = first.comments if first is not None else draft.comments
    for key in link:
        if key not in ("type", "endpoints", "endpoint", "host-interface", "mtu"):
            draft.keep(where, Kind.SETTING, f"link {text}: {key}")
    if len(ends) != 2:
        draft.keep(where, Kind.LINK, text)
        return
    (a_node, a_if), (b_node, b_if) = sorted(ends, key=lambda end: end[0] not in linked)
    if a_node not in linked:
        draft.keep(where, Kind.LINK, text)
        return
    a = (linked[a_node], a_if)
    if b_node in linked:
        draft.pair(a, (linked[b_node], b_if), where, text)
    elif b_node in bridges:
        draft.port(a, bridges[b_node], where, text)
    elif b_node == HOST:
        draft.to_host(a, b_if, where, text)
    elif b_node == MACVLAN:
        draft.macvlan(a, b_if, where, text)
    else:
        draft.keep(where, Kind.LINK, text)
        return
    if link.get("mtu") is not None:
        mtu = doc.text(link["mtu"], [*loc, "mtu"])
        for name, device in (a_node, a_if), (b_node, b_if):
            iface = draft.existing_interface(linked[name], device) if name in linked else None
            if iface is not None and mtu.isdigit() and 68 <= int(mtu) <= 65535:
                iface.mtu = int(mtu)


def _endpoint(doc: Document, raw: object, loc: list[str | int]) -> tuple[str, str]:
    """("node", "interface") from "node:interface" or {node: ..., interface: ...}."""
    if isinstance(raw, dict):
        end = doc.mapping(raw, loc)
        return doc.text(end.get("node"), [*loc, "node"]), doc.text(
            end.get("interface"), [*loc, "interface"]
        )
    text = doc.text(raw, loc)
    node, colon, iface = text.partition(":")
    if not colon or not node or not iface:
        raise doc.fail(loc, f"'{text}' is not an endpoint such as \"r1:eth1\"")
    return node, iface
