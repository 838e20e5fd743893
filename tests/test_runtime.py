"""The runtime's modules: each script carries only those its lab needs, each shell module is
shellcheck-clean on its own, and each awk module is run alone (its neighbours stubbed) by
mawk and busybox awk on listings recorded from `ip -j`, `bridge -j` and `tc -j`
(tests/runtime/, taken in a scratch namespace)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nsgen import __version__, pipeline, runtime
from tests.conftest import EXAMPLES, ROOT, tool

RECORDED = ROOT / "tests" / "runtime"
SHELL = sorted(runtime.RUNTIME.glob("*.sh"))
# Every example's script: one per lab, one per host of a lab across hosts.
LABS = [(p, None) for p in sorted(EXAMPLES.glob("*.toml"))] + [
    (p, m.name)
    for p in sorted((EXAMPLES / "hosts").glob("*.toml"))
    for m in pipeline.compile_lab(p).machines
]

AWKS = [
    pytest.param(["mawk"], id="mawk"),
    pytest.param(["busybox", "awk"], id="busybox"),
]


def defined(name: str) -> set[str]:
    """The functions a module defines, shell and awk."""
    shell = re.findall(r"^\t*([a-z_]+)\(\) \{", runtime.part(name, "sh"), re.MULTILINE)
    awk = re.findall(r"^function ([a-z_0-9]+)\(", runtime.part(name, "awk"), re.MULTILINE)
    return set(shell) | set(awk)


def test_every_file_is_a_module_of_the_list() -> None:
    files = {p.stem for p in runtime.RUNTIME.iterdir()}
    assert files == {m.name for m in runtime.MODULES}


def test_no_module_is_over_400_lines() -> None:
    long = {
        p.name: n for p in runtime.RUNTIME.iterdir() if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_no_function_is_defined_twice() -> None:
    seen: dict[str, str] = {}
    for module in runtime.MODULES:
        for function in defined(module.name):
            assert function not in seen, f"{function}: {seen.get(function)} and {module.name}"
            seen[function] = module.name


@pytest.mark.parametrize(
    ("topology", "host"), LABS, ids=[p.stem + (f"-{h}" if h else "") for p, h in LABS]
)
def test_a_script_carries_exactly_the_modules_its_lab_needs(
    topology: Path, host: str | None
) -> None:
    plan = pipeline.compile_plan(topology, host=host)
    script = pipeline.render_file(topology, host=host)
    for module in runtime.MODULES:
        carried = [f"# ---- {module.name}.{s}\n" in script for s in ("sh", "awk")]
        has = [bool(runtime.part(module.name, s)) for s in ("sh", "awk")]
        if module.needed(plan):
            assert carried == has, module.name
            continue
        assert carried == [False, False], module.name
        present = [f for f in sorted(defined(module.name)) if re.search(rf"\b{f}\b", script)]
        assert present == [], f"{module.name}: {present} in {topology.name}"


def test_the_seed_labs_carry_no_code_of_what_they_do_not_use() -> None:
    for name in ("veth-pair", "bridge"):
        script = pipeline.render_file(EXAMPLES / f"{name}.toml")
        for word in (
            "apply_nat",
            "write_hosts",
            "check_sysctls",
            "bridge -batch",
            "tuntap",
            "tc qdisc",
            # Removers: a kind the lab never had has nothing of it to remove.
            "remove_nat",
            "prune_hosts",
            "processes_prune",
            "neigh_hold",
            "save_sysctls",
            "tcp_once",
            "command_once",
        ):
            assert word not in script, (name, word)
        assert ("firewall_blocks" in script) == (name == "bridge")
        assert "neigh_warn" not in script


def test_each_remover_says_when_the_record_holds_nothing_it_removes() -> None:
    removers = [m.name for m in runtime.MODULES if m.remover]
    assert removers == ["names-prune", "nat-prune", "daemons-prune", "neighbour-table"]
    for name in removers:
        assert f"{name.replace('-', '_')}_left" in defined(name), name
        assert not runtime.part(name, "awk"), f"{name}: a remover is shell alone"


def test_the_runtime_starts_at_a_line_with_the_version_and_digest() -> None:
    plan = pipeline.compile_plan(EXAMPLES / "veth-pair.toml")
    script = pipeline.render_file(EXAMPLES / "veth-pair.toml")
    head, marker, rest = script.partition(f"# ==== nsgen {__version__} runtime, modules: ")
    assert head.startswith("#!/bin/sh\n") and "plan() {" in head and "DECIDE=" not in head
    assert marker
    names, digest_line, body = rest.split("\n", 2)
    assert names.split() == [m.name for m in runtime.MODULES if m.needed(plan)]
    digest = re.fullmatch(r"# ==== sha256 ([0-9a-f]{64}) of the lines below .*", digest_line)
    assert digest is not None
    assert hashlib.sha256(body.encode()).hexdigest() == digest[1]


@pytest.mark.parametrize(
    ("tools", "missing"),
    [((), "ip not found: install iproute2"), (("ip",), "awk not found: install mawk")],
    ids=["ip", "awk"],
)
def test_a_missing_tool_is_named_in_one_line(
    tools: tuple[str, ...], missing: str, tmp_path: Path
) -> None:
    script = tmp_path / "lab.sh"
    script.write_text(pipeline.render_file(EXAMPLES / "veth-pair.toml"))
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for program in tools:
        (bin_ / program).symlink_to(shutil.which(program) or program)
    sh = shutil.which("sh") or "/bin/sh"
    result = subprocess.run(
        [sh, str(script), "status"], capture_output=True, text=True, env={"PATH": str(bin_)}
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"veth-pair: error: {missing}")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("module", SHELL, ids=[p.stem for p in SHELL])
def test_each_shell_module_passes_shellcheck_alone(module: Path) -> None:
    # Alone, a module reads variables that others set (SC2153, SC2154) and sets some that
    # others read (SC2034): the assembled scripts are checked whole (test_golden).
    result = subprocess.run(
        [tool("shellcheck"), "-s", "sh", "-e", "SC2034,SC2153,SC2154", str(module)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---- the awk modules, each with its neighbours stubbed: a stub prints its call.

STUBS = r"""
/^== / { sec = $2; secns = $3; next }
function place(n, d) { return (n == "-" ? "host" : n) ":" d }
function devstate(n, d) { return (n SUBSEP d) in state ? state[n, d] : "missing" }
function ours_root(d) { return ("-" SUBSEP d) in state }
function alive(n) { return 1 }
function emit(n, line) { print "emit", n, line }
function refuse(msg) { print "refuse", msg }
function unconfirmed(what, remedy) { return "unconfirmed " what ": " remedy }
function create_root(d) { print "create_root", d }
function device_up(r, f) { print "device_up", f[3]; return devstate(f[2], f[3]) }
function want(n, seen, what) { print "want", n, what }
function needs(n, out) { print "needs", n; return 1 }
function unapply(n, line) { print "unapply", n, line }
function forget(n, d) { print "forget", n, d }
function extra_row(row, act) { print "extra_row", row }
"""


def run_awk(
    awk: list[str], tmp_path: Path, modules: list[str], driver: str, *inputs: str
) -> list[str]:
    if shutil.which(awk[0]) is None:
        pytest.skip(f"{awk[0]} is not installed")
    # The stubs of what the modules under test define themselves go, and the hook functions
    # call theirs, as in a script.
    own = set().union(*(runtime.defined(m) for m in modules))
    stubs = "".join(
        line + "\n"
        for line in STUBS.splitlines()
        if not (m := re.match(r"function (\w+)\(", line)) or m[1] not in own
    )
    stubs += runtime.hooks(modules)
    files = []
    for i, text in enumerate([stubs, *(runtime.part(m, "awk") for m in modules), driver]):
        path = tmp_path / f"{i}.awk"
        path.write_text(text)
        files += ["-f", str(path)]
    listing = tmp_path / "input"
    listing.write_text("".join(inputs))
    result = subprocess.run(
        [*awk, *files, str(listing)],
        capture_output=True,
        text=True,
        env={"LC_ALL": "C", "DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def recorded(name: str, section: str) -> str:
    return f"== {section}\n" + (RECORDED / name).read_text()


@pytest.mark.parametrize("awk", AWKS)
def test_json_reads_devices_addresses_and_routes(awk: list[str], tmp_path: Path) -> None:
    driver = """
