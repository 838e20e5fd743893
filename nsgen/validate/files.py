"""Pass: the files of each namespace (`files`), and the templates among them.

A path is one under /etc as the namespace sees it: `ip netns exec NS` bind-mounts each entry
of /etc/netns/NS over the same entry of /etc, so "frr/frr.conf" is written to
/etc/netns/NS/frr/frr.conf and read inside NS as /etc/frr/frr.conf. Paths are plain words
joined by "/" (no "..", nothing the script would have to quote). A source is read here,
relative to the lab file, so that its content goes into the script itself; one ending in
.j2 is rendered by Jinja2 once the whole lab is resolved (render_templates).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nsgen.errors import Issue
from nsgen.lab import File, IPInterface, Lab, where
from nsgen.model import FileSpec
from nsgen.shape import key_path
from nsgen.validate.context import Context, Template

PART_RE = re.compile(r"[A-Za-z0-9_+@][A-Za-z0-9_.+@-]*\Z")
MODE_RE = re.compile(r"0?[0-7]{3,4}\Z")
DEFAULT_MODE = 0o644
# The file `names = true` writes in every namespace.
HOSTS = "hosts"


def files(ctx: Context) -> None:
    base = ctx.source.path.parent
    for ns_key, final in ctx.namespaces.items():
        seen: dict[str, str] = {}
        for written, value in ctx.spec.namespaces[ns_key].files.items():
            path = key_path(["namespaces", ns_key, "files", written])
            relative = _relative(ctx, path, written)
            if relative is None:
                continue
            if relative == HOSTS and ctx.spec.names:
                ctx.error(path, "names = true writes /etc/netns/NS/hosts itself")
                continue
            if relative in seen:
                ctx.error(path, f"is the same file as {seen[relative]}")
                continue
            clash = _clash(relative, seen)
            if clash is not None:
                ctx.error(path, f"a file cannot also be a directory: {clash}")
                continue
            seen[relative] = path
            read = _content(ctx, path, value, base)
            if read is None:
                continue
            content, mode, template = read
            if template is not None:
                ctx.templates.append(Template(len(ctx.files), template))
            ctx.files.append(File(final, relative, content, mode, path))


def _relative(ctx: Context, path: str, written: str) -> str | None:
    """The path relative to /etc, or None (reported) when it is none nsgen writes."""
    relative = written
    if written.startswith("/"):
        if not written.startswith("/etc/"):
            ctx.error(path, "is not under /etc: ip netns exec shows only /etc/netns/NS as /etc")
            return None
        relative = written[len("/etc/") :]
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        ctx.error(path, f"'{written}' must name a file under /etc without '', '.' or '..' parts")
        return None
    bad = [part for part in parts if not PART_RE.match(part)]
    if bad:
        ctx.error(
            path,
            f"'{bad[0]}' is not a safe file name: use letters, digits and _ . + @ -, "
            "not starting with '.' or '-'",
        )
        return None
    return relative


def _clash(relative: str, seen: dict[str, str]) -> str | None:
    for other, other_path in seen.items():
        if other.startswith(relative + "/") or relative.startswith(other + "/"):
            return other_path
    return None


def _content(
    ctx: Context, path: str, value: str | FileSpec, base: Path
) -> tuple[str, int, Path | None] | None:
    if isinstance(value, FileSpec):
        mode = DEFAULT_MODE
        if value.mode is not None:
            if not MODE_RE.match(value.mode):
                ctx.error(f"{path}.mode", f"'{value.mode}' is not a mode in octal, like \"0640\"")
                return None
            mode = int(value.mode, 8)
        return _text(ctx, path, value.text), mode, None
    source = base / value
    try:
        raw = source.read_bytes()
    except OSError as error:
        ctx.error(path, f"cannot read source {value}: {error.strerror or error}")
        return None
    except ValueError:  # a NUL in the name
        ctx.error(path, f"source {value!r} is not a file name")
        return None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        ctx.error(path, f"source {value} is not UTF-8 text")
        return None
    return _text(ctx, path, text), DEFAULT_MODE, source if value.endswith(".j2") else None


def _text(ctx: Context, path: str, text: str) -> str:
    if "\0" in text:
        ctx.error(path, "holds a NUL character, which a file of the script cannot")
    return text


def render_templates(
    lab: Lab, templates: list[Template], prefix: str = ""
) -> tuple[Lab, list[Issue]]:
    """The lab with each template's content rendered, and the errors of those that fail."""
    if not templates:
        return lab, []
    import jinja2

    issues: list[Issue] = []
    contents = list(lab.files)
    scopes = _scopes(lab, prefix)
    for template in templates:
        file = contents[template.at]
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(template.path.parent),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        try:
            text = environment.from_string(file.content).render(scopes[file.namespace])
        except jinja2.TemplateError as error:
            line = _template_line(error)
            at = f" (line {line})" if line else ""
            issues.append(Issue(file.key, f"template {template.path.name}{at}: {error}"))
            continue
        contents[template.at] = file._replace(content=text)
    return lab._replace(files=tuple(contents)), issues


