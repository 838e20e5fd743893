"""Schema: the JSON Schema of the topology format, for editors (Taplo / Even Better TOML).

It is generated from the dataclasses in nsgen.model, the same declarations nsgen.shape
reads files with, so it can never disagree with the validator about keys and types: a key
added to the model appears here with no other change. Taplo reads only Draft 4 to 7, so
this writes Draft 7 (`definitions`, no `$ref` siblings). The schema checks the shape of a
file; names, references and addresses are checked by `nsgen validate`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from typing import Annotated, Any, Literal, get_args, get_origin

from nsgen import shape
from nsgen.model import OneOrMany, TopologySpec

DRAFT_7 = "http://json-schema.org/draft-07/schema#"
TITLE = "nsgen topology"

KEYWORDS = frozenset(
    {
        "$schema", "$id", "$ref", "$comment", "title", "description", "default", "readOnly",
        "writeOnly", "examples", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
        "exclusiveMinimum", "maxLength", "minLength", "pattern", "additionalItems", "items",
        "maxItems", "minItems", "uniqueItems", "contains", "maxProperties", "minProperties",
        "required", "additionalProperties", "definitions", "properties", "patternProperties",
        "dependencies", "propertyNames", "const", "enum", "type", "format", "contentMediaType",
        "contentEncoding", "if", "then", "else", "allOf", "anyOf", "oneOf", "not",
    }
)  # fmt: skip
# Where Draft 7 keeps subschemas: one schema, a map of schemas, or a list of schemas.
ONE = frozenset(
    {"additionalItems", "contains", "additionalProperties", "propertyNames", "if", "then"}
    | {"else", "not"}
)
MAP = frozenset({"definitions", "properties", "patternProperties", "dependencies"})
LIST = frozenset({"allOf", "anyOf", "oneOf"})

_SCALARS = {str: "string", int: "integer", bool: "boolean"}


def schema() -> dict[str, Any]:
    definitions: dict[str, Any] = {}
    root = _table(TopologySpec, definitions)
    return {
        "$schema": DRAFT_7,
        "title": TITLE,
        **root,
        "definitions": dict(sorted(definitions.items())),
    }


def text() -> str:
    return json.dumps(schema(), indent=2) + "\n"


def _table(cls: type, definitions: dict[str, Any]) -> dict[str, Any]:
    properties = {f.name: _described(_node(f.hint, definitions), f.doc) for f in shape.fields(cls)}
    required = [f.name for f in shape.fields(cls) if f.required]
    table: dict[str, Any] = {
        "type": "object",
        "description": inspect.cleandoc(cls.__doc__ or ""),
        "properties": properties,
        "additionalProperties": False,  # unknown keys are errors
    }
    if required:
        table["required"] = required
    return table


def _described(node: dict[str, Any], doc: str) -> dict[str, Any]:
    if "$ref" in node:
        # Draft 7 ignores every keyword beside $ref, descriptions included: wrap the ref.
        return {"allOf": [node], "description": doc}
    return {**node, "description": doc}


def _node(hint: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(hint)
    if origin is Annotated:
        base, *extras = get_args(hint)
        node = _node(base, definitions)
        if OneOrMany in extras:
            return {"anyOf": [node["items"], node]}
        return node
    if origin in (types.UnionType, typing.Union):
        # `X | None` only says the key is optional, which `properties` already says.
        kinds = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(kinds) == 1:
            return _node(kinds[0], definitions)
        if any(dataclasses.is_dataclass(k) for k in kinds):
            return {"anyOf": [_node(k, definitions) for k in kinds]}
        return {"type": [_SCALARS[k] for k in kinds]}
    if origin is Literal:
        return {"type": "string", "enum": list(get_args(hint))}
    if origin is list:
        return {"type": "array", "items": _node(get_args(hint)[0], definitions)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _node(get_args(hint)[1], definitions)}
    if dataclasses.is_dataclass(hint):
        cls = typing.cast(type, hint)
        if cls.__name__ not in definitions:
            definitions[cls.__name__] = {}  # placed first: a table may hold itself
            definitions[cls.__name__] = _table(cls, definitions)
        return {"$ref": f"#/definitions/{cls.__name__}"}
    return {"type": _SCALARS[hint]}
