"""Injection: no string from a topology file can become shell code or an iproute2 misreading.

Every value that reaches the script is checked against hostile strings; file names, which
reach the script's comments, are escaped; random valid topologies render to shellcheck-clean
scripts; and names that are iproute2 keywords, which the format allows on purpose, are shown
to work in a live lab.
"""

from __future__ import annotations

import copy
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from nsgen import pipeline
from nsgen.errors import NsgenError, printable
from nsgen.validate import IFINDEX_RE, key_path
from tests.conftest import examples, sandbox_skip, tool
from tests.fuzzing import dumps, run_main, write
from tests.live import in_sandbox
from tests.reliability import Recorder

# A valid lab in which every kind of value that reaches the script appears once.
BASE = tomllib.loads("""
name = "lab"

[bridges.br0]
address = "10.0.0.1/24"

[bridges.lan]
namespace = "sw"

[namespaces.sw]

[namespaces.h1]
forwarding = true
routes = [{ to = "10.9.0.0/24", via = "10.0.0.1" }]

[namespaces.h1.interfaces.eth0]
bridge = "br0"
address = "10.0.0.11/24"
mac = "02:00:00:00:00:11"
mtu = 1500
rate = "10mbit"
burst = "32kb"
latency = "50ms"
delay = "20ms"
jitter = "5ms"
loss = "1%"

[namespaces.sw.interfaces.tap0]
kind = "tap"
bridge = "lan"
owner = "nobody"
group = "nogroup"

[namespaces.h1.interfaces.eth1]
bridge = "lan"
outer = "h1-lan"
address = ["10.1.0.11/24", "fd00:1::11/64"]

[namespaces.h2.interfaces.eth0]
address = "10.2.0.2/24"

[host.interfaces.v0]
peer = "h2:eth0"
address = "10.2.0.1/24"

[host]
routes = [{ to = "10.3.0.0/24", via = "10.2.0.2" }]
""")

# Shell metacharacters, quotes, whitespace and newlines, command substitution, leading
# dashes, globs, path tricks, control and invisible characters, look-alike letters.
HOSTILE = [
    "a;reboot",
    "a|b",
    "a&b",
    "a b",
    "a\tb",
    "a\nreboot",
    "a\rb",
    "a\x00b",
    "a\x1b[2Jb",
    "$(reboot)",
    "`reboot`",
    "${IFS}",
    "$HOME",
    "a'b",
    'a"b',
    "'",
    '"',
    "\\",
    "a\\nb",
    "-n",
    "--help",
    "-all",
    "-",
    "a>b",
    "a<b",
    "*",
    "a?",
    "[a]",
    "~root",
    "#x",
    "a!b",
    "{a,b}",
    "a=b",
    "a/b",
    "../x",
    ".",
    "..",
    "",
    " ",
    "a,b",
    "a%b",
    "a@b",
    "a+b",
    "h1\u202egnp",
    "e\u200bth0",
    "\u0435th0",  # Cyrillic e
    "eth0\u00a0",
    "eth0\u2028",
]
EXTRA = {
    # Longer than a user name may be; upper case, which useradd refuses.
    "account": ["x" * 33, "Root", "1e3"],
    # A unit glued to something else, a space, exponents.
    "shaping": ["10mbit;reboot", "10 mbit", "1e9bit", "10mbit\n", "%"],
    # 16+ characters (IFNAMSIZ); "if" and a number, which iproute2 reads as an index.
    "device": ["x" * 16, "a" * 200, "if1", "if-2", "if0x"],
    # Longer than a namespace name may be; a number, which `netns` reads as a process id.
    "netns": ["x" * 65, "123", "0"],
    "lab": ["x" * 49],
    "address": [
        "10.0.0.12/24;reboot",
        "10.0.0.12/24 dev lo",
        "10.0.0.12/24\n",
        "$(reboot)/24",
        "-10.0.0.12/24",
        "10.0.0.12/24`x`",
        "10.0.0.12",
    ],
    "route": ["10.9.0.0/24;reboot", "default via 1.2.3.4", "10.9.0.0/24 table 1", "-1"],
    "mac": ["02:00:00:00:00:12;x", "02:00:00:00:00:12\n", "$(id)"],
}

Mutator = Callable[[dict[str, Any], str], list[str | int]]


def rename(table: list[str], old: str, refs: tuple[tuple[list[str], str], ...] = ()) -> Mutator:
    """Rename the key `old` of `table` and rewrite the references to it; its key path."""

    def mutate(data: dict[str, Any], new: str) -> list[str | int]:
        node = data
        for part in table:
            node = node[part]
        node[new] = node.pop(old)
        for ref, fmt in refs:
            holder = data
            for part in ref[:-1]:
                holder = holder[part]
            holder[ref[-1]] = fmt.format(new)
        return [*table, new]

    return mutate


