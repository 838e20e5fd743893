"""Declared reachability checks (`[[checks]]`): how entries resolve to pings, and what
`verify` makes of them on the real kernel."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from nsgen import load, plan, render, validate
from nsgen.lab import Check
from tests.conftest import EXAMPLES
from tests.live import LabFactory, run

# Two LANs behind a router; h1 is IPv4 only, the others dual-stack.
LAB = """
[bridges.lan]
address = ["10.0.0.1/24", "fd00::1/64"]

[namespaces.r1]
forwarding = true

[namespaces.r1.interfaces.eth0]
bridge = "lan"
address = ["10.0.0.2/24", "fd00::2/64"]

[namespaces.r1.interfaces.eth1]
peer = "h2:eth0"
address = ["10.9.0.1/24", "fd09::1/64"]

[namespaces.h1]
routes = [{ to = "10.9.0.0/24", via = "10.0.0.2" }]

[namespaces.h1.interfaces.eth0]
bridge = "lan"
address = "10.0.0.11/24"

[namespaces.h2]
routes = [{ to = "default", via = "10.9.0.1" }, { to = "default", via = "fd09::1" }]

[namespaces.h2.interfaces.eth0]
address = ["10.9.0.12/24", "fd09::12/64"]
"""


def checks_of(extra: str, tmp_path: Path, prefix: str = "") -> tuple[Check, ...]:
    path = tmp_path / "lab.toml"
    path.write_text(LAB + extra)
    return validate.validate(load.load(path), prefix=prefix).checks


def test_a_namespace_target_is_each_of_its_addresses(tmp_path: Path) -> None:
    checks = checks_of('[[checks]]\nfrom = "r1"\nto = "h2"\n', tmp_path)
    assert [(c.namespace, str(c.address), c.reachable, c.target) for c in checks] == [
        ("r1", "10.9.0.12", True, "h2:eth0"),
        ("r1", "fd09::12", True, "h2:eth0"),
    ]


def test_only_the_families_the_source_has_are_pinged(tmp_path: Path) -> None:
    checks = checks_of('[[checks]]\nfrom = "h1"\nto = "h2"\n', tmp_path)
    assert [str(c.address) for c in checks] == ["10.9.0.12"]


def test_the_host_takes_part_when_it_has_an_address(tmp_path: Path) -> None:
    checks = checks_of(
        '[[checks]]\nfrom = "host"\nto = "r1"\n'
        '[[checks]]\nfrom = "h2"\nto = "host"\nexpect = "unreachable"\n',
        tmp_path,
    )
    assert [(c.namespace, str(c.address), c.reachable) for c in checks] == [
        (None, "10.0.0.2", True),
        (None, "fd00::2", True),
        (None, "10.9.0.1", True),
        (None, "fd09::1", True),
        ("h2", "10.0.0.1", False),
        ("h2", "fd00::1", False),
    ]


def test_an_address_target_outside_the_lab_has_no_device(tmp_path: Path) -> None:
    checks = checks_of(
        '[[checks]]\nfrom = "h2"\nto = "192.0.2.7"\nexpect = "unreachable"\n', tmp_path
    )
    assert checks == (Check("h2", ip_address("192.0.2.7"), False, "checks[0]", ""),)


def test_a_repeated_check_pings_once_and_names_get_the_prefix(tmp_path: Path) -> None:
    checks = checks_of(
        '[[checks]]\nfrom = "h1"\nto = "h2"\n[[checks]]\nfrom = "h1"\nto = "10.9.0.12"\n',
        tmp_path,
        prefix="zz",
    )
    assert checks == (Check("zzh1", ip_address("10.9.0.12"), True, "checks[0]", "zzh2:eth0"),)


def test_declared_checks_come_last_in_the_script_with_their_expectation(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(LAB + '[[checks]]\nfrom = "h2"\nto = "10.0.0.11"\nexpect = "unreachable"\n')
    rows = render.check_rows(plan.build(validate.validate(load.load(path))))
    assert rows[-1] == "h2 - 10.0.0.11 unreachable checks[0]: h1:eth0"
    assert all(row.split()[3] == "reachable" for row in rows[:-1])


@pytest.mark.parametrize("topology", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_pings_from_the_host_leave_by_a_lab_device(topology: Path) -> None:
    """A ping from the host is bound to one of the lab's own host devices (ping -I), so a
    lab that is down never sends it out through the host's routes."""
    built = plan.build(validate.validate(load.load(topology)))
    host_devices = {b.name for b in built.lab.bridges if b.namespace is None}
    host_devices |= {e.name for v in built.lab.veths for e in (v.a, v.b) if e.namespace is None}
    for row in render.check_rows(built):
        source, device = row.split()[:2]
        if source == "-":
            assert device in host_devices, row
        elif device != "-":
            # Inside a namespace, only a link-local gateway names the link it is on.
            assert row.split()[2].startswith("fe80:") and "gateway of" in row, row


# ---- live: verify on the real kernel ---------------------------------------------------------


def test_reachable_and_unreachable_expectations_pass(lab_factory: LabFactory) -> None:
    lab = lab_factory(EXAMPLES / "isolated.toml")
    lab.up()
    result = lab.sh("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    p = lab.prefix
    lines = result.stdout.splitlines()
    assert f"ok    {p}office1 -> 10.2.0.11 (checks[0]: {p}server1:eth0)" in lines
    # No route at all (ping exits 2) and a router answering "net unreachable" (exit 1).
    assert f"ok    {p}guest1 -/-> 10.2.0.11 (checks[1]: {p}server1:eth0)" in lines
    assert f"ok    {p}office1 -/-> 10.3.0.11 (checks[2]: {p}guest1:eth0)" in lines
    assert lines[-1] == f"{p}isolated: verify: 11 of 11 checks passed"


def test_a_wrong_expectation_fails_verify(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab_part = (EXAMPLES / "isolated.toml").read_text().split("[[checks]]")[0]
    topology = tmp_path / "isolated.toml"
    topology.write_text(
        lab_part + '[[checks]]\nfrom = "office1"\nto = "server1"\nexpect = "unreachable"\n'
        '[[checks]]\nfrom = "guest1"\nto = "server1"\nexpect = "reachable"\n'
        '[[checks]]\nfrom = "office1"\nto = "10.3.0.11"\nexpect = "unreachable"\n'
    )
    lab = lab_factory(topology)
    lab.up()
    result = lab.sh("verify")
    assert result.returncode == 4, result.stdout + result.stderr
    p = lab.prefix
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failed == [
        f"FAIL  {p}office1 -/-> 10.2.0.11 (checks[0]: {p}server1:eth0): it answered",
        # guest1 has no route to the servers' subnet: ping's own words say so.
        f"FAIL  {p}guest1 -> 10.2.0.11 (checks[1]: {p}server1:eth0): Network is unreachable",
    ]
    assert result.stdout.splitlines()[-1] == f"{p}isolated: verify: 9 of 11 checks passed"


def test_an_unreachable_check_that_cannot_run_fails(lab_factory: LabFactory) -> None:
    """A missing namespace must not pass for isolation: nothing was tested."""
    lab = lab_factory(EXAMPLES / "isolated.toml")
    lab.up()
    run(["ip", "netns", "del", f"{lab.prefix}guest1"])
    result = lab.sh("verify")
    assert result.returncode == 4
    p = lab.prefix
    assert (
        f"FAIL  {p}guest1 -/-> 10.2.0.11 (checks[1]: {p}server1:eth0): ping could not run "
        "(no namespace)" in result.stdout.splitlines()
    )
