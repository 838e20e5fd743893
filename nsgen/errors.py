"""The one error hierarchy. Only the CLI turns these into exit codes and text."""

from __future__ import annotations

from typing import NamedTuple

# Shared with the generated script, so `nsgen up` and `sh setup.sh up` exit alike.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_VERIFY_FAILED = 4
# What a shell exits with when it cannot find a command.
EXIT_NOT_FOUND = 127


def printable(text: str) -> str:
    """`text` with each non-printable character escaped (newline as \\n, ESC as \\x1b, U+202E as
    \\u202e): text from a topology file or a file name then stays on its line, in a message or
    a script comment, and cannot drive the terminal or start a shell command."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class NsgenError(Exception):
    """Any failure nsgen reports to a user: one clear line, never a traceback."""

    exit_code = EXIT_ERROR


class Issue(NamedTuple):
    """One problem in a topology file, located by its key path. (A NamedTuple: created at
    every start-up for less than a frozen dataclass, as nsgen.plan's operations.)"""

    path: str
    message: str

    def format(self, source: str) -> str:
        where = f"{source}: {self.path}" if self.path else source
        return f"{where}: {self.message}"


class TopologyError(NsgenError):
    """The topology file cannot be read or is invalid; carries every problem found."""

    def __init__(self, source: str, issues: list[Issue]) -> None:
        self.source = source
        self.issues = sorted(set(issues))
        count = len(self.issues)
        noun = "error" if count == 1 else "errors"
        super().__init__(f"{source}: {count} {noun}")

    def lines(self) -> list[str]:
        return [issue.format(self.source) for issue in self.issues]


class UsageError(NsgenError):
    exit_code = EXIT_USAGE


class StaleScriptError(NsgenError):
    """A committed script is not what its topology renders to now (or was rendered from
    another topology); `diff`, when given, says how."""

    def __init__(self, message: str, diff: str = "") -> None:
        super().__init__(message)
        self.diff = diff


class NeedsRootError(NsgenError):
    """The lab's script needs CAP_NET_ADMIN, which this process lacks."""


class RunnerError(NsgenError):
    """The shell or ssh that runs the script could not be started or failed itself."""


class CommandNotFoundError(NsgenError):
    """`nsgen exec` was given a command that is not on PATH."""

    exit_code = EXIT_NOT_FOUND


def messages(error: NsgenError) -> list[str]:
    """What nsgen says about ERROR, one printable line each: `nsgen: ...`, or for a topology
    the count and then every problem with its file and key path."""
    if not isinstance(error, TopologyError):
        return [printable(f"nsgen: {error}")]
    lines = error.lines()
    head = [printable(f"nsgen: {error}")] if len(lines) > 1 else []
    return head + [printable(line) for line in lines]
