"""down stops every process in the namespaces it deletes, however many are started while it
does: a namespace deleted with a process in it lives on without a name, out of anyone's reach."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import EXAMPLES
from tests.live import LabFactory, host_residue
from tests.reliability import Recorder

# A shell that ignores TERM and starts a child every 0.1 s, the children ignoring TERM too.
FORKER = 'trap "" TERM; while :; do sleep 40 & sleep 0.1; done'


def in_namespace(inode: int) -> list[int]:
    """The pids whose network namespace is the one with this inode."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(entry / "ns" / "net").st_ino == inode:
                    pids.append(int(entry.name))
    return pids


def test_down_stops_a_forking_process_tree_that_ignores_term(
    lab_factory: LabFactory, figures: Recorder
) -> None:
    lab = lab_factory(EXAMPLES / "star.toml")
    lab.up()
    namespace = lab.namespaces()[0]
    inode = os.stat(f"/run/netns/{namespace}").st_ino
    tree = subprocess.Popen(
        ["ip", "netns", "exec", namespace, "sh", "-c", FORKER], start_new_session=True
    )
    try:
        time.sleep(1)
        assert len(in_namespace(inode)) > 5
        started = time.monotonic()
        result = lab.sh("down")
        took = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        assert in_namespace(inode) == []
        assert host_residue(lab.prefix) == []
        assert "stopping" in result.stdout
        print(f"down took {took:.1f} s")
    finally:
        for pid in in_namespace(inode):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        tree.wait()
    figures.record(
        "stop.forking",
        "A shell ignoring TERM that starts a child every 0.1 s in a lab namespace: `down` "
        "stopped it and every child within its 10 s limit, 0 processes left, 0 residue",
    )
