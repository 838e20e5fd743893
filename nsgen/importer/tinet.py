"""tinet specs (`spec.yaml`): `nodes` with their interfaces (`direct` to another node's
`NODE#IF`, `bridge` to a switch, `veth` to the host), `switches` (or the older `bridges`),
and `node_configs` whose `cmds` go through the shared translator (nsgen.importer.commands).

Nodes become namespaces, switches Linux bridges in the host. tinet writes the interface's
other end as `opts` (newer specs) or `args` (older ones); both are read.
"""

from __future__ import annotations

from typing import Any

from nsgen.importer import commands, daemons
from nsgen.importer.document import Document, shown
from nsgen.importer.draft import Draft, Kind, Node

SWITCH_LISTS = ("switches", "bridges")
LAB_COMMANDS = ("precmd", "preinit", "preconf", "postinit", "postfini")
NODE_KEYS = frozenset({"name", "type", "image", "interfaces"})
NODE_PORTS = frozenset({"container", "docker", "netns"})


def recognise(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("nodes"), list)


def build(data: object, doc: Document, stem: str) -> Draft:
    draft = Draft(doc.source, "tinet", doc.directory)
    top = doc.mapping(data, [])
    draft.set_name(stem)
    known = {"nodes", "node_configs", "test", *SWITCH_LISTS, *LAB_COMMANDS}
    for name, value in top.items():
        if name not in known:
            draft.keep(draft.comments, Kind.SETTING, f"{name}: {shown(value)}")

    node_list: list[tuple[dict[str, Any], list[str | int]]] = [
        (doc.mapping(raw, ["nodes", i]), ["nodes", i])
        for i, raw in enumerate(doc.sequence(top.get("nodes"), ["nodes"]))
    ]
    nodes: dict[str, Node] = {}
    for spec, loc in node_list:
        written = _name(doc, spec, loc)
        nodes[written] = draft.add_node(written)
    switches: dict[str, str] = {}
    switch_list: list[tuple[dict[str, Any], list[str | int]]] = []
    for key in SWITCH_LISTS:
        for i, raw in enumerate(doc.sequence(top.get(key), [key])):
            spec = doc.mapping(raw, [key, i])
            switch_list.append((spec, [key, i]))
            written = _name(doc, spec, [key, i])
            switches[written] = draft.add_bridge(written)

    for spec, loc in node_list:
        _node(draft, doc, nodes, switches, nodes[_name(doc, spec, loc)], spec, loc)
    for spec, loc in switch_list:
        _switch(draft, doc, nodes, switches[_name(doc, spec, loc)], spec, loc)

    for i, raw in enumerate(doc.sequence(top.get("node_configs"), ["node_configs"])):
        config = doc.mapping(raw, ["node_configs", i])
        written = _name(doc, config, ["node_configs", i])
        node = nodes.get(written)
        for item in _cmds(doc, config, ["node_configs", i]):
            if node is None:
                draft.keep(draft.comments, Kind.COMMAND, f"{written}: {shown(item)}")
            elif isinstance(item, dict) and isinstance(item.get("cmd"), str):
                commands.translate(draft, node, item["cmd"])
            elif isinstance(item, dict) and "copy" in item:
                daemons.bind(draft, node, f"copy: {shown(item['copy'])}")
            else:
                draft.keep(node.comments, Kind.COMMAND, shown(item))

    for key in LAB_COMMANDS:
        for i, raw in enumerate(doc.sequence(top.get(key), [key])):
            for item in _cmds(doc, doc.mapping(raw, [key, i]), [key, i]):
                draft.keep(draft.comments, Kind.COMMAND, f"{key}: {_command(item)}")
    for i, raw in enumerate(doc.sequence(top.get("test"), ["test"])):
        for item in _cmds(doc, doc.mapping(raw, ["test", i]), ["test", i]):
            draft.keep(draft.comments, Kind.TEST, _command(item))
    return draft


def _name(doc: Document, spec: dict[str, Any], loc: list[str | int]) -> str:
    return doc.text(spec.get("name"), [*loc, "name"])


