"""Address pools: random labs numbered from [addressing], and what a grown lab keeps.

Hypothesis builds labs of namespaces on bridges and on veth pairs, some interfaces with a
written address. Every address the pools assign must be unique, inside its pool, and on
the subnet of its own segment (one subnet per segment, none shared); appending a namespace
(with ports on old and new bridges, and pairs to new interfaces of earlier namespaces)
must not change one address the smaller lab had. The live half: examples/pooled.toml runs
in tests/test_live.py like every example (up, verify, down).
"""

from __future__ import annotations

import copy
import hashlib
import json
from ipaddress import IPv4Network, IPv6Network, ip_interface, ip_network
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsgen import validate
from nsgen.errors import TopologyError
from nsgen.lab import Lab
from nsgen.load import Source
from tests.conftest import examples
from tests.test_cli import run_cli

POOL4, POOL6 = "10.128.0.0/14", "fd00:77::/48"


def compile_data(data: dict[str, Any]) -> Lab:
    raw = json.dumps(data, sort_keys=True).encode()
    return validate.validate(Source(Path("lab.toml"), data, hashlib.sha256(raw).hexdigest()))


@st.composite
def labs(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "pool", "bridges": {}, "namespaces": {}}
    addressing: dict[str, Any] = {"ipv4": POOL4}
    if draw(st.booleans()):
        addressing["ipv6"] = POOL6
    if draw(st.booleans()):
        addressing["ipv4_p2p_prefix"] = 30
    if draw(st.booleans()):
        addressing["ipv4_prefix"] = draw(st.sampled_from([22, 24, 26]))
    data["addressing"] = addressing
    for i in range(draw(st.integers(1, 4))):
        data["bridges"][f"br{i}"] = {}
    for _ in range(draw(st.integers(1, 8))):
        add_namespace(draw, data)
    return data


def add_namespace(draw: st.DrawFn, data: dict[str, Any]) -> str:
    """A namespace at the end of the file: ports on bridges (an old one or a new one), and
    pairs to a new interface of an earlier namespace."""
    namespaces = data["namespaces"]
    name = f"n{len(namespaces)}"
    interfaces: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 3))):
        iface: dict[str, Any] = {}
        choice = draw(st.sampled_from(["bridge", "new-bridge", "pair"]))
        earlier = sorted(namespaces)
        if choice == "pair" and earlier:
            other = draw(st.sampled_from(earlier))
            other_ifaces = namespaces[other].setdefault("interfaces", {})
            peer = f"p{len(other_ifaces)}"
            other_ifaces[peer] = written(draw, {})
            iface["peer"] = f"{other}:{peer}"
        elif choice == "new-bridge" or not data["bridges"]:
            bridge = f"br{len(data['bridges'])}"
            data["bridges"][bridge] = {}
            iface["bridge"] = bridge
        else:
            iface["bridge"] = draw(st.sampled_from(sorted(data["bridges"])))
        interfaces[f"e{index}"] = written(draw, iface)
    namespaces[name] = {"interfaces": interfaces}
    return name


COUNTER = [0]


def written(draw: st.DrawFn, iface: dict[str, Any]) -> dict[str, Any]:
    """Sometimes a written address (outside the pools, a /30 of its own), sometimes none."""
    kind = draw(st.sampled_from(["pool", "pool", "pool", "written", "none"]))
    if kind == "written":
        COUNTER[0] += 1
        n = COUNTER[0] % 16000
        iface["address"] = f"192.168.{n // 64}.{n % 64 * 4 + 1}/30"
    elif kind == "none":
        iface["address"] = []
    return iface


def addresses(lab: Lab) -> dict[str, tuple[str, ...]]:
    return {
        end.key: tuple(map(str, end.addresses))
        for veth in lab.veths
        for end in (veth.a, veth.b)
        if end.key
    }


def segment_of(lab: Lab) -> dict[str, str]:
    """Each declared interface's segment: its bridge, or its pair."""
    out = {}
    for veth in lab.veths:
        if veth.a.master is not None or veth.b.master is not None:
            port, inner = (veth.a, veth.b) if veth.a.master is not None else (veth.b, veth.a)
            out[inner.key] = f"bridge {port.namespace}:{port.master}"
        else:
            out[veth.a.key] = out[veth.b.key] = f"pair {sorted([veth.a.key, veth.b.key])}"
    return out


