"""The documentation's pages and their code blocks, as the suite reads them (tests/test_docs.py).

A page is README.md or a Markdown file under docs/. A code block is a ``` fence with a
language; an HTML comment on the line right above the fence says what the suite does with it:

    toml   (none)                    a whole lab: validated and rendered
           <!-- live -->             a whole lab: also up, verify and down as root
           <!-- excerpt: PATH -->    lines of PATH, in order (PATH is validated and run itself)
    sh     (none)                    run as root on a private host (tests/live.py), exit 0
           <!-- not run: REASON -->  shown only, for REASON
    text   <!-- output -->           exactly what the sh block before it prints
    mermaid <!-- nsgen graph examples/NAME.toml -->  that example's current diagram
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

DOCS = ROOT / "docs"
# Written by programs, not by hand: the benchmark (bench/) and the suite (tests/reliability.py)
# print their own commands; the site still builds them, links checked.
MEASURED = {DOCS / "benchmarks.md", DOCS / "benchmarks-multihost.md", DOCS / "reliability.md"}
PAGES = [ROOT / "README.md", *sorted(set(DOCS.rglob("*.md")) - MEASURED)]
LANGUAGES = {"toml", "sh", "text", "yaml", "python", "mermaid", "json"}

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<lang>\S*)\s*$")
_MARKER = re.compile(r"^\s*<!-- (.*) -->$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, from 1
    lang: str
    text: str
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    lines = page.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence), len(lines))
        marker = _MARKER.match(lines[i - 1]) if i else None
        body = "".join(line[indent:] + "\n" for line in lines[i + 1 : end])
        found.append(Block(page, i + 1, opening["lang"], body, marker and marker[1]))
        i = end + 1
    return found


def all_blocks(*langs: str) -> list[Block]:
    return [b for page in PAGES for b in blocks(page) if not langs or b.lang in langs]


def indented_code(page: Path) -> list[int]:
    """Lines that open an indented code block (4 spaces after a blank line, outside fences
    and lists): such a block has no language, so the suite could not tell what it is."""
    lines = page.read_text().splitlines()
    opened: list[int] = []
    inside = False
    for n, line in enumerate(lines):
        if _FENCE.match(line):
            inside = not inside
            continue
        if inside or not line.startswith("    ") or not line.strip():
            continue
        before = lines[n - 1] if n else ""
        paragraph = next((p for p in reversed(lines[:n]) if p.strip()), "")
        in_list = re.match(r"\s*([-*]|\d+\.) ", paragraph) or paragraph.startswith("  ")
        if not before.strip() and not in_list:
            opened.append(n + 1)
    return opened


# -- the format reference, generated from the JSON Schema ---------------------------------

REFERENCE = DOCS / "format.md"
REFERENCE_START = (
    "<!-- generated from `nsgen schema`: python3 -m pytest tests/test_docs.py --update-golden -->"
)
REFERENCE_END = "<!-- end of the generated reference -->"
# What a table of tables calls its keys in the key paths of the reference.
_PLACEHOLDERS = {"hosts": "HOST", "bridges": "BRIDGE", "namespaces": "NS", "interfaces": "IF"}


def reference(schema: dict[str, Any]) -> str:
    """One table per kind of TOML table, each key once, in the words of the model."""
    definitions = schema["definitions"]
    where: dict[str, list[str]] = {}  # definition -> the key paths it appears at
    order: list[str] = []

    def walk(table: dict[str, Any], path: str) -> None:
        for key, node in table["properties"].items():
            ref, at = _table_of(node, f"{path}{key}", key)
            if ref is None:
                continue
            name = ref.rsplit("/", 1)[1]
            if name not in where:
                where[name] = []
                order.append(name)
                where[name].append(at)
                walk(definitions[name], at.strip("[]") + ".")
            else:
                where[name].append(at)

    walk(schema, "")
    sections = [_section("The file", "", schema)]
    for name in order:
        title = ", ".join(f"`{at}`" for at in where[name])
        sections.append(_section(title, where[name][0].strip("[]") + ".", definitions[name]))
    return "\n".join(sections)


def _table_of(node: dict[str, Any], path: str, key: str) -> tuple[str | None, str]:
    """The definition a key holds tables of, and how the reference names where they are."""
    node = node["allOf"][0] if "allOf" in node else node
    if "$ref" in node:
        return node["$ref"], path
    inner = node.get("additionalProperties") or node.get("items")
    if isinstance(inner, dict) and "$ref" in inner:
        if node["type"] == "array":
            return inner["$ref"], f"[[{path}]]"
        return inner["$ref"], f"{path}.{_PLACEHOLDERS.get(key, 'NAME')}"
    return None, path


def _section(title: str, path: str, table: dict[str, Any]) -> str:
    rows = [
        f"| `{key}` | {_type(node)} | {_cell(node['description'])} |"
        for key, node in table["properties"].items()
    ]
    required = table.get("required", [])
    need = f" Required: {', '.join(f'`{k}`' for k in required)}." if required else ""
    return (
        f"### {title}\n\n{_cell(table['description'])}{need}\n\n"
        "| key | type | meaning |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def _type(node: dict[str, Any]) -> str:
    node = node["allOf"][0] if "allOf" in node else node
    if "$ref" in node:
        return "table"
    if "anyOf" in node:
        return " or ".join(_type(n) for n in node["anyOf"])
    if "enum" in node:
        return ", ".join(f'`"{v}"`' for v in node["enum"])
    kind = node["type"]
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"array of {_plural(node['items'])}"
    if kind == "object":
        return f"table of {_plural(node['additionalProperties'])}"
    return str(kind)


def _plural(node: dict[str, Any]) -> str:
    return " or ".join(f"{kind}s" for kind in _type(node).split(" or "))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
