"""macvlan, live, on a private host: two namespaces on macvlans of one host veth (the parent)
reach each other; the parent is the same after up, a second up and down; a missing parent
is refused before anything changes."""

from __future__ import annotations

import json
from pathlib import Path

from nsgen import pipeline
from tests.conftest import sandbox_skip
from tests.live import run_private_host

LAB = """
name = "mv"

[namespaces.h1.interfaces.mv0]
kind = "macvlan"
parent = "up0"
address = "10.65.0.1/24"

[namespaces.h2.interfaces.mv0]
kind = "macvlan"
parent = "up0"
mode = "{mode}"
address = "10.65.0.2/24"
"""

# The parent as the kernel describes it, without counters: what "unchanged" means.
PARENT = (
    "ip -d -j link show dev up0 | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; "
    'd.pop("stats64", None); print(json.dumps(d, sort_keys=True))\''
)


def script(tmp_path: Path, mode: str, name: str) -> Path:
    topology = tmp_path / f"{name}.toml"
    topology.write_text(LAB.format(mode=mode))
    out = tmp_path / f"{name}.sh"
    out.write_text(pipeline.render_file(topology))
    return out


def test_macvlans_on_a_host_veth_leave_it_unchanged(tmp_path: Path) -> None:
    sandbox_skip()
    v1, v2 = script(tmp_path, "bridge", "v1"), script(tmp_path, "private", "v2")
    body = f"""
ip link add up0 type veth peer name up1
ip link set up0 up
ip link set up1 up
{PARENT} >{tmp_path}/parent.before
sh {v1} up >{tmp_path}/up.out 2>&1 || echo "up failed" >>{tmp_path}/errors
{PARENT} >{tmp_path}/parent.up
ip -d -j -n h2 link show dev mv0 >{tmp_path}/h2.json
ip netns exec h1 ping -c1 -W3 10.65.0.2 >/dev/null || echo "bridge: no answer" >>{tmp_path}/errors
sh {v1} up >{tmp_path}/again.out 2>&1 || echo "second up failed" >>{tmp_path}/errors
sh {v1} status >{tmp_path}/status.out 2>&1 || echo "status not ok" >>{tmp_path}/errors
# v2: h2 in private mode, re-created by up; private macvlans do not reach each other.
sh {v2} up >{tmp_path}/v2.out 2>&1 || echo "v2 up failed" >>{tmp_path}/errors
ip -d -j -n h2 link show dev mv0 >{tmp_path}/h2-v2.json
ip netns exec h2 ping -c1 -W2 10.65.0.1 >/dev/null && echo "private: answer" >>{tmp_path}/errors
sh {v2} down >{tmp_path}/down.out 2>&1 || echo "down failed" >>{tmp_path}/errors
{PARENT} >{tmp_path}/parent.down
ls /run/netns /run/nsgen >{tmp_path}/left
ip -o link show | grep -c . >{tmp_path}/links
"""
    result = run_private_host(body, tmp_path)
    assert result.returncode == 0, result.stderr
    errors = tmp_path / "errors"
    assert not errors.exists(), errors.read_text() + (tmp_path / "up.out").read_text()
    before = (tmp_path / "parent.before").read_text()
    # While macvlans sit on it the kernel counts them in the parent's promiscuity (a veth has
    # no unicast filter): its own bookkeeping, not a setting; it is back to 0 after down.
    assert without_counts((tmp_path / "parent.up").read_text()) == without_counts(before)
    assert (tmp_path / "parent.down").read_text() == before
    h2 = json.loads((tmp_path / "h2.json").read_text())[0]["linkinfo"]
    assert (h2["info_kind"], h2["info_data"]["mode"]) == ("macvlan", "bridge")
    h2 = json.loads((tmp_path / "h2-v2.json").read_text())[0]["linkinfo"]
    assert (h2["info_kind"], h2["info_data"]["mode"]) == ("macvlan", "private")
    assert "creating" not in (tmp_path / "again.out").read_text()
    assert "ok         macvlan h1:mv0 on up0 (bridge)" in (tmp_path / "status.out").read_text()
    assert (tmp_path / "left").read_text().split() == ["/run/netns:", "/run/nsgen:"]
    assert (tmp_path / "links").read_text().strip() == "3"  # lo, up0, up1


def test_a_missing_parent_is_refused_before_any_change(tmp_path: Path) -> None:
    sandbox_skip()
    v1 = script(tmp_path, "bridge", "v1")
    body = f"""
sh {v1} up >{tmp_path}/up.out 2>{tmp_path}/up.err; echo $? >{tmp_path}/rc
ls /run/netns /run/nsgen >{tmp_path}/left
"""
    assert run_private_host(body, tmp_path).returncode == 0
    assert (tmp_path / "rc").read_text().strip() == "1"
    assert (tmp_path / "up.err").read_text().splitlines() == [
        "mv: refusing: macvlan h1:mv0: its parent up0 is not a device of the host",
        "mv: refusing: macvlan h2:mv0: its parent up0 is not a device of the host",
    ]
    assert (tmp_path / "left").read_text().split() == ["/run/netns:", "/run/nsgen:"]


def without_counts(parent: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(parent)
    return {k: v for k, v in data.items() if k not in ("promiscuity", "allmulti")}