sec == "json" { if (index($0, "{\\"ifindex\\":")) jdevices(secns); else jroutes(secns); next }
END {
    print "eth0", dev["ns", "eth0"], isup["ns", "eth0"], mtu["ns", "eth0"], master["ns", "eth1"]
    print "br0", dev["ns", "br0"], mtu["ns", "br0"], master["ns", "br0"]
    print "v4", addr["ns", "eth0", "10.9.0.1/24"]
    print "v6", addr["ns", "eth0", "fd00:9::1/64"]
    k = "ns" SUBSEP "10.8.0.0/24" SUBSEP 4 SUBSEP 0
    print "r4", rtproto[k], rtvia[k], rtdev[k]
    print "r6", rtproto["ns", "fd00:8::/64", 6, 1024], rtvia["ns", "fd00:8::/64", 6, 1024]
    print "multipath", rtvia["mp", "10.9.0.0/24", 4, 0], rtvia["mp", "fd09::/64", 6, 1024]
    print "metric", rtvia["mp", "10.9.0.0/24", 4, 10], rtvia["mp", "fd08::/64", 6, 5]
    print "device", rtvia["mp", "10.8.0.0/24", 4, 0], rtdev["mp", "10.8.0.0/24", 4, 0]
}
"""
    out = run_awk(
        awk,
        tmp_path,
        ["json"],
        driver,
        recorded("link.json", "json ns"),
        recorded("address.json", "json ns all"),
        recorded("route.json", "json ns"),
        recorded("route6.json", "json ns"),
        recorded("multipath.json", "json mp"),
        recorded("multipath6.json", "json mp"),
    )
    assert out == [
        "eth0 1 1 1400 br0",
        "br0 1 1500 -",
        "v4 ok",
        # Added without nodad a moment before the listing: still tentative.
        "v6 tentative",
        "r4 245 10.9.0.2 eth0",
        "r6 245 fd00:9::2",
        # Next hops, each with "flags":[...] of its own, whole and in order.
        "multipath 10.1.0.2,10.2.0.2 fd01::2,fd02::2",
        "metric 10.1.0.2 fe80::2",
        "device - t2126900x",
    ]


@pytest.mark.parametrize("awk", AWKS)
def test_tap_reads_owners_and_recreates_a_drifted_tap(awk: list[str], tmp_path: Path) -> None:
    ids = "== ids\nu nobody 65534\ng nogroup 65534\n"
    driver = """
