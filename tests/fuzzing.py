"""Helpers for the hostile-input tests: the CLI in-process, a TOML writer, the error checks.

The fuzz tests run thousands of examples, so they call `nsgen.cli.main` in this process
(a subprocess per example would cost 100x more); tests/test_cli.py covers the real process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import json
import math
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import tomli

from nsgen import cli

# A hang guard, not a speed test: no example may take anywhere near this long.
HANG_SECONDS = 60


@contextlib.contextmanager
def hang_guard(seconds: int = HANG_SECONDS) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"nsgen did not return within {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_main(args: list[str]) -> tuple[int, str, str]:
    """`nsgen ARGS` in this process: (exit code, stdout, stderr). Any exception other than
    SystemExit (a traceback, for a user) propagates and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["nsgen", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), hang_guard():
            cli.main()
        code: int = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


# ---- TOML --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Nested:
    """`inner` inside arrays (True) and tables (False), outermost first: written as text, so
    that a document can nest deeper than Python's recursion allows a writer to."""

    inner: object
    arrays: tuple[bool, ...]


def toml_value(value: object) -> str:
    """Any TOML value as inline TOML: strings JSON-escaped (valid TOML basic strings once DEL
    is escaped too), tables inline, so every document nests as deeply as its data."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Nested):
        opens = "".join("[" if array else "{a = " for array in value.arrays)
        closes = "".join("]" if array else "}" for array in reversed(value.arrays))
        return opens + toml_value(value.inner) + closes
    raise TypeError(value)


def toml_key(key: str) -> str:
    return toml_value(key)


def dumps(data: dict[str, Any]) -> str:
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in data.items())


def parses(text: str) -> dict[str, Any] | None:
    """The document as TOML, or None when it is not TOML (or too deep for the parser nsgen
    reads with: compiled tomli gives up a few levels before tomllib)."""
    try:
        return tomli.loads(text)
    except (tomli.TOMLDecodeError, RecursionError):
        return None


# ---- What an error must look like --------------------------------------------------------

_SEGMENT = re.compile(r'\[(\d+)\]|"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_-]+)')


def parse_key_path(path: str) -> list[str | int] | None:
    """nsgen's key path (`namespaces."a b".routes[0].via`) as segments, or None."""
    segments: list[str | int] = []
    pos = 0
    while pos < len(path):
        if segments and not path.startswith("[", pos):
            if not path.startswith(".", pos):
                return None
            pos += 1
        match = _SEGMENT.match(path, pos)
        if match is None:
            return None
        index, quoted, plain = match.groups()
        if index is not None:
            segments.append(int(index))
        elif quoted is not None:
            segments.append(json.loads(f'"{quoted}"'))
        else:
            segments.append(plain)
        pos = match.end()
    return segments


def resolves(data: object, segments: list[str | int]) -> bool:
    """The path names something in the document, or a key its table could hold (a missing
    key, a derived name): everything but the last segment must exist."""
    node = data
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        if isinstance(node, dict) and isinstance(segment, str):
            if segment not in node:
                return last
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, int):
            if segment >= len(node):
                return False
            node = node[segment]
        else:
            return False
    return True


def error_problems(file: str, err: str, data: dict[str, Any] | None) -> list[str]:
    """Why `err` is not the promised error report, or [] when it is: one line per problem,
    each `FILE: KEY-PATH: message` naming a place in the document (a file that is not TOML
    gets `FILE: message`), and a count line `nsgen: FILE: N errors` when there are several."""
    problems: list[str] = []
    lines = err.splitlines()
    if not lines:
        return ["exit 1 without a message"]
    issues = lines
    if len(lines) > 1:
        head = re.fullmatch(rf"nsgen: {re.escape(file)}: (\d+) errors", lines[0])
        if head is None or int(head.group(1)) != len(lines) - 1:
            problems.append(f"no count line before several errors: {lines[0]!r}")
        issues = lines[1:]
    for line in issues:
        if not line.startswith(f"{file}: "):
            problems.append(f"line without the file name: {line!r}")
            continue
        rest = line[len(file) + 2 :]
        if data is None:
            continue
        path, sep, message = rest.partition(": ")
        segments = parse_key_path(path)
        if not sep or not message or segments is None or not resolves(data, segments):
            problems.append(f"line without a key path into the document: {line!r}")
    return problems


def write(directory: Path, text: str | bytes, name: str = "lab.toml") -> Path:
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
