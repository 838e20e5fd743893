"""Fuzzing the loader and validator: whatever the file holds, `nsgen validate` and
`nsgen render` either succeed (exit 0) or exit 1 with every error naming its key path; never
a traceback, never another exit code, never a hang.

Examples run through `nsgen.cli.main` in this process (tests/fuzzing.py); the very large
inputs run in a subprocess each, under a timeout. Budgets: see `examples()` in conftest.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, examples
from tests.fuzzing import HANG_SECONDS, Nested, dumps, error_problems, parses, run_main, write
from tests.reliability import Recorder

EXAMPLE_TEXTS = [p.read_text() for p in sorted(EXAMPLES.glob("*.toml"))]
SCHEMA_KEYS = ["name", "bridges", "namespaces", "host", "namespace", "address", "mtu"]
SCHEMA_KEYS += ["forwarding", "routes", "interfaces", "bridge", "peer", "outer", "mac", "to"]
SCHEMA_KEYS += ["via", "br0", "h1", "eth0", "lan1", "r1", "ns1", "veth1", "default", "lo"]
PLAUSIBLE = ["10.0.0.1/24", "10.0.0.0/24", "fd00::1/64", "fe80::1/64", "default", "10.0.0.1"]
PLAUSIBLE += ["h1:eth0", "host:eth0", "h1", "br0", "02:00:00:00:00:01", "01:00:00:00:00:01"]
PLAUSIBLE += ["", " ", "-", "lo", "host", "x" * 16, "x" * 65, "if1", "123", "a;b", "$(id)"]
HUGE = [0, -1, 67, 68, 1279, 1280, 65535, 65536, 2**31, 2**63 - 1, -(2**63), 10**30]

# Text without lone surrogates (a file cannot hold them), otherwise anything.
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=24)
KEYS = st.one_of(st.sampled_from(SCHEMA_KEYS), TEXT)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from(HUGE),
    st.floats(),
    TEXT,
    st.sampled_from(PLAUSIBLE),
    st.datetimes(),
    st.dates(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=24,
)


class Tally:
    """How the examples ended: the figure for docs/reliability.md."""

    def __init__(self) -> None:
        self.accepted = 0
        self.rejected = 0

    @property
    def total(self) -> int:
        return self.accepted + self.rejected

    def figure(self) -> str:
        # How many were accepted depends on hypothesis's version, which CI does not pin: it
        # is printed (pytest -s), not recorded, so the document stays the same on any host.
        print(f"{self.accepted:,} of {self.total:,} accepted, {self.rejected:,} refused")
        return (
            f"{self.total:,} examples, each through `validate` and `render`: exit 0, or exit 1 "
            "with every error naming its key path; 0 tracebacks, 0 other exit codes, 0 hangs"
        )


def check(directory: Path, text: str | bytes, tally: Tally) -> None:
    """The property, for one file."""
    topology = write(directory, text)
    data = parses(text) if isinstance(text, str) else None
    validated = run_main(["validate", str(topology)])
    rendered = run_main(["render", str(topology)])
    for action, (code, out, err) in (("validate", validated), ("render", rendered)):
        assert code in (0, 1), f"{action} exited {code}: {err}"
        if code == 0:
            assert err == "", f"{action}: {err}"
        else:
            assert out == "", f"{action} printed on failure: {out[:200]!r}"
            assert error_problems("lab.toml", err, data) == [], err
    assert validated[0] == rendered[0], "validate and render disagree"
    if validated[0] == 0:
        assert rendered[1].startswith("#!/bin/sh\n")
        tally.accepted += 1
    else:
        assert validated[2] == rendered[2], "validate and render report differently"
        tally.rejected += 1


def test_arbitrary_documents(tmp_path: Path, figures: Recorder) -> None:
    tally = Tally()

    @hypothesis_settings(max_examples=examples(800))
    @given(st.dictionaries(KEYS, VALUES, max_size=6))
    def fuzz(document: dict[str, Any]) -> None:
        check(tmp_path, dumps(document), tally)

    fuzz()
    assert tally.total >= examples(800)
    figures.record("fuzz.documents", tally.figure())


def paths(node: object, here: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every place in a document, in document order (deterministic)."""
    out = [here] if here else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, (*here, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += paths(value, (*here, index))
    return out


def holder(data: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    return node


MUTATIONS = ["retype", "delete", "unknown", "huge", "unicode", "empty", "deep", "copies"]


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, Any]:
    """An example with one to four mutations, each at a place drawn from the document."""
    data = tomllib.loads(draw(st.sampled_from(EXAMPLE_TEXTS)))
    for _ in range(draw(st.integers(1, 4))):
        places = paths(data)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, key = holder(data, path), path[-1]
        kind = draw(st.sampled_from(MUTATIONS))
        if kind == "retype":
            parent[key] = draw(SCALARS | st.lists(SCALARS, max_size=3) | st.just({}))
        elif kind == "delete":
            del parent[key]
        elif kind == "unknown" and isinstance(parent, dict):
            parent[draw(KEYS)] = draw(VALUES)
        elif kind == "huge":
            parent[key] = draw(st.sampled_from([*HUGE, "x" * 100_000, "1" * 5000, 1e308]))
        elif kind == "unicode":
            parent[key] = draw(st.text(st.characters(blacklist_categories=["Cs"]), min_size=1))
        elif kind == "empty":
            parent[key] = draw(st.sampled_from(["", [], {}, [""], {"": ""}]))
        elif kind == "deep":
            # The parser reads about 450 levels; beyond that the loader must still answer.
            depth = draw(st.sampled_from([10, 100, 400, 600]))
            arrays = draw(st.lists(st.booleans(), min_size=depth, max_size=depth))
            parent[key] = Nested(parent[key], tuple(arrays))
        elif kind == "copies" and isinstance(data.get("namespaces"), dict) and data["namespaces"]:
            namespaces = data["namespaces"]
            first = next(iter(namespaces.values()))
            for i in range(draw(st.sampled_from([50, 300]))):
                namespaces[f"c{i}"] = copy.deepcopy(first)
    return data


def test_mutated_examples(tmp_path: Path, figures: Recorder) -> None:
    tally = Tally()

    @hypothesis_settings(max_examples=examples(1000))
    @given(mutated_examples())
    def fuzz(document: dict[str, Any]) -> None:
        check(tmp_path, dumps(document), tally)

    fuzz()
    assert tally.total >= examples(1000)
    figures.record("fuzz.mutations", tally.figure())


@st.composite
def edited_texts(draw: st.DrawFn) -> str | bytes:
    """An example's text with random insertions, deletions and duplications, or bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    text = draw(st.sampled_from(EXAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "duplicate"]))
        if edit == "insert":
            text = (
                text[:at]
                + draw(TEXT | st.sampled_from(["[", "]", '"', "=", "\n", "."]))
                + text[at:]
            )
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        else:
            line = text[:at].rsplit("\n", 1)[-1]
            text = text[:at] + "\n" + line + text[at:]
    return text


def test_edited_text_and_bytes(tmp_path: Path, figures: Recorder) -> None:
    tally = Tally()

    @hypothesis_settings(max_examples=examples(300))
    @given(edited_texts())
    def fuzz(text: str | bytes) -> None:
        check(tmp_path, text, tally)

    fuzz()
    assert tally.total >= examples(300)
    figures.record("fuzz.text", tally.figure())


def large_inputs() -> dict[str, str | bytes]:
    many = ["[bridges.lan]", 'namespace = "sw"', "[namespaces.sw]"]
    for i in range(1, 10_001):
        many += [
            f"[namespaces.n{i}.interfaces.eth0]",
            'bridge = "lan"',
            f'address = "10.{i >> 8}.{i & 255}.1/8"',
        ]
    return {
        "10000-namespaces": "\n".join(many) + "\n",
        "1mb-name": f'name = "{"x" * 1_000_000}"\n',
        "deep-arrays": "name = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "deep-tables": "name = " + "{a=" * 100_000 + "1" + "}" * 100_000 + "\n",
        "deep-headers": "[" + ".".join(["a"] * 30_000) + "]\n",
        "20000-unknown-keys": "".join(f"k{i} = {i}\n" for i in range(20_000)),
        "5mb-garbage": bytes(range(256)) * 20_480,
    }


def test_very_large_inputs(tmp_path: Path, figures: Recorder) -> None:
    """Each in a subprocess, as a user would meet it, under a timeout that only a hang hits."""
    inputs = large_inputs()
    failures = []
    for name, text in inputs.items():
        topology = write(tmp_path, text)
        data = parses(text) if isinstance(text, str) else None
        for action in ("validate", "render"):
            result = subprocess.run(
                [sys.executable, "-m", "nsgen", action, str(topology)],
                capture_output=True,
                text=True,
                timeout=HANG_SECONDS * 4,
            )
            problems = (
                [] if result.returncode == 0 else error_problems("lab.toml", result.stderr, data)
            )
            if result.returncode not in (0, 1) or "Traceback" in result.stderr or problems:
                failures.append(f"{name} {action}: exit {result.returncode} {problems}")
                failures.append(result.stderr[-2000:])
    assert failures == [], "\n".join(failures)
    figures.record(
        "fuzz.large",
        f"{len(inputs)} of {len(inputs)} answered by `validate` and `render` with exit 0 or 1, "
        "every error naming its key path, no traceback, within the timeout",
    )