END {
    state["ns", "tap0"] = "ours"
    cmd[1] = "tuntap add dev tap0 mode tap user nobody group nogroup"
    split("tap ns tap0 nobody nogroup", f, " "); x = up_tap(1, f); print "same:", x
    split("tap ns tap0 65534 -", f, " "); x = up_tap(1, f); print "numeric owner, no group:", x
    split("tap ns tap0 root -", f, " "); x = up_tap(1, f); print "unknown user:", x
    split("link ns tap0 - - -", f, " "); x = up_tap(1, f); print "not a tap row:", x
    split("tap ns tap0 nobody nogroup", f, " "); status_tap(1, f); print s, what
}
"""
    out = run_awk(awk, tmp_path, ["json", "tap"], driver, recorded("tun.json", "tun ns"), ids)
    assert out == [
        "same: 1",
        "emit ns tuntap del dev tap0 mode tap",
        "emit ns tuntap add dev tap0 mode tap user nobody group nogroup",
        "numeric owner, no group: 1",
        "refuse user root, the owner of TAP ns:tap0, does not exist on this host",
        "emit ns tuntap del dev tap0 mode tap",
        "emit ns tuntap add dev tap0 mode tap user nobody group nogroup",
        "unknown user: 1",
        "not a tap row: 0",
        "ours tap ns:tap0 owner nobody group nogroup",
    ]


@pytest.mark.parametrize("awk", AWKS)
def test_qdisc_compares_tbf_in_the_kernels_units(awk: list[str], tmp_path: Path) -> None:
    # Recorded: tbf rate 10mbit burst 32kb latency 100ms on eth0 (the kernel says 32767 bytes).
    driver = """
