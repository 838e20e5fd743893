"""Schema: the JSON Schema of the topology format, for editors (Taplo / Even Better TOML).

It is generated from the pydantic models in nsgen.model, the same ones the validator uses,
so it can never disagree with them about keys and types. pydantic writes JSON Schema
2020-12; Taplo reads only Draft 4 to 7, so the output is rewritten to Draft 7 here.
The rewrite knows JSON Schema, not nsgen: new keys in the models appear without changes.
The schema checks the shape of a file; names, references and addresses are checked by
`nsgen validate`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from nsgen.model import TopologySpec

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


class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        # "Mtu" above "MTU, 68 to 65535" is noise in an editor's hover; the description says it.
        return False


def schema() -> dict[str, Any]:
    body = draft7(TopologySpec.model_json_schema(schema_generator=_Generator))
    # pydantic titles a schema with its Python class name ("BridgeSpec"): not a user's word.
    body.pop("title", None)
    for definition in body.get("definitions", {}).values():
        definition.pop("title", None)
    return {"$schema": DRAFT_7, "title": TITLE, **body}


def text() -> str:
    return json.dumps(schema(), indent=2) + "\n"


def draft7(node: Any) -> Any:
    """One pydantic (2020-12) schema rewritten as Draft 7, recursively."""
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "prefixItems" in node:  # 2020-12 tuples are Draft 7's array form of `items`
        node["items"] = node.pop("prefixItems")
    if "$defs" in node:
        node["definitions"] = node.pop("$defs")
    node = _without_null(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in KEYWORDS and not key.startswith("x-"):
            continue  # Draft 7 has no such keyword: a reader would ignore or reject it
        if key == "$ref":
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key in ONE:
            out[key] = draft7(value)
        elif key in MAP:
            out[key] = {name: draft7(sub) for name, sub in value.items()}
        elif key in LIST or (key == "items" and isinstance(value, list)):
            out[key] = [draft7(sub) for sub in value]
        elif key == "items":
            out[key] = draft7(value)
        else:
            out[key] = value
    if "$ref" in out and len(out) > 1:
        # Draft 7 ignores every keyword beside $ref, descriptions included: wrap the ref.
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def _without_null(node: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: `x: int | None = None` means "x may be left out", which
    `properties` already says. Drop the null branch and the null default."""
    if node.get("default", 0) is None:
        node.pop("default")
    branches = node.get("anyOf")
    if not isinstance(branches, list):
        return node
    kept = [b for b in branches if b != {"type": "null"}]
    if len(kept) == len(branches):
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    if len(kept) == 1 and isinstance(kept[0], dict):
        return {**kept[0], **rest}
    return {"anyOf": kept, **rest}
