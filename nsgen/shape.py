"""Shape: read a parsed TOML document into the dataclasses of nsgen.model, strictly.

The format needs only strings, integers, booleans, arrays, tables of named entries and
nested tables, so a small converter driven by the dataclasses' type hints does all of it.
It replaced pydantic, whose import alone took longer than rendering a 1000-namespace lab.
Every problem is collected with its key path, and whatever is well formed is kept (an
interface with a bad MTU still exists), so the whole-lab checks can run on the rest and
report more in the same pass.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple, TypeVar, get_args, get_origin

from nsgen.errors import Issue
from nsgen.model import OneOrMany

T = TypeVar("T")
Loc = tuple[int | str, ...]

# A sentinel for "nothing usable here": the issue explaining why is already recorded.
_INVALID: Any = object()
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


class Issues(list[Issue]):
    """The problems found while reading, and the array items left out for them."""

    def __init__(self) -> None:
        super().__init__()
        # Key paths of array items that were unusable and left out: the later items keep
        # their place in messages only if the whole-lab checks know which ones are missing.
        self.dropped: set[str] = set()


def read(cls: type[T], data: object) -> tuple[T, Issues]:
    """`data` as an instance of the dataclass `cls` (whose fields must all be optional at the
    top), and every problem found on the way."""
    issues = Issues()
    value = _convert(cls, data, (), issues)
    if value is _INVALID:
        value = cls()
    return typing.cast(T, value), issues


def key_path(loc: Sequence[int | str]) -> str:
    """A location as the user would write it in TOML: namespaces.h1.routes[0].via."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = _key(part)
            out += f".{text}" if out else text
    return out


# Every path of a large lab repeats the same few keys ("namespaces", "interfaces", ...).
@functools.lru_cache(maxsize=4096)
def _key(part: str) -> str:
    return part if BARE_KEY.match(part) else _quoted(part)


def _quoted(key: str) -> str:
    import json  # rare: only keys that need quoting; json also escapes newlines

    return json.dumps(key)


class Field(NamedTuple):
    name: str  # the key in TOML
    attr: str  # the dataclass attribute: differs where the key is a Python keyword ("from")
    hint: Any
    required: bool
    doc: str


