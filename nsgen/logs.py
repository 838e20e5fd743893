"""`nsgen logs FILE NS [NAME] [-f]`: the output of a namespace's processes, as the script
writes it to the lab's state (templates/runtime/processes.sh); nothing here starts or stops
anything."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO

from nsgen import pipeline
from nsgen.errors import NsgenError, UsageError
from nsgen.execute import lab_namespace

POLL_SECONDS = 0.2


def log_files(topology: Path, written: str, name: str | None, prefix: str = "") -> list[Path]:
    """The logs asked for, in the order the script starts their processes."""
    lab = pipeline.compile_plan(topology, prefix).lab
    namespace = lab_namespace(lab, written, prefix)
    if namespace is None:
        raise UsageError("the host runs no processes of the lab: name a namespace")
    names = [p.name for p in lab.processes if p.namespace == namespace]
    if name is not None:
        if name not in names:
            declared = ", ".join(names) or "none"
            raise UsageError(f"namespace {written} declares no process '{name}'; its: {declared}")
        names = [name]
    if not names:
        raise UsageError(f"namespace {written} declares no processes")
    paths = [Path(lab.log(namespace, n)) for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if len(missing) == len(paths):
        raise NsgenError(f"no log at {', '.join(missing)}: is lab {lab.name} up on this host?")
    return paths


def show(paths: list[Path], follow: bool, out: IO[bytes] | None = None) -> None:
    """Print each log (its lines prefixed by its process name when there are several), then
    with `follow` what is appended to them, until interrupted."""
    sink = out if out is not None else sys.stdout.buffer
    tag = len(paths) > 1
    offsets = {p: 0 for p in paths}
    partial = {p: b"" for p in paths}
    while True:
        for path in paths:
            try:
                with path.open("rb") as handle:
                    handle.seek(offsets[path])
                    data = handle.read()
            except FileNotFoundError:
                continue
            offsets[path] += len(data)
            lines = (partial[path] + data).split(b"\n")
            partial[path] = lines.pop()
            prefix = f"{path.stem} | ".encode() if tag else b""
            sink.write(b"".join(prefix + line + b"\n" for line in lines))
        if not follow:
            for path, rest in partial.items():
                if rest:
                    sink.write((f"{path.stem} | ".encode() if tag else b"") + rest + b"\n")
            sink.flush()
            return
        sink.flush()
        time.sleep(POLL_SECONDS)
