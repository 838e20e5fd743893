"""`nsgen import`: published containerlab and tinet labs (tests/imports/, their sources in
its README) become topology files that validate; what nsgen cannot make stays as comments
with one warning line per kind; the simple ones come up and pass verify; any document of
an unknown shape is refused in one line, never with a traceback.

Golden imports (tests/imports/golden/NAME.toml and NAME.stderr): regenerate them with
`python3 -m pytest tests/test_import.py --update-golden` and read the diff.
"""

from __future__ import annotations

import copy
import re
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from nsgen import pipeline
from nsgen.errors import NsgenError, TopologyError, messages
from nsgen.importer import import_file
from nsgen.importer.draft import Kind
from tests.conftest import ROOT, examples
from tests.golden import check
from tests.live import LabFactory, host_residue
from tests.test_cli import run_cli

DATA = ROOT / "tests" / "imports"
GOLDEN = DATA / "golden"
SOURCES = sorted(p for p in DATA.glob("*/*.y*ml"))


def stem(path: Path) -> str:
    return path.name.split(".")[0]


# What each published lab imports to: (namespaces, bridges, veth pairs, routes, addresses).
IMPORTS = {
    "br01": (3, 1, 3, 0, 0),
    "frr01": (6, 0, 6, 6, 3),
    "dep_test": (4, 0, 2, 0, 0),
    "srl02": (2, 0, 1, 0, 0),
    "srlfrr01": (2, 0, 1, 0, 0),
    "clos02": (14, 0, 16, 0, 0),
    "cvx01": (2, 0, 1, 0, 0),
    "k8s_kind01": (4, 0, 2, 0, 0),
    "ixiac01": (2, 0, 2, 0, 0),
    "basic_netns": (3, 0, 2, 2, 4),
    "test_node_interface_bridge": (3, 1, 3, 0, 3),
    "basic_ospf": (7, 0, 7, 3, 14),
    "basic_peer": (2, 0, 1, 0, 2),
    "basic_napt": (3, 0, 2, 2, 2),
    "basic_tc": (2, 0, 1, 0, 2),
}
# Pure Linux nodes and bridges whose every address and gateway the file itself gives: these
# come up and pass verify. (The others' gateways and addresses live in a router's own
# configuration, which nsgen does not run: their verify would rightly fail.)
LIVE = ["basic_netns", "test_node_interface_bridge", "basic_tc", "br01", "clos02", "srl02"]


def source(name: str) -> Path:
    return next(p for p in SOURCES if stem(p) == name)


def test_every_kept_lab_is_tested_and_named_in_the_readme() -> None:
    assert sorted(stem(p) for p in SOURCES) == sorted(IMPORTS)
    readme = (DATA / "README.md").read_text()
    for path in SOURCES:
        row = re.search(
            rf"^\| `{re.escape(str(path.relative_to(DATA)))}` \| `[^`]+` \| [0-9a-f]{{40}} \|",
            readme,
            re.M,
        )
        assert row, (
            f"{path.name}: no row with its source path and commit in tests/imports/README.md"
        )


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_import_matches_golden(name: str, update_golden: bool) -> None:
    code, out, err = run_cli(["import", str(source(name))])
    assert code == 0, err
    check(out, GOLDEN / f"{name}.toml", update_golden)
    check(err, GOLDEN / f"{name}.stderr", update_golden)


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_import_validates_to_what_the_lab_declares(name: str) -> None:
    code, out, err = run_cli(["validate", str(GOLDEN / f"{name}.toml")])
    assert (code, out.startswith(f"{name}.toml: ok (lab {name}: ")) == (0, True), err
    lab = pipeline.compile_lab(GOLDEN / f"{name}.toml")
    addresses = [a for veth in lab.veths for end in (veth.a, veth.b) for a in end.addresses]
    counts = (
        len(lab.namespaces),
        len(lab.bridges),
        len(lab.veths),
        len(lab.routes),
        len(addresses),
    )
    assert counts == IMPORTS[name]


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_one_warning_line_per_kind_of_comment(name: str) -> None:
    imported = import_file(source(name))
    kept = re.findall(r"^# not imported, ([a-z]+): ", imported.text, re.M)
    tags = [re.search(r"'# not imported, ([a-z]+):'", line)[1] for line in imported.warnings]  # type: ignore[index]
    assert sorted(tags) == sorted(set(kept))
    for line in imported.warnings:
        count = int(re.search(r": (\d+) ", line)[1])  # type: ignore[index]
        tag = re.search(r"'# not imported, ([a-z]+):'", line)[1]  # type: ignore[index]
        assert count == kept.count(tag), line


