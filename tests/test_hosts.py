"""Labs across hosts, without root: per-host scripts, inventory and playbook as golden
files, the VNI, the MTU, and the command line around them.

Regenerate the golden files on purpose with
`python3 -m pytest tests/test_hosts.py --update-golden` and read the diff.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nsgen import pipeline, tools
from nsgen.plan import build
from nsgen.validate.tunnels import VNI_MAX, derive_vni
from tests import golden
from tests.conftest import EXAMPLES, ROOT, tool
from tests.test_cli import run_cli
from tests.test_install import site_directories

HOSTS = EXAMPLES / "hosts"
TOPOLOGIES = sorted(HOSTS.glob("*.toml"))
IDS = [p.stem for p in TOPOLOGIES]
GOLDEN = ROOT / "golden" / "hosts"


def written(topology: Path, tmp_path: Path) -> Path:
    directory = tmp_path / topology.stem
    code, out, err = run_cli(["ansible", str(topology), "-o", str(directory)])
    assert code == 0, err
    assert out.endswith(
        ": " + ", ".join(f"{h}.sh" for h in hosts(topology)) + ", inventory.ini, playbook.yml\n"
    )
    return directory


def hosts(topology: Path) -> list[str]:
    return [m.name for m in pipeline.compile_lab(topology).machines]


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_ansible_files_match_golden(topology: Path, tmp_path: Path, update_golden: bool) -> None:
    directory = written(topology, tmp_path)
    names = sorted(p.name for p in directory.iterdir())
    assert names == sorted([*(f"{h}.sh" for h in hosts(topology)), "inventory.ini", "playbook.yml"])
    for name in names:
        golden.check((directory / name).read_text(), GOLDEN / topology.stem / name, update_golden)


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_render_host_is_the_ansible_script(topology: Path, tmp_path: Path) -> None:
    directory = written(topology, tmp_path)
    for host in hosts(topology):
        code, out, err = run_cli(["render", str(topology), "--host", host])
        assert code == 0, err
        assert out == (directory / f"{host}.sh").read_text()
        assert f"#   nsgen render {topology.name} --host {host} > SCRIPT\n" in out
        assert f"# Host {host} of a lab across {len(hosts(topology))} hosts:" in out


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_host_scripts_pass_shellcheck_and_parse(topology: Path) -> None:
    for host in hosts(topology):
        path = GOLDEN / topology.stem / f"{host}.sh"
        result = subprocess.run(
            [tool("shellcheck"), "-s", "sh", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        for shell in ("dash", "bash"):
            if tools.find(shell):
                assert subprocess.run([shell, "-n", str(path)]).returncode == 0


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_playbook_passes_ansible_syntax_check(topology: Path) -> None:
    program = tool("ansible-playbook")
    directory = GOLDEN / topology.stem
    result = subprocess.run(
        [
            program,
            "--syntax-check",
            "-i",
            str(directory / "inventory.ini"),
            str(directory / "playbook.yml"),
        ],
        capture_output=True,
        text=True,
        env=dict(
            os.environ,
            ANSIBLE_HOME=str(Path(os.environ.get("TMPDIR", "/tmp")) / "nsgen-ansible-check"),
        ),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_lab_without_hosts_has_no_tunnel_lines_in_its_script() -> None:
    """Only a host's script of a lab across hosts carries the tunnel module (vxlan devices,
    flood entries through the bridge tool)."""
    # Words, not substrings: the runtime's sha256 line may hold "fdb" in its hex digits.
    single = set(re.findall(r"[\w-]+", pipeline.render_file(EXAMPLES / "bridge.toml")))
    assert not {"tunnel", "fdb"} & single
    assert "bridge -batch" not in pipeline.render_file(EXAMPLES / "bridge.toml")
    tunnels = pipeline.render_file(HOSTS / "two-hosts.toml", host="a")
    assert "# ---- tunnel.awk" in tunnels and "bridge -batch" in tunnels


def test_every_cross_host_link_is_a_tunnel_with_both_ends() -> None:
    lab = pipeline.compile_lab(HOSTS / "three-hosts.toml")
    by_vni: dict[int, list[str]] = {}
    for x in lab.vxlans:
        by_vni.setdefault(x.vni, []).append(x.machine)
        assert 1 <= x.vni <= VNI_MAX and x.port == 4789 and x.mtu == 1450
    # a1-r, r-c1, c2-edge: two ends each; lan: one device on each of the three hosts.
    assert sorted(sorted(v) for v in by_vni.values()) == [
        ["a", "b"], ["a", "b", "c"], ["a", "c"], ["b", "c"]
    ]  # fmt: skip
    lan = [x for x in lab.vxlans if x.master == "lan"]
    assert {x.machine: sorted(map(str, x.flood)) for x in lan} == {
        "a": ["192.0.2.2", "192.0.2.3"],
        "b": ["192.0.2.1", "192.0.2.3"],
        "c": ["192.0.2.1", "192.0.2.2"],
    }
    # A local port of a bridge with tunnels carries the same frames: the lowered MTU too.
    assert {v.a.mtu for v in lab.veths} == {1450}


def test_vni_is_fixed_by_lab_and_link(tmp_path: Path) -> None:
    first = pipeline.compile_lab(HOSTS / "two-hosts.toml")
    again = pipeline.compile_lab(HOSTS / "two-hosts.toml")
    prefixed = pipeline.compile_lab(HOSTS / "two-hosts.toml", prefix="x")
    assert [x.vni for x in first.vxlans] == [x.vni for x in again.vxlans]
    assert {x.vni for x in first.vxlans}.isdisjoint({x.vni for x in prefixed.vxlans})
    assert derive_vni("two", "a") != derive_vni("two", "b")
    assert all(1 <= derive_vni("lab", str(i)) <= VNI_MAX for i in range(2000))


def test_vni_and_port_can_be_set(tmp_path: Path) -> None:
    text = (
        (HOSTS / "two-hosts.toml")
        .read_text()
        .replace('peer = "b1:eth1"', 'peer = "b1:eth1"\nvni = 42\ndstport = 8472')
        .replace('hosts = ["a", "b"]', 'hosts = ["a", "b"]\nvni = 43')
    )
    path = tmp_path / "two.toml"
    path.write_text(text)
    script = pipeline.render_file(path, host="a")
    assert "type vxlan id 42 local 192.0.2.1 remote 192.0.2.2 dstport 8472" in script
    assert "type vxlan id 43 local 192.0.2.1 dstport 4789" in script


def test_ipv6_underlay_lowers_the_mtu_by_70(tmp_path: Path) -> None:
    text = (HOSTS / "two-hosts.toml").read_text()
    text = text.replace("192.0.2.1", "2001:db8::1").replace("192.0.2.2", "2001:db8::2")
    text = text.replace("[hosts.b]", "[hosts.b]\nmtu = 9000")
    path = tmp_path / "two6.toml"
    path.write_text(text)
    lab = pipeline.compile_lab(path)
    # The underlay MTU of a tunnel is its lower end's: host a's default 1500.
    assert {x.mtu for x in lab.vxlans} == {1430}
    assert "remote 2001:db8::2 dstport 4789" in pipeline.render_file(path, host="a")


@pytest.mark.parametrize("example", ["veth-pair", "star", "routed"])
def test_one_host_lab_needs_no_host_option(example: str, tmp_path: Path) -> None:
    path = tmp_path / f"{example}.toml"
    path.write_text(
        (EXAMPLES / f"{example}.toml").read_text() + '\n[hosts.solo]\naddress = "192.0.2.9"\n'
    )
    lab = pipeline.compile_lab(path)
    assert {ns.machine for ns in lab.namespaces} == {"solo"}
    assert not lab.vxlans
    # The same script as without [hosts] (host devices, routes and pings included), but for
    # the file's sha256.
    plain = pipeline.render_file(EXAMPLES / f"{example}.toml").splitlines()
    one = pipeline.render_file(path).splitlines()
    sha256 = hashlib.sha256((EXAMPLES / f"{example}.toml").read_bytes()).hexdigest()
    differ = [a for a, b in zip(plain, one, strict=True) if a != b]
    assert differ and all(sha256 in line for line in differ)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "two-hosts.toml"], "two-hosts.toml spans hosts a, b: give --host NAME"),
        (
            ["render", "two-hosts.toml", "--host", "z"],
            "--host z: two-hosts.toml declares hosts a, b",
        ),
        (["ansible", "../star.toml", "-o", "DIR"], "star.toml declares no [hosts]"),
        (["up", "two-hosts.toml", "--ssh", "root@x"], "--ssh runs one script on one host"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    args = [str(HOSTS / a) if a.endswith(".toml") else a for a in args]
    args = [str(tmp_path / "out") if a == "DIR" else a for a in args]
    code, out, err = run_cli(args)
    assert code in (1, 2) and out == ""
    assert len(err.splitlines()) == 1 and message in err, err


def test_render_host_without_hosts_is_a_usage_error() -> None:
    code, _, err = run_cli(["render", str(EXAMPLES / "star.toml"), "--host", "a"])
    assert code == 2 and err == "nsgen: --host a: star.toml declares no [hosts]\n"


def test_render_check_per_host(tmp_path: Path) -> None:
    topology = HOSTS / "two-hosts.toml"
    good = GOLDEN / "two-hosts" / "a.sh"
    code, _, err = run_cli(["render", str(topology), "--host", "a", "--check", str(good)])
    assert code == 0, err
    code, _, err = run_cli(["render", str(topology), "--host", "b", "--check", str(good)])
    assert code == 1
    assert f"regenerate it with: nsgen render {topology} --host b -o {good}" in err


def test_up_without_ansible_says_how_to_install_it(tmp_path: Path) -> None:
    # A Python with nothing beside it (nsgen looks for ansible-playbook there before PATH),
    # given this environment's packages: a venv's python is a link to the system's.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(os.path.realpath(sys.executable))
    packages = os.pathsep.join([str(ROOT), *site_directories()])
    result = subprocess.run(
        [str(bindir / "python3"), "-m", "nsgen", "up", str(HOSTS / "two-hosts.toml")],
        capture_output=True,
        text=True,
        env=dict(os.environ, PATH=str(bindir), PYTHONPATH=packages),
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "nsgen: two-hosts.toml spans hosts, which nsgen runs through ansible-playbook: "
        "install it with pip install 'nsgen[ansible]' (or run nsgen ansible and your own "
        "Ansible)\n"
    )


def test_each_host_verifies_what_its_namespaces_reach_across_tunnels() -> None:
    lab = pipeline.compile_lab(HOSTS / "three-hosts.toml")
    from nsgen.plan import build_for

    pings = {m.name: build_for(lab, m.name).checks for m in lab.machines}
    on = {ns.name: ns.machine for ns in lab.namespaces}
    for machine, checks in pings.items():
        assert checks and all(on[c.namespace or ""] == machine for c in checks)
    # Every address on a subnet that spans hosts is pinged from another host.
    remote = [c for cs in pings.values() for c in cs if ", on host " in c.what]
    assert {str(c.address) for c in remote} >= {
        "10.60.0.11", "10.60.0.12", "10.60.0.13", "10.61.0.1", "10.61.0.2",
        "10.62.0.1", "10.62.0.2", "10.63.0.11", "10.63.0.12",
    }  # fmt: skip
    assert build(lab).checks  # the whole lab still plans


def test_graph_draws_hosts_as_clusters_and_tunnels_as_edges() -> None:
    code, mermaid, err = run_cli(["graph", str(HOSTS / "three-hosts.toml")])
    assert code == 0, err
    for host, address in (("a", "192.0.2.1"), ("b", "192.0.2.2"), ("c", "192.0.2.3")):
        assert f'    subgraph on_{host} ["host {host} ({address})"]\n' in mermaid
    lab = pipeline.compile_lab(HOSTS / "three-hosts.toml")
    vnis = {x.vni for x in lab.vxlans}
    tunnels = [line for line in mermaid.splitlines() if " -.-|" in line]
    # Three point-to-point tunnels and the bridge on three hosts: one edge per pair.
    assert len(tunnels) == 6 and {int(t.split("VXLAN ")[1].split("<")[0]) for t in tunnels} == vnis
    code, dot, err = run_cli(["graph", str(HOSTS / "three-hosts.toml"), "--format", "dot"])
    assert code == 0, err
    assert dot.count("style=dashed") == 6 and "subgraph cluster_on_b {" in dot
    if tools.find("dot"):
        parsed = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
        assert parsed.returncode == 0, parsed.stderr


def test_show_lists_hosts_and_tunnels() -> None:
    import json

    code, out, err = run_cli(["show", "--json", str(HOSTS / "two-hosts.toml")])
    assert code == 0, err
    data = json.loads(out)
    assert [h["name"] for h in data["hosts"]] == ["a", "b"]
    assert {p["name"]: p["host"] for p in data["namespaces"]} == {
        "host": None, "a1": "a", "a2": "a", "b1": "b"
    }  # fmt: skip
    assert sorted((t["host"], t["name"]) for t in data["tunnels"]) == [
        ("a", "eth1"), ("a", "lan-vx"), ("b", "eth1"), ("b", "lan-vx")
    ]  # fmt: skip
    code, text, _ = run_cli(["show", str(HOSTS / "two-hosts.toml")])
    assert "namespace b1 (on host b)" in text and "\ntunnels (VXLAN)\n" in text
