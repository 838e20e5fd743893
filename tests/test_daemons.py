"""Files, processes and exec (issue 21) without a kernel: their validation, what the script
carries, the examples' golden scripts, and `nsgen logs`' printing.

Regenerate golden/daemons/ on purpose with `pytest tests/test_daemons.py --update-golden`,
then read the diff.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from nsgen import pipeline
from nsgen.errors import TopologyError
from nsgen.logs import show
from tests import golden
from tests.conftest import DAEMON_EXAMPLES, ROOT, tool

IDS = [p.stem for p in DAEMON_EXAMPLES]

WIRES = """
[namespaces.r1]
interfaces.eth0 = { peer = "r2:eth0", address = "10.0.0.1/31" }
[namespaces.r2]
interfaces.eth0 = { address = "10.0.0.0/31" }
"""


def errors(tmp_path: Path, text: str) -> list[str]:
    topology = tmp_path / "lab.toml"
    topology.write_text(text)
    with pytest.raises(TopologyError) as caught:
        pipeline.render_file(topology)
    return caught.value.lines()


def render(tmp_path: Path, text: str) -> str:
    topology = tmp_path / "lab.toml"
    topology.write_text(text)
    return pipeline.render_file(topology)


def test_file_paths_stay_under_etc_and_are_plain(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        WIRES
        + """
[namespaces.r1.files]
"/var/lib/x" = { text = "" }
"bird/../../shadow" = { text = "" }
"bird/a b" = { text = "" }
"frr" = { text = "" }
"/etc/frr/frr.conf" = { text = "", mode = "0999" }
"bird/bird.conf" = "missing.conf"
[namespaces.r2.files]
"bird/x" = { text = "a" }
"/etc/bird/x" = { text = "b" }
""",
    )
    assert lines == [
        'lab.toml: namespaces.r1.files."/etc/frr/frr.conf": a file cannot also be a directory: '
        "namespaces.r1.files.frr",
        'lab.toml: namespaces.r1.files."/var/lib/x": is not under /etc: ip netns exec shows '
        "only /etc/netns/NS as /etc",
        "lab.toml: namespaces.r1.files.\"bird/../../shadow\": 'bird/../../shadow' must name a "
        "file under /etc without '', '.' or '..' parts",
        "lab.toml: namespaces.r1.files.\"bird/a b\": 'a b' is not a safe file name: use "
        "letters, digits and _ . + @ -, not starting with '.' or '-'",
        'lab.toml: namespaces.r1.files."bird/bird.conf": cannot read source missing.conf: No '
        "such file or directory",
        'lab.toml: namespaces.r2.files."/etc/bird/x": is the same file as '
        'namespaces.r2.files."bird/x"',
    ]


def test_mode_and_names_hosts_file(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        "names = true\n"
        + WIRES
        + """
[namespaces.r1.files]
"hosts" = { text = "" }
"bird/x" = { text = "", mode = "0999" }
""",
    )
    assert lines == [
        'lab.toml: namespaces.r1.files."bird/x".mode: \'0999\' is not a mode in octal, like "0640"',
        "lab.toml: namespaces.r1.files.hosts: names = true writes /etc/netns/NS/hosts itself",
    ]


def test_processes_names_references_cycles_durations(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        WIRES
        + """
[[namespaces.r1.processes]]
name = "a"
command = "sleep 1"
after = ["b", "r2:nothere"]
[[namespaces.r1.processes]]
name = "b"
command = "sleep 1"
after = "r2:c"
ready_timeout = "soon"
[[namespaces.r1.processes]]
name = "a"
command = "sleep 2"
[[namespaces.r2.processes]]
name = "c"
command = " "
[[namespaces.r2.processes]]
name = "c2"
command = "sleep 1"
after = "c2"
""",
    )
    assert lines == [
        "lab.toml: namespaces.r1.processes[0].after[1]: 'r2:nothere' is not a process of this lab",
        "lab.toml: namespaces.r1.processes[1].after: 'r2:c' is not a process of this lab",
        "lab.toml: namespaces.r1.processes[1].ready_timeout: 'soon' is not a duration from 1ms "
        'to 60m ("500ms", "30s", "2m")',
        "lab.toml: namespaces.r1.processes[2].name: 'a' is already namespaces.r1.processes[0]",
        "lab.toml: namespaces.r2.processes[0].command: is an empty command",
        "lab.toml: namespaces.r2.processes[1].after: a process cannot wait for itself",
    ]


def test_a_cycle_is_named(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        WIRES
        + """
