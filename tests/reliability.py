"""The reliability figures: each one measured by a test, all written to docs/reliability.md.

A test records its figure with the `figures` fixture under one of the keys below. When a
session passes and every figure was measured (the whole suite ran, as root), the document is
rewritten from this registry, in this order; the figures are counts, never timings, so the
same code on any host produces the same file and CI can check that the committed copy is
what the suite measured (`.ci/run`). A partial run (one file, `-m "not slow"`, non-root)
leaves the document alone and says which figures it did not measure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"


@dataclass(frozen=True)
class Figure:
    key: str
    section: str
    what: str


SECTIONS = {
    "1": "Hostile topology files never crash nsgen",
    "2": "No string from a topology file can become shell code",
    "3": "A crash at any point never strands anything",
    "4": "Labs coexist; nothing without the lab's mark is touched",
    "5": "Churn leaves nothing behind",
    "6": "Firewalled hosts: verify says what blocks the bridge",
    "7": "The host's own addresses, routes and sysctls are left alone",
    "8": "Labs change: up of any version converges from any earlier one",
    "9": "One lab, one actor: races, full disks and stale records touch nothing foreign",
}

FIGURES = [
    Figure(
        "fuzz.documents",
        "1",
        "Arbitrary TOML documents (schema keys and random keys; every TOML type; unicode, "
        "huge, empty and deeply nested values) through `nsgen validate` and `nsgen render`",
    ),
    Figure(
        "fuzz.mutations",
        "1",
        "The examples mutated: wrong types, deleted and unknown keys, huge numbers, long and "
        "unicode strings, empty strings, deep nesting, hundreds of copied namespaces",
    ),
    Figure("fuzz.text", "1", "The examples' text edited at random, and random bytes"),
    Figure(
        "fuzz.large",
        "1",
        "Very large inputs, each in a subprocess under a timeout: 10,000 namespaces, a 1 MB "
        "name, arrays and tables nested 100,000 deep, a table header 30,000 keys deep, "
        "20,000 unknown keys, 5 MB of garbage",
    ),
    Figure(
        "injection.rejected",
        "2",
        "Hostile strings (shell metacharacters, quotes, newlines, `$(...)`, backticks, "
        "leading dashes, names iproute2 reads as an index or a PID, 16+ character device "
        "names, control and invisible characters) in every key whose value reaches the script",
    ),
    Figure(
        "injection.filename",
        "2",
        "Topology file names with newlines and shell code (the name is printed in the "
        "script's header comments)",
    ),
    Figure(
        "injection.shellcheck",
        "2",
        "Random valid topologies (names from the whole allowed alphabet, iproute2 keywords "
        "among them; host and namespace bridges; veth pairs; IPv4 and IPv6; routes; MTU; MAC)",
    ),
    Figure(
        "injection.keywords",
        "2",
        "A live lab whose namespace and device names are all iproute2 keywords (`help`, "
        "`all`, `list`, `dev`, `up`, `type`, ...), run in a private mount and network "
        "namespace",
    ),
    Figure(
        "crash.up.star",
        "3",
        "examples/star.toml: `up` SIGKILLed right after its k-th operation, for every k, "
        "then `up` again",
    ),
    Figure("crash.up.routed", "3", "examples/routed.toml: the same"),
    Figure("crash.up.tap", "3", "examples/tap.toml (a TAP port of a host bridge): the same"),
    Figure(
        "crash.up.routing",
        "3",
        "examples/routing.toml (loopbacks, a multipath route, a backup route by metric, a "
        "device route, an IPv6 route through a link-local gateway): the same",
    ),
    Figure(
        "crash.down.star",
        "3",
        "examples/star.toml: `down` SIGKILLed right after its k-th operation, for every k, "
        "then `down` again; and then `up` again",
    ),
    Figure("crash.down.routed", "3", "examples/routed.toml: the same"),
    Figure("crash.down.tap", "3", "examples/tap.toml: the same"),
    Figure("crash.down.routing", "3", "examples/routing.toml: the same"),
    Figure(
        "crash.up_then_down",
        "3",
        "examples/star.toml: `up` SIGKILLed right after its k-th operation, for every k, "
        "then `down`",
    ),
    Figure(
        "crash.sigkill",
        "3",
        "A 50-namespace lab with a host bridge: `up` and all its children SIGKILLed at "
        "random moments, then `up` again",
    ),
    Figure(
        "coexist.together",
        "4",
        "Four labs up at once (examples/routed.toml twice under two names, star, bridge); "
        "then `down` of each in turn",
    ),
    Figure(
        "coexist.refuse",
        "4",
        "A declared name already taken by an object without the lab's mark (a namespace, a "
        "host veth, a host bridge, a host veth marked by another lab)",
    ),
    Figure(
        "coexist.down_decoys",
        "4",
        "`down` while decoys with the lab's names exist: a namespace re-created by someone "
        "else, an unmarked host veth, a host veth marked by another lab",
    ),
    Figure(
        "churn.routed",
        "5",
        "examples/routed.toml: cycles of `up`, `verify`, `down`; the host's namespaces, "
        "links, addresses, routes (all tables), nsfs mounts, state files and temporary files "
        "compared before and after each cycle",
    ),
    Figure(
        "firewall.iptables",
        "6",
        "examples/star.toml on a host (a namespace standing in for it) with bridge netfilter "
        "on and the iptables FORWARD policy DROP, as on Docker hosts",
    ),
    Figure(
        "firewall.nft",
        "6",
        "A dual-stack bridge inside a lab namespace whose firewall has the ip6tables FORWARD "
        "policy DROP and an nftables `inet` forward chain with policy drop",
    ),
    Figure(
        "firewall.host",
        "6",
        "The real host's firewall (`nft -s list ruleset` and every loaded legacy iptables "
        "table) before and after `up` and `down` of examples/star.toml",
    ),
    Figure(
        "host.routes",
        "7",
        "Decoys on an unmarked host veth: the lab's own host address, a route to the lab's "
        "host route destination, other addresses and routes",
    ),
    Figure(
        "host.sysctl",
        "7",
        "Every readable file under /proc/sys/net, read before `up`, after `up` and after "
        "`down` of star, routed and a lab with host routes and a forwarding namespace",
    ),
    Figure(
        "change.property",
        "8",
        "Random pairs of small labs (v1, v2) drawn from one pool of namespaces, bridges, "
        "interfaces, addresses, MTUs, routes, a veth pair, a host leg and forwarding, so that "
        "they overlap in every way: `up v1`, then `up v2`, compared with a fresh `up v2`",
    ),
    Figure(
        "change.cases",
        "8",
        "Named edits, each both ways: namespace removed, address changed, interface renamed, "
        "MTU changed, MTU removed, veth re-wired, bridge removed, host route removed, host "
        "leg (with a route and forwarding) removed, and the issue's four edits at once",
    ),
    Figure(
        "change.crash",
        "8",
        "The issue's edit: `up v2` over v1 SIGKILLed right after each of its operations, then "
        "`up v2`; and `down` SIGKILLed right after each of its operations, then `down` of the "
        "other version",
    ),
    Figure(
        "change.processes",
        "8",
        "A process (`ip netns exec NS sleep 300`) in a namespace that `up` of the new version "
        "removes, and in one that `down` removes",
    ),
    Figure(
        "change.foreign",
        "8",
        "Objects the lab did not apply, in its namespaces and in the host, through a re-run, "
        "`up` of a changed version and its re-run",
    ),
    Figure(
        "change.labs",
        "8",
        "`nsgen labs` and `nsgen down --lab NAME` for a lab whose file is present, deleted, "
        "or renamed to another lab name",
    ),
    Figure(
        "change.trust",
        "8",
        "`up` under umask 000; then a record, netns file or state directory made writable by "
        "group or others, and a record owned by another user",
    ),
    Figure(
        "race.pairs",
        "9",
        "A 10-namespace lab: `up`/`up`, `up`/`down` and `down`/`down` started together (the "
        "second after a random part of up's duration), then `status` or the residue checked, "
        "then `down`",
    ),
    Figure(
        "intent.stale",
        "9",
        "The intent of a killed `up` against objects made later under its names (issue 20, "
        "break 1)",
    ),
    Figure(
        "intent.decoys",
        "9",
        "A 3-namespace lab: `up` or `down` (alternately) SIGKILLed at a random moment, then "
        "decoys made under every free name of the lab (namespaces, one running a process; the "
        "bridge; the veth ends), then `up` and `down`, then the decoys removed and `down`",
    ),
    Figure(
        "state.full",
        "9",
        "examples/star.toml on a private host whose /run/nsgen is a 64 KiB tmpfs: filled before "
        "`up`, and filled right after `up`'s k-th operation for every k; then the space freed "
        "and `down`",
    ),
    Figure(
        "stop.forking",
        "9",
        "A process tree that ignores TERM and keeps forking, in a namespace `down` deletes",
    ),
    Figure(
        "routes.foreign",
        "9",
        "A route someone else put in a lab namespace under the destination (and metric) of a "
        "route a new version of the lab declares: of protocol static, then of nsgen's protocol "
        "245 without a record of it; then `up` of the version that does not declare it",
    ),
    Figure(
        "routes.host_foreign",
        "9",
        "The same on a private host, for a route in the host's own table (protocol static) "
        "under the destination of a `[host] routes` entry",
    ),
    Figure(
        "hand.edits",
        "9",
        "Veth ends of a lab on a host bridge edited by hand: a host end renamed, a host end "
        "moved into another namespace, a namespace end moved into another namespace, a "
        "namespace end renamed and moved into the host; beside them an unmarked veth pair",
    ),
]

HEADER = """\
# Reliability figures

