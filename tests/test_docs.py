"""Docs that cannot rot: the site builds in strict mode, and every TOML and shell example in
README.md and docs/ runs (tests/docs.py says how each kind of block is read).

A new page under docs/ is read by these tests as soon as it exists; the site build fails
until mkdocs.yml's nav lists it. Regenerate the format reference with
`python3 -m pytest tests/test_docs.py --update-golden`.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from nsgen import pipeline, schema
from nsgen.errors import NsgenError
from tests import docs
from tests.conftest import ROOT, live_skip, live_skip_reason, sandbox_skip, tool
from tests.live import new_prefix, run_private_host

TOML = docs.all_blocks("toml")
SHELL = docs.all_blocks("sh")
IDS = [str(p.relative_to(ROOT)) for p in docs.PAGES]


def ids(blocks: list[docs.Block]) -> list[str]:
    return [b.id for b in blocks]


# -- the site --------------------------------------------------------------------------------


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    # --strict: a broken link, a missing anchor or a page left out of the nav fails.
    result = subprocess.run(
        [tool("mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "format" / "index.html").is_file()


def test_readme_links_resolve() -> None:
    # GitHub shows README.md, not the site: its relative links must name files that exist.
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(((?!https?:|#)[^)#]+)(?:#[^)]*)?\)", text)
    assert targets, "README.md links into the site"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == []


def test_readme_fits_a_newcomers_first_five_minutes() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def test_the_format_reference_is_generated_from_the_schema(update_golden: bool) -> None:
    text = docs.REFERENCE.read_text()
    start = text.index(docs.REFERENCE_START) + len(docs.REFERENCE_START) + 1
    end = text.index(docs.REFERENCE_END)
    current = "\n" + docs.reference(schema.schema()) + "\n"
    if update_golden:
        docs.REFERENCE.write_text(text[:start] + current + text[end:])
        return
    assert text[start:end] == current, "docs/format.md is stale: run --update-golden"


def test_the_reference_names_every_key_once() -> None:
    text = docs.REFERENCE.read_text()
    headings = re.findall(r"^### (.*)$", text, re.M)
    assert len(headings) == len(set(headings))
    for section in text.split("\n### ")[1:]:
        keys = re.findall(r"^\| `([^`]+)` \|", section, re.M)
        assert len(keys) == len(set(keys)), section.splitlines()[0]


# -- every block is something the suite knows how to run ----------------------------------


@pytest.mark.parametrize("page", docs.PAGES, ids=IDS)
def test_every_code_block_says_its_language(page: Path) -> None:
    assert docs.indented_code(page) == [], "indented code blocks: use a fence with a language"
    for block in docs.blocks(page):
        assert block.lang in docs.LANGUAGES, f"{block.id}: ```{block.lang}"
        if block.marker == "output":
            assert block.lang == "text", block.id


def test_the_extractor_finds_the_examples() -> None:
    # The collection cannot pass by finding nothing: README shows a lab and the commands.
    readme = ROOT / "README.md"
    assert any(b.page == readme for b in TOML) and any(b.page == readme for b in SHELL)
    assert any(b.marker == "live" for b in TOML)


# -- TOML -------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", TOML, ids=ids(TOML))
def test_toml_example(block: docs.Block, tmp_path: Path) -> None:
    data = tomllib.loads(block.text)
    marker = block.marker or ""
    if marker.startswith("excerpt: "):
        source = ROOT / marker.removeprefix("excerpt: ")
        # The page may explain a line with a comment of its own.
        lines = iter(uncommented(source.read_text()))
        for line in filter(None, uncommented(block.text)):
            assert line in lines, f"{block.id}: {line!r} is not in {source.name} (in order)"
        return
    assert marker in ("", "live"), f"{block.id}: unknown marker {marker!r}"
    topology = tmp_path / "lab.toml"
    topology.write_text(block.text)
    try:
        script = pipeline.render_file(topology)
    except NsgenError as error:
        pytest.fail(f"{block.id}: {error}")
    assert script.startswith("#!/bin/sh"), data
    if marker == "live":
        sandbox_skip()
        prefix = new_prefix()
        nsgen = shlex.join([sys.executable, "-m", "nsgen"])
        steps = [f"{nsgen} {action} {topology} --prefix {prefix}" for action in LIFECYCLE]
        body = f"cd {shlex.quote(str(ROOT))}\n" + "".join(
            f"{step} || {{ echo {shlex.quote(step)} failed; exit 1; }}\n" for step in steps
        )
        result = run_private_host(body + "ls -A /run/netns /run/nsgen\n", tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.endswith("/run/netns:\n\n/run/nsgen:\n"), result.stdout


LIFECYCLE = ["up", "verify", "up", "status", "down"]


def uncommented(text: str) -> list[str]:
    return [line.split(" #", 1)[0].rstrip() for line in text.splitlines()]


# -- shell ------------------------------------------------------------------------------------

NOT_RUN = "not run: "


@pytest.mark.parametrize("block", SHELL, ids=ids(SHELL))
def test_shell_example(block: docs.Block, tmp_path: Path) -> None:
    marker = block.marker or ""
    if marker.startswith(NOT_RUN):
        assert marker.removeprefix(NOT_RUN).strip(), f"{block.id}: say why it is not run"
        return
    assert marker == "", f"{block.id}: unknown marker {marker!r}"
    live_skip(live_skip_reason())
    sandbox_skip()
    result = run_private_host(workspace(tmp_path) + "set -e\n" + block.text, tmp_path)
    assert result.returncode == 0, f"{block.id}\n{result.stdout}{result.stderr}"
    expected = output_after(block)
    if expected is not None:
        assert result.stdout == expected


def workspace(tmp_path: Path) -> str:
    """Shell lines that make a newcomer's checkout in TMP_PATH: the examples and scripts, an
    `nsgen` on PATH and in .venv/bin (README's command 1), and `sudo` (the tests are root)."""
    work = tmp_path / "checkout"
    work.mkdir()
    for directory in ("examples", "golden"):
        subprocess.run(["cp", "-r", str(ROOT / directory), str(work / directory)], check=True)
    shims = tmp_path / "bin"
    shims.mkdir()
    nsgen = f'#!/bin/sh\nPYTHONPATH={shlex.quote(str(ROOT))} exec {sys.executable} -m nsgen "$@"\n'
    for path in (shims / "nsgen", work / ".venv" / "bin" / "nsgen"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nsgen)
        path.chmod(0o755)
    (shims / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (shims / "sudo").chmod(0o755)
    return f'cd {shlex.quote(str(work))}\nPATH={shlex.quote(str(shims))}:"$PATH"\n'


def output_after(block: docs.Block) -> str | None:
    """The text block marked as this block's output, if the next block is one."""
    following = [b for b in docs.blocks(block.page) if b.line > block.line]
    if following and following[0].marker == "output":
        return following[0].text
    return None