[[namespaces.r1.processes]]
name = "a"
command = "sleep 1"
after = "r2:b"
[[namespaces.r2.processes]]
name = "b"
command = "sleep 1"
after = "r1:a"
""",
    )
    assert len(lines) == 1
    assert "processes wait for each other in a cycle: " in lines[0]
    assert "r1:a" in lines[0] and "r2:b" in lines[0]


def test_processes_start_after_what_they_wait_for(tmp_path: Path) -> None:
    script = render(
        tmp_path,
        WIRES
        + """
[[namespaces.r1.processes]]
name = "bgpd"
command = "bgpd"
after = ["zebra", "r2:other"]
[[namespaces.r1.processes]]
name = "zebra"
command = "zebra"
ready_timeout = "2m"
[[namespaces.r2.processes]]
name = "other"
command = "other"
""",
    )
    table = script.split("lab_processes() {\n\tcat <<'EOF'\n", 1)[1].split("EOF", 1)[0]
    rows = [line.split() for line in table.splitlines()]
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        ("r1", "zebra", "120000", "-"),
        ("r2", "other", "30000", "-"),
        ("r1", "bgpd", "30000", "r1:zebra,r2:other"),
    ]


def test_a_template_sees_the_resolved_lab(tmp_path: Path) -> None:
    (tmp_path / "conf.j2").write_text(
        "{{ ns.key }} of {{ lab.name }}:{% for i in ns.interfaces %} {{ i.name }}"
        " {{ i.addresses | join(',') }} peer {{ i.peer }}{% for n in i.neighbours %}"
        " -> {{ n.namespace }}:{{ n.name }} {{ n.ips | join(',') }}"
        " router={{ n.forwarding }}{% endfor %}{% endfor %};"
        " others {{ others | map(attribute='name') | join(',') }};"
        " lo {{ ns.loopback.ips | join(',') }} {{ ns.loopback.ipv6 | join(',') }}\n"
    )
    script = render(
        tmp_path,
        """
name = "tpl"
[namespaces.r1]
forwarding = true
loopback = ["10.255.0.1/32", "fd00:ff::1/128"]
interfaces.eth0 = { peer = "r2:eth0", address = "10.0.0.1/31" }
interfaces.eth1 = { bridge = "lan", address = "10.1.0.1/24" }
files."x/y.conf" = "conf.j2"
[namespaces.r2]
forwarding = true
interfaces.eth0 = { address = "10.0.0.0/31" }
[namespaces.h1]
interfaces.eth0 = { bridge = "lan", address = "10.1.0.10/24" }
[bridges.lan]
""",
    )
    assert (
        "r1 of tpl: eth0 10.0.0.1/31 peer r2:eth0 -> r2:eth0 10.0.0.0 router=True eth1 "
        "10.1.0.1/24 peer bridge lan -> h1:eth0 10.1.0.10 router=False; others r2,h1;"
        " lo 10.255.0.1,fd00:ff::1 fd00:ff::1/128\n"
    ) in script


def test_a_template_error_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "conf.j2").write_text("ok\n{{ ns.nothing }}\n")
    lines = errors(tmp_path, WIRES + '[namespaces.r1.files]\n"x/y" = "conf.j2"\n')
    assert lines == [
        "lab.toml: namespaces.r1.files.\"x/y\": template conf.j2 (line 2): 'dict object' has "
        "no attribute 'nothing'"
    ]


def test_contents_go_into_the_script_verbatim(tmp_path: Path) -> None:
    (tmp_path / "plain.conf").write_text("a $HOME `x`\nNSGEN_EOF\n")
    script = render(
        tmp_path,
        WIRES
        + """