END {
    state["ns", "eth0"] = "ours"; plink["ns", "eth0"] = 1
    cmd[1] = "qdisc replace dev eth0 root handle 6e73: tbf rate 10mbit burst 32kb latency 100ms"
    split("qdisc ns eth0 root tbf 1250000 32768 100000", f, " ")
    x = up_qdisc(1, f)
    print "same:", x
    split("qdisc ns eth0 root tbf 2500000 32768 100000", f, " ")
    x = up_qdisc(1, f)
    print "faster:", x
    status_qdisc(1, f); print s
    split("qdisc ns eth0 root netem 1000 - -", f, " "); up_qdisc(1, f)
    split("qdisc ns eth0 root tbf 1250000 32768 100000", f, " ")
    x = unshape(f, 1)
    print "removed:", x
    for (i = 1; i <= tccount["ns"]; i++) print tcbatch["ns", i]
}
"""
    out = run_awk(
        awk, tmp_path, ["json", "qdisc-prune", "qdisc"], driver, recorded("qdisc.json", "tc ns")
    )
    assert out == [
        "same: 1",
        "faster: 1",
        "drifted (rate 10000000bit)",
        "removed: qdisc tbf on ns:eth0",
        "qdisc replace dev eth0 root handle 6e73: tbf rate 10mbit burst 32kb latency 100ms",
        "qdisc del dev eth0 root",
        "qdisc replace dev eth0 root handle 6e73: tbf rate 10mbit burst 32kb latency 100ms",
        "qdisc del dev eth0 root",
    ]


@pytest.mark.parametrize("awk", AWKS)
def test_prune_removes_only_what_is_still_as_the_lab_left_it(
    awk: list[str], tmp_path: Path
) -> None:
    # Recorded in namespace ns: eth0 (mtu 1400) with 10.9.0.1/24, eth1 on bridge br0, and a
    # route to 10.8.0.0/24 via 10.9.0.2 of protocol 245.
    driver = """
