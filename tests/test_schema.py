"""nsgen schema: generated from the models, Draft 7 for Taplo, and checked by the real tools.

Regenerate golden/nsgen.schema.json on purpose with
`pytest tests/test_schema.py --update-golden`, then read the diff.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest

from nsgen import schema, shape
from nsgen.model import TopologySpec
from tests import golden
from tests.conftest import EXAMPLES, ROOT, tool
from tests.test_cli import run_cli

GOLDEN = ROOT / "golden" / "nsgen.schema.json"
TOPOLOGIES = sorted(EXAMPLES.glob("*.toml"))
FIXTURES = sorted((ROOT / "tests" / "errors").glob("*.toml"))


def nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema object inside `node` (property names are not schemas; their values are)."""
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key in schema.MAP:
                for sub in value.values():
                    yield from nodes(sub)
            elif key in schema.ONE or key in schema.LIST or key == "items":
                yield from nodes(value)
    elif isinstance(node, list):
        for sub in node:
            yield from nodes(sub)


def shape_is_valid(path: Path) -> bool | None:
    """What the validator's first pass (nsgen.shape) says; None: not TOML at all."""
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, RecursionError):  # deep-nesting.toml: too deep to parse
        return None
    return not shape.read(TopologySpec, data)[1]


def test_schema_matches_golden(update_golden: bool) -> None:
    golden.check(schema.text(), GOLDEN, update_golden)


def test_cli_prints_the_schema() -> None:
    assert run_cli(["schema"]) == (0, GOLDEN.read_text(), "")


def test_schema_is_draft_7_and_only_draft_7() -> None:
    document = schema.schema()
    jsonschema.Draft7Validator.check_schema(document)
    assert document["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$defs" not in json.dumps(document)
    for node in nodes(document):
        assert set(node) <= schema.KEYWORDS, f"not Draft 7: {set(node) - schema.KEYWORDS}"
        assert node.get("type") != "null", "TOML has no null"
        if "$ref" in node:
            # Draft 7 ignores a $ref's siblings, descriptions included.
            assert set(node) == {"$ref"}
            name = node["$ref"].removeprefix("#/definitions/")
            assert name in document["definitions"]


def test_every_key_has_a_description() -> None:
    for node in nodes(schema.schema()):
        for key, sub in node.get("properties", {}).items():
            assert sub.get("description"), f"key {key!r} has no description"


def models(model: type) -> Iterator[type]:
    """`model` and every table type its fields hold, however nested (lists, dicts, unions)."""
    yield model
    for field in shape.fields(model):
        pending: list[Any] = [field.hint]
        while pending:
            kind = pending.pop()
            if dataclasses.is_dataclass(kind) and isinstance(kind, type):
                yield from models(kind)
            pending += get_args(kind)


def test_schema_has_every_field_of_every_model() -> None:
    # Generic on purpose: a key added to nsgen.model appears here with no other change.
    document = schema.schema()
    for model in set(models(TopologySpec)):
        table = document if model is TopologySpec else document["definitions"][model.__name__]
        properties = table["properties"]
        assert list(properties) == [f.name for f in shape.fields(model)]
        for field in shape.fields(model):
            assert properties[field.name]["description"] == field.doc
        assert table["additionalProperties"] is False, "unknown keys are errors"


# -- the real tools -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "nsgen.schema.json"
    path.write_text(schema.text())
    return path


def taplo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("taplo"), "check", *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=[p.stem for p in TOPOLOGIES])
def test_taplo_accepts_every_example(topology: Path, schema_file: Path) -> None:
    result = taplo("--schema", schema_file.as_uri(), str(topology), cwd=schema_file.parent)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("topology", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_taplo_agrees_with_the_validators_shape_pass(topology: Path, schema_file: Path) -> None:
    # Files with bad keys or types fail in Taplo too; files whose errors need the whole lab
    # (names, references, addresses) pass the schema, as they pass the shape pass.
    result = taplo("--schema", schema_file.as_uri(), str(topology), cwd=schema_file.parent)
    assert (result.returncode == 0) == bool(shape_is_valid(topology)), result.stderr


def test_taplo_finds_the_schema_by_the_directive(schema_file: Path) -> None:
    for source, expected in (
        (EXAMPLES / "star.toml", 0),
        (ROOT / "tests" / "errors" / "types.toml", 1),
    ):
        lab = schema_file.parent / source.name
        lab.write_text("#:schema ./nsgen.schema.json\n" + source.read_text())
        elsewhere = ROOT  # the path in the directive is relative to the TOML file
        result = taplo(str(lab), cwd=elsewhere)
        assert result.returncode == expected, result.stderr
        assert "failed to load schema" not in result.stderr


def test_taplo_reports_the_wrong_key_with_its_line(schema_file: Path) -> None:
    result = taplo(
        "--schema",
        schema_file.as_uri(),
        str(ROOT / "tests" / "errors" / "unknown-key.toml"),
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "'adress' was unexpected" in result.stderr
    assert "unknown-key.toml:2:1" in result.stderr


# A file that is not TOML gives a JSON Schema validator nothing to read.
TOML_FILES = [p for p in TOPOLOGIES + FIXTURES if shape_is_valid(p) is not None]


@pytest.mark.parametrize("topology", TOML_FILES, ids=[p.stem for p in TOML_FILES])
def test_jsonschema_agrees_with_the_validators_shape_pass(topology: Path) -> None:
    valid = shape_is_valid(topology)
    validator = jsonschema.Draft7Validator(schema.schema())
    errors = list(validator.iter_errors(tomllib.loads(topology.read_text())))
    assert (not errors) == valid, [e.message for e in errors]
