"""sysctls inside lab namespaces, live: applied on up, drift reported by status and repaired
by the next up, an unknown key refused before anything changes."""

from __future__ import annotations

from pathlib import Path

from tests.live import LabFactory, host_residue, run

LAB = """
name = "sysctl"

[namespaces.r1]
forwarding = true
interfaces.eth0 = { peer = "r2:eth0", address = "10.62.0.1/31" }

[namespaces.r1.sysctls]
"net.ipv4.conf.all.rp_filter" = 2
"net.ipv4.conf.eth0.rp_filter" = 0
"net.ipv6.conf.eth0.accept_ra" = 0
"net.ipv4.ip_local_port_range" = "20000 30000"

[namespaces.r2]
interfaces.eth0 = { address = "10.62.0.0/31" }
"""


def value(ns: str, key: str) -> str:
    path = "/proc/sys/" + key.replace(".", "/")
    return " ".join(run(["ip", "netns", "exec", ns, "cat", path]).stdout.split())


def test_applied_reported_when_drifted_and_repaired(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    topology = tmp_path / "sysctl.toml"
    topology.write_text(LAB)
    lab = lab_factory(topology)
    lab.up()
    r1 = f"{lab.prefix}r1"
    wanted = {
        "net.ipv4.conf.all.rp_filter": "2",
        "net.ipv4.conf.eth0.rp_filter": "0",
        "net.ipv6.conf.eth0.accept_ra": "0",
        "net.ipv4.ip_local_port_range": "20000 30000",
    }
    assert {key: value(r1, key) for key in wanted} == wanted
    assert lab.sh("status").returncode == 0

    run(["ip", "netns", "exec", r1, "sh", "-c", "echo 1 >/proc/sys/net/ipv4/conf/eth0/rp_filter"])
    run(["ip", "netns", "exec", r1, "sh", "-c", "echo 1 >/proc/sys/net/ipv6/conf/eth0/accept_ra"])
    status = lab.sh("status")
    assert status.returncode == 3
    assert f"drifted (1) sysctl net.ipv4.conf.eth0.rp_filter = 0 in {r1}" in status.stdout
    assert f"drifted (1) sysctl net.ipv6.conf.eth0.accept_ra = 0 in {r1}" in status.stdout
    assert "ok         sysctl net.ipv4.ip_local_port_range = 20000 30000" in status.stdout

    lab.up()
    assert {key: value(r1, key) for key in wanted} == wanted
    assert lab.sh("status").returncode == 0
    lab.down()
    assert host_residue(lab.prefix) == []


def test_a_key_the_kernel_lacks_fails_up_before_any_change(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    topology = tmp_path / "sysctl.toml"
    topology.write_text(LAB.replace('"net.ipv4.conf.all.rp_filter" = 2', '"net.ipv4.no_such" = 2'))
    lab = lab_factory(topology)
    for args in (["up"], ["up", "--dry-run"]):
        result = lab.sh(*args)
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"{lab.prefix}sysctl: error: the kernel has no sysctl net.ipv4.no_such inside a "
            "network namespace (a host-wide key, or one this kernel lacks): nothing was changed"
        ]
        assert host_residue(lab.prefix) == []


def test_a_key_no_longer_declared_gets_back_the_value_it_had(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    v1, v2 = tmp_path / "v1" / "sysctl.toml", tmp_path / "v2" / "sysctl.toml"
    v1.write_text(LAB)
    v2.write_text(LAB.replace('"net.ipv4.ip_local_port_range" = "20000 30000"', ""))
    first = lab_factory(v1)
    r1 = f"{first.prefix}r1"
    first.up()
    assert value(r1, "net.ipv4.ip_local_port_range") == "20000 30000"
    second = lab_factory(v2)
    status = second.sh("status")
    assert f"extra      sysctl net.ipv4.ip_local_port_range = 20000 30000 in {r1}" in status.stdout
    second.up()
    assert value(r1, "net.ipv4.ip_local_port_range") == "32768 60999"
    assert value(r1, "net.ipv4.conf.all.rp_filter") == "2"
    assert second.sh("status").returncode == 0
