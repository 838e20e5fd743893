"""Reading a YAML document whose shape is not guaranteed: every access says what it expected
and where, as one TopologyError line (`file: topology.nodes.r1.exec[2]: expected text`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nsgen.errors import Issue, TopologyError
from nsgen.shape import key_path


def load_yaml(path: Path) -> object:
    """The document in PATH. PyYAML is imported here, not with nsgen: no other command
    needs it, and `nsgen --help` is timed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TopologyError(path.name, [Issue("", "no such file")]) from None
    except IsADirectoryError:
        raise TopologyError(path.name, [Issue("", "is a directory, not a lab file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise TopologyError(path.name, [Issue("", f"cannot read: {error}")]) from None
    try:
        import yaml
    except ImportError:
        raise TopologyError(
            path.name, [Issue("", "nsgen import needs PyYAML: pip install pyyaml")]
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not YAML"
        raise TopologyError(path.name, [Issue("", f"not YAML: {problem}{where}")]) from None
    except RecursionError:
        raise TopologyError(
            path.name, [Issue("", "not YAML nsgen can read: nested too deeply")]
        ) from None


class Document:
    """The parsed YAML of SOURCE; the accessors raise on the first unexpected shape."""

    def __init__(self, source: str, directory: Path) -> None:
        self.source = source
        self.directory = directory  # where the source's relative file names start

    def fail(self, loc: list[str | int], message: str) -> TopologyError:
        return TopologyError(self.source, [Issue(key_path(loc), message)])

    def mapping(self, value: object, loc: list[str | int]) -> dict[str, Any]:
        """A mapping with text keys; an absent (null) one is empty."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(loc, f"expected a mapping, not {_what(value)}")
        for k in value:
            if not isinstance(k, str):
                raise self.fail(loc, f"expected text keys, not {_what(k)} ({k!r:.40})")
        return value

    def sequence(self, value: object, loc: list[str | int]) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(loc, f"expected a list, not {_what(value)}")
        return value

    def text(self, value: object, loc: list[str | int]) -> str:
        """Text; YAML's numbers and booleans as written (`mtu: 9000`, a name `1`)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise self.fail(loc, f"expected text, not {_what(value)}")

    def optional_text(self, value: object, loc: list[str | int]) -> str | None:
        return None if value is None else self.text(value, loc)

    def texts(self, value: object, loc: list[str | int]) -> list[str]:
        """A list of text, or one text as a list of one."""
        if isinstance(value, str):
            return [value]
        return [self.text(item, [*loc, i]) for i, item in enumerate(self.sequence(value, loc))]


def _what(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


SHOWN_MAX = 240  # characters of a value shown in a comment


def shown(value: object) -> str:
    """A YAML value on one line, as JSON (a comment shows what the source said), cut short
    after SHOWN_MAX characters: YAML's aliases can make a short file a huge or circular
    value, which is encoded lazily and only as far as it is shown."""
    if isinstance(value, str):
        return value
    encoder = json.JSONEncoder(default=str, ensure_ascii=False)
    text = ""
    try:
        for chunk in encoder.iterencode(value):
            text += chunk
            if len(text) > SHOWN_MAX:
                return text[:SHOWN_MAX].rstrip() + " ..."
    except ValueError:  # a value that contains itself
        return text[:SHOWN_MAX].rstrip() + " ..."
    return text
