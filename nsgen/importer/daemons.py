"""What becomes of the parts of a lab that run programs or put files in a node: its commands
beyond addresses and routes, vtysh lines, bound or copied files, loopback addresses.

This is the one place that maps them. A BIRD started by a command becomes a process (in the
foreground, its control socket in the namespace's private NSGEN_RUN); a file bound under
/etc whose source is beside the topology becomes a file of the namespace. The rest is kept
as a comment in its namespace's table, and counted for the warning: an init script or a
daemon that forks has no foreground form to keep running, an FRR daemon needs paths of its
own in each namespace, and a command run again by `exec` must be safe to repeat.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath

from nsgen.importer.draft import Draft, Kind, Node, Process
from nsgen.validate.files import PART_RE

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
BIRD = frozenset({"bird", "bird6"})
# Words that make a command more than one program with its arguments (&, a pipe, a redirection,
# an expansion): such a command is not a daemon's start line to rewrite.
_SHELL = re.compile(r"[;&|<>`$(){}*?\[\]\\]")


def command(draft: Draft, node: Node, text: str, words: list[str]) -> None:
    """A start-up command that is neither an address, a route, a link setting nor a sysctl."""
    program = words[0] if words else ""
    name = program.rsplit("/", 1)[-1]
    if name in BIRD and _bird(node, name, words):
        return
    if program == "vtysh":
        kind = Kind.VTYSH
    elif program in DAEMONS or name in DAEMONS:
        kind = Kind.DAEMON
    else:
        kind = Kind.COMMAND
    draft.keep(node.comments, kind, text)


def _bird(node: Node, name: str, words: list[str]) -> bool:
    """BIRD as a process of NODE: in the foreground (-f, unless -f or -d says so already),
    its control socket in NSGEN_RUN (the host's /run/bird is every namespace's). False when
    the command is more than BIRD's own options, or names a socket of its own."""
    if any(_SHELL.search(word) for word in words) or "-s" in words:
        return False
    options = words[1:] if {"-f", "-d"} & set(words) else ["-f", *words[1:]]
    socket = "$NSGEN_RUN/bird.ctl"
    taken = {p.name for p in node.processes}
    process, number = name, 1
    while process in taken:
        number += 1
        process = f"{name}-{number}"
    node.processes.append(
        Process(
            process,
            f"exec {shlex.join([words[0], *options])} -s {socket}",
            f"birdc -s {socket} show status",
        )
    )
    return True


def bind(draft: Draft, node: Node, text: str) -> None:
    """A file the source puts into the node (a bind mount, a copy, a startup-config)."""
    draft.keep(node.comments, Kind.BIND, text)


def bind_mount(draft: Draft, node: Node, spec: str) -> None:
    """A containerlab bind, SOURCE:TARGET[:MODE]: a file of the namespace when TARGET is a
    file under /etc and SOURCE a file beside the topology (nsgen reads it from there)."""
    parts = spec.split(":")
    if len(parts) in (2, 3):
        source, target = parts[0], PurePosixPath(parts[1])
        relative = target.relative_to("/etc") if target.is_relative_to("/etc") else None
        beside = not PurePosixPath(source).is_absolute() and ".." not in source.split("/")
        if (
            relative is not None
            and relative.parts
            and all(PART_RE.match(part) for part in relative.parts)
            and str(relative) not in node.files
            and beside
            and (draft.directory / source).is_file()
        ):
            node.files[str(relative)] = source
            return
    bind(draft, node, f"binds: {spec}")


def loopback(draft: Draft, node: Node, text: str) -> None:
    """An address on lo."""
    draft.keep(node.comments, Kind.LOOPBACK, text)
