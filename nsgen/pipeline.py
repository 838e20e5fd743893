"""The pipeline in one place: load -> validate -> plan -> render."""

from __future__ import annotations

import hashlib
from pathlib import Path

from nsgen import load, plan, render, validate


def compile_plan(path: Path, prefix: str = "") -> plan.Plan:
    source = load.load(path)
    lab = validate.validate(source, prefix=prefix)
    return plan.build(lab)


def render_file(path: Path, prefix: str = "") -> str:
    return render.render(compile_plan(path, prefix), prefix=prefix)


def render_lab_name(name: str) -> str:
    """The script of a lab that declares nothing, under NAME: its `down` removes all that
    the lab's record lists (`nsgen down --lab`), its `labs` lists every lab. The name is
    validated as a file's `name` is."""
    source = load.Source(Path(f"--lab {name}"), {"name": name}, hashlib.sha256(b"").hexdigest())
    return render.render(plan.build(validate.validate(source)))
