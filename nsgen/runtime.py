"""The script's runtime, assembled from the modules its lab needs.

templates/runtime/ holds the runtime as modules named after what they do. A module is a
NAME.sh (shell functions, and steps it adds to up, down, status or verify with
`hook POINT FUNCTION`), a NAME.awk (a part of the decision program that `decide` runs), or
both. MODULES lists every module once, in the order the script carries them, each with the
predicate over the plan that says when a lab needs it; `assemble` writes the shell parts of
the needed modules in that order, then every awk part in that order as the one program
`DECIDE`, then the line that runs the action. Nothing else decides what a script carries.

An awk module hooks into the decision program by defining functions named after a point of
AWK_HOOKS and itself (`up_tap`, `extra_tunnel`...): the program calls `hook_up(r, f)` and the
like, which `assemble` writes as calls to the functions the carried modules define. A hook
looks at the row's kind (f[1]) and answers 0 (or "") for rows that are not its own.

A lab that stops declaring a kind of object must still remove what its record says that
kind applied. Devices, addresses, routes, qdiscs and sysctls are rows of the record, which
prune.awk (carried by every script) removes. NAT, names, processes and files, and the
neighbour-table raise keep their removal in a module of its own, a remover, carried only with
its kind: `up` keeps a copy of each remover it carries beside the lab's record, the way a
package manager keeps a package's removal script beside its files, and a script that does not
carry that kind (a later version of the lab, `down --lab`) runs the kept copy.

Adding a kind of object: its files under templates/runtime/ and one line in MODULES.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from nsgen import __version__
from nsgen.plan import (
    AddBridge,
    AddMacvlan,
    AddRoute,
    AddTap,
    AddVxlan,
    EnableForwarding,
    Plan,
    RunExec,
    SetQdisc,
    SetSysctl,
    StartProcess,
    WriteFile,
)

# Under this many neighbour entries (the kernel's default gc_thresh1, below which it never even
# collects the table) a lab cannot fill the host's table: it carries no warning about it.
NEIGHBOURS_QUIET = 128


def _always(plan: Plan) -> bool:
    return True


def runs_daemons(plan: Plan) -> bool:
    """Whether the lab declares files, processes or exec: then its script carries their
    tables and the helpers they share."""
    return bool(plan.of(WriteFile) or plan.of(StartProcess) or plan.of(RunExec))


def _many_neighbours(plan: Plan) -> bool:
    return plan.neighbour_table() is not None or max(plan.neighbour_entries().values()) > (
        NEIGHBOURS_QUIET
    )


class Module(NamedTuple):
    name: str
    needed: Callable[[Plan], bool]
    # A remover: written into the script as a here-document that `remover` keeps and sources.
    remover: bool = False
    # Its awk part is a program its shell part runs on its own input, not a part of the
    # decision program: the script holds it in NAME_AWK, before the shell part.
    program: bool = False


# The runtime, in the order of the script. Shell modules define functions (run by the last
# line, `"$ACTION"`), so only the order of their `hook` lines matters: steps run in it.
MODULES: tuple[Module, ...] = (
    Module("state", _always),  # usage, checks, temporary files, records' paths, hooks, lock
    Module("observe", _always),  # the reads of the host and the namespaces
    Module("json", _always),  # the listings of `ip -j`
    Module("decide", _always),  # reading the plan and the reads; the namespaces to read
    Module("prune", _always),  # what the record has and the plan no longer declares
    Module("qdisc-prune", _always),  # qdiscs nsgen made: read, batched, removed
    Module("apply", _always),  # up: decisions into batches, the batches run
    # The processes in namespaces about to be deleted, stopped (up's removals, down).
    Module("stop", _always, program=True),
    Module("down", _always),
    Module("status", _always),
    Module("labs", _always, program=True),
    # Checks other than pings, run by verify. Defined before it, or shellcheck takes the fields of
    # a check, which each verify worker reads in its subshell, as lost on the way to them.
    Module("check-tcp", lambda plan: any(c.port is not None for c in plan.checks)),
    Module("check-command", lambda plan: any(c.command is not None for c in plan.checks)),
    Module("verify", _always),
    # Kinds of object. Their removal is in prune (and down), carried by every script: a later
    # version of a lab must remove what an earlier one made.
    Module("bridge", lambda plan: bool(plan.of(AddBridge))),
    Module("macvlan", lambda plan: bool(plan.of(AddMacvlan))),
    Module("route", lambda plan: bool(plan.of(AddRoute))),
    Module("forwarding", lambda plan: bool(plan.of(EnableForwarding))),
    Module("sysctl", lambda plan: bool(plan.of(SetSysctl))),
    Module("names", lambda plan: plan.lab.names),
    Module("names-prune", lambda plan: plan.lab.names, remover=True),
    Module("nat", lambda plan: bool(plan.lab.nat)),
    Module("nat-prune", lambda plan: bool(plan.lab.nat), remover=True),
    # Before the modules of files, processes and exec: its up step stops and removes what the
    # record has and the lab no longer declares before anything new starts; it does all of down.
    Module("daemons-prune", runs_daemons, remover=True),
    Module("daemons", runs_daemons),  # what files, processes and exec share
    Module("files", lambda plan: bool(plan.of(WriteFile))),
    Module("processes", lambda plan: bool(plan.of(StartProcess))),
    Module("exec", lambda plan: bool(plan.of(RunExec))),
    Module("qdisc", lambda plan: bool(plan.of(SetQdisc))),
    Module("tap", lambda plan: bool(plan.of(AddTap))),
    Module("tunnel", lambda plan: bool(plan.of(AddVxlan))),
    # [host] neighbour_table: raised, and put back.
    Module("neighbour-table", lambda plan: plan.neighbour_table() is not None, remover=True),
    Module("neighbours", _many_neighbours),
    Module("backlog", lambda plan: bool(plan.of(AddBridge))),
    Module("firewall", lambda plan: bool(plan.of(AddBridge))),
)

# The points of the decision program where awk modules hook in: the arguments, and how the
# answers of several modules combine ("+": counts, " ": strings).
AWK_HOOKS: dict[str, tuple[str, str]] = {
    "reads": ("f, seen", "+"),  # namespaces to look into for row f (want(NS, seen))
    "going": ("f, devgoing", "+"),  # devices an extra row f removes
    "needs": ("f, out", "+"),  # namespaces to read in full to remove extra row f
    "extra": ("f, act", " "),  # what extra row f is (and with act, its removal)
    "prune": ("", "+"),  # removals after the devices' and before the namespaces'
    "up": ("r, f", "+"),  # 1 when row r (fields f) was decided
    "up_end": ("", "+"),  # files written after the batches
    "status": ("r, f", "+"),  # 1 when row r's state s and description what are set
    "down": ("f, d", "+"),  # the host devices of row f to delete, in d: their count
}

RUNTIME = Path(__file__).with_name("templates") / "runtime"
if not RUNTIME.is_dir():
    RUNTIME = Path(__file__).parent.parent / "templates" / "runtime"


@functools.cache
def part(name: str, suffix: str) -> str:
    """A module's file of one kind ("" when it has none)."""
    path = RUNTIME / f"{name}.{suffix}"
    return path.read_text("utf-8") if path.is_file() else ""