sec == "json" { if (index($0, "{\\"ifindex\\":")) jdevices(secns); else jroutes(secns); next }
function nsstate(n) { return "ours" }
function try(row,    x) { x = extra_row(row, 1); print (x == "" ? "nothing" : x) }
END {
    dir = ENVIRON["DIR"]; proto = 245; declns["ns"] = 1
    try("route ns 10.8.0.0/24 10.9.0.2")
    try("route ns 10.8.0.0/24 10.9.0.3")
    proto = 99; try("route ns 10.8.0.0/24 10.9.0.2"); proto = 245
    try("addr ns eth0 10.9.0.1/24 10.9.0.0/24")
    try("addr ns eth0 10.9.0.7/24 10.9.0.0/24")
    plink["ns", "eth0"] = "link ns eth0 - - -"; plink["ns", "eth1"] = "link ns eth1 - - -"
    try("link ns eth0 - 1400")
    try("link ns eth1 br0 -")
    try("link ns eth1 br1 -")
    sysorig["ns", "net.ipv4.conf.eth0/1.rp_filter"] = "2"
    try("sysctl ns net.ipv4.conf.eth0/1.rp_filter 0 -")
    plansysctl["ns", "net.ipv4.conf.eth0/1.rp_filter"] = 1
    try("sysctl ns net.ipv4.conf.eth0/1.rp_filter 0 -")
    for (i = 1; i <= nprune["ns"]; i++) print "ns:", prunebatch["ns", i]
    for (i = 1; i <= nprune["-"]; i++) print "host:", prunebatch["-", i]
    for (i = 1; i <= nlate; i++) print "late:", latens[i], latecmd[i]
}
"""
    out = run_awk(
        awk,
        tmp_path,
        ["json", "qdisc-prune", "prune"],
        driver,
        recorded("link.json", "json ns"),
        recorded("address.json", "json ns all"),
        recorded("route.json", "json ns"),
    )
    assert out == [
        "route 10.8.0.0/24 via 10.9.0.2 in ns",
        # Another gateway, or another protocol: not the route the lab made.
        "nothing",
        "nothing",
        "address 10.9.0.1/24 on ns:eth0",
        "nothing",
        "link ns:eth0 mtu 1400",
        "link ns:eth1 master br0",
        # On another bridge than the record's: moved since, not the lab's to move back.
        "nothing",
        "sysctl net.ipv4.conf.eth0/1.rp_filter = 0 in ns",
        "nothing",
        "ns: route del 10.8.0.0/24 metric 0 proto 245",
        "ns: link set dev eth0 mtu 1500",
        "ns: link set dev eth1 nomaster",
        'host: netns exec ns sh -c "echo 2 >/proc/sys/net/ipv4/conf/eth0.1/rp_filter"',
        "late: ns address del 10.9.0.1/24 dev eth0",
    ]
    assert (tmp_path / "promote").read_text() == "ns eth0\n"


@pytest.mark.parametrize("awk", AWKS)
def test_route_refuses_a_foreign_route_and_finds_a_drifted_one(
    awk: list[str], tmp_path: Path
) -> None:
    # The kernel holds, in namespace ns, 10.8.0.0/24 via 10.9.0.2 of protocol 245.
    driver = """
sec == "json" { if (index($0, "{\\"ifindex\\":")) jdevices(secns); else jroutes(secns); next }
function nsstate(n) { return "ours" }
function row(text,    f) {
    line[1] = text; cmd[1] = substr(text, index(text, " | ") + 3)
    split(text, f, " ")
    s = ""; what = ""; status_route(1, f); print s ": " what
    up_route(1, f)
}
END {
    proto = 245; lab = "l"
    row("route ns 10.8.0.0/24 10.9.0.2 | route replace 10.8.0.0/24 via 10.9.0.2")
    recroute["ns", "10.8.0.0/24", 4, 0] = 1
    row("route ns 10.8.0.0/24 10.9.0.2 | route replace 10.8.0.0/24 via 10.9.0.2")
    row("route ns 10.8.0.0/24 10.9.0.3 | route replace 10.8.0.0/24 via 10.9.0.3")
    row("route ns 10.7.0.0/24 10.9.0.2 | route replace 10.7.0.0/24 via 10.9.0.2")
    nlateroot = 1
    row("route - 10.6.0.0/24 10.9.0.2 | route replace 10.6.0.0/24 via 10.9.0.2")
    print "late:", lateroot[2]
    split("addr ns eth0 10.9.0.1/24 10.9.0.0/24", f, " ")
    x = up_route(1, f); print "not a route row:", x
}
"""
    out = run_awk(
        awk,
        tmp_path,
        ["json", "qdisc-prune", "prune", "route"],
        driver,
        recorded("route.json", "json ns"),
    )
    assert out == [
        # Not named by the record: someone else's, though of the lab's protocol.
        "foreign: route 10.8.0.0/24 via 10.9.0.2 in ns",
        "refuse route 10.8.0.0/24 via 10.9.0.2 dev eth0 in ns (proto 245) exists and was not"
        " created by lab l",
        "emit ns route replace 10.8.0.0/24 via 10.9.0.2",
        "ok: route 10.8.0.0/24 via 10.9.0.2 in ns",
        "emit ns route replace 10.8.0.0/24 via 10.9.0.2",
        "drifted (via 10.9.0.2): route 10.8.0.0/24 via 10.9.0.3 in ns",
        "emit ns route replace 10.8.0.0/24 via 10.9.0.3",
        "missing: route 10.7.0.0/24 via 10.9.0.2 in ns",
        "emit ns route replace 10.7.0.0/24 via 10.9.0.2",
        # Behind a bridge that goes up late: after it.
        "missing: route 10.6.0.0/24 via 10.9.0.2 in host",
        "late: route replace 10.6.0.0/24 via 10.9.0.2",
        "not a route row: 0",
    ]


@pytest.mark.parametrize("awk", AWKS)
def test_bridge_and_macvlan_decide_their_rows(awk: list[str], tmp_path: Path) -> None:
    driver = """