def put(path: list[str | int]) -> Mutator:
    """Set the value at `path`; its key path."""

    def mutate(data: dict[str, Any], value: str) -> list[str | int]:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        return path

    return mutate


# Every place a string from the file can reach the script (or names what does), by kind.
POSITIONS: dict[str, tuple[str, Mutator]] = {
    "lab name": ("lab", put(["name"])),
    "namespace": (
        "netns",
        rename(["namespaces"], "h2", ((["host", "interfaces", "v0", "peer"], "{}:eth0"),)),
    ),
    "bridge": (
        "device",
        rename(["bridges"], "br0", ((["namespaces", "h1", "interfaces", "eth0", "bridge"], "{}"),)),
    ),
    "bridge in a namespace": (
        "device",
        rename(["bridges"], "lan", ((["namespaces", "h1", "interfaces", "eth1", "bridge"], "{}"),)),
    ),
    "interface": ("device", rename(["namespaces", "h1", "interfaces"], "eth0")),
    "peer interface": (
        "device",
        rename(
            ["namespaces", "h2", "interfaces"],
            "eth0",
            ((["host", "interfaces", "v0", "peer"], "h2:{}"),),
        ),
    ),
    "host interface": ("device", rename(["host", "interfaces"], "v0")),
    "outer": ("device", put(["namespaces", "h1", "interfaces", "eth1", "outer"])),
    "peer": ("ref", put(["host", "interfaces", "v0", "peer"])),
    "bridge reference": ("ref", put(["namespaces", "h1", "interfaces", "eth0", "bridge"])),
    "bridge namespace": ("ref", put(["bridges", "lan", "namespace"])),
    "interface address": ("address", put(["namespaces", "h1", "interfaces", "eth0", "address"])),
    "bridge address": ("address", put(["bridges", "br0", "address"])),
    "host address": ("address", put(["host", "interfaces", "v0", "address"])),
    "mac": ("mac", put(["namespaces", "h1", "interfaces", "eth0", "mac"])),
    "route to": ("route", put(["namespaces", "h1", "routes", 0, "to"])),
    "route via": ("route", put(["namespaces", "h1", "routes", 0, "via"])),
    "host route to": ("route", put(["host", "routes", 0, "to"])),
    "host route via": ("route", put(["host", "routes", 0, "via"])),
    "mtu": ("int", put(["namespaces", "h1", "interfaces", "eth0", "mtu"])),
    "tap owner": ("account", put(["namespaces", "sw", "interfaces", "tap0", "owner"])),
    "tap group": ("account", put(["namespaces", "sw", "interfaces", "tap0", "group"])),
    **{
        key: ("shaping", put(["namespaces", "h1", "interfaces", "eth0", key]))
        for key in ("rate", "burst", "latency", "delay", "jitter", "loss")
    },
    "forwarding": ("bool", put(["namespaces", "h1", "forwarding"])),
}


def cases() -> list[tuple[str, str]]:
    return [
        (position, value)
        for position, (kind, _) in POSITIONS.items()
        for value in HOSTILE + EXTRA.get(kind, [])
    ]


def test_the_base_lab_is_valid(tmp_path: Path) -> None:
    code, _, err = run_main(["validate", str(write(tmp_path, dumps(BASE)))])
    assert code == 0, err


def test_hostile_strings_are_rejected_with_their_key_path(
    tmp_path: Path, figures: Recorder
) -> None:
    failures = []
    all_cases = cases()
    for position, value in all_cases:
        data = copy.deepcopy(BASE)
        where = POSITIONS[position][1](data, value)
        topology = write(tmp_path, dumps(data))
        expected = f"lab.toml: {printable(key_path(where))}"
        for action in ("validate", "render"):
            code, out, err = run_main([action, str(topology)])
            if (
                code != 1
                or out != ""
                or not any(line.startswith(expected) for line in err.splitlines())
            ):
                failures.append(f"{position} = {value!r}: {action} exit {code}, {err!r}")
    assert failures == [], "\n".join(failures)
    figures.record(
        "injection.rejected",
        f"{len(all_cases):,} of {len(all_cases):,} rejected by `validate` and by `render` (exit 1, "
        f"no script), each error naming its key path; {len(HOSTILE)} hostile strings and "
        f"{sum(len(v) for v in EXTRA.values())} kind-specific ones, in {len(POSITIONS)} places",
    )


FILE_NAMES = [
    "x\nrm -rf ~\n.toml",
    "x`reboot`.toml",
    "$(reboot).toml",
    "x\u202elmot.toml",
    "x\x1b[2Jy.toml",
    "x\ry.toml",
]


