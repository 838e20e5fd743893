"""`nsgen new`: every template gives a topology that validates, routes every host to every
other one, and works on the real kernel; bad options give one line and exit 2.

Golden scaffolds (tests/scaffolds/NAME.toml) show a reviewer what each template writes;
regenerate them with `pytest tests/test_scaffold.py --update-golden` and read the diff.
"""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsgen import load, pipeline, validate
from nsgen.lab import IPAddress, IPNetwork, Lab
from nsgen.scaffold import Options, scaffold
from nsgen.shapes import Template
from tests.conftest import ROOT
from tests.live import LabFactory, host_residue
from tests.test_cli import run_cli

GOLDEN = ROOT / "tests" / "scaffolds"
# Small sizes: what the live tests bring up.
SMALL = {
    "pair": ["pair"],
    "star": ["star", "--hosts", "3"],
    "line": ["line", "--hosts", "3"],
    "ring": ["ring", "--hosts", "4"],
    "tree": ["tree", "--depth", "2", "--fanout", "2"],
}


def lab_of(text: str, tmp_path: Path) -> Lab:
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return validate.validate(load.load(path))


@pytest.mark.parametrize("name", SMALL)
def test_scaffold_matches_golden(name: str, update_golden: bool) -> None:
    code, out, err = run_cli(["new", *SMALL[name]])
    assert (code, err) == (0, "")
    golden = GOLDEN / f"{name}.toml"
    if update_golden:
        golden.write_text(out)
    assert out == golden.read_text()


@pytest.mark.parametrize("name", SMALL)
def test_golden_scaffold_validates_and_renders(name: str) -> None:
    script = pipeline.render_file(GOLDEN / f"{name}.toml")
    assert script.startswith("#!/bin/sh\n")


def test_every_template_has_a_golden_scaffold() -> None:
    assert sorted(SMALL) == sorted(t.value for t in Template)
    assert sorted(p.stem for p in GOLDEN.glob("*.toml")) == sorted(SMALL)


# ---- routing: follow every packet through the generated routes ------------------------------


def walk(lab: Lab, source: str, target: IPAddress) -> list[str]:
    """The namespaces a packet from `source` to `target` passes, by longest-prefix match
    over connected subnets and routes, as the kernel forwards it. Fails on a loop or a
    dead end."""
    holder = {a.ip: e.namespace for v in lab.veths for e in (v.a, v.b) for a in e.addresses}
    connected: dict[str | None, list[IPNetwork]] = {}
    for veth in lab.veths:
        for end in (veth.a, veth.b):
            connected.setdefault(end.namespace, []).extend(a.network for a in end.addresses)
    routes: dict[str | None, list[tuple[IPNetwork, IPAddress]]] = {}
    for route in lab.routes:
        to = route.to or ip_network("0.0.0.0/0" if route.version == 4 else "::/0")
        routes.setdefault(route.namespace, []).append((to, route.vias[0]))
    forwarding = {ns.name for ns in lab.namespaces if ns.forwarding}

    path: list[str] = [source]
    here: str | None = source
    for _ in range(len(lab.namespaces) + 1):
        if holder.get(target) == here:
            return path
        assert here == source or here in forwarding, f"{here} does not forward: {path}"
        if any(target in net for net in connected.get(here, [])):
            here = holder.get(target)
            assert here is not None, f"nobody has {target} on {path[-1]}'s subnet"
        else:
            matches = [(to, via) for to, via in routes.get(here, []) if target in to]
            assert matches, f"{here} has no route to {target}: {path}"
            _, via = max(matches, key=lambda m: m[0].prefixlen)
            here = holder[via]
        path.append(str(here))
    raise AssertionError(f"loop towards {target}: {path}")


def assert_all_pairs_route(lab: Lab) -> None:
    every = [(e.namespace, a.ip) for v in lab.veths for e in (v.a, v.b) for a in e.addresses]
    for source in {ns for ns, _ in every}:
        assert source is not None
        for _, address in every:
            walk(lab, source, address)