function try(name, text,    f, x) {
    cmd[1] = text; split(text, f, " "); x = hook_up(1, f); print name ":", x
}
END {
    lab = "l"
    state["-", "eth9"] = "ours"; dev["-", "eth9"] = 1; dev["-", "wan0"] = 1
    try("bridge", "bridge - br0")
    try("fresh link", "link - br0 - - -")
    try("link", "link - br1 - - -")
    print "late:", lateroot[1]
    try("macvlan on the lab", "macvlan ns mv0 eth9 bridge")
    try("macvlan on nothing", "macvlan ns mv0 eth8 bridge")
    try("macvlan", "macvlan ns mv0 wan0 bridge")
    split("macvlan ns mv0 wan0 bridge", f, " "); hook_status(1, f); print s ": " what
}
"""
    out = run_awk(awk, tmp_path, ["bridge", "macvlan"], driver)
    assert out == [
        # device_up (stubbed) made it: missing, so its link goes up late.
        "device_up br0",
        "bridge: 1",
        "fresh link: 1",
        "link: 0",
        "late: link - br0 - - -",
        "refuse macvlan ns:mv0: its parent eth9 is a device of lab l",
        "macvlan on the lab: 1",
        "refuse macvlan ns:mv0: its parent eth8 is not a device of the host",
        "macvlan on nothing: 1",
        "emit - macvlan ns mv0 wan0 bridge",
        "macvlan: 1",
        "missing: macvlan ns:mv0 on wan0 (bridge)",
    ]


@pytest.mark.parametrize("awk", AWKS)
def test_tunnel_reads_flood_entries_and_removes_one(awk: list[str], tmp_path: Path) -> None:
    driver = """
END {
    dir = ENVIRON["DIR"]
    state["-", "vx0"] = "ours"
    cmd[1] = "fdb append 00:00:00:00:00:00 dev vx0 dst 10.9.0.8"
    split("fdb - vx0 10.9.0.7", f, " "); status_tunnel(1, f); print s, what
    split("fdb - vx0 10.9.0.8", f, " "); status_tunnel(1, f); print s, what
    x = up_tunnel(1, f); print "up:", x
    split("fdb - vx0 10.9.0.7", f, " "); x = extra_tunnel(f, 1); print "extra:", x
    split("vxlan ns vx1", f, " "); x = up_tunnel(2, f); print "up vxlan:", x
    split("link ns eth0 - - -", f, " "); x = up_tunnel(3, f); print "not a tunnel row:", x
    up_end_tunnel()
}
"""
    out = run_awk(awk, tmp_path, ["json", "tunnel"], driver, recorded("fdb.json", "fdb -"))
    assert out == [
        "ok flood vx0 to 10.9.0.7",
        "missing flood vx0 to 10.9.0.8",
        "up: 1",
        "extra: flood vx0 to 10.9.0.7",
        "device_up vx1",
        "up vxlan: 1",
        "not a tunnel row: 0",
    ]
    flood = (tmp_path / "flood").read_text().splitlines()
    assert flood == [
        "fdb del 00:00:00:00:00:00 dev vx0 dst 10.9.0.7",
        "fdb append 00:00:00:00:00:00 dev vx0 dst 10.9.0.8",
    ]


@pytest.mark.parametrize("awk", AWKS)
def test_sysctl_status_joins_words_with_commas(awk: list[str], tmp_path: Path) -> None:
    sections = "== sysctl ns\nnet.ipv4.ping_group_range 0 2147483647\nnet.ipv4.ip_forward 0\n"
    driver = """