def _template_line(error: Exception) -> int | None:
    """The template line an error was raised at: a syntax error has it; a render error
    (an undefined name) only in the traceback, whose template frames Jinja2 names so."""
    line: int | None = getattr(error, "lineno", None)
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _addresses(addresses: Iterable[IPInterface]) -> dict[str, list[str]]:
    """Addresses as a template reads them: whole, as IPs, by family, as networks."""
    listed = list(addresses)
    return {
        "addresses": [str(a) for a in listed],
        "ips": [str(a.ip) for a in listed],
        "ipv4": [str(a) for a in listed if a.version == 4],
        "ipv6": [str(a) for a in listed if a.version == 6],
        "networks": [str(a.network) for a in listed],
    }


def _scopes(lab: Lab, prefix: str) -> dict[str, dict[str, Any]]:
    """What a template sees, for each namespace: `ns` (this namespace: its name, its `key`
    as the lab file writes it, its interfaces with their addresses and peers, its loopback
    addresses, its neighbours across each link), `lab` (its name and every namespace alike)
    and `others` (the lab's other namespaces). A neighbour is the device at the other end,
    with its namespace and whether that namespace forwards (a router)."""
    forwarding = {ns.name: ns.forwarding for ns in lab.namespaces}
    devices: dict[str | None, list[dict[str, Any]]] = {}
    ports: dict[tuple[str | None, str], list[dict[str, Any]]] = {}  # bridge -> its members

    def device(namespace: str | None, name: str, addresses: Any, peer: str) -> dict[str, Any]:
        entry = {
            "namespace": where(namespace),
            "namespace_key": where(namespace if namespace is None else namespace[len(prefix) :]),
            "name": name,
            **_addresses(addresses),
            "forwarding": forwarding.get(namespace, False) if namespace else False,
            "peer": peer,
            "neighbours": [],
        }
        devices.setdefault(namespace, []).append(entry)
        return entry

    bridged: list[tuple[tuple[str | None, str], dict[str, Any]]] = []
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for bridge in lab.bridges:
        entry = device(bridge.namespace, bridge.name, bridge.addresses, f"bridge {bridge.name}")
        # A bridge is a neighbour on its segment only when it has an address of its own.
        ports.setdefault((bridge.namespace, bridge.name), []).extend(
            [entry] * bool(bridge.addresses)
        )
    for veth in lab.veths:
        ends: list[dict[str, Any] | None] = []
        for end, other in ((veth.a, veth.b), (veth.b, veth.a)):
            if end.master is not None:
                ends.append(None)
                continue
            peer = f"bridge {other.master}" if other.master is not None else other.ref
            entry = device(end.namespace, end.name, end.addresses, peer)
            ends.append(entry)
            if other.master is not None:
                bridged.append(((other.namespace, other.master), entry))
        if ends[0] is not None and ends[1] is not None:
            pairs.append((ends[0], ends[1]))
    for m in lab.macvlans:
        device(m.end.namespace, m.end.name, m.end.addresses, f"macvlan on host:{m.parent}")
    for bridge_key, entry in bridged:
        ports.setdefault(bridge_key, []).append(entry)

    def neighbour(of: dict[str, Any], via: dict[str, Any]) -> None:
        via["neighbours"].append({k: v for k, v in of.items() if k not in ("peer", "neighbours")})

    for a, b in pairs:
        neighbour(b, a)
        neighbour(a, b)
    for members in ports.values():
        for entry in members:
            for member in members:
                if member is not entry:
                    neighbour(member, entry)
    for listed in devices.values():
        listed.sort(key=lambda d: d["name"])
    namespaces = {
        ns.name: {
            "name": ns.name,
            "key": ns.name[len(prefix) :],
            "forwarding": ns.forwarding,
            "interfaces": devices.get(ns.name, []),
            "loopback": _addresses(ns.loopback),
            "neighbours": [n for d in devices.get(ns.name, []) for n in d["neighbours"]],
        }
        for ns in lab.namespaces
    }
    scope_lab = {"name": lab.name, "namespaces": list(namespaces.values())}
    return {
        name: {
            "ns": this,
            "lab": scope_lab,
            "others": [ns for ns in namespaces.values() if ns is not this],
        }
        for name, this in namespaces.items()
    }
