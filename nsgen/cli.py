"""The command line: parse arguments, call the library, map NsgenError to an exit code.

Nothing else happens here; every verb is a few lines over nsgen.pipeline or nsgen.execute.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nsgen.errors import NsgenError, TopologyError

if TYPE_CHECKING:
    from nsgen.execute import Action

# The same in the script and in nsgen: `nsgen ACTION` exits with the script's status.
EXIT_CODES = (
    "Exit codes: 0 ok, 1 topology or runtime error (or not root), 2 usage, "
    "3 lab incomplete (status), 4 verify failed."
)

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Compile a TOML network-namespace lab into one idempotent POSIX shell script, "
    "and run it (up, down, status, verify).\n\n" + EXIT_CODES,
)

TopologyFile = Annotated[
    Path, typer.Argument(help="Topology file (TOML).", show_default=False, dir_okay=True)
]
Prefix = Annotated[
    str,
    typer.Option(
        "--prefix",
        help="Prepend this to every name the host sees (namespaces, host devices, lab name), "
        "to run a copy of a lab beside others.",
    ),
]


@app.command()
def render(
    file: TopologyFile,
    prefix: Prefix = "",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the script here, not stdout.")
    ] = None,
) -> None:
    """Print the lab's setup script (actions: up, down, status, verify)."""
    from nsgen.pipeline import render_file

    script = render_file(file, prefix)
    if output is None:
        sys.stdout.write(script)
    else:
        output.write_text(script, encoding="utf-8")
        output.chmod(0o755)


@app.command()
def validate(file: TopologyFile, prefix: Prefix = "") -> None:
    """Check a topology file and report every error; changes nothing."""
    from nsgen.pipeline import compile_plan

    plan = compile_plan(file, prefix)
    lab = plan.lab
    print(
        f"{file.name}: ok (lab {lab.name}: {len(lab.namespaces)} namespaces, "
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


def add_action(action: Action, summary: str) -> None:
    """`nsgen ACTION FILE`: run the script's ACTION; the four differ only in the action."""

    def command(
        file: TopologyFile,
        dry_run: DryRun = False,
        prefix: Prefix = "",
        script: Script = None,
        ssh: Ssh = None,
        sudo: Sudo = None,
    ) -> None:
        from nsgen.execute import Request, run

        request = Request(
            action, file, prefix=prefix, dry_run=dry_run, script=script, ssh=ssh, sudo=sudo
        )
        # The script's own exit status, passed through: it has already said what happened.
        raise typer.Exit(run(request))

    command.__doc__ = summary
    app.command(name=action, epilog=EXIT_CODES)(command)


add_action("up", "Create what is missing and repair drift: the script's `up` (safe to re-run).")
add_action("down", "Remove exactly what the lab created; returns once the kernel has removed it.")
add_action(
    "status",
    "List each declared object as ok, missing, down, drifted or foreign (exit 3 unless all ok).",
)
add_action("verify", "Ping every declared address and gateway (exit 4 if any fails).")


def report(error: NsgenError) -> int:
    lines = error.lines() if isinstance(error, TopologyError) else [str(error)]
    if isinstance(error, TopologyError) and len(lines) > 1:
        print(f"nsgen: {error}", file=sys.stderr)
    for line in lines:
        print(line if isinstance(error, TopologyError) else f"nsgen: {line}", file=sys.stderr)
    return error.exit_code


def main() -> None:
    try:
        app()
    except NsgenError as error:
        sys.exit(report(error))