Every figure here is measured by the test suite and written to this file by it: the
session-scoped collector in `tests/reliability.py` rewrites the file when the whole suite
passes (as root, so the live tests run). CI (`.ci/run`) runs the suite and fails if the file
it produced differs from the committed one, so what is committed is what CI measured.
Regenerate it with:

    sudo .venv/bin/python -m pytest   # the whole suite; rewrites docs/reliability.md when it passes

Then read `git diff docs/reliability.md` before committing. The figures are counts, not
timings: the same code produces the same file on any host. Fuzzing runs the derandomized
`nsgen-ci` hypothesis profile; `--hypothesis-profile nsgen-long` runs 20 times as many random
examples locally and leaves this file alone.
"""


@dataclass
class Store:
    """Figures recorded during one session, by key."""

    values: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (figure, test)

    def record(self, key: str, figure: str, test: str) -> None:
        if key not in {f.key for f in FIGURES}:
            raise KeyError(f"unknown reliability figure {key!r}: add it to tests/reliability.py")
        self.values[key] = (figure, test)

    def missing(self) -> list[str]:
        return [f.key for f in FIGURES if f.key not in self.values]

    def render(self) -> str:
        out = [HEADER]
        for number, title in SECTIONS.items():
            out += [f"## {number}. {title}", "", "| what | figure | test |", "|---|---|---|"]
            for figure in FIGURES:
                if figure.section == number:
                    value, test = self.values[figure.key]
                    out.append(f"| {figure.what} | {value} | `{test}` |")
            out.append("")
        return "\n".join(out)


@dataclass
class Recorder:
    """What a test sees: `figures.record(key, text)` files the figure under the test's name."""

    store: Store
    test: str

    def record(self, key: str, figure: str) -> None:
        self.store.record(key, figure, self.test)


def test_name(nodeid: str) -> str:
    """`tests/test_crash.py::test_x[star]` -> `tests/test_crash.py::test_x`."""
    return nodeid.split("[", 1)[0]
