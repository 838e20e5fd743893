"""Load: read a topology file and parse its TOML, nothing more."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, NamedTuple

import tomli

from nsgen.errors import Issue, TopologyError


class Source(NamedTuple):
    """A topology file as read: what the script header and the stale check refer to."""

    path: Path
    data: dict[str, Any]
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        return self.path.stem


def load(path: Path) -> Source:
    display = path.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TopologyError(display, [Issue("", "no such file")]) from None
    except IsADirectoryError:
        raise TopologyError(display, [Issue("", "is a directory, not a topology file")]) from None
    except OSError as exc:
        raise TopologyError(display, [Issue("", f"cannot read: {exc.strerror}")]) from None
    return parse(path, raw)


def parse(path: Path, raw: bytes) -> Source:
    display = path.name
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TopologyError(display, [Issue("", f"not UTF-8 text (byte {exc.start})")]) from None
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        # The message already carries "(at line L, column C)".
        raise TopologyError(display, [Issue("", f"TOML syntax error: {exc}")]) from None
    except RecursionError:
        # The parser recurses once per level of nested arrays and inline tables.
        raise TopologyError(display, [Issue("", "arrays or tables nested too deeply")]) from None
    return Source(path=path, data=data, sha256=hashlib.sha256(raw).hexdigest())