def test_file_names_reach_only_comments_and_stay_on_one_line(
    tmp_path: Path, figures: Recorder
) -> None:
    text = 'name = "lab"\n' + dumps({k: v for k, v in BASE.items() if k != "name"})
    plain = pipeline.render_file(write(tmp_path, text, "plain.toml"))
    for name in FILE_NAMES:
        hostile = write(tmp_path, text, name)
        code, script, err = run_main(["render", str(hostile)])
        assert code == 0, err
        before, after = plain.splitlines(), script.splitlines()
        assert len(after) == len(before), f"{name!r} added lines to the script"
        changed = [b for a, b in zip(before, after, strict=True) if a != b]
        # Comments, and the one assignment that hands the name to the lab's record, single
        # quoted: printable() leaves no newline, and a quote is closed, escaped and reopened.
        quoted = "SOURCE='" + printable(hostile.name).replace("'", "'\\''") + "'"
        assert changed and all(line.startswith("#") or line == quoted for line in changed), changed
        assert all(line.isprintable() for line in changed), changed
        code, out, _ = run_main(["validate", str(hostile)])
        assert code == 0
        assert out.count("\n") == 1 and out[:-1].isprintable(), out
    figures.record(
        "injection.filename",
        f"{len(FILE_NAMES)} of {len(FILE_NAMES)}: the script differs from the plain file's "
        "only in comment lines, as many lines, every character printable",
    )


# ---- Random valid topologies, shellcheck -------------------------------------------------

KEYWORDS = ["up", "down", "dev", "type", "name", "peer", "netns", "master", "address", "link"]
KEYWORDS += ["route", "via", "default", "help", "all", "list", "add", "del", "exec", "mtu"]
SAFE_NAME = st.one_of(
    st.sampled_from(KEYWORDS),
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}", fullmatch=True),
).filter(lambda n: n not in ("host", "lo") and not IFINDEX_RE.match(n) and not n.isdigit())


