"""The command line: parse arguments, call the library, map NsgenError to an exit code.

Nothing else happens here; every verb is a few lines over nsgen.pipeline or nsgen.execute.
"""

# No `from __future__ import annotations`: Typer reads every command's annotations on each run,
# and as strings each is an eval, twice per command (13 of the 22 ms before a command starts).
import gc
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nsgen.errors import (
    NsgenError,
    RunnerError,
    StaleScriptError,
    UsageError,
    messages,
    printable,
)
from nsgen.shapes import Template

if TYPE_CHECKING:
    from nsgen.execute import Action, Request

# The same in the script and in nsgen: `nsgen ACTION` exits with the script's status.
EXIT_CODES = (
    "Exit codes: 0 ok, 1 topology or runtime error (or not root), 2 usage, "
    "3 lab incomplete (status) or not up (verify), 4 verify failed."
)

app = typer.Typer(
    # --install-completion and --show-completion cost nothing measurable at start-up: `import
    # typer` loads the completion machinery anyway (docs/benchmarks.md has --help's time).
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help and errors: rich formatting alone would double the start-up time.
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Compile a TOML network-namespace lab into one idempotent POSIX shell script, "
    "and run it (up, down, status, verify).\n\n" + EXIT_CODES,
)


def show_version(value: bool) -> None:
    if value:
        from nsgen import __version__

        print(f"nsgen {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print nsgen's version."
        ),
    ] = False,
) -> None:
    # Options of nsgen itself, before the command; the help text is the app's.
    pass


TopologyFile = Annotated[
    Path, typer.Argument(help="Topology file (TOML).", show_default=False, metavar="FILE")
]
Prefix = Annotated[
    str,
    typer.Option(
        "--prefix",
        help="Prepend this to every name the host sees (namespaces, host devices, lab name), "
        "to run a copy of a lab beside others.",
    ),
]


Host = Annotated[
    str | None,
    typer.Option(
        "--host",
        metavar="NAME",
        help="In a lab across hosts ([hosts]): the script of this host.",
    ),
]


@app.command()
def render(
    file: TopologyFile,
    prefix: Prefix = "",
    host: Host = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the script here, not stdout.")
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option(
            "--check",
            metavar="SCRIPT",
            help="Write nothing; exit 0 if SCRIPT is exactly what FILE renders to now, else 1 "
            "with a unified diff on stderr (for pre-commit and CI).",
        ),
    ] = None,
) -> None:
    """Print the lab's setup script (actions: up, down, status, verify)."""
    from nsgen.pipeline import render_file

    if check is not None:
        if output is not None:
            raise UsageError("--check compares, --output writes: give one of them")
        from nsgen.stale import check as check_script

        check_script(file, check, prefix, host)
        return
    script = render_file(file, prefix, host)
    if output is None:
        sys.stdout.write(script)
    else:
        output.write_text(script, encoding="utf-8")
        output.chmod(0o755)


@app.command()
def ansible(
    file: TopologyFile,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="DIR", help="Write HOST.sh, inventory.ini, playbook.yml here."
        ),
    ],
    prefix: Prefix = "",
) -> None:
    """For a lab across hosts: every host's script, an inventory and a playbook.

    Run it with: ansible-playbook -i DIR/inventory.ini DIR/playbook.yml -e action=up
    (also down, status, verify).
    """
    from nsgen.playbook import write

    lab = write(file, output, prefix)
    names = ", ".join(f"{m.name}.sh" for m in lab.machines)
    print(f"{printable(str(output))}: {names}, inventory.ini, playbook.yml")


@app.command()
def validate(file: TopologyFile, prefix: Prefix = "") -> None:
    """Check a topology file and report every error; changes nothing."""
    from nsgen.pipeline import compile_lab, compile_plan

    lab = compile_lab(file, prefix)
    if lab.machines:
        print(
            f"{printable(file.name)}: ok (lab {lab.name} across {len(lab.machines)} hosts: "
            f"{len(lab.namespaces)} namespaces, {len(lab.bridges)} bridges, "
            f"{len(lab.veths)} veth pairs, {len(lab.vxlans)} tunnel ends)"
        )
        return
    plan = compile_plan(file, prefix)
    print(
        f"{printable(file.name)}: ok (lab {lab.name}: {len(lab.namespaces)} namespaces, "
        f"{len(lab.bridges)} bridges, {len(lab.veths)} veth pairs, {len(plan.ops)} operations)"
    )


DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        "-n",
        help="With up or down: print the ip commands it would run now; change nothing.",
    ),
]
Script = Annotated[
    Path | None,
    typer.Option(
        "--script",
        metavar="SCRIPT",
        help="Run this rendered script instead of rendering FILE; refused unless it was "
        "rendered from FILE as it is now.",
    ),
]
Ssh = Annotated[
    str | None,
    typer.Option(
        "--ssh",
        metavar="[USER@]HOST",
        help="Run it on HOST: `ssh HOST sudo sh -s ACTION`, the script on stdin "
        "(HOST needs only sh and iproute2).",
    ),
]
Sudo = Annotated[
    bool | None,
    typer.Option(
        "--sudo/--no-sudo",
        help="With --ssh: prefix sudo on HOST (default) or not (log in as root).",
        show_default=False,
    ),
]


def add_action(action: "Action", summary: str) -> None:
    """`nsgen ACTION FILE`: run the script's ACTION; the four differ only in the action."""

    def command(
        file: TopologyFile,
        dry_run: DryRun = False,
        prefix: Prefix = "",
        script: Script = None,
        ssh: Ssh = None,
        sudo: Sudo = None,
    ) -> None:
        from nsgen.execute import Request

        run_action(Request(action, file, prefix, dry_run, script, ssh, sudo))

    command.__doc__ = summary
    app.command(name=action, epilog=EXIT_CODES)(command)


def run_action(request: "Request") -> None:
    from nsgen.execute import run

    # The script's own exit status, passed through: it has already said what happened.
    raise typer.Exit(run(request))


add_action(
    "up",
    "Create what is missing, repair drift, remove what the lab no longer declares: the "
    "script's `up` (safe to re-run).",
)
add_action(
    "status",
    "List each declared object as ok, missing, down, drifted or foreign (exit 3 unless all ok).",
)


@app.command(epilog=EXIT_CODES)
def verify(
    file: TopologyFile,
    prefix: Prefix = "",
    script: Script = None,
    ssh: Ssh = None,
    sudo: Sudo = None,
    wait: Annotated[
        str | None,
        typer.Option(
            "--wait",
            metavar="DURATION",
            help='Retry each check for up to DURATION ("60s", "2m") unless it declares '
            "its own wait.",
        ),
    ] = None,
) -> None:
    """Ping every declared address and gateway, then run the declared checks (exit 4 if any
    fails, 3 if the lab is not up)."""
    from nsgen.execute import Request

    run_action(Request("verify", file, prefix, False, script, ssh, sudo, wait=wait))


@app.command(epilog=EXIT_CODES)
def down(
    file: Annotated[
        Path | None,
        typer.Argument(help="Topology file (TOML).", show_default=False, metavar="[FILE]"),
    ] = None,
    lab: Annotated[
        str | None,
        typer.Option(
            "--lab",
            metavar="NAME",
            help="Instead of FILE: remove lab NAME as its record on the host lists it "
            "(see nsgen labs), for a lab whose file is gone or renamed.",
        ),
    ] = None,
    dry_run: DryRun = False,
    prefix: Prefix = "",
    script: Script = None,
    ssh: Ssh = None,
    sudo: Sudo = None,
) -> None:
    """Remove everything the lab applied, in any version; returns once the kernel has removed it."""
    from nsgen.execute import Request, run

    request = Request(
        "down", file, prefix=prefix, dry_run=dry_run, script=script, ssh=ssh, sudo=sudo, lab=lab
    )
    raise typer.Exit(run(request))


@app.command(epilog=EXIT_CODES)
def labs(ssh: Ssh = None, sudo: Sudo = None) -> None:
    """List every lab with state on this host: name, namespaces, host devices, when it was
    last changed by up, and the source file with its sha256 (from the lab's record)."""
    from nsgen.execute import Request, run

    raise typer.Exit(run(Request("labs", None, ssh=ssh, sudo=sudo)))


def report(error: NsgenError) -> int:
    for line in messages(error):
        print(line, file=sys.stderr)
    if isinstance(error, StaleScriptError):
        sys.stderr.write(error.diff)
    return error.exit_code


