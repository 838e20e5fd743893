"""The command line: parse arguments, call the library, map NsgenError to an exit code.

Nothing else happens here; every verb is a few lines over nsgen.pipeline.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nsgen.errors import NsgenError, TopologyError, printable

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Compile a TOML network-namespace lab into one idempotent POSIX shell script.\n\n"
    "Exit codes: 0 ok, 1 topology or runtime error, 2 usage, 3 lab incomplete (status), "
    "4 verify failed.",
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
        f"{printable(file.name)}: ok (lab {lab.name}: {len(lab.namespaces)} namespaces, "
        f"{len(lab.bridges)} bridges, {len(lab.veths)} veth pairs, {len(plan.ops)} operations)"
    )


def report(error: NsgenError) -> int:
    lines = error.lines() if isinstance(error, TopologyError) else [str(error)]
    if isinstance(error, TopologyError) and len(lines) > 1:
        print(printable(f"nsgen: {error}"), file=sys.stderr)
    for line in lines:
        text = line if isinstance(error, TopologyError) else f"nsgen: {line}"
        print(printable(text), file=sys.stderr)
    return error.exit_code


def main() -> None:
    try:
        app()
    except NsgenError as error:
        sys.exit(report(error))