def test_a_kind_says_what_it_keeps() -> None:
    assert len({kind.tag for kind in Kind}) == len(Kind)


# ---- the commands translator ---------------------------------------------------------------

LINKED = """
name: t
topology:
  nodes:
    r1: {{kind: linux, exec: {exec}}}
    r2: {{kind: linux}}
  links:
    - endpoints: ["r1:eth1", "r2:eth1"]
"""


def imported(tmp_path: Path, exec_lines: list[str]) -> str:
    path = tmp_path / "t.clab.yml"
    path.write_text(LINKED.format(exec=yaml.safe_dump(exec_lines, default_flow_style=True).strip()))
    return import_file(path).text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ip addr add 10.0.0.1/24 dev eth1", 'address = "10.0.0.1/24"'),
        ("ip -6 address add 2001:db8::1/64 dev eth1", 'address = "2001:db8::1/64"'),
        ("ip a add dev eth1 10.0.0.1", 'address = "10.0.0.1/32"'),
        ("ip link set dev eth1 mtu 9000 up", "mtu = 9000"),
        ("ip link set eth1 address 02:00:00:00:00:aa", 'mac = "02:00:00:00:00:aa"'),
        ("sysctl -w net.ipv4.ip_forward=1", "forwarding = true"),
        ("sysctl net.ipv6.conf.all.forwarding=1", "forwarding = true"),
        (
            "sysctl -w net.ipv4.conf.all.rp_filter=0",
            'sysctls = { "net.ipv4.conf.all.rp_filter" = 0 }',
        ),
        (
            "ip addr add 10.255.0.1/32 dev lo",
            "# not imported, loopback: ip addr add 10.255.0.1/32 dev lo",
        ),
        ("vtysh -c 'conf t' -c 'router ospf'", "# not imported, vtysh: vtysh -c 'conf t'"),
        ("/usr/lib/frr/frr start", "# not imported, daemon: /usr/lib/frr/frr start"),
        (
            "bird -c /etc/bird/bird.conf",
            '{ name = "bird", command = "exec bird -f -c /etc/bird/bird.conf -s '
            '$NSGEN_RUN/bird.ctl", ready = "birdc -s $NSGEN_RUN/bird.ctl show status" }',
        ),
        ("/usr/sbin/bird -d", '"exec /usr/sbin/bird -d -s $NSGEN_RUN/bird.ctl"'),
        ("bird -s /run/bird.ctl", "# not imported, daemon: bird -s /run/bird.ctl"),
        ("bird -c /etc/bird.conf &", "# not imported, daemon: bird -c /etc/bird.conf &"),
        ("tc qdisc add dev eth1 root netem delay 5ms", "# not imported, command: tc qdisc"),
        ("sysctl -w kernel.pid_max=99999", "# not imported, setting: sysctl -w kernel.pid_max"),
        (
            "ip addr add 10.0.0.1/24 dev eth9",
            "# not imported, refused: ip addr add 10.0.0.1/24 dev eth9",
        ),
        ("ip route add 10.9.0.0/16 via 10.99.0.1", "# not imported, refused: route to 10.9.0.0/16"),
        (
            "ip route add 10.9.0.1/16 via 10.0.0.2",
            "# not imported, refused: ip route add 10.9.0.1/16",
        ),
        ("ip route add 10.9.0.0/16 via 10.0.0.2 metric 5", "# not imported, command: ip route add"),
    ],
)
def test_commands_become_keys_or_comments(tmp_path: Path, line: str, expected: str) -> None:
    text = imported(
        tmp_path, ["ip addr add 10.0.0.1/24 dev eth1", line] if "route" in line else [line]
    )
    assert expected in text
    lab_file = tmp_path / "t.toml"
    lab_file.write_text(text)
    pipeline.compile_plan(lab_file)


