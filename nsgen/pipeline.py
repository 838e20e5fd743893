"""The pipeline in one place: load -> validate -> plan -> render."""

from __future__ import annotations

import hashlib
from pathlib import Path

from nsgen import load, plan, render, validate
from nsgen.errors import UsageError
from nsgen.lab import Lab


def compile_lab(path: Path, prefix: str = "") -> Lab:
    return validate.validate(load.load(path), prefix=prefix)


def compile_plan(path: Path, prefix: str = "", host: str | None = None) -> plan.Plan:
    lab = compile_lab(path, prefix)
    machine = pick_machine(lab, host, path)
    return plan.build(lab) if machine is None else plan.build_for(lab, machine)


def pick_machine(lab: Lab, host: str | None, path: Path) -> str | None:
    """The [hosts] entry whose script is wanted: `host`, or the lab's only one."""
    names = [m.name for m in lab.machines]
    if host is None:
        if len(names) > 1:
            raise UsageError(
                f"{path.name} spans hosts {', '.join(names)}: give --host NAME for one "
                "host's script, or use nsgen ansible"
            )
        return names[0] if names else None
    if not names:
        raise UsageError(f"--host {host}: {path.name} declares no [hosts]")
    if host not in names:
        raise UsageError(f"--host {host}: {path.name} declares hosts {', '.join(names)}")
    return host


def render_file(path: Path, prefix: str = "", host: str | None = None) -> str:
    return render.render(compile_plan(path, prefix, host), prefix=prefix)


def render_hosts(path: Path, prefix: str = "") -> tuple[Lab, dict[str, str]]:
    """Every host's script of a lab that declares [hosts], by host name."""
    lab = compile_lab(path, prefix)
    if not lab.machines:
        raise UsageError(f"{path.name} declares no [hosts]; nsgen render prints its one script")
    scripts = {
        m.name: render.render(plan.build_for(lab, m.name), prefix=prefix) for m in lab.machines
    }
    return lab, scripts


def render_lab_name(name: str) -> str:
    """The script of a lab that declares nothing, under NAME: its `down` removes all that
    the lab's record lists (`nsgen down --lab`), its `labs` lists every lab. The name is
    validated as a file's `name` is."""
    source = load.Source(Path(f"--lab {name}"), {"name": name}, hashlib.sha256(b"").hexdigest())
    # With the daemon modules: they stop the processes and remove the files that the
    # record lists, whatever the lab declared.
    return render.render(plan.build(validate.validate(source)), daemons=True)