END {
    split("sysctl ns net.ipv4.ping_group_range 0,2147483647 p", f, " ")
    status_sysctl(1, f)
    print s "|" what
    split("sysctl ns net.ipv4.ip_forward 1 p", f, " "); status_sysctl(1, f); print s "|" what
    split("sysctl ns net.ipv4.tcp_ecn 1 p", f, " "); status_sysctl(1, f); print s "|" what
}
"""
    out = run_awk(awk, tmp_path, ["sysctl"], driver, sections)
    assert out == [
        "ok|sysctl net.ipv4.ping_group_range = 0 2147483647 in ns",
        "drifted (0)|sysctl net.ipv4.ip_forward = 1 in ns",
        "missing|sysctl net.ipv4.tcp_ecn = 1 in ns",
    ]


# ---- labs, on records alone


def run_program(
    awk: list[str], module: str, variables: dict[str, str], listing: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """A module's awk program run on its own, as its shell part runs it."""
    if shutil.which(awk[0]) is None:
        pytest.skip(f"{awk[0]} is not installed")
    (tmp_path / "input").write_text(listing)
    options = [arg for name, value in variables.items() for arg in ("-v", f"{name}={value}")]
    return subprocess.run(
        [*awk, *options, runtime.part(module, "awk"), str(tmp_path / "input")],
        capture_output=True,
        text=True,
        env={"LC_ALL": "C"},
    )


@pytest.mark.parametrize("awk", AWKS)
def test_labs_lists_each_lab_from_its_record_and_names_one_it_cannot_trust(
    awk: list[str], tmp_path: Path
) -> None:
    root = tmp_path / "nsgen"
    (root / "a").mkdir(parents=True)
    (root / "a" / "record").write_text(
        "nsgen-record 1\nsource " + "f" * 64 + " 1700000000 labs/a.toml\n"
        "netns - a1\nnetns - a2\nbridge - br0\nveth - ve0 a1 eth0\nveth a1 x a2 y\n"
        "addr a1 eth0 10.0.0.1/24 10.0.0.0/24\n"
    )
    (root / "b").mkdir()
    (root / "b" / "netns").write_text("/run/netns/b1 1 2\n/run/netns/b2 3 4\n")
    (root / "c").mkdir()
    perm = f"0 755 {root}\n0 755 {root}/a\n0 644 {root}/a/record\n0 755 {root}/b\n"
    perm += f"0 644 {root}/b/netns\n0 757 {root}/c\n"
    result = run_program(awk, "labs", {"root": str(root)}, perm, tmp_path)
    assert result.returncode == 1
    assert [line.split() for line in result.stdout.splitlines()] == [
        ["LAB", "NAMESPACES", "HOST-DEVICES", "UP", "SHA256", "SOURCE"],
        ["a", "2", "2", "2023-11-14T22:13:20Z", "f" * 64, "labs/a.toml"],
        # Up by a version without the record: its namespaces only.
        ["b", "2", "?", "-", "-", "-"],
    ]
    assert result.stderr == (
        f"nsgen: c: not listed: {root}/c is writable by group or others (mode 757)\n"
    )
    refused = run_program(awk, "labs", {"root": str(root)}, f"1000 755 {root}\n", tmp_path)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "nsgen: refusing: " in refused.stderr