@st.composite
def valid_topologies(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A lab that validates: names from the whole allowed alphabet (keywords among them),
    bridges in the host and in namespaces, veth pairs between namespaces and the host,
    IPv4 and IPv6 subnets, routes via real neighbours, MTUs and MACs."""
    names = draw(st.lists(SAFE_NAME, min_size=1, max_size=5, unique=True))
    namespaces: dict[str, Any] = {n: {"interfaces": {}} for n in names}
    host: dict[str, Any] = {"interfaces": {}}
    bridges: dict[str, Any] = {}
    subnets: dict[str, list[str]] = {}  # namespace key -> its subnets' first three octets
    for b, bridge in enumerate(draw(st.lists(SAFE_NAME, max_size=3, unique=True))):
        spec: dict[str, Any] = {}
        holder = draw(st.sampled_from(["host", *names]))
        if holder != "host":
            spec["namespace"] = holder
        bridges[bridge] = spec
        members = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
        six = draw(st.booleans())
        for m, member in enumerate(members):
            iface = draw(SAFE_NAME)
            assume(iface not in namespaces[member]["interfaces"])
            entry: dict[str, Any] = {"bridge": bridge}
            entry["address"] = [f"10.{b + 1}.0.{m + 10}/24"] + [f"fd00:{b + 1}::{m + 10}/64"] * six
            if draw(st.booleans()):
                entry["mtu"] = draw(st.sampled_from([1280, 1400, 1500, 9000]))
            namespaces[member]["interfaces"][iface] = entry
            subnets.setdefault(member, []).append(f"10.{b + 1}.0")
    for p in range(draw(st.integers(0, 3))):
        a = draw(st.sampled_from(names))
        b_side = draw(st.sampled_from(["host", *names]))
        a_if, b_if = draw(SAFE_NAME), draw(SAFE_NAME)
        b_table = host if b_side == "host" else namespaces[b_side]
        assume(a_if not in namespaces[a]["interfaces"] and b_if not in b_table["interfaces"])
        assume((a, a_if) != (b_side, b_if))
        namespaces[a]["interfaces"][a_if] = {
            "peer": f"{b_side}:{b_if}",
            "address": f"10.{100 + p}.0.1/24",
            "mac": f"02:00:00:00:{p:02x}:01",
        }
        b_table["interfaces"][b_if] = {"address": f"10.{100 + p}.0.2/24"}
        subnets.setdefault(a, []).append(f"10.{100 + p}.0")
        subnets.setdefault(b_side, []).append(f"10.{100 + p}.0")
    for key, spec in [*namespaces.items(), ("host", host)]:
        if subnets.get(key) and draw(st.booleans()):
            # .254 is never an address of the lab: a gateway the validator accepts anywhere.
            via = draw(st.sampled_from(subnets[key])) + ".254"
            to = (
                "10.200.0.0/16"
                if key == "host"
                else draw(st.sampled_from(["default", "10.200.0.0/16"]))
            )
            spec["routes"] = [{"to": to, "via": via}]
        if key != "host" and draw(st.booleans()):
            spec["forwarding"] = True
    data: dict[str, Any] = {"name": draw(SAFE_NAME), "namespaces": namespaces}
    if bridges:
        data["bridges"] = bridges
    if host["interfaces"] or host.get("routes"):
        data["host"] = host
    prefix = draw(st.sampled_from(["", "", "t", "zz9", "p.q-r_"]))
    return data, prefix


def test_random_valid_topologies_render_to_shellcheck_clean_scripts(
    tmp_path: Path, figures: Recorder
) -> None:
    shellcheck = tool("shellcheck")
    scripts: list[Path] = []
    checks: list[tuple[list[Path], subprocess.Popen[str]]] = []
    pending: list[Path] = []

    def check(batch: list[Path]) -> None:
        # shellcheck runs beside the generator: one process per 40 scripts.
        command = [shellcheck, "-s", "sh", "-f", "gcc", *map(str, batch)]
        checks.append((batch, subprocess.Popen(command, stdout=subprocess.PIPE, text=True)))

    @hypothesis_settings(max_examples=examples(300))
    @given(valid_topologies())
    def generate(case: tuple[dict[str, Any], str]) -> None:
        data, prefix = case
        source = write(tmp_path, dumps(data), "topology.toml")
        try:
            script = pipeline.render_file(source, prefix)
        except NsgenError:
            assume(False)  # a rare name clash the generator does not rule out
            return
        path = tmp_path / f"{len(scripts):04d}.sh"
        path.write_text(script)
        (tmp_path / f"{len(scripts):04d}.toml").write_text(dumps(data) + f"# prefix {prefix!r}\n")
        scripts.append(path)
        pending.append(path)
        if len(pending) == 40:
            check(pending[:])
            pending.clear()

    generate()
    if pending:
        check(pending)
    findings = [(batch, proc.communicate()[0], proc.returncode) for batch, proc in checks]
    bad = [out for _, out, code in findings if code != 0]
    assert bad == [], "shellcheck findings (see the .toml beside each script):\n" + "".join(bad)
    assert len(scripts) >= examples(300)
    figures.record(
        "injection.shellcheck",
        f"{len(scripts)} of {len(scripts)} rendered scripts pass `shellcheck -s sh`",
    )


# ---- iproute2 keywords as names, live --------------------------------------------------------

KEYWORD_LAB = """
name = "all"

[bridges.dev]
address = ["10.77.0.1/24", "fd77::1/64"]

[namespaces.help]
forwarding = true

[namespaces.help.interfaces.up]
bridge = "dev"
outer = "type"
address = ["10.77.0.11/24", "fd77::11/64"]

[namespaces.help.interfaces.name]
peer = "list:address"
address = "10.78.0.1/24"

[namespaces.all]
routes = [{ to = "10.78.0.0/24", via = "10.77.0.11" }]

[namespaces.all.interfaces.peer]
bridge = "dev"
outer = "master"
address = ["10.77.0.12/24", "fd77::12/64"]

[namespaces.list]
routes = [{ to = "default", via = "10.78.0.1" }]

[namespaces.list.interfaces.address]
address = "10.78.0.2/24"

[bridges.netns]
namespace = "list"

[namespaces.list.interfaces.link]
bridge = "netns"
outer = "route"

[host.interfaces.down]
peer = "host:via"
address = "10.79.0.1/30"

[host.interfaces.via]
address = "10.79.0.2/30"
"""


def test_iproute2_keywords_are_safe_names(tmp_path: Path, figures: Recorder) -> None:
    """The format allows keywords as names because every command names its argument
    (`dev NAME`, `name NAME`, `netns add NAME`). Without a prefix the names would clash with
    the real host, so the lab runs on a private host (tests/live.py: in_sandbox)."""
    sandbox_skip()
    topology = write(tmp_path, KEYWORD_LAB, "keywords.toml")
    script = tmp_path / "keywords.sh"
    script.write_text(pipeline.render_file(topology))
    actions = ["up", "verify", "status", "up", "status", "down", "down"]
    run = in_sandbox(script, actions, tmp_path)
    for action, (code, out, err) in zip(actions, run.results, strict=True):
        assert code == 0, f"{action}: exit {code}\n{out}{err}"
        assert err == "", f"{action}: {err}"
    assert "FAIL" not in run.results[1][1]
    assert "creating" not in run.results[3][1], "a second up created something"
    assert run.after == run.before, "down left something on the private host"
    names = set(tomllib.loads(KEYWORD_LAB)["namespaces"]) | {"dev", "up", "type", "name"}
    names |= {"peer", "master", "address", "netns", "link", "route", "down", "via"}
    figures.record(
        "injection.keywords",
        f"{len(names)} keyword names; {', '.join(f'`{a}`' for a in actions)}: all exit 0, "
        "every ping answered, the second `up` created nothing, 0 residue",
    )