def _cmds(doc: Document, spec: dict[str, Any], loc: list[str | int]) -> list[Any]:
    return doc.sequence(spec.get("cmds"), [*loc, "cmds"])


def _command(item: object) -> str:
    return (
        item["cmd"] if isinstance(item, dict) and isinstance(item.get("cmd"), str) else shown(item)
    )


def _other_end(doc: Document, spec: dict[str, Any], loc: list[str | int]) -> str:
    value = spec.get("opts", spec.get("args"))
    return "" if value is None else doc.text(value, [*loc, "opts"])


def _node(
    draft: Draft,
    doc: Document,
    nodes: dict[str, Node],
    switches: dict[str, str],
    node: Node,
    spec: dict[str, Any],
    loc: list[str | int],
) -> None:
    if spec.get("image") is not None:
        draft.keep(node.comments, Kind.IMAGE, doc.text(spec["image"], [*loc, "image"]))
    for key, value in spec.items():
        if key not in NODE_KEYS:
            draft.keep(node.comments, Kind.SETTING, f"{key}: {shown(value)}")
    for i, raw in enumerate(doc.sequence(spec.get("interfaces"), [*loc, "interfaces"])):
        at = [*loc, "interfaces", i]
        iface = doc.mapping(raw, at)
        name = doc.text(iface.get("name"), [*at, "name"])
        kind = doc.optional_text(iface.get("type"), [*at, "type"])
        other = _other_end(doc, iface, at)
        text = f"interface {name}: {shown(iface)}"
        end = (node, name)
        if kind == "direct" and "#" in other:
            peer_node, _, peer_if = other.partition("#")
            existing = draft.existing_interface(node, name)
            target = nodes.get(peer_node)
            if target is None:
                draft.keep(node.comments, Kind.LINK, f"{text} (no node {peer_node})")
            elif existing is None:
                draft.pair(end, (target, peer_if), node.comments, text)
            elif existing.peer != _ref(draft, target, peer_if):
                draft.keep(
                    node.comments, Kind.LINK, f"{text} ({node.name}:{name} is linked already)"
                )
        elif kind == "bridge" and other in switches:
            if draft.existing_interface(node, name) is None:
                draft.port(end, switches[other], node.comments, text)
        elif kind == "bridge" and other:
            switches[other] = draft.add_bridge(other)
            draft.port(end, switches[other], node.comments, text)
        elif kind == "veth" and other:
            draft.to_host(end, other, node.comments, text)
        else:
            draft.keep(node.comments, Kind.LINK, text)
            continue
        mac = iface.get("mac")
        made = draft.existing_interface(node, name)
        if mac is not None and made is not None:
            commands.translate(
                draft, node, f"ip link set {name} address {doc.text(mac, [*at, 'mac'])}"
            )


def _ref(draft: Draft, node: Node, written: str) -> str | None:
    iface = draft.existing_interface(node, written)
    return None if iface is None else f"{node.name}:{iface.name}"


def _switch(
    draft: Draft,
    doc: Document,
    nodes: dict[str, Node],
    bridge: str,
    spec: dict[str, Any],
    loc: list[str | int],
) -> None:
    """A switch's ports: each names a node's interface, which usually names the switch too."""
    comments = draft.bridges[bridge]
    for key, value in spec.items():
        if key not in ("name", "interfaces"):
            draft.keep(comments, Kind.SETTING, f"{key}: {shown(value)}")
    for i, raw in enumerate(doc.sequence(spec.get("interfaces"), [*loc, "interfaces"])):
        at = [*loc, "interfaces", i]
        port = doc.mapping(raw, at)
        name = doc.text(port.get("name"), [*at, "name"])
        kind = doc.optional_text(port.get("type"), [*at, "type"])
        node = nodes.get(_other_end(doc, port, at))
        text = f"port {name}: {shown(port)}"
        if kind not in NODE_PORTS or node is None:
            draft.keep(comments, Kind.LINK, text)
            continue
        existing = draft.existing_interface(node, name)
        if existing is None:
            draft.port((node, name), bridge, comments, text)
        elif existing.bridge != bridge:
            draft.keep(comments, Kind.LINK, f"{text} ({node.name}:{name} is linked already)")