def test_two_birds_in_a_node_are_two_processes(tmp_path: Path) -> None:
    text = imported(tmp_path, ["bird -c /etc/bird/a.conf", "bird -c /etc/bird/b.conf"])
    assert '{ name = "bird", command = "exec bird -f -c /etc/bird/a.conf' in text
    assert '{ name = "bird-2", command = "exec bird -f -c /etc/bird/b.conf' in text


BOUND = """
name: t
topology:
  nodes:
    r1:
      kind: linux
      binds: [r1/bird.conf:/etc/bird/bird.conf:ro, absent.conf:/etc/absent.conf,
              r1/bird.conf:/root/bird.conf, /srv/bird.conf:/etc/b.conf, r1:/etc/bird]
"""


def test_files_bound_under_etc_from_beside_the_topology_are_files(tmp_path: Path) -> None:
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "bird.conf").write_text("router id 10.255.0.1;\n")
    path = tmp_path / "t.clab.yml"
    path.write_text(BOUND)
    result = import_file(path)
    assert 'files."bird/bird.conf" = "r1/bird.conf"' in result.text
    for kept in (
        "absent.conf:/etc/absent.conf",  # no source beside the topology
        "r1/bird.conf:/root/bird.conf",  # not under /etc
        "/srv/bird.conf:/etc/b.conf",  # a source elsewhere on the host
        "r1:/etc/bird",  # a directory
    ):
        assert f"# not imported, file: binds: {kept}\n" in result.text
    (tmp_path / "t.toml").write_text(result.text)
    lab = pipeline.compile_lab(tmp_path / "t.toml")
    assert [(f.path, f.content) for f in lab.files] == [
        ("bird/bird.conf", "router id 10.255.0.1;\n")
    ]


def test_routes_map_once_their_gateway_is_on_a_subnet(tmp_path: Path) -> None:
    text = imported(
        tmp_path,
        ["ip route replace default via 10.0.0.2", "ip addr add 10.0.0.1/24 dev eth1"],
    )
    assert 'routes = [{ to = "default", via = "10.0.0.2" }]' in text


def test_link_up_and_lo_up_need_nothing(tmp_path: Path) -> None:
    text = imported(tmp_path, ["ip link set eth1 up", "ip link set lo up"])
    assert re.search("^# not imported, ", text, re.M) is None


def test_unsafe_names_are_renamed_and_said(tmp_path: Path) -> None:
    path = tmp_path / "t.clab.yml"
    path.write_text(
        'name: "my lab"\ntopology:\n  nodes:\n    "r/1": {kind: linux}\n    host: {kind: linux}\n'
        '  links:\n    - endpoints: ["r/1:Ethernet1/1", "host:if9"]\n'
    )
    result = import_file(path)
    assert 'name = "my-lab"' in result.text
    assert "[namespaces.r-1]" in result.text
    assert "# not imported, renamed: r/1 is r-1 here" in result.text
    assert "[namespaces.r-1.interfaces.Ethernet1-1]" in result.text
    assert 'peer = "host:xif9"' in result.text
    assert "[namespaces.host-2]" in result.text
    (tmp_path / "t.toml").write_text(result.text)
    pipeline.compile_plan(tmp_path / "t.toml")


def test_a_bridge_named_like_a_ports_host_end_is_renamed(tmp_path: Path) -> None:
    """tinet's bridge `r1#eth1` is r1-eth1 in nsgen, the name nsgen gives the host end of
    r1's eth1 on it (found by the fuzz test below)."""
    path = tmp_path / "t.yml"
    path.write_text(
        "nodes:\n- name: r1\n  interfaces:\n  - {name: eth1, type: bridge, opts: 'r1#eth1'}\n"
    )
    result = import_file(path)
    assert "[bridges.r1-eth1-2]" in result.text
    assert 'bridge = "r1-eth1-2"' in result.text
    assert (
        "# not imported, renamed: r1#eth1 is r1-eth1-2 here (r1-eth1 is a device of the host)"
        in result.text
    )
    (tmp_path / "t.toml").write_text(result.text)
    pipeline.compile_plan(tmp_path / "t.toml")