@settings(max_examples=40, deadline=None)
@given(
    template=st.sampled_from([Template.LINE, Template.RING, Template.TREE]),
    hosts=st.integers(min_value=3, max_value=12),
    depth=st.integers(min_value=1, max_value=3),
    fanout=st.integers(min_value=1, max_value=3),
    ipv6=st.booleans(),
)
def test_routed_shapes_reach_every_address_from_everywhere(
    template: Template,
    hosts: int,
    depth: int,
    fanout: int,
    ipv6: bool,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    options = (
        Options(depth=depth, fanout=fanout) if template is Template.TREE else Options(hosts=hosts)
    )
    if ipv6:
        options = Options(options.hosts, options.depth, options.fanout, "fd00:6::/64")
    lab = lab_of(scaffold(template, options), tmp_path_factory.mktemp("lab"))
    assert_all_pairs_route(lab)


def test_ring_paths_are_shortest_and_the_same_both_ways(tmp_path: Path) -> None:
    lab = lab_of(scaffold(Template.RING, Options(hosts=6)), tmp_path)
    hosts = {e.namespace: e.addresses[0].ip for v in lab.veths for e in (v.a, v.b)}
    there = walk(lab, "h1", hosts["h4"])
    back = walk(lab, "h4", hosts["h1"])
    assert there == ["h1", "r1", "r2", "r3", "r4", "h4"]
    assert back == list(reversed(there))
    assert walk(lab, "h1", hosts["h6"]) == ["h1", "r1", "r6", "h6"]


@pytest.mark.parametrize("template", [Template.LINE, Template.RING])
def test_routes_per_router_grow_with_the_log_of_the_lab(template: Template, tmp_path: Path) -> None:
    """Summarised prefixes: a router of a 200-router lab has a few routes, not 400."""
    lab = lab_of(scaffold(template, Options(hosts=200)), tmp_path)
    per_namespace: dict[str | None, int] = {}
    for route in lab.routes:
        per_namespace[route.namespace] = per_namespace.get(route.namespace, 0) + 1
    links = len(lab.veths)
    assert max(per_namespace.values()) <= 2 * (2 * links.bit_length())


# ---- scale and options ------------------------------------------------------------------------


def test_a_large_star_gets_a_larger_subnet(tmp_path: Path) -> None:
    text = scaffold(Template.STAR, Options(hosts=1000))
    assert text.startswith("# nsgen new star --hosts 1000 --subnet 10.0.0.0/16\n")
    lab = lab_of(text, tmp_path)
    assert len(lab.namespaces) == 1001
    assert str(lab.veths[-1].a.addresses[0]) == "10.0.3.232/16"


def test_output_is_deterministic() -> None:
    options = Options(depth=3, fanout=3)
    assert scaffold(Template.TREE, options) == scaffold(Template.TREE, options)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["star", "--hosts", "1"], "star --hosts must be 2 to 1000, not 1"),
        (["star", "--hosts", "1001"], "star --hosts must be 2 to 1000, not 1001"),
        (["line", "--hosts", "501"], "line --hosts must be 2 to 500, not 501"),
        (["ring", "--hosts", "2"], "ring --hosts must be 3 to 500, not 2"),
        (["pair", "--hosts", "3"], "pair takes no --hosts"),
        (["tree", "--hosts", "3"], "tree takes no --hosts"),
        (["star", "--depth", "2"], "--depth and --fanout go with the tree template only"),
        (["tree", "--fanout", "0"], "tree --depth and --fanout must be at least 1"),
        (
            ["tree", "--depth", "5", "--fanout", "5"],
            "tree --depth 5 --fanout 5 makes 3906 namespaces; the limit is 1000",
        ),
        (
            ["star", "--hosts", "20", "--subnet", "10.0.0.0/28"],
            "--subnet 10.0.0.0/28 has room for 14 hosts; star --hosts 20 needs 20",
        ),
        (
            ["line", "--hosts", "10", "--subnet", "10.0.0.0/26"],
            "--subnet 10.0.0.0/26 has room for 16 links of 4 addresses; line --hosts 10 needs 19",
        ),
        (
            ["star", "--subnet", "10.0.0.1/24"],
            "--subnet 10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?",
        ),
        (["pair", "--subnet", "lan"], "--subnet 'lan' is not a network such as 10.0.0.0/24"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, out, err = run_cli(["new", *args])
    assert (code, out, err) == (2, "", f"nsgen: {message}\n")


# ---- live: each template up, verified and down -------------------------------------------------


@pytest.mark.parametrize("name", SMALL)
def test_scaffold_comes_up_and_verifies(lab_factory: LabFactory, name: str) -> None:
    lab = lab_factory(GOLDEN / f"{name}.toml")
    lab.up()
    result = lab.sh("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    if name in ("line", "ring", "tree"):
        assert f"ok    {lab.prefix}h1 -> " in result.stdout
        assert "(checks[" in result.stdout
    lab.down()
    assert host_residue(lab.prefix) == []
