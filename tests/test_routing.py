"""Live: loopback addresses and routes as routing labs write them (multipath, metrics,
device routes, link-local gateways), brought up, verified, and each one pruned."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EXAMPLES
from tests.live import LabFactory, run

ROUTING = EXAMPLES / "routing.toml"

# The same lab with every new kind of object taken away or changed: r1's loopbacks gone, the
# multipath route down to one next hop, the metric, device and link-local routes gone.
PRUNED = {
    'loopback = ["10.255.0.1/32", "fd00:ff::1/128"]\n': "",
    'via = ["10.1.0.2", "10.2.0.2"]': 'via = "10.2.0.2"',
    '  { to = "10.255.0.2/32", via = "10.1.0.2", metric = 100 },\n': "",
    '  { to = "fd00:ff::2/128", via = "fe80::ff:fe00:201", dev = "eth1" },\n': "",
    '  { to = "10.9.0.0/24", dev = "eth2" },\n': "",
    '  { to = "10.255.0.1/32", via = ["r1"] },\n  { to = "fd00:ff::1/128", via = "r1" },\n': "",
}


def routes(ns: str, *family: str) -> list[dict[str, object]]:
    out = run(["ip", "-n", ns, *family, "-j", "route", "show", "proto", "245"]).stdout
    return list(json.loads(out))


def loopback(ns: str) -> list[str]:
    out = json.loads(run(["ip", "-n", ns, "-j", "address", "show", "dev", "lo"]).stdout)
    return [f"{a['local']}/{a['prefixlen']}" for a in out[0]["addr_info"] if a["scope"] != "host"]


def test_loopbacks_and_routing_routes_converge_verify_and_prune(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = lab_factory(ROUTING)
    r1, r2 = (f"{lab.prefix}{name}" for name in ("r1", "r2"))
    lab.up()
    assert loopback(r1) == ["10.255.0.1/32", "fd00:ff::1/128"]
    v4 = {(r["dst"], r.get("metric", 0)): r for r in routes(r1)}
    hops = v4[("10.255.0.2", 0)]["nexthops"]
    assert isinstance(hops, list)
    assert [h["gateway"] for h in hops] == ["10.1.0.2", "10.2.0.2"]
    assert v4[("10.255.0.2", 100)]["gateway"] == "10.1.0.2"
    assert v4[("10.9.0.0/24", 0)]["dev"] == "eth2" and "gateway" not in v4[("10.9.0.0/24", 0)]
    v6 = {r["dst"]: r for r in routes(r1, "-6")}
    assert (v6["fd00:ff::2"]["gateway"], v6["fd00:ff::2"]["dev"]) == ("fe80::ff:fe00:201", "eth1")

    # The loopbacks are pinged across the routes, the link-local gateway on its link.
    verify = lab.sh("verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"{r2} -> 10.255.0.1 ({r1}:lo (loopback))" in verify.stdout
    assert f"{r1} -> fe80::ff:fe00:201 (gateway of {r1})" in verify.stdout
    status = lab.sh("status")
    assert status.returncode == 0, status.stdout

    before = lab.snapshot()
    lab.up()
    assert lab.snapshot() == before

    # A multipath route whose next hops drifted is reported, and replaced by up.
    run(["ip", "-n", r1, "route", "replace", "10.255.0.2/32", "via", "10.1.0.2", "proto", "245"])
    status = lab.sh("status")
    assert status.returncode == 3
    assert "drifted (via 10.1.0.2) route 10.255.0.2 via 10.1.0.2,10.2.0.2 in" in status.stdout
    lab.up()
    assert lab.snapshot() == before

    # A daemon's route (another protocol) to a pruned destination is left alone.
    run(["ip", "-n", r1, "route", "add", "10.9.0.0/24", "via", "10.1.0.2", "metric", "7"])

    text = ROUTING.read_text()
    for old, new in PRUNED.items():
        assert old in text, old
        text = text.replace(old, new)
    pruned = tmp_path / "routing.toml"
    pruned.write_text(text)
    lab.script.write_text(lab_factory(pruned).text)
    lab.up()
    assert loopback(r1) == []
    assert loopback(r2) == ["10.255.0.2/32", "fd00:ff::2/128"]
    assert [(r["dst"], r.get("gateway"), r.get("metric", 0)) for r in routes(r1)] == [
        ("10.255.0.2", "10.2.0.2", 0)
    ]
    assert routes(r1, "-6") == [] and routes(r2) == [] and routes(r2, "-6") == []
    daemon = run(["ip", "-n", r1, "route", "show", "10.9.0.0/24"]).stdout
    assert "via 10.1.0.2" in daemon and "metric 7" in daemon
    status = lab.sh("status")
    assert status.returncode == 0, status.stdout
    assert "extra" not in status.stdout
