"""nsgen graph: golden diagrams per example, what they show, and that the real tools read them.

Regenerate on purpose with `pytest tests/test_graph.py --update-golden`, then read the diff
(this also rewrites the diagrams embedded in README.md and docs/).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsgen import graph, pipeline
from nsgen.cli import GraphFormat
from nsgen.plan import AddRoute, Plan
from tests import docs, golden
from tests.conftest import DAEMON_EXAMPLES, EXAMPLES, ROOT, tool
from tests.test_cli import run_cli

GOLDEN = ROOT / "golden"
TOPOLOGIES = sorted([*EXAMPLES.glob("*.toml"), *DAEMON_EXAMPLES], key=lambda p: p.stem)
IDS = [p.stem for p in TOPOLOGIES]
SUFFIX = {"mermaid": ".mmd", "dot": ".dot"}
MERMAID_DIR = ROOT / "tests" / "mermaid"
NODE = "Node.js and npm (Debian packages nodejs and npm)"
# README and docs/ embed examples' diagrams, each after a marker naming the command.
EMBEDDED = [
    (page, marker[1])
    for page in docs.PAGES
    for marker in re.finditer(
        r"^<!-- nsgen graph examples/(\S+)\.toml -->$", page.read_text(), re.M
    )
]


def drawn(topology: Path, fmt: str) -> str:
    whole = pipeline.compile_lab(topology)
    if whole.spans_hosts:
        return graph.draw_lab(whole, None, fmt)
    return graph.draw(pipeline.compile_plan(topology), fmt)


def lab(tmp_path: Path, text: str) -> Plan:
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return pipeline.compile_plan(path)


@pytest.mark.parametrize("fmt", list(SUFFIX))
@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_graph_matches_golden(topology: Path, fmt: str, update_golden: bool) -> None:
    golden.check(drawn(topology, fmt), GOLDEN / f"{topology.stem}{SUFFIX[fmt]}", update_golden)


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_every_example_has_golden_diagrams(fmt: str) -> None:
    assert sorted(p.stem for p in GOLDEN.glob(f"*{SUFFIX[fmt]}")) == IDS


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_graph_is_deterministic(topology: Path) -> None:
    for fmt in SUFFIX:
        assert drawn(topology, fmt) == drawn(topology, fmt)


def test_cli_prints_mermaid_by_default_and_dot_on_request() -> None:
    routed = str(EXAMPLES / "routed.toml")
    assert run_cli(["graph", routed]) == (0, (GOLDEN / "routed.mmd").read_text(), "")
    assert run_cli(["graph", routed, "--format", "dot"]) == (
        0,
        (GOLDEN / "routed.dot").read_text(),
        "",
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["graph", "/nonexistent/lab.toml"], 1, "lab.toml: no such file\n"),
        (["graph", str(EXAMPLES / "star.toml"), "--format", "svg"], 2, "'svg' is not one of"),
    ],
)
def test_graph_errors(args: list[str], code: int, message: str) -> None:
    got, out, err = run_cli(args)
    assert (got, out) == (code, "")
    assert message in err
    assert "Traceback" not in err


# -- what the diagram says -----------------------------------------------------------------


def test_routed_router_sits_between_its_subnets() -> None:
    # Links point away from where a walk reached first, so layout engines rank r1 below lan1
    # and above lan2 instead of beside the hosts.
    diagram = graph.build(pipeline.compile_plan(EXAMPLES / "routed.toml"))
    assert {(link.a, link.b) for link in diagram.links} == {
        ("br_lan1", "ns_r1"),
        ("ns_r1", "br_lan2"),
        ("br_lan1", "ns_a1"),
        ("br_lan1", "ns_a2"),
        ("br_lan2", "ns_b1"),
    }
    r1_to_lan2 = next(link for link in diagram.links if link.a == "ns_r1")
    assert r1_to_lan2.lines == ("eth2: 10.2.0.1/24, fd00:2::1/64", "port r1-eth2")


def test_host_interfaces_mtu_and_a_namespace_holding_a_bridge(tmp_path: Path) -> None:
    plan = lab(
        tmp_path,
        """
        [host.interfaces.up0]
        peer = "r:wan"
        address = "10.9.0.1/30"
        mtu = 1400
        [namespaces.r.interfaces.wan]
        address = "10.9.0.2/30"
        [bridges.lan]
        namespace = "r"
        address = "10.8.0.1/24"
        [namespaces.h.interfaces.eth0]
        bridge = "lan"
        address = "10.8.0.2/24"
        """,
    )
    text = graph.mermaid(graph.build(plan))
    assert '    host["host"]\n' in text
    # r holds lan and has a veth end of its own: drawn as a box around its node and bridge.
    assert (
        '    subgraph in_ns_r ["r"]\n        ns_r("r")\n        br_lan{{"lan<br>10.8.0.1/24"}}\n'
        in (text)
    )
    assert '    host ---|"up0: 10.9.0.1/30<br>wan: 10.9.0.2/30<br>mtu 1400"| ns_r\n' in text
    assert '    br_lan ---|"port h-eth0<br>eth0: 10.8.0.2/24"| ns_h\n' in text


def test_macvlans_end_at_their_host_nic(tmp_path: Path) -> None:
    plan = lab(
        tmp_path,
        """
        [namespaces.h1.interfaces.mv0]
        kind = "macvlan"
        parent = "eth0"
        address = "192.168.77.5/24"
        [namespaces.h2.interfaces.mv0]
        kind = "macvlan"
        parent = "eth0"
        mode = "private"
        [namespaces.h3.interfaces.mv1]
        kind = "macvlan"
        parent = "eth1"
        """,
    )
    text = graph.mermaid(graph.build(plan))
    # One node per host NIC, however many macvlans sit on it; each macvlan is an edge to it.
    assert text.count('nic_eth0[/"eth0<br>host NIC"/]') == 1
    assert '    nic_eth1[/"eth1<br>host NIC"/]\n' in text
    assert '    ns_h1 ---|"mv0: 192.168.77.5/24<br>macvlan bridge"| nic_eth0\n' in text
    assert '    nic_eth0 ---|"macvlan private<br>mv0"| ns_h2\n' in text
    assert '    ns_h3 ---|"mv1<br>macvlan bridge"| nic_eth1\n' in text
    dot = graph.dot(graph.build(plan))
    assert 'nic_eth0 [label="eth0\\nhost NIC", shape=parallelogram];' in dot


def test_diagram_derives_from_the_plan_not_the_file() -> None:
    plan = pipeline.compile_plan(EXAMPLES / "routed.toml")
    without_routes = Plan(
        plan.lab, tuple(op for op in plan.ops if not isinstance(op, AddRoute)), plan.checks
    )
    assert "default via" in graph.mermaid(graph.build(plan))
    assert "default via" not in graph.mermaid(graph.build(without_routes))


@given(st.lists(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}", fullmatch=True), unique=True))
def test_node_ids_are_unique_and_safe_for_mermaid_and_dot(names: list[str]) -> None:
    ids = [graph.node_id("ns", name) for name in names]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", i) for i in ids)


# -- the diagrams in README.md and docs/ ----------------------------------------------------


def embedded_block(text: str, name: str) -> re.Match[str]:
    marker = f"<!-- nsgen graph examples/{name}.toml -->"
    found = re.search(re.escape(marker) + r"\n```mermaid\n(.*?)```\n", text, re.DOTALL)
    assert found is not None, f"no ```mermaid block after {marker}"
    return found


def test_readme_shows_a_diagram() -> None:
    assert any(page.name == "README.md" for page, _ in EMBEDDED)


@pytest.mark.parametrize(
    ("page", "name"),
    EMBEDDED,
    ids=[f"{page.name}-{name.replace('/', '-')}" for page, name in EMBEDDED],
)
def test_docs_show_the_current_diagram(page: Path, name: str, update_golden: bool) -> None:
    current = drawn(EXAMPLES / f"{name}.toml", "mermaid")
    text = page.read_text()
    block = embedded_block(text, name)
    if update_golden:
        page.write_text(text[: block.start(1)] + current + text[block.end(1) :])
        block = embedded_block(page.read_text(), name)
    assert block.group(1) == current, f"{page.name}'s diagram is stale: run --update-golden"


# -- the real tools ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mermaid_parser() -> list[str]:
    """Mermaid's own parser (npm, pinned in tests/mermaid/package-lock.json), as a command."""
    node = tool("node", NODE)
    npm = tool("npm", NODE)
    if not (MERMAID_DIR / "node_modules" / "mermaid").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=MERMAID_DIR,
            check=True,
            capture_output=True,
            timeout=600,
        )
    return [node, str(MERMAID_DIR / "parse.mjs")]


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_mermaid_parses_the_golden_diagram(topology: Path, mermaid_parser: list[str]) -> None:
    path = GOLDEN / f"{topology.stem}.mmd"
    result = subprocess.run([*mermaid_parser, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mermaid_rejects_a_broken_diagram(mermaid_parser: list[str], tmp_path: Path) -> None:
    # The parser really parses: an unterminated label is an error.
    broken = tmp_path / "broken.mmd"
    broken.write_text('flowchart TD\n    a ---|"x| b\n')
    result = subprocess.run([*mermaid_parser, str(broken)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "FAIL" in result.stdout


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_graphviz_reads_the_golden_diagram(topology: Path) -> None:
    dot = tool("dot", "the Debian package graphviz")
    path = GOLDEN / f"{topology.stem}.dot"
    result = subprocess.run([dot, "-Tsvg", str(path)], capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, "")
    assert "<svg" in result.stdout


def test_cli_offers_exactly_the_printers() -> None:
    assert {f.value for f in GraphFormat} == set(graph.PRINTERS)


def test_taps_are_nodes_and_links_carry_each_ends_egress() -> None:
    text = graph.mermaid(
        graph.build(pipeline.compile_plan(ROOT / "tests" / "linkprops" / "wan.toml"))
    )
    assert '    tap_r1_svm1[/"vm1<br>TAP, owner 1000, group kvm"/]' in text
    assert (
        '    br_vms ---|"mtu 9000<br>egress r1:vm1: rate 100mbit, loss 100%"| tap_r1_svm1' in text
    )
    assert "egress host:wan0: rate 1gbit, delay 50ms ±10ms, loss 1%" in text
    assert "egress r1:wan: rate 500kbit, delay 1.5ms" in text


def test_a_namespace_notes_its_files_processes_and_exec() -> None:
    plan = pipeline.compile_plan(EXAMPLES / "bgp-frr" / "bgp-frr.toml")
    r1 = next(p for p in graph.build(plan).places if p.name == "r1")
    assert r1.notes == (
        "forwarding",
        "lo 10.255.0.1/32",
        "file /etc/frr/frr.conf",
        "file /etc/frr/daemons",
        "process zebra",
        "process bgpd",
        "exec: 1 command",
    )
