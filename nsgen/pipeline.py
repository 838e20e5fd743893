"""The pipeline in one place: load -> validate -> plan -> render."""

from __future__ import annotations

from pathlib import Path

from nsgen import load, plan, render, validate


def compile_plan(path: Path, prefix: str = "") -> plan.Plan:
    source = load.load(path)
    lab = validate.validate(source, prefix=prefix)
    return plan.build(lab)


def render_file(path: Path, prefix: str = "") -> str:
    return render.render(compile_plan(path, prefix), prefix=prefix)
