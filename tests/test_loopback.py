"""Loopback addresses and routing routes through the pipeline: names, show, verify's plan."""

from __future__ import annotations

import json
from pathlib import Path

from nsgen import load, plan, render, show, validate
from tests.conftest import EXAMPLES

ROUTING = EXAMPLES / "routing.toml"


def built(path: Path) -> plan.Plan:
    return plan.build(validate.validate(load.load(path)))


def test_loopbacks_are_named_in_the_hosts_files(tmp_path: Path) -> None:
    lab = tmp_path / "named.toml"
    lab.write_text("names = true\n" + ROUTING.read_text().replace('name = "routing"\n', ""))
    names = {str(h.address): h.names for h in built(lab).hosts}
    assert names["10.255.0.1"] == ("r1", "lo.r1")
    assert names["fd00:ff::2"] == ("r2", "lo.r2")


def test_show_lists_loopbacks_and_routes_with_their_new_keys() -> None:
    data = json.loads(show.to_json(validate.validate(load.load(ROUTING))))
    r1 = next(p for p in data["namespaces"] if p["name"] == "r1")
    assert {"kind": "loopback", "name": "lo"}.items() <= r1["devices"][-1].items()
    assert r1["devices"][-1]["addresses"] == ["10.255.0.1/32", "fd00:ff::1/128"]
    assert r1["routes"] == [
        {"to": "10.255.0.2/32", "via": ["10.1.0.2", "10.2.0.2"]},
        {"to": "10.255.0.2/32", "via": "10.1.0.2", "metric": 100},
        {"to": "fd00:ff::2/128", "via": "fe80::ff:fe00:201", "dev": "eth1"},
        {"to": "10.9.0.0/24", "via": None, "dev": "eth2"},
    ]


def test_a_loopback_is_pinged_from_the_neighbour_that_routes_to_it(tmp_path: Path) -> None:
    lab = tmp_path / "three.toml"
    lab.write_text(
        """
[namespaces.a.interfaces.eth0]
peer = "r:eth0"
address = "10.0.0.1/24"

[namespaces.b]
routes = [{ to = "10.255.0.0/24", via = "r" }]

[namespaces.b.interfaces.eth0]
peer = "r:eth1"
address = "10.0.1.1/24"

[namespaces.r]
loopback = ["10.255.0.9/32"]

[namespaces.r.interfaces.eth0]
address = "10.0.0.2/24"

[namespaces.r.interfaces.eth1]
address = "10.0.1.2/24"
"""
    )
    rows = [row for row in render.check_rows(built(lab)) if "loopback" in row]
    # a is the first neighbour, but only b has a route that covers the loopback.
    assert rows == ["b - 10.255.0.9 reachable r:lo (loopback)"]


def test_via_a_namespace_never_resolves_to_its_loopback() -> None:
    routes = validate.validate(load.load(ROUTING)).routes
    assert [str(v) for r in routes if r.namespace == "r2" for v in r.vias] == [
        "10.1.0.1",
        "fd00:1::1",
    ]
