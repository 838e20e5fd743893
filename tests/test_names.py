"""names = true, live: /etc/netns/NS/hosts in every namespace, so `ip netns exec h1 ping h2`
resolves; only files the lab wrote are rewritten or removed; down removes them and the
directories it made."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LabFactory, host_residue, netns_names, run

ETC = Path("/etc/netns")

LAB = """
name = "names"
names = {names}

[addressing]
ipv4 = "10.64.0.0/23"
ipv6 = "fd00:64::/48"

[bridges.br]
namespace = "sw"

[namespaces.sw]
[namespaces.h1.interfaces.eth0]
bridge = "br"
[namespaces.h2.interfaces.eth0]
bridge = "br"
[namespaces.h2.interfaces.eth1]
peer = "h3:eth0"
[namespaces.h3.interfaces.eth0]
"""


@pytest.fixture
def etc_netns(lab_factory: LabFactory) -> Iterator[LabFactory]:
    """Whatever the test leaves under /etc/netns with its prefix goes, and /etc/netns itself
    when it was not there before."""
    existed = ETC.exists()
    try:
        yield lab_factory
    finally:
        for path in ETC.glob(f"{lab_factory.prefix}*") if ETC.exists() else []:
            shutil.rmtree(path)
        if not existed and ETC.exists() and not any(ETC.iterdir()):
            ETC.rmdir()


def topology(tmp_path: Path, names: bool) -> Path:
    path = tmp_path / f"names-{names}" / "names.toml"
    path.parent.mkdir()
    path.write_text(LAB.format(names="true" if names else "false"))
    return path


def test_names_resolve_and_down_removes_them(etc_netns: LabFactory, tmp_path: Path) -> None:
    existed = ETC.exists()
    lab = etc_netns(topology(tmp_path, True))
    p = lab.prefix
    lab.up()
    for ns in ("sw", "h1", "h2", "h3"):
        text = (ETC / f"{p}{ns}" / "hosts").read_text()
        assert text.splitlines()[0].startswith(f"# nsgen:{p}names hosts:")
        assert f"  {p}h3 eth0.{p}h3" in text
    ping = run(["ip", "netns", "exec", f"{p}h1", "ping", "-c1", "-W3", f"{p}h2"], check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    # A device of a namespace by name: h2's end of the pair, from the pool's top /31.
    ping = run(["ip", "netns", "exec", f"{p}h3", "ping", "-4", "-c1", "-W3", f"eth1.{p}h2"])
    assert "(10.64.1.254)" in ping.stdout
    status = lab.sh("status")
    assert status.returncode == 0
    assert f"ok         names in /etc/netns/{p}h1/hosts" in status.stdout

    (ETC / f"{p}h2" / "hosts").write_text("# edited\n")
    status = lab.sh("status")
    assert status.returncode == 3
    assert f"foreign    names in /etc/netns/{p}h2/hosts" in status.stdout
    (ETC / f"{p}h2" / "hosts").unlink()
    lab.up()  # missing: written again
    assert lab.sh("status").returncode == 0

    lab.down()
    assert not ETC.exists() or list(ETC.glob(f"{p}*")) == []
    assert ETC.exists() == existed
    assert host_residue(p) == []


def test_names_turned_off_removes_the_files(etc_netns: LabFactory, tmp_path: Path) -> None:
    lab = etc_netns(topology(tmp_path, True))
    lab.up()
    assert (ETC / f"{lab.prefix}h1" / "hosts").exists()
    assert (lab.state / "removers" / "names-prune.sh").is_file()
    plain = etc_netns(topology(tmp_path, False))
    assert "prune_hosts" not in plain.text
    plain.up()
    assert not (ETC / f"{lab.prefix}h1").exists()
    assert not (lab.state / "removers").exists()
    plain.down()


def test_a_foreign_hosts_file_is_refused_and_kept(etc_netns: LabFactory, tmp_path: Path) -> None:
    lab = etc_netns(topology(tmp_path, True))
    theirs = ETC / f"{lab.prefix}h2" / "hosts"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("10.9.9.9 somebody\n")
    result = lab.sh("up")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{lab.prefix}names: refusing: /etc/netns/{lab.prefix}h2/hosts exists and was not "
        f"written by lab {lab.prefix}names"
    ]
    assert not any(n.startswith(lab.prefix) for n in netns_names())
    assert not (ETC / f"{lab.prefix}h1").exists()
    lab.down()
    assert theirs.read_text() == "10.9.9.9 somebody\n"
