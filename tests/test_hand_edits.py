"""Live: a veth end of the lab renamed or moved to another namespace by hand is found by its
mark or its peer and made again, so that up converges and status is ok; a device without the
mark of the lab is never touched."""

from __future__ import annotations

import json
from pathlib import Path

from tests.live import LabFactory, run
from tests.reliability import Recorder

# Namespaces on a host bridge: up looks into none of them, it sees their veth ends from the host.
LAB = """name = "he"

[bridges.br]
"""
NAMESPACES = ("p1", "p2", "p3", "p4")


def links(ns: str | None = None) -> dict[str, dict[str, object]]:
    where = [] if ns is None else ["-n", ns]
    return {link["ifname"]: link for link in json.loads(run(["ip", *where, "-j", "link"]).stdout)}


def test_renamed_and_moved_veth_ends_are_made_again(
    lab_factory: LabFactory, tmp_path: Path, figures: Recorder
) -> None:
    topology = tmp_path / "he.toml"
    topology.write_text(
        LAB
        + "".join(
            f'\n[namespaces.{ns}.interfaces.eth0]\nbridge = "br"\naddress = "10.78.0.{i}/24"\n'
            for i, ns in enumerate(NAMESPACES, start=1)
        )
    )
    lab = lab_factory(topology)
    p = lab.prefix
    lab.up()
    assert "NS_READS=0" in lab.text
    other = f"{p}o"
    run(["ip", "netns", "add", other])
    # Someone's own veth pair, without the mark: it stays as it is.
    run(["ip", "link", "add", f"{p}u1", "type", "veth", "peer", "name", f"{p}u2"])
    unmarked = links()[f"{p}u1"]

    # The host end of p1 renamed; the host end of p2 moved away; the end of p3 in its
    # namespace moved to another; the end of p4 renamed and moved to the host.
    run(["ip", "link", "set", f"{p}p1-eth0", "name", f"{p}x"])
    run(["ip", "link", "set", f"{p}p2-eth0", "netns", other])
    run(["ip", "-n", f"{p}p3", "link", "set", "eth0", "netns", other, "name", "e3"])
    run(["ip", "-n", f"{p}p4", "link", "set", "eth0", "name", f"{p}y"])
    run(["ip", "-n", f"{p}p4", "link", "set", f"{p}y", "netns", "1"])
    assert lab.sh("status").returncode == 3

    up = lab.sh("up")
    assert up.returncode == 0, up.stdout + up.stderr
    # Each mend is said, naming what was found (the renamed end's peer in p1 has a line of
    # its own: it lost its peer's name).
    repairs = [line for line in up.stdout.splitlines() if ": repairing: " in line]
    assert any(f"device {p}x in the host has the mark of the lab" in line for line in repairs)
    for lost in (
        f"{p}p2:eth0 has lost its peer host:{p}p2-eth0",
        *(f"host:{p}{ns}-eth0 has lost its peer {p}{ns}:eth0" for ns in ("p3", "p4")),
    ):
        assert sum(lost in line for line in repairs) == 1, (lost, up.stdout)
    status = lab.sh("status")
    assert status.returncode == 0, status.stdout
    host = links()
    assert {f"{p}x", f"{p}y"}.isdisjoint(host)
    assert all(f"{p}{ns}-eth0" in host for ns in NAMESPACES)
    assert set(links(other)) == {"lo"}
    assert all("eth0" in links(f"{p}{ns}") for ns in NAMESPACES)
    assert host[f"{p}u1"] == unmarked
    ping = run(["ip", "netns", "exec", f"{p}p1", "ping", "-c1", "-W2", "10.78.0.3"], check=False)
    assert ping.returncode == 0, ping.stdout

    again = lab.sh("up")
    assert again.returncode == 0 and links()[f"{p}u1"] == unmarked
    assert "repairing" not in again.stdout
    lab.down()
    assert f"{p}u1" in links()
    run(["ip", "link", "del", f"{p}u1"])
    run(["ip", "netns", "del", other])
    figures.record(
        "hand.edits",
        "4 of 4 hand-edited veth ends found by the mark or the peer and made again by one `up` "
        "that says each mend in one line "
        "(exit 0), `status` all ok, the namespaces ping each other, nothing left in the other "
        "namespace; the unmarked pair untouched by `up`, a re-run and `down`",
    )
