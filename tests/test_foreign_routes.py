"""Live: a route the lab did not make, under the key of one it declares (destination and
metric), is never taken over, changed or deleted: up refuses naming it, status calls it
foreign, and neither up of another version nor down's pruning touches it."""

from __future__ import annotations

import json
from pathlib import Path

from nsgen import pipeline
from tests.conftest import sandbox_skip
from tests.live import LabFactory, run, run_private_host
from tests.reliability import Recorder

# Three namespaces on a host bridge (their namespaces are looked into only for their routes).
LAB = """name = "fr"

[bridges.br]

[namespaces.p1]
routes = [ROUTES]

[namespaces.p1.interfaces.eth0]
bridge = "br"
address = "10.77.0.1/24"

[namespaces.p2.interfaces.eth0]
bridge = "br"
address = "10.77.0.2/24"

[namespaces.p3.interfaces.eth0]
bridge = "br"
address = "10.77.0.3/24"
"""
FIRST = '{ to = "10.8.0.0/24", via = "10.77.0.2" }'
SECOND = FIRST + ', { to = "10.9.0.0/24", via = "10.77.0.3" }'


def route_to(ns: str, dst: str) -> list[dict[str, object]]:
    out = run(["ip", "-n", ns, "-j", "route", "show", dst]).stdout
    return [r for r in json.loads(out) if r["dst"] == dst]


def test_a_route_someone_else_made_is_refused_shown_and_never_removed(
    lab_factory: LabFactory, tmp_path: Path, figures: Recorder
) -> None:
    first = tmp_path / "fr.toml"
    first.write_text(LAB.replace("ROUTES", FIRST))
    second = tmp_path / "fr2.toml"
    second.write_text(LAB.replace("ROUTES", SECOND))
    lab = lab_factory(first)
    p1 = f"{lab.prefix}p1"
    lab.up()
    run(["ip", "-n", p1, "route", "add", "10.9.0.0/24", "via", "10.77.0.2", "proto", "static"])
    theirs = route_to(p1, "10.9.0.0/24")
    assert [(r["gateway"], r["protocol"]) for r in theirs] == [("10.77.0.2", "static")]

    lab2 = lab_factory(second)
    refused = lab2.sh("up")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"{lab.prefix}fr: refusing: route 10.9.0.0/24 via 10.77.0.2 dev eth0 in {p1}"
        f" (proto static) exists and was not created by lab {lab.prefix}fr"
    ]
    assert route_to(p1, "10.9.0.0/24") == theirs
    status = lab2.sh("status")
    assert status.returncode == 3
    assert f"foreign    route 10.9.0.0/24 via 10.77.0.3 in {p1}" in status.stdout.splitlines()

    # A route of nsgen's own protocol that the record does not name is someone else's too.
    run(["ip", "-n", p1, "route", "change", "10.9.0.0/24", "via", "10.77.0.2", "proto", "245"])
    again = lab2.sh("up")
    assert again.returncode == 1 and "(proto 245) exists and was not created" in again.stderr
    handmade = [(r["gateway"], r["protocol"]) for r in route_to(p1, "10.9.0.0/24")]
    assert handmade == [("10.77.0.2", "245")]
    assert f"foreign    route 10.9.0.0/24 via 10.77.0.3 in {p1}" in lab2.sh("status").stdout

    # The first version, which never declared it, and a re-run prune nothing of it.
    lab.up()
    lab.up()
    assert [r["gateway"] for r in route_to(p1, "10.9.0.0/24")] == ["10.77.0.2"]

    # With the person's route gone, the second version's is the lab's: made, then pruned.
    run(["ip", "-n", p1, "route", "del", "10.9.0.0/24"])
    lab2.up()
    assert lab2.sh("status").returncode == 0
    ours = route_to(p1, "10.9.0.0/24")
    assert [(r["gateway"], r["protocol"]) for r in ours] == [("10.77.0.3", "245")]
    lab.up()
    assert route_to(p1, "10.9.0.0/24") == []
    lab.down()
    figures.record(
        "routes.foreign",
        "2 of 2 routes not made by the lab (protocol static; protocol 245 with no record of it) "
        "refused by `up` (exit 1, one line naming the route and its protocol), neither replaced; "
        "`status` showed it `foreign`; 2 runs of `up` of the version without it kept it",
    )


