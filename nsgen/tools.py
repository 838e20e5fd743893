"""Where nsgen and its test suite find the programs they run (ansible-playbook, shellcheck...).

A tool installed by pip goes beside the Python that installed it: a venv's `bin`. That
directory is on PATH only while the venv is active, and `sudo` resets PATH, so
`sudo .venv/bin/nsgen up` or `sudo .venv/bin/python -m pytest` would not find the venv's
own tools on PATH. The directory of `sys.executable` is looked at first, then PATH.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def find(name: str) -> str | None:
    """The path of program NAME beside the running Python, else on PATH, else None."""
    # Not resolved: a venv's python is a symlink to the system's, and its tools sit beside
    # the link, not beside its target.
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def where() -> str:
    """Where `find` looks, for a message about a tool it did not find."""
    return f"beside {sys.executable} or on PATH"