@functools.cache
def fields(cls: type) -> tuple[Field, ...]:
    """The keys of a table type, in declaration order, with their types and descriptions."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple(
        Field(
            str(f.metadata.get("key", f.name)),
            f.name,
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            str(f.metadata.get("doc", "")),
        )
        for f in dataclasses.fields(cls)
    )


_EXPECTED = {str: "a string", int: "an integer", bool: "true or false", list: "an array"}


# bool before int: in Python a boolean is an integer too.
_TOML_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a float"),
    (str, "a string"),
    (list, "an array"),
    (dict, "a table"),
)


def toml_type(value: object) -> str:
    for kind, name in _TOML_TYPES:
        if isinstance(value, kind):
            return name
    return "a date/time"


def _wrong(expected: str, value: object, loc: Loc, issues: Issues) -> Any:
    issues.append(Issue(key_path(loc), f"expected {expected}, got {toml_type(value)}"))
    return _INVALID


Converter = typing.Callable[[object, Loc, Issues], Any]


def _convert(hint: Any, value: object, loc: Loc, issues: Issues) -> Any:
    return _converter(hint)(value, loc, issues)


@functools.cache
def _converter(hint: Any) -> Converter:
    """A function that reads one value of type `hint`, built once per type so that reading
    a lab with thousands of entries does not inspect type hints for each of them."""
    origin = get_origin(hint)
    if origin is Annotated:
        base, *extras = get_args(hint)
        inner = _converter(base)
        if OneOrMany not in extras:
            return inner
        return lambda value, loc, issues: inner(
            [value] if isinstance(value, str) else value, loc, issues
        )
    if origin is typing.Literal:
        allowed = get_args(hint)
        choices = " or ".join(f"'{a}'" for a in allowed)

        def read_choice(value: object, loc: Loc, issues: Issues) -> Any:
            if value in allowed and isinstance(value, str):
                return value
            got = f"'{value}'" if isinstance(value, str) else toml_type(value)
            issues.append(Issue(key_path(loc), f"expected {choices}, got {got}"))
            return _INVALID

        return read_choice
    if origin in (types.UnionType, typing.Union):
        # `X | None` only says the key is optional: TOML has no null, so a value must be an X.
        kinds = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(kinds) == 1:
            return _converter(kinds[0])
        return _either(tuple(kinds))
    if origin is list:
        item = _converter(get_args(hint)[0])

        def read_list(value: object, loc: Loc, issues: Issues) -> Any:
            if not isinstance(value, list):
                return _wrong("an array", value, loc, issues)
            items = [item(v, (*loc, i), issues) for i, v in enumerate(value)]
            issues.dropped.update(key_path((*loc, i)) for i, v in enumerate(items) if v is _INVALID)
            return [v for v in items if v is not _INVALID]

        return read_list
    if origin is dict:
        entry = _converter(get_args(hint)[1])

        def read_table(value: object, loc: Loc, issues: Issues) -> Any:
            if not isinstance(value, dict):
                return _wrong("a table", value, loc, issues)
            entries = {k: entry(v, (*loc, k), issues) for k, v in value.items()}
            return {k: v for k, v in entries.items() if v is not _INVALID}

        return read_table
    if dataclasses.is_dataclass(hint):
        cls = typing.cast(type, hint)
        return lambda value, loc, issues: _record(cls, value, loc, issues)
    expected = _EXPECTED[hint]

    def read_scalar(value: object, loc: Loc, issues: Issues) -> Any:
        if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
            return value
        return _wrong(expected, value, loc, issues)

    return read_scalar


def _either(kinds: tuple[type, ...]) -> Converter:
    """A scalar of one of several types (`owner = "alice"` or `owner = 1000`), or a scalar
    or a table (`"frr.conf" = "r1/frr.conf"` or `{ text = "..." }`)."""
    tables = [k for k in kinds if dataclasses.is_dataclass(k)]
    scalars = [k for k in kinds if k not in tables]
    expected = " or ".join([*(_EXPECTED[k] for k in scalars), *(["a table"] if tables else [])])

    def read_either(value: object, loc: Loc, issues: Issues) -> Any:
        if tables and isinstance(value, dict):
            return _record(tables[0], value, loc, issues)
        for kind in scalars:
            if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
                return value
        return _wrong(expected, value, loc, issues)

    return read_either


class _Layout(NamedTuple):
    """A table type as the reader walks it, worked out once per type: hashing a typing hint
    to find its converter runs Python code, and most tables set few of many keys."""

    fields: tuple[tuple[Field, Converter], ...]  # in declaration order
    position: dict[str, int]  # key -> its place in `fields`
    required: frozenset[int]


@functools.cache
def _layout(cls: type) -> _Layout:
    known = fields(cls)
    return _Layout(
        tuple((f, _converter(f.hint)) for f in known),
        {f.name: i for i, f in enumerate(known)},
        frozenset(i for i, f in enumerate(known) if f.required),
    )


def _record(cls: type, value: object, loc: Loc, issues: Issues) -> Any:
    if not isinstance(value, dict):
        return _wrong("a table", value, loc, issues)
    layout = _layout(cls)
    visit = set(layout.required)
    for key in value:
        at = layout.position.get(key)
        if at is not None:
            visit.add(at)
            continue
        import difflib  # only on this error path: it costs start-up time

        hint = difflib.get_close_matches(str(key), list(layout.position), n=1)
        suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
        issues.append(Issue(key_path((*loc, key)), f"unknown key{suffix}"))
    kwargs: dict[str, Any] = {}
    complete = True
    # The keys set, and the required ones, in declaration order: issues come in that order.
    for at in sorted(visit):
        f, convert = layout.fields[at]
        if f.name not in value:
            issues.append(Issue(key_path((*loc, f.name)), "required key is missing"))
            complete = False
            continue
        converted = convert(value[f.name], (*loc, f.name), issues)
        if converted is _INVALID:
            complete = complete and not f.required
        else:
            kwargs[f.attr] = converted
    return cls(**kwargs) if complete else _INVALID
