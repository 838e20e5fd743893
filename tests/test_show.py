"""nsgen show: the resolved lab per example (golden), and that it tells what the script does.

Regenerate on purpose with `pytest tests/test_show.py --update-golden`, then read the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsgen import pipeline, show
from nsgen.validate import derive_mac, derive_outer
from tests import golden
from tests.conftest import DAEMON_EXAMPLES, EXAMPLES, ROOT
from tests.test_cli import run_cli

GOLDEN = ROOT / "golden"
TOPOLOGIES = sorted([*EXAMPLES.glob("*.toml"), *DAEMON_EXAMPLES], key=lambda p: p.stem)
IDS = [p.stem for p in TOPOLOGIES]
SUFFIX = {"text": ".show.txt", "json": ".show.json"}


def shown(topology: Path, fmt: str, prefix: str = "") -> str:
    lab = pipeline.compile_plan(topology, prefix).lab
    return show.to_json(lab) if fmt == "json" else show.to_text(lab)


@pytest.mark.parametrize("fmt", list(SUFFIX))
@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_show_matches_golden(topology: Path, fmt: str, update_golden: bool) -> None:
    golden.check(shown(topology, fmt), GOLDEN / f"{topology.stem}{SUFFIX[fmt]}", update_golden)


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_every_example_has_golden_show_output(fmt: str) -> None:
    assert sorted(p.name.removesuffix(SUFFIX[fmt]) for p in GOLDEN.glob(f"*{SUFFIX[fmt]}")) == IDS


def test_cli_prints_text_and_json() -> None:
    star = str(EXAMPLES / "star.toml")
    assert run_cli(["show", star]) == (0, (GOLDEN / "star.show.txt").read_text(), "")
    assert run_cli(["show", star, "--json"]) == (0, (GOLDEN / "star.show.json").read_text(), "")
    code, out, err = run_cli(["show", str(ROOT / "tests" / "errors" / "types.toml")])
    assert (code, out) == (1, "")
    assert err == (ROOT / "tests" / "errors" / "types.err").read_text()


def test_json_spells_out_the_shorthand_of_star() -> None:
    data = json.loads(shown(EXAMPLES / "star.toml", "json", prefix="zz"))
    assert (data["name"], data["mark"], data["state_dir"]) == (
        "zzstar",
        "nsgen:zzstar",
        "/run/nsgen/zzstar",
    )
    host, *namespaces = data["namespaces"]
    assert host["name"] == "host"
    bridge, *ports = host["devices"]
    assert bridge == {
        "kind": "bridge",
        "name": "zzbr0",
        "peer": None,
        "master": None,
        "mtu": None,
        "mac": derive_mac(None, "zzbr0"),
        "addresses": ["10.0.0.1/24"],  # one string in the file, a list here
        "parent": None,  # a macvlan's
        "owner": None,
        "group": None,
        "egress": None,
    }
    # Derived bridge-side ends: prefixed (they live in the host), port of the bridge.
    assert [(p["name"], p["peer"], p["master"]) for p in ports] == [
        (f"zzh{i}-eth0", f"zzh{i}:eth0", "zzbr0") for i in range(1, 5)
    ]
    assert [ns["name"] for ns in namespaces] == ["zzh1", "zzh2", "zzh3", "zzh4"]
    eth0 = namespaces[0]["devices"][0]
    assert (eth0["peer"], eth0["mac"]) == ("host:zzh1-eth0", derive_mac("zzh1", "eth0"))


def test_long_names_show_their_hashed_outer_end_and_written_macs(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(
        """
        [bridges.br0]
        [namespaces.a-long-namespace.interfaces.eth0]
        bridge = "br0"
        mac = "02:AA:00:00:00:01"
        """
    )
    text = show.to_text(pipeline.compile_plan(path).lab)
    outer = derive_outer("a-long-namespace", "eth0", "")
    assert outer != "a-long-namespace-eth0"
    assert f"  veth {outer}\n    peer     a-long-namespace:eth0\n    master   br0\n" in text
    assert "    mac      02:aa:00:00:00:01\n" in text


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=IDS)
def test_mark_and_state_dir_are_the_scripts(topology: Path) -> None:
    data = json.loads(shown(topology, "json"))
    script = pipeline.render_file(topology)
    assert f"MARK='{data['mark']}'\n" in script
    assert f"{data['state_dir']}/netns" in script


def test_text_says_when_the_lab_leaves_the_host_alone() -> None:
    text = shown(EXAMPLES / "routed.toml", "text")
    assert "\nhost\n  nothing: the lab adds no device, address or route here\n" in text
    assert "\nnamespace r1 (forwarding)\n" in text
    assert "  route default via fd00:2::1\n" in text


def test_json_shows_a_tap_and_egress_with_derived_values() -> None:
    data = json.loads(
        show.to_json(pipeline.compile_plan(ROOT / "tests" / "linkprops" / "wan.toml").lab)
    )
    host, r1 = data["namespaces"]
    assert host["devices"][0]["egress"] == {
        "rate": "1gbit",
        "burst": "1250000b",  # 10 ms at 1 Gbit/s
        "latency": "50ms",
        "delay": "50ms",
        "jitter": "10ms",
        "loss": "1%",
    }
    tap = next(d for d in r1["devices"] if d["kind"] == "tap")
    assert (tap["name"], tap["master"], tap["owner"], tap["group"], tap["peer"]) == (
        "vm1",
        "vms",
        "1000",
        "kvm",
        None,
    )
    assert tap["egress"]["burst"] == "125000b"


def test_daemons_are_shown_where_they_run_and_where_the_script_puts_them() -> None:
    topology = EXAMPLES / "bgp-frr" / "bgp-frr.toml"
    text = shown(topology, "text", prefix="zz")
    r1 = text[text.index("\nnamespace zzr1 ") : text.index("\nnamespace zzr2 ")]
    assert "  loopback lo\n    address  10.255.0.1/32\n" in r1
    assert "  file /etc/frr/frr.conf\n    host     /etc/netns/zzr1/frr/frr.conf\n" in r1
    assert "    mode     0644\n" in r1
    assert "  process bgpd\n" in r1 and "    after    zzr1:zebra\n" in r1
    assert "    ready    test -S $NSGEN_RUN/zserv.api (within 30s)\n" in r1
    assert "    log      /run/nsgen/zzbgp-frr/log/zzr1/bgpd.log\n" in r1
    assert "  exec vtysh --vty_socket $NSGEN_RUN -c 'configure terminal'" in r1
    # What the script writes: the digest and the size of each file's content in it.
    script = pipeline.render_file(topology, "zz")
    for place in json.loads(shown(topology, "json", prefix="zz"))["namespaces"]:
        for file in place.get("files", []):
            line = f"{place['name']} {file['path'].removeprefix('/etc/')} 644 {file['sha256']} "
            assert line in script
    # A namespace without daemons keeps the view it had.
    hosts = [p for p in json.loads(shown(topology, "json"))["namespaces"] if p["name"] == "h1"]
    assert set(hosts[0]) == {"name", "forwarding", "devices", "routes"}