[namespaces.r1.files]
"x/plain.conf" = "plain.conf"
"x/short" = { text = "no final newline", mode = "0600" }
""",
    )
    assert "file:1) cat <<'NSGEN_EOF_'\na $HOME `x`\nNSGEN_EOF\nNSGEN_EOF_\n" in script
    assert "file:2) nsgen_chomp <<'NSGEN_EOF'\nno final newline\nNSGEN_EOF\n" in script
    assert "r1 x/short 600 " in script
    # What the script writes is exactly the text: run its lab_text and compare.
    functions = script.split("lab_text() {", 1)[1].split("\n}\n", 1)[0]
    chomp = 'nsgen_chomp() { awk \'NR > 1 { printf "\\n" } { printf "%s", $0 }\'; }\n'
    for key, expected in (("file:1", "a $HOME `x`\nNSGEN_EOF\n"), ("file:2", "no final newline")):
        body = f"{chomp}lab_text() {{{functions}\n}}\nlab_text {key}"
        out = subprocess.run(["dash", "-c", body], capture_output=True, text=True, check=True)
        assert out.stdout == expected


def carried(script: str) -> set[str]:
    """The runtime modules a script names on its runtime's first line."""
    line = next(x for x in script.splitlines() if x.startswith("# ==== nsgen "))
    return set(line.split("modules: ", 1)[1].split())


def test_labs_without_daemons_carry_none_of_their_runtime(tmp_path: Path) -> None:
    script = render(tmp_path, WIRES)
    assert not {"daemons", "files", "processes", "exec"} & carried(script)
    assert "lab_files" not in script and "exec_up" not in script
    with_exec = render(
        tmp_path, WIRES.replace("[namespaces.r2]", 'exec = ["true"]\n[namespaces.r2]')
    )
    assert {"daemons", "exec"} <= carried(with_exec)
    assert not {"files", "processes"} & carried(with_exec)
    assert "\nhook configured exec_up\n" in with_exec
    assert "\nhook observe_status exec_status\n" in with_exec


def golden_path(topology: Path) -> Path:
    return ROOT / "golden" / "daemons" / f"{topology.stem}.sh"


@pytest.mark.parametrize("topology", DAEMON_EXAMPLES, ids=IDS)
def test_example_matches_golden(topology: Path, update_golden: bool) -> None:
    golden.check(pipeline.render_file(topology), golden_path(topology), update_golden)


@pytest.mark.parametrize("topology", DAEMON_EXAMPLES, ids=IDS)
def test_example_script_passes_shellcheck_and_parses(topology: Path) -> None:
    path = str(golden_path(topology))
    check = subprocess.run([tool("shellcheck"), "-s", "sh", path], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    for shell in ("dash", "bash"):
        if shutil.which(shell):
            parsed = subprocess.run([shell, "-n", path], capture_output=True, text=True)
            assert parsed.returncode == 0, parsed.stderr


def test_logs_print_each_log_tagged_when_several(tmp_path: Path) -> None:
    zebra, bgpd = tmp_path / "zebra.log", tmp_path / "bgpd.log"
    zebra.write_bytes(b"z1\nz2\n")
    bgpd.write_bytes(b"b1\npartial")
    out = io.BytesIO()
    show([zebra, bgpd], follow=False, out=out)
    assert out.getvalue() == b"zebra | z1\nzebra | z2\nbgpd | b1\nbgpd | partial\n"
    one = io.BytesIO()
    show([zebra], follow=False, out=one)
    assert one.getvalue() == b"z1\nz2\n"