@functools.cache
def defined(name: str) -> frozenset[str]:
    """The functions a module's awk part defines."""
    return frozenset(re.findall(r"^function (\w+)\(", part(name, "awk"), re.MULTILINE))


def hooks(awk_modules: list[str]) -> str:
    """The decision program's hook functions, calling those the carried modules define."""
    out = ""
    for point, (args, join) in AWK_HOOKS.items():
        functions = [f"{point}_{name.replace('-', '_')}" for name in awk_modules]
        calls = [
            f"{function}({args})"
            for function, name in zip(functions, awk_modules, strict=True)
            if function in defined(name)
        ]
        body = (" + " if join == "+" else " ").join(calls) or ('""' if join == " " else "0")
        out += f"function hook_{point}({args}) {{ return {body} }}\n"
    return out


# Ends a remover's here-document: a line no module has.
END_OF_REMOVER = "NSGEN_REMOVER"


def _awk_variable(variable: str, program: str, what: str) -> str:
    """An awk program as the script holds it: in single quotes, in a shell variable."""
    assert "'" not in program, f"{what} has a single quote"
    return (
        "# shellcheck disable=SC2016 # an awk program: its $ fields are awk's, not the shell's\n"
        f"{variable}='\n{program}'\n"
    )


def _program(module: Module) -> str:
    variable = module.name.upper().replace("-", "_") + "_AWK"
    awk = _awk_variable(variable, part(module.name, "awk"), f"{module.name}.awk")
    return f"# ---- {module.name}.awk\n{awk}"


def _shell(module: Module) -> str:
    text = part(module.name, "sh")
    if module.program:
        return f"{_program(module)}# ---- {module.name}.sh\n{text}\n"
    if not module.remover:
        return f"# ---- {module.name}.sh\n{text}\n"
    assert f"\n{END_OF_REMOVER}\n" not in text, f"{module.name} has the line {END_OF_REMOVER}"
    return (
        f"# ---- {module.name}.sh\n"
        f"remover {module.name} <<'{END_OF_REMOVER}'\n{text}{END_OF_REMOVER}\n\n"
    )


class Runtime(NamedTuple):
    modules: list[str]
    text: str


def assemble(plan: Plan) -> Runtime:
    """The runtime of plan's script: a line naming nsgen's version and the modules, a line with
    the digest of the rest, then the modules' text."""
    needed = [m for m in MODULES if m.needed(plan)]
    names = [m.name for m in needed]
    shell = "".join(_shell(m) for m in needed if part(m.name, "sh"))
    awk_modules = [m.name for m in needed if part(m.name, "awk") and not m.program]
    program = "".join(f"# ---- {name}.awk\n{part(name, 'awk')}" for name in awk_modules)
    program += "# ---- the hooks of the modules above\n" + hooks(awk_modules)
    body = (
        f"{shell}# ---- The decision program (decide): the awk modules, one program.\n"
        f"{_awk_variable('DECIDE', program, 'an awk module')}\n"
        '"$ACTION"\n'
    )
    digest = hashlib.sha256(body.encode()).hexdigest()
    head = (
        f"# ==== nsgen {__version__} runtime, modules: {' '.join(names)}\n"
        f"# ==== sha256 {digest} of the lines below (alike in every script of these modules)\n"
    )
    return Runtime(names, head + body)
