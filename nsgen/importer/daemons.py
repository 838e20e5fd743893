"""What becomes of the parts of a lab that run programs or put files in a node: its commands
beyond addresses and routes, vtysh lines, bound or copied files, loopback addresses.

nsgen has no keys for processes, files, commands or loopback addresses yet, so each is kept
as a comment in its namespace's table, and counted for the warning. When those keys exist,
this module is the one place that maps them.
"""

from __future__ import annotations

from nsgen.importer.draft import Draft, Kind, Node

# A command whose program is one of these starts or configures a daemon.
DAEMONS = frozenset(
    {
        "/usr/lib/frr/frr",
        "/usr/lib/frr/frrinit.sh",
        "/usr/lib/frr/watchfrr",
        "frr",
        "zebra",
        "bgpd",
        "ospfd",
        "ospf6d",
        "isisd",
        "bird",
        "bird6",
        "birdc",
        "gobgpd",
        "gobgp",
        "exabgp",
        "keepalived",
        "haproxy",
        "nginx",
        "dnsmasq",
        "coredns",
        "sshd",
        "service",
        "systemctl",
        "supervisord",
    }
)


def command(draft: Draft, node: Node, text: str, words: list[str]) -> None:
    """A start-up command that is neither an address, a route, a link setting nor a sysctl."""
    program = words[0] if words else ""
    if program == "vtysh":
        kind = Kind.VTYSH
    elif program in DAEMONS or program.rsplit("/", 1)[-1] in DAEMONS:
        kind = Kind.DAEMON
    else:
        kind = Kind.COMMAND
    draft.keep(node.comments, kind, text)


def bind(draft: Draft, node: Node, text: str) -> None:
    """A file the source puts into the node (a bind mount, a copy, a startup-config)."""
    draft.keep(node.comments, Kind.BIND, text)


def loopback(draft: Draft, node: Node, text: str) -> None:
    """An address on lo."""
    draft.keep(node.comments, Kind.LOOPBACK, text)