def main() -> None:
    # A command builds its lab's objects once and exits; none of them is cyclic garbage, yet
    # the collector's passes over them were 30 ms of a 1000-namespace render. Put back after,
    # for callers in a long-lived process (the fuzz tests).
    collecting = gc.isenabled()
    gc.disable()
    try:
        # The name shell completion and usage lines go by, also when run as `python -m nsgen`.
        app(prog_name="nsgen")
    except NsgenError as error:
        sys.exit(report(error))
    finally:
        if collecting:
            gc.enable()


# ---------------------------------------------------------------------------------------------
# Review verbs: what a pull request shows besides the script (issue 6).


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


@app.command()
def graph(
    file: TopologyFile,
    prefix: Prefix = "",
    fmt: Annotated[
        GraphFormat,
        typer.Option(
            "--format",
            help="mermaid renders inline on GitHub (pull requests, READMEs); dot is for Graphviz.",
        ),
    ] = GraphFormat.mermaid,
) -> None:
    """Print a diagram of the lab: namespaces, bridges, veth links, addresses; a lab across
    hosts with each host as a cluster and its tunnels."""
    from nsgen.graph import draw, draw_lab
    from nsgen.pipeline import compile_lab, compile_plan

    lab = compile_lab(file, prefix)
    if lab.spans_hosts:
        sys.stdout.write(draw_lab(lab, None, fmt.value))
    else:
        sys.stdout.write(draw(compile_plan(file, prefix), fmt.value))


@app.command()
def show(
    file: TopologyFile,
    prefix: Prefix = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for tools.")] = False,
) -> None:
    """Print the lab as nsgen resolved it: final names, derived MACs, mark, state directory."""
    from nsgen.pipeline import compile_lab
    from nsgen.show import to_json, to_text

    lab = compile_lab(file, prefix)
    sys.stdout.write(to_json(lab) if as_json else to_text(lab))


@app.command()
def schema() -> None:
    """Print the JSON Schema (Draft 7) of the topology format, for editors (Taplo)."""
    from nsgen.schema import text

    sys.stdout.write(text())


@app.command()
def new(
    template: Annotated[
        Template,
        typer.Argument(
            help="Shape: pair, star, line, ring or tree.", metavar="TEMPLATE", show_default=False
        ),
    ],
    hosts: Annotated[
        int | None,
        typer.Option(help="star: hosts on the bridge (4); line, ring: routers, each with a host."),
    ] = None,
    depth: Annotated[int | None, typer.Option(help="tree: levels of routers (2).")] = None,
    fanout: Annotated[int | None, typer.Option(help="tree: children of each router (2).")] = None,
    subnet: Annotated[
        str | None,
        typer.Option(
            help="Addresses come from this network (IPv4 or IPv6); routed shapes carve one "
            "4-address subnet per link from it. Default: 10.0.0.0/24, or 10.0.0.0/16 when "
            "that is too small."
        ),
    ] = None,
) -> None:
    """Print a topology file for a usual shape: nsgen new star --hosts 8 > lab.toml"""
    from nsgen.scaffold import Options, scaffold

    sys.stdout.write(scaffold(template, Options(hosts, depth, fanout, subnet)))


class SourceFormat(StrEnum):
    containerlab = "containerlab"
    tinet = "tinet"