@pytest.mark.parametrize("awk", AWKS)
def test_stop_finds_the_processes_of_the_namespaces_to_delete(
    awk: list[str], tmp_path: Path
) -> None:
    # Pids over the kernel's pid_max: no /proc entry, so no name.
    (tmp_path / "stop").write_text("ns1 4026532000\nns2 4026532001\n")
    (tmp_path / "seen").write_text("")
    listing = (
        "4026532000 /proc/99999991/ns/net\n4026531992 /proc/1/ns/net\n"
        "4026532001 /proc/99999992/ns/net\n4026532001 /proc/99999999/ns/net\n"
    )
    variables = {
        "f": str(tmp_path / "stop"),
        "seen": str(tmp_path / "seen"),
        "lab": "l",
        "dry": "0",
        "out": str(tmp_path / "pids"),
        "self": "99999999",
        "first": "1",
    }
    first = run_program(awk, "stop", variables, listing, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "l: ns1: stopping pid 99999991 (?)",
        "l: ns2: stopping pid 99999992 (?)",
    ]
    assert (tmp_path / "pids").read_text() == "99999991 4026532000\n99999992 4026532001\n"
    # A later round: one still there, one new (a supervisor restarted it), counted only.
    listing = "4026532000 /proc/99999991/ns/net\n4026532000 /proc/99999993/ns/net\n"
    later = run_program(awk, "stop", variables | {"first": "0"}, listing, tmp_path)
    assert later.stdout == "l: stopping 1 more processes started meanwhile\n"
    assert (tmp_path / "pids").read_text() == "99999991 4026532000\n99999993 4026532000\n"
    dry = run_program(awk, "stop", variables | {"dry": "1", "seen": "/dev/null"}, listing, tmp_path)
    assert dry.stdout.splitlines()[0] == "l: ns1: would stop pid 99999991 (?)"


def test_labs_counts_every_kind_of_host_device(tmp_path: Path) -> None:
    """The tap lab has three host devices: its bridge, its TAP and a veth end."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare: labs reads /run/nsgen, mounted privately here")
    script = tmp_path / "tap.sh"
    script.write_text(pipeline.render_file(EXAMPLES / "tap.toml"))
    rows = script.read_text().partition("plan() {\n\tcat <<'EOF'\n")[2].partition("EOF\n")[0]
    record = tmp_path / "record"
    record.write_text(
        "nsgen-record 1\nsource "
        + "0" * 64
        + " 0 tap.toml\n"
        + "".join(" ".join(row.partition(" | ")[0].split()) + "\n" for row in rows.splitlines())
    )
    # A private mount namespace with its own /run: the host's records are neither read nor
    # touched.
    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "sh",
            "-c",
            'mount -t tmpfs nsgen /run && mkdir -p /run/nsgen/tap && cp "$1" /run/nsgen/tap/record'
            ' && sh "$2" labs',
            "-",
            str(record),
            str(script),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    head, line = result.stdout.splitlines()
    assert head.split()[:3] == ["LAB", "NAMESPACES", "HOST-DEVICES"]
    assert line.split()[:3] == ["tap", "1", "3"]


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_hooks_run_their_steps_in_order_with_the_arguments(shell: str) -> None:
    state = runtime.part("state", "sh")
    definitions = re.search(r"^hook\(\) .*?^\}\n", state, re.MULTILINE | re.DOTALL)
    assert definitions is not None
    program = definitions[0] + (
        "a() { printf '[%s]' a \"$@\"; echo; }\nb() { printf '[%s]' b \"$@\"; echo; }\n"
        "hook p a\nhook p b\nhook q b\nset -u\nhooks p 1 '2 3'\nhooks q\nhooks none\n"
    )
    result = subprocess.run([shell, "-c", program], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[a][1][2 3]", "[b][1][2 3]", "[b]"]
