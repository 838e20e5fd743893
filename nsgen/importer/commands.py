"""The shared translator from a node's start-up commands (containerlab's `exec:`, tinet's
`cmds`) to nsgen keys: `ip address add`, `ip link set`, `ip route add|replace` and `sysctl`.

A command is mapped only when every word of it is understood; anything else goes to
nsgen.importer.daemons, the one place that decides what becomes of the commands nsgen does
not make itself.
"""

from __future__ import annotations

import shlex

from nsgen.importer import daemons
from nsgen.importer.draft import Draft, Kind, Node, parse_address, parse_destination
from nsgen.validate.context import MAC_RE
from nsgen.validate.sysctls import ALWAYS, FORWARDING_KEYS, KEY_RE, VALUE_RE

IP_OBJECTS = {
    "address": ("a", "ad", "add", "addr", "addre", "addres", "address"),
    "link": ("l", "li", "lin", "link"),
    "route": ("r", "ro", "rou", "rout", "route"),
}
ADDING = ("add", "a", "replace", "change", "append")  # `ip route` verbs that leave one route
FAMILY_OPTIONS = ("-4", "-6")
LOOPBACK = "lo"


def translate(draft: Draft, node: Node, command: str) -> None:
    """Map COMMAND, run in NODE at start-up, to NODE's keys, or keep it as a comment."""
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        words = []
    if words and _mapped(draft, node, words, command):
        return
    daemons.command(draft, node, command, words)


def _mapped(draft: Draft, node: Node, words: list[str], command: str) -> bool:
    """Whether WORDS were understood (and mapped, or knowingly dropped)."""
    if words[0] == "sysctl":
        return _sysctl(draft, node, words[1:], command)
    if words[0] != "ip":
        return False
    rest = [w for w in words[1:] if w not in FAMILY_OPTIONS]
    if len(rest) < 2:
        return False
    obj, verb, args = rest[0], rest[1], rest[2:]
    if obj in IP_OBJECTS["address"] and verb in ("add", "a"):
        return _address(draft, node, args, command)
    if obj in IP_OBJECTS["link"] and verb in ("set", "s"):
        return _link(draft, node, args, command)
    if obj in IP_OBJECTS["route"] and verb in ADDING:
        return _route(draft, node, args, command)
    return False


def _address(draft: Draft, node: Node, args: list[str], command: str) -> bool:
    options = _options(args, ("dev",), positional="local")
    if options is None or set(options) != {"dev", "local"}:
        return False
    address = parse_address(options["local"])
    if address is None:
        return False
    if options["dev"] == LOOPBACK:
        daemons.loopback(draft, node, command)
        return True
    iface = draft.existing_interface(node, options["dev"])
    if iface is None:
        draft.keep(
            node.comments, Kind.REFUSED, f"{command} (no link in this lab ends at that device)"
        )
        return True
    iface.addresses.append(str(address))
    return True


def _link(draft: Draft, node: Node, args: list[str], command: str) -> bool:
    if args[:1] == ["dev"]:
        args = args[1:]
    if not args:
        return False
    device, settings = args[0], args[1:]
    pairs: list[tuple[str, str]] = []
    while settings:
        word = settings.pop(0)
        if word == "up":
            continue  # nsgen sets every device of the lab up
        if word not in ("mtu", "address") or not settings:
            return False
        pairs.append((word, settings.pop(0)))
    if device == LOOPBACK and not pairs:
        return True  # nsgen sets lo up in every namespace
    iface = draft.existing_interface(node, device)
    if iface is None:
        if pairs:
            draft.keep(
                node.comments, Kind.REFUSED, f"{command} (no link in this lab ends at that device)"
            )
        return True
    for name, value in pairs:
        if name == "mtu" and value.isdigit() and 68 <= int(value) <= 65535:
            iface.mtu = int(value)
        elif name == "address" and MAC_RE.match(value) and not int(value[:2], 16) & 1:
            iface.mac = value.lower()
        else:
            draft.keep(iface.comments, Kind.REFUSED, command)
    return True


def _route(draft: Draft, node: Node, args: list[str], command: str) -> bool:
    options = _options(args, ("via", "dev"), positional="to")
    if options is None or "to" not in options or "via" not in options:
        return False
    to = parse_destination(options["to"])
    via = parse_address(options["via"])
    if to is None or via is None or via.network.prefixlen != via.max_prefixlen:
        draft.keep(node.comments, Kind.REFUSED, command)
        return True
    node.routes.append((to, str(via.ip)))
    return True


def _sysctl(draft: Draft, node: Node, args: list[str], command: str) -> bool:
    settings = [a for a in args if a not in ("-w", "-q", "--write", "--quiet")]
    if not settings or any("=" not in s or s.startswith("-") for s in settings):
        return False
    for setting in settings:
        key, _, value = (part.strip() for part in setting.partition("="))
        set_key(draft, node, key.replace("/", "."), value, command)
    return True


def set_key(draft: Draft, node: Node, key: str, value: str, written: str) -> None:
    """A sysctl set in NODE: forwarding as `forwarding`, other net. keys as `sysctls`."""
    if key in FORWARDING_KEYS and value == "1":
        node.forwarding = True
        node.sysctls = {k: v for k, v in node.sysctls.items() if k not in FORWARDING_KEYS}
        return
    if not key.startswith("net."):
        draft.keep(node.comments, Kind.SETTING, f"{written} (host-wide, not a namespace's)")
        return
    parts = key.split(".")
    device = parts[3] if len(parts) >= 5 and parts[2] in ("conf", "neigh") else None
    known = device is None or device in ALWAYS or device in node.interfaces
    if not (KEY_RE.match(key) and VALUE_RE.match(value) and known) or (
        node.forwarding and key in FORWARDING_KEYS
    ):
        draft.keep(node.comments, Kind.REFUSED, written)
        return
    node.sysctls[key] = int(value) if value.isdigit() else value


def _options(args: list[str], names: tuple[str, ...], positional: str) -> dict[str, str] | None:
    """`NAME VALUE` pairs and one positional word; None at anything else."""
    found: dict[str, str] = {}
    words = list(args)
    while words:
        word = words.pop(0)
        if word in names:
            if not words or word in found:
                return None
            found[word] = words.pop(0)
        elif positional not in found and not word.startswith("-"):
            found[positional] = word
        else:
            return None
    return found
