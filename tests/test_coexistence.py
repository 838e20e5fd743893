"""Coexistence: labs share a host without touching each other, and a lab never touches an
object that lacks its mark, whoever made it.

Every lab here runs under its own prefix (tests/live.py), so the names that collide are
exactly the ones a test makes collide.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT
from tests.live import Lab, LabFactory, host_residue, host_state, run, state_changes
from tests.reliability import Recorder


def test_labs_coexist_and_down_of_one_leaves_the_others_working(
    lab_factory: LabFactory, figures: Recorder
) -> None:
    base = lab_factory.prefix
    labs = [
        lab_factory(EXAMPLES / "routed.toml", prefix=base + "a"),
        # The same lab again under another name: every name inside its namespaces is equal.
        lab_factory(EXAMPLES / "routed.toml", prefix=base + "b"),
        lab_factory(EXAMPLES / "star.toml", prefix=base + "c"),
        lab_factory(EXAMPLES / "bridge.toml", prefix=base + "d"),
    ]
    for lab in labs:
        lab.up()
    for lab in labs:
        verify = lab.sh("verify")
        assert verify.returncode == 0, verify.stdout
    # With interface indexes: nothing of a remaining lab may even be re-created.
    snapshots = {lab.prefix: lab.snapshot() for lab in labs}
    remaining = list(labs)
    while remaining:
        gone = remaining.pop(0)
        gone.down()
        assert host_residue(gone.prefix) == []
        for lab in remaining:
            assert lab.snapshot() == snapshots[lab.prefix], f"down of {gone.prefix} changed it"
            assert lab.sh("status").returncode == 0
            verify = lab.sh("verify")
            assert verify.returncode == 0, f"after down of {gone.prefix}: {verify.stdout}"
    figures.record(
        "coexist.together",
        f"{len(labs)} of {len(labs)} verified together; after each `down`, every other lab "
        "kept its exact state (interface indexes included), `status` ok, every ping answered; "
        "the lab taken down left 0 residue",
    )


def decoy_namespace(lab: Lab) -> tuple[str, str]:
    name = f"{lab.prefix}h2"
    run(["ip", "netns", "add", name])
    return name, f"namespace {name} exists and was not created by lab"


def decoy_host_veth(lab: Lab) -> tuple[str, str]:
    name = f"{lab.prefix}h3-eth0"
    run(["ip", "link", "add", "name", name, "type", "veth", "peer", "name", f"{lab.prefix}x3"])
    return name, f"device {name} exists in the host and was not created by lab"


def decoy_host_bridge(lab: Lab) -> tuple[str, str]:
    name = f"{lab.prefix}br0"
    run(["ip", "link", "add", "name", name, "type", "bridge"])
    return name, f"device {name} exists in the host and was not created by lab"


def decoy_marked_by_another_lab(lab: Lab) -> tuple[str, str]:
    name = f"{lab.prefix}h4-eth0"
    run(["ip", "link", "add", "name", name, "type", "veth", "peer", "name", f"{lab.prefix}x4"])
    run(["ip", "link", "set", "dev", name, "alias", f"nsgen:{lab.prefix}other"])
    return name, f"device {name} exists in the host and was not created by lab"


DECOYS: dict[str, Callable[[Lab], tuple[str, str]]] = {
    "namespace": decoy_namespace,
    "host-veth": decoy_host_veth,
    "host-bridge": decoy_host_bridge,
    "marked-by-another-lab": decoy_marked_by_another_lab,
}


REFUSED: set[str] = set()  # the decoy kinds whose test passed in this session


@pytest.mark.parametrize("decoy", list(DECOYS))
def test_a_name_taken_by_an_unmarked_object_is_refused_and_nothing_changes(
    lab_factory: LabFactory, decoy: str, figures: Recorder
) -> None:
    lab = lab_factory(EXAMPLES / "star.toml")
    name, message = DECOYS[decoy](lab)
    before = host_state(lab.prefix)
    result = lab.sh("up")
    assert result.returncode == 1
    assert message in result.stderr
    after = host_state(lab.prefix)
    assert after == before, f"a refused up changed the host: {state_changes(before, after)}"
    down = lab.sh("down")
    assert down.returncode == 0, down.stderr
    assert f"leaving {'namespace' if decoy == 'namespace' else 'host device'} {name}" in (
        down.stderr
    )
    after = host_state(lab.prefix)
    assert after == before, f"down changed what is not its own: {state_changes(before, after)}"
    REFUSED.add(decoy)
    if len(REFUSED) == len(DECOYS):
        figures.record(
            "coexist.refuse",
            f"{len(DECOYS)} of {len(DECOYS)} kinds refused by `up` (exit 1, naming the object), "
            "host state identical before and after, no state record; `down` removed nothing",
        )


def test_down_never_deletes_an_object_without_the_labs_mark(
    lab_factory: LabFactory, figures: Recorder
) -> None:
    """While the lab is up, someone replaces some of its objects with their own, under the
    same names: down must remove everything else of the lab and none of those."""
    lab = lab_factory(EXAMPLES / "star.toml")
    lab.up()
    p = lab.prefix
    run(["ip", "netns", "del", f"{p}h2"])
    run(["ip", "link", "del", "dev", f"{p}h3-eth0"])
    run(["ip", "link", "del", "dev", f"{p}h4-eth0"])
    decoys = [
        decoy_namespace(lab)[0],  # same name, another namespace (another inode)
        decoy_host_veth(lab)[0],
        decoy_marked_by_another_lab(lab)[0],
    ]
    kept = host_state(p)
    inode = Path(f"/run/netns/{decoys[0]}").stat().st_ino
    veths = {decoys[1], decoys[2], f"{p}x3", f"{p}x4"}
    up = lab.sh("up")
    assert up.returncode == 1, "up took over objects it did not create"
    down = lab.sh("down")
    assert down.returncode == 0, down.stderr
    for decoy in decoys:
        assert f" {decoy}: not created by lab" in down.stderr
    after = host_state(p)

    def ours(items: list[str]) -> list[str]:
        return [x for x in items if x.split()[0].removeprefix("/run/netns/").startswith(p)]

    assert ours(after["netns"]) == [decoys[0]]
    assert ours(after["mounts"]) == [f"/run/netns/{decoys[0]}"]
    assert Path(f"/run/netns/{decoys[0]}").stat().st_ino == inode, "the decoy namespace changed"
    # Exactly the decoy veths and their peers, each as it was: nothing else of the lab.
    assert ours(after["links"]) == [x for x in kept["links"] if x.split()[0] in veths]
    assert len(ours(after["links"])) == 4
    assert after["state"] == []
    figures.record(
        "coexist.down_decoys",
        f"{len(decoys)} of {len(decoys)} decoys kept, each named in a 'leaving' line; every "
        "other object of the lab removed; `up` refused to take the decoys over",
    )


def test_a_namespace_recreated_with_a_reused_inode_is_not_the_labs(
    lab_factory: LabFactory,
) -> None:
    """The kernel gives a new namespace the inode number of one deleted before it: the
    number alone cannot tell the lab's namespace from someone else's under the same name."""
    lab = lab_factory(EXAMPLES / "veth-pair.toml")
    lab.up()
    name = f"{lab.prefix}ns1"
    path = Path("/run/netns") / name
    inode = path.stat().st_ino
    run(["ip", "netns", "del", name])
    for _ in range(200):  # until the freed number comes back: usually at once
        run(["ip", "netns", "add", name])
        if path.stat().st_ino == inode:
            break
        run(["ip", "netns", "del", name])
        time.sleep(0.05)
    else:
        pytest.fail(f"the kernel did not reuse inode {inode} in 200 namespaces")
    up = lab.sh("up")
    assert up.returncode == 1, "up took over a namespace it did not create"
    assert f"namespace {name} exists and was not created by lab" in up.stderr
    down = lab.sh("down")
    assert down.returncode == 0, down.stderr
    assert f"leaving namespace {name}" in down.stderr
    assert path.exists() and path.stat().st_ino == inode, "down deleted someone else's namespace"


def test_a_lab_churning_beside_is_never_taken_for_a_change(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    """The host snapshots of the live tests hold what the test owns and what the host had of
    its own before: another lab coming and going (tests/churner.py) changes neither."""
    lab = lab_factory(EXAMPLES / "star.toml")
    churner = subprocess.Popen(
        [sys.executable, "-m", "tests.churner", "--namespaces", "20"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert churner.stdout is not None
        churning = churner.stdout.readline()
        assert churning.startswith("churner: lab "), churning
        before = host_state(lab.prefix)
        for cycle in range(5):
            lab.up()
            assert lab.sh("status").returncode == 0
            lab.down()
            changes = state_changes(before, host_state(lab.prefix))
            assert changes == [], f"cycle {cycle}:\n" + "\n".join(changes)
    finally:
        churner.send_signal(signal.SIGTERM)
        out, _ = churner.communicate(timeout=120)
    assert churner.returncode == 0, out
    # It came and went while the snapshots were taken, and never failed itself.
    cycles = re.search(r"churner: (\d+) cycles in \d+ s, 0 failed runs", out)
    assert cycles is not None and int(cycles[1]) >= 1, out
