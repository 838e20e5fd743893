"""`nsgen import`: a containerlab topology or a tinet spec as a nsgen topology file.

It sits before the pipeline, as nsgen.scaffold does: its output is an ordinary topology
file, read back like a hand-written one. One module per source format fills a Draft
(nsgen.importer.draft); nsgen.importer.commands maps the nodes' start-up commands to keys;
nsgen.importer.daemons keeps what nsgen cannot make yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from nsgen.errors import Issue, TopologyError
from nsgen.importer import containerlab, tinet
from nsgen.importer.document import Document, load_yaml

FORMATS = {"containerlab": containerlab, "tinet": tinet}
SHAPES = {
    "containerlab": "a containerlab topology (a mapping with a 'topology' mapping)",
    "tinet": "a tinet spec (a mapping with a 'nodes' list)",
}


class Imported(NamedTuple):
    text: str  # the topology file
    warnings: list[str]  # one line per kind of thing kept as a comment


def import_file(path: Path, source_format: str | None = None) -> Imported:
    """PATH read as SOURCE_FORMAT (by its shape when None) and written as nsgen TOML."""
    data = load_yaml(path)
    doc = Document(path.name, path.resolve().parent)
    if source_format is None:
        found = [name for name, module in FORMATS.items() if module.recognise(data)]
        if len(found) != 1:
            shapes = " nor ".join(SHAPES.values())
            raise _unknown(path, f"neither {shapes}; say which with --from")
        source_format = found[0]
    elif not FORMATS[source_format].recognise(data):
        raise _unknown(path, f"not {SHAPES[source_format]}")
    draft = FORMATS[source_format].build(data, doc, _stem(path))
    draft.settle()
    return Imported(draft.write(), draft.warnings())


def _unknown(path: Path, message: str) -> TopologyError:
    return TopologyError(path.name, [Issue("", message)])


def _stem(path: Path) -> str:
    """The lab's name when the file does not say: `lab.clab.yml` -> lab; a tinet `spec.yaml`
    is named by its directory, as tinet's examples are."""
    name = path.name.split(".")[0]
    if name == "spec" and path.resolve().parent.name:
        return path.resolve().parent.name
    return name