# ---- refusals: one line each ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("[1, 2]\n", [], "x.yml: neither a containerlab topology"),
        ("a: [1\n", [], "x.yml: not YAML: expected ',' or ']', but got '<stream end>' at line 2"),
        ("nodes: []\n", ["--from", "containerlab"], "x.yml: not a containerlab topology"),
        (
            "topology:\n  nodes: {r1: {kind: linux}}\n  links: [{endpoints: [r1]}]\n",
            [],
            "x.yml: topology.links[0].endpoints[0]: 'r1' is not an endpoint such as \"r1:eth1\"",
        ),
        ("topology:\n  nodes: [r1]\n", [], "x.yml: topology.nodes: expected a mapping, not a list"),
        ("nodes:\n  - {interfaces: []}\n", [], "x.yml: nodes[0].name: expected text, not nothing"),
    ],
)
def test_refusals_are_one_line(tmp_path: Path, text: str, args: list[str], message: str) -> None:
    path = tmp_path / "x.yml"
    path.write_text(text)
    code, out, err = run_cli(["import", str(path), *args])
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and err.startswith(message), err


def test_yaml_aliases_are_shown_short_even_when_huge_or_circular(tmp_path: Path) -> None:
    # Nine levels of nine aliases: 387 million strings if written out; and a list in itself.
    levels = "".join(f"x{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10))
    path = tmp_path / "x.clab.yml"
    path.write_text(
        "l0: &l0 x\n" + levels + "loop: &loop [x, *loop]\n"
        "topology:\n  nodes:\n    r1: {kind: linux, labels: *l9}\n"
    )
    result = import_file(path)
    kept = [line for line in result.text.splitlines() if line.startswith("# not imported")]
    assert kept and all(len(line) < 400 for line in kept)
    assert '# not imported, setting: loop: ["x", ...' in result.text
    assert "# not imported, setting: labels: [[[[[[[[[" in result.text


def test_a_missing_file_is_one_line() -> None:
    code, _, err = run_cli(["import", "/nonexistent/lab.clab.yml"])
    assert (code, err) == (1, "lab.clab.yml: no such file\n")


def test_the_cli_loads_no_yaml_until_import_runs() -> None:
    probe = "import sys, nsgen.cli; print(sorted({'yaml', 'nsgen.importer'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout == "[]\n"


# ---- fuzz: generated containerlab and tinet documents --------------------------------------

NAMES = st.text(string.ascii_letters + string.digits + "-_./: #", min_size=0, max_size=18)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), NAMES)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(NAMES, st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)
NODE_NAMES = st.sampled_from(["r1", "r2", "h1", "br0", "host", "a b", "x" * 70, "1"])
IFACES = st.sampled_from(["eth1", "eth2", "net0", "e1-1", "lo", "if1", "a/b", "x" * 20])
COMMANDS = st.one_of(
    st.builds(
        "ip addr add {}/{} dev {}".format,
        st.ip_addresses(v=4).map(str),
        st.integers(8, 32),
        IFACES,
    ),
    st.builds(
        "ip route add {} via {}".format,
        st.sampled_from(["default", "10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32", "bad"]),
        st.ip_addresses().map(str),
    ),
    st.builds(
        "sysctl -w {}={}".format,
        st.sampled_from(["net.ipv4.ip_forward", "net.ipv4.conf.eth1.rp_filter", "kernel.x"]),
        st.sampled_from(["0", "1", "a b"]),
    ),
    st.sampled_from(
        ["ip link set eth1 up", "ip link set eth1 mtu 1400", "vtysh -c 'conf t'", "'unclosed"]
    ),
    NAMES,
)
ENDPOINTS = st.one_of(
    st.builds(
        "{}:{}".format,
        st.one_of(NODE_NAMES, st.sampled_from(["macvlan", "macvtap", "mgmt-net"])),
        IFACES,
    ),
    st.fixed_dictionaries({"node": NODE_NAMES, "interface": IFACES}),
)
CLAB_NODE = st.fixed_dictionaries(
    {"kind": st.sampled_from(["linux", "bridge", "ovs-bridge", "srl", None])},
    optional={
        "exec": st.lists(COMMANDS, max_size=4),
        "image": NAMES,
        "binds": st.lists(NAMES, max_size=2),
        "sysctls": st.dictionaries(st.sampled_from(["net.ipv4.ip_forward", "x"]), SCALARS),
    },
)
CLAB_LINK = st.one_of(
    st.fixed_dictionaries({"endpoints": st.lists(ENDPOINTS, min_size=2, max_size=2)}),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["veth", "host", "macvlan", "vxlan"]),
            "endpoint": ENDPOINTS,
            "host-interface": IFACES,
        },
        optional={"mtu": SCALARS},
    ),
)
CONTAINERLAB = st.fixed_dictionaries(
    {
        "name": NAMES,
        "topology": st.fixed_dictionaries(
            {
                "nodes": st.dictionaries(NODE_NAMES, CLAB_NODE, max_size=5),
                "links": st.lists(CLAB_LINK, max_size=6),
            },
            optional={"kinds": st.just({"linux": {"image": "alpine"}}), "mgmt": JUNK},
        ),
    }
)
TINET_IFACE = st.fixed_dictionaries(
    {"name": IFACES, "type": st.sampled_from(["direct", "bridge", "phys", "veth"])},
    optional={
        "opts": st.one_of(st.builds("{}#{}".format, NODE_NAMES, IFACES), NODE_NAMES),
        "mac": st.sampled_from(["02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", "x"]),
    },
)
TINET = st.fixed_dictionaries(
    {
        "nodes": st.lists(
            st.fixed_dictionaries(
                {"name": NODE_NAMES},
                optional={"interfaces": st.lists(TINET_IFACE, max_size=3), "image": NAMES},
            ),
            max_size=5,
        ),
        "node_configs": st.lists(
            st.fixed_dictionaries(
                {"name": NODE_NAMES, "cmds": st.lists(st.builds(dict, cmd=COMMANDS), max_size=4)}
            ),
            max_size=4,
        ),
    },
    optional={
        "switches": st.lists(
            st.fixed_dictionaries(
                {"name": NODE_NAMES, "interfaces": st.lists(TINET_IFACE, max_size=3)}
            ),
            max_size=2,
        ),
        "test": JUNK,
    },
)