@settings(max_examples=examples(150))
@given(labs(), st.data())
def test_assigned_addresses_are_unique_in_pool_and_on_their_segment(
    data: dict[str, Any], more: st.DataObject
) -> None:
    try:
        lab = compile_data(data)
    except TopologyError as error:
        pytest.fail(f"a pooled lab was refused: {error.issues}")
    written_paths = {
        f"namespaces.{ns}.interfaces.{name}"
        for ns, spec in data["namespaces"].items()
        for name, iface in spec.get("interfaces", {}).items()
        if "address" in iface
    }
    segments = segment_of(lab)
    # A pair with one written end is numbered on that end's subnet.
    adopted = {
        segments[key]: ip_interface(a).network
        for key, addrs in addresses(lab).items()
        if key in written_paths and segments[key].startswith("pair")
        for a in addrs
    }
    pools = [ip_network(POOL4), ip_network(POOL6)]
    seen: dict[str, str] = {}
    subnets: dict[str, set[IPv4Network | IPv6Network]] = {}
    for key, addrs in addresses(lab).items():
        if key in written_paths:
            spec = lookup(data, key)
            want = spec["address"]
            assert list(addrs) == ([want] if isinstance(want, str) else want), key
            continue
        versions = sorted(ip_interface(a).version for a in addrs)
        assert versions == ([4, 6] if "ipv6" in data["addressing"] else [4]), key
        for text in addrs:
            address = ip_interface(text)
            assert str(address.ip) not in seen, f"{address} on {key} and {seen[str(address.ip)]}"
            seen[str(address.ip)] = key
            inside = [p for p in pools if address.ip in p]
            if address.version == 4 and segments[key] in adopted:
                inside = [adopted[segments[key]]] if address.ip in adopted[segments[key]] else []
            assert inside, f"{address} on {key} is outside its pool"
            subnets.setdefault(segments[key], set()).add(address.network)
    for segment, nets in subnets.items():
        assert len(nets) == len({n.version for n in nets}), f"{segment} spans {nets}"
    flat = [n for nets in subnets.values() for n in nets]
    for i, a in enumerate(flat):
        for b in flat[i + 1 :]:
            assert a.version != b.version or not a.overlaps(b), f"{a} and {b} overlap"

    grown = copy.deepcopy(data)
    for _ in range(more.draw(st.integers(1, 2))):
        add_namespace(more.draw, grown)
    before, after = addresses(lab), addresses(compile_data(grown))
    assert {k: after[k] for k in before} == before, "appending a namespace renumbered"


def lookup(data: dict[str, Any], key: str) -> dict[str, Any]:
    _, ns, _, name = key.split(".")
    spec: dict[str, Any] = data["namespaces"][ns]["interfaces"][name]
    return spec


def test_numbering_rules_on_a_small_lab() -> None:
    """The documented order: bridges from the pool's start in [bridges] order, pairs from
    its end, the bridge's own address first on its segment, a pair's written end adopted."""
    lab = compile_data(
        {
            "addressing": {"ipv4": "10.5.0.0/16"},
            "bridges": {"lan": {"address": "10.5.9.1/24"}, "wan": {}},
            "namespaces": {
                "r": {
                    "interfaces": {
                        "e0": {"bridge": "lan"},
                        "e1": {"bridge": "wan"},
                        "e2": {"peer": "s:e0"},
                        "e3": {"peer": "t:e0", "address": "10.7.0.1/30"},
                    }
                },
                "s": {"interfaces": {"e0": {}}, "routes": [{"to": "10.9.0.0/16", "via": "r"}]},
                "t": {"interfaces": {"e0": {}}},
            },
        }
    )
    got = {k.split(".", 1)[1]: v for k, v in addresses(lab).items()}
    assert got == {
        "r.interfaces.e0": ("10.5.9.2/24",),  # lan adopts its own 10.5.9.0/24; .1 is lan's
        "r.interfaces.e1": ("10.5.1.1/24",),  # wan: the second bridge slot
        "r.interfaces.e2": ("10.5.255.254/31",),  # the first pair: from the top
        "s.interfaces.e0": ("10.5.255.255/31",),
        "r.interfaces.e3": ("10.7.0.1/30",),
        "t.interfaces.e0": ("10.7.0.2/30",),  # its peer's written subnet
    }
    assert [(r.namespace, str(r.to), str(r.vias[0])) for r in lab.routes] == [
        ("s", "10.9.0.0/16", "10.5.255.254")
    ]


def test_show_and_header_list_every_assigned_address() -> None:
    topology = Path(__file__).resolve().parent.parent / "examples" / "pooled.toml"
    code, out, _ = run_cli(["show", "--json", str(topology)])
    assert code == 0
    view = json.loads(out)
    assigned = {ref: a for s in view["assigned"] for ref, a in s["addresses"].items()}
    on_devices = {
        (place["name"], d["name"], a)
        for place in view["namespaces"]
        for d in place["devices"]
        for a in d["addresses"]
    }
    assert len(assigned) > 0
    for ref, address in assigned.items():
        ns, dev = ref.split(":")
        assert (ns, dev, address) in on_devices
    code, script, _ = run_cli(["render", str(topology)])
    header = script.split("\nset -eu\n")[0]
    for s in view["assigned"]:
        assert s["segment"] in header and s["subnet"] in header
        for address in s["addresses"].values():
            assert address in header