@app.command(name="import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help="A containerlab topology (*.clab.yml) or a tinet spec (spec.yaml).",
            show_default=False,
            metavar="FILE",
        ),
    ],
    source_format: Annotated[
        SourceFormat | None,
        typer.Option("--from", help="What FILE is; default: recognised by its shape."),
    ] = None,
) -> None:
    """Print a nsgen topology file made from a containerlab or tinet lab: nsgen import
    lab.clab.yml > lab.toml. What nsgen cannot make stays in it as comments, one warning
    line per kind on stderr."""
    from nsgen.importer import import_file

    imported = import_file(file, None if source_format is None else source_format.value)
    sys.stdout.write(imported.text)
    for line in imported.warnings:
        print(line, file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Commands inside a lab (issue 13).


@app.command()
def logs(
    file: TopologyFile,
    namespace: Annotated[
        str,
        typer.Argument(
            help="Namespace as the file names it (without --prefix).",
            metavar="NS",
            show_default=False,
        ),
    ],
    name: Annotated[
        str | None,
        typer.Argument(help="One process; default: all of NS.", show_default=False),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing what they write.")
    ] = False,
    prefix: Prefix = "",
) -> None:
    """Print the output of a namespace's processes (from the lab's state on this host)."""
    from nsgen.logs import log_files, show

    paths = log_files(file, namespace, name, prefix)
    try:
        show(paths, follow)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@app.command(
    name="exec",
    epilog="Exit status: the command's (128+N when killed by signal N). Refused before it "
    "starts: 1 not root or the namespace is not up, 2 usage (a namespace the file does not "
    "declare), 127 command not found.",
)
def exec_(
    file: TopologyFile,
    namespace: Annotated[
        str,
        typer.Argument(
            help="Namespace as the file names it (without --prefix), or host.",
            metavar="NS",
            show_default=False,
        ),
    ],
    command: Annotated[
        list[str] | None,
        typer.Argument(
            help="The command and its arguments, after -- when they start with -.",
            metavar="-- CMD...",
            show_default=False,
        ),
    ] = None,
    prefix: Prefix = "",
) -> None:
    """Run a command inside a lab namespace (ip netns exec) and exit with its status.

    It gets NSGEN_LAB, NSGEN_NS and NSGEN_RUN as the lab's processes do; '$NSGEN_RUN' (quoted)
    in its words is replaced too."""
    from nsgen.execute import ExecRequest, exec_argv

    entry = exec_argv(ExecRequest(file, namespace, tuple(command or ()), prefix))
    argv = entry.argv
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        # Replaced, not waited for: the command gets the terminal, the signals and the exit
        # status as if the user had typed `ip netns exec` by hand.
        os.execvpe(argv[0], argv, {**os.environ, **entry.environment})
    except OSError as exc:
        raise RunnerError(f"cannot run {argv[0]}: {exc.strerror}") from None


@app.command(
    epilog="Exit status: tcpdump's (0 when stopped by Ctrl-C). Refused before it starts: 1 "
    "not root, the lab not up or no tcpdump, 2 usage (a point the lab does not have).",
)
def capture(
    file: TopologyFile,
    point: Annotated[
        str | None,
        typer.Argument(
            help="NS:IF (either end of a link; host:DEVICE for an end in the host) or a "
            "bridge's name; --list names them all.",
            metavar="NS:IF",
            show_default=False,
        ),
    ] = None,
    bpf: Annotated[
        list[str] | None,
        typer.Argument(
            help="A tcpdump filter (BPF), after --: -- icmp or arp.",
            metavar="-- FILTER...",
            show_default=False,
        ),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option("--write", "-w", metavar="PCAP", help="Write the pcap here, not stdout."),
    ] = None,
    list_points: Annotated[
        bool,
        typer.Option("--list", help="Print every capture point with its namespace and device."),
    ] = False,
    prefix: Prefix = "",
) -> None:
    """Capture a lab device's packets with tcpdump, as pcap on stdout (pipe it: | wireshark
    -k -i -) or in a file (-w)."""
    from nsgen.capture import Request, request_argv, table

    if list_points:
        if point is not None:
            raise UsageError("--list prints every point: give FILE alone")
        from nsgen.pipeline import compile_lab

        sys.stdout.write(table(compile_lab(file, prefix), prefix))
        return
    if point is None:
        raise UsageError("give the point to capture on (NS:IF or a bridge); --list names them")
    if write is None and sys.stdout.isatty():
        raise UsageError("pcap is binary: give -w FILE, or pipe it (| wireshark -k -i -)")
    argv = request_argv(Request(file, point, tuple(bpf or ()), prefix))
    if write is not None:
        try:
            out = os.open(write, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise RunnerError(f"cannot write {printable(str(write))}: {exc.strerror}") from None
        # tcpdump writes to its standard output: the file opened here, as the user who ran
        # nsgen, not a file tcpdump opens after dropping its privileges.
        os.dup2(out, sys.stdout.fileno())
        os.close(out)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        raise RunnerError(f"cannot run {argv[0]}: {exc.strerror}") from None