@st.composite
def mutated(draw: st.DrawFn, documents: st.SearchStrategy[object]) -> object:
    """A well-formed document with one value anywhere in it replaced by junk."""
    # A copy: strategies such as st.just hand out the same object every time, and replacing a
    # value in it would change what later examples (and hypothesis's replay) draw.
    document = copy.deepcopy(draw(documents))
    places: list[tuple[Any, Any]] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            places.extend((value, k) for k in value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            places.extend((value, i) for i in range(len(value)))
            for item in value:
                walk(item)

    walk(document)
    if places:
        container, where = draw(st.sampled_from(places))
        container[where] = draw(JUNK)
    return document


DOCUMENTS = st.one_of(CONTAINERLAB, TINET, mutated(CONTAINERLAB), mutated(TINET), JUNK)


@settings(max_examples=examples(300))
@given(document=DOCUMENTS)
def test_fuzz_import_refuses_in_one_line_or_writes_a_valid_lab(
    tmp_path_factory: pytest.TempPathFactory, document: object
) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    path = directory / "lab.yml"
    path.write_text(yaml.safe_dump(document))
    try:
        result = import_file(path)
    except TopologyError as error:
        assert len(messages(error)) == 1, messages(error)
        return
    tomli.loads(result.text)
    target = directory / "lab.toml"
    target.write_text(result.text)
    try:
        pipeline.compile_plan(target)
    except NsgenError as error:
        pytest.fail(f"{result.text}\n{messages(error)}")


# ---- live: the simple ones up, verified and down -------------------------------------------


@pytest.mark.parametrize("name", LIVE)
def test_imported_lab_comes_up_and_verifies(lab_factory: LabFactory, name: str) -> None:
    lab = lab_factory(GOLDEN / f"{name}.toml")
    lab.up()
    result = lab.sh("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    lab.down()
    assert host_residue(lab.prefix) == []