# The host's side: a route towards the lab through a forwarding namespace, added by version 2.
HOST_LAB = """name = "hr"
[host]
routes = [ROUTES]

[host.interfaces.up0]
peer = "gw:eth0"
address = "10.233.0.1/24"

[namespaces.gw]
forwarding = true

[namespaces.gw.interfaces.eth0]
address = "10.233.0.2/24"
"""


def test_a_host_route_someone_else_made_is_refused_shown_and_kept(
    tmp_path: Path, figures: Recorder
) -> None:
    # The host's routing table is host-wide: on a private host, where the route can be anyone's.
    sandbox_skip()
    scripts = []
    for name, routes in (("v1", ""), ("v2", '{ to = "10.9.0.0/24", via = "10.233.0.2" }')):
        topology = tmp_path / f"{name}.toml"
        topology.write_text(HOST_LAB.replace("ROUTES", routes))
        script = tmp_path / f"{name}.sh"
        script.write_text(pipeline.render_file(topology))
        scripts.append(script)
    v1, v2 = scripts
    t = tmp_path
    body = f"""
step() {{ "$@" >"{t}/$n.out" 2>"{t}/$n.err"; echo $? >"{t}/$n.rc"; n=$((n + 1)); }}
n=1
step sh {v1} up
# Someone's route through the lab's own gateway, of their protocol.
ip route add 10.9.0.0/24 via 10.233.0.2 proto static
step sh {v2} up
step sh {v2} status
ip route del 10.9.0.0/24
# Someone's route to the same subnet, by a device of theirs (a VPN's, say): the kernel would
# remove a route by the lab's device with the device, whatever nsgen did.
ip link add vpn0 type veth peer name vpn1
ip address add 10.235.0.1/24 dev vpn0
ip link set vpn0 up
ip link set vpn1 up
ip route add 10.9.0.0/24 via 10.235.0.2 proto static
ip -j route show 10.9.0.0/24 >{t}/theirs
step sh {v2} up
step sh {v2} status
step sh {v1} up
step sh {v1} down
ip -j route show 10.9.0.0/24 >{t}/after
"""
    assert run_private_host(body, tmp_path).returncode == 0
    results = [
        (
            int((t / f"{i}.rc").read_text()),
            (t / f"{i}.out").read_text(),
            (t / f"{i}.err").read_text(),
        )
        for i in range(1, 8)
    ]
    assert results[0][0] == 0, results[0]
    foreign = "foreign    route 10.9.0.0/24 via 10.233.0.2 in host"
    for (rc, _, err), (status, out, _), line in (
        (
            results[1],
            results[2],
            "hr: refusing: route 10.9.0.0/24 via 10.233.0.2 dev up0 in host (proto static) "
            "exists and was not created by lab hr",
        ),
        (
            results[3],
            results[4],
            "hr: refusing: the host already has a route to 10.9.0.0/24 (dev vpn0)",
        ),
    ):
        assert (rc, err.strip().splitlines()) == (1, [line])
        assert status == 3 and foreign in out.splitlines(), out
    assert [r[0] for r in results[5:]] == [0, 0], results[5:]
    theirs = json.loads((t / "theirs").read_text())
    assert [(r["gateway"], r["protocol"]) for r in theirs] == [("10.235.0.2", "static")]
    assert json.loads((t / "after").read_text()) == theirs
    figures.record(
        "routes.host_foreign",
        "2 of 2 host routes not made by the lab (protocol static; through the lab's gateway, "
        "then through a device of their own) under the destination of a route the lab declares: "
        "`up` refused each (exit 1, one line naming it), `status` showed it `foreign`; the "
        "second was the same after `up` and `down` of the version without it",
    )
