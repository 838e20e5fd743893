"""`nsgen exec FILE NS -- CMD`: a command inside a lab namespace, its exit status passed on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nsgen.errors import NeedsRootError
from nsgen.execute import ExecRequest, exec_argv
from tests.conftest import EXAMPLES, ROOT
from tests.live import LabFactory

PAIR = EXAMPLES / "veth-pair.toml"


def nsgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nsgen", *args], capture_output=True, text=True, cwd=ROOT
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [str(PAIR), "h1", "--", "true"],
            "nsgen: veth-pair.toml declares no namespace 'h1'; its namespaces: ns1, ns2 "
            "(and host)\n",
        ),
        (
            # With a prefix, the names to give are still the file's.
            [str(PAIR), "zzns1", "--prefix", "zz", "--", "true"],
            "nsgen: veth-pair.toml declares no namespace 'zzns1'; its namespaces: ns1, ns2 "
            "(and host)\n",
        ),
        (
            [str(PAIR), "ns1"],
            "nsgen: give the command to run after the namespace: nsgen exec FILE NS -- CMD\n",
        ),
    ],
    ids=["unknown-namespace", "prefixed-name", "no-command"],
)
def test_refusals_name_what_the_file_declares(args: list[str], message: str) -> None:
    result = nsgen("exec", *args)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)


def test_not_root_is_refused_before_anything_runs() -> None:
    request = ExecRequest(PAIR, "ns1", ("ip", "link"), prefix="zz")
    with pytest.raises(NeedsRootError) as caught:
        exec_argv(request, is_root=lambda: False)
    assert str(caught.value) == (
        f"needs root (CAP_NET_ADMIN): try sudo nsgen exec {PAIR} ns1 --prefix zz -- ip link"
    )


def test_the_host_needs_no_root_and_no_lab() -> None:
    entry = exec_argv(ExecRequest(PAIR, "host", ("true",)), is_root=lambda: False)
    assert entry.argv == ["true"]


def test_the_labs_variables_are_set_and_replaced_in_words_only_those() -> None:
    words = ("echo", "$NSGEN_LAB/x", "${NSGEN_LAB}", "$NSGEN_LABS", "$HOME", "$NSGEN_RUN")
    entry = exec_argv(ExecRequest(PAIR, "host", words, prefix="zz"), is_root=lambda: False)
    # In the host there is no namespace: NSGEN_NS and NSGEN_RUN are neither set nor replaced.
    assert entry.environment == {"NSGEN_LAB": "zzveth-pair"}
    assert entry.argv == [
        "echo",
        "zzveth-pair/x",
        "zzveth-pair",
        "$NSGEN_LABS",
        "$HOME",
        "$NSGEN_RUN",
    ]


def test_namespace_not_up_is_one_line(lab_factory: LabFactory) -> None:
    prefix = lab_factory.prefix
    result = nsgen("exec", str(PAIR), "ns1", "--prefix", prefix, "--", "true")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"nsgen: namespace {prefix}ns1 (ns1 with the prefix) of lab {prefix}veth-pair is not "
        f"up: run nsgen up {PAIR} --prefix {prefix}\n"
    )


def test_a_namespace_of_the_labs_name_that_it_did_not_create_is_refused(
    lab_factory: LabFactory,
) -> None:
    """While the lab is down, a namespace someone made under one of its names is theirs."""
    lab = lab_factory(PAIR)
    lab.up()
    lab.down()
    decoy = f"{lab.prefix}ns1"
    subprocess.run(["ip", "netns", "add", decoy], check=True)
    try:
        result = nsgen("exec", str(PAIR), "ns1", "--prefix", lab.prefix, "--", "true")
    finally:
        subprocess.run(["ip", "netns", "del", decoy], check=True)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"nsgen: namespace {decoy} (ns1 with the prefix) exists but lab {lab.prefix}veth-pair "
        f"did not create it (it is not in /run/nsgen/{lab.prefix}veth-pair/netns): not running "
        "a command in someone else's namespace\n"
    )


def test_runs_in_the_prefixed_namespace_with_its_exit_status(lab_factory: LabFactory) -> None:
    lab = lab_factory(PAIR)
    lab.up()
    base = ["exec", str(PAIR), "ns1", "--prefix", lab.prefix, "--"]

    where = nsgen(*base, "ip", "netns", "identify")
    assert (where.returncode, where.stdout) == (0, f"{lab.prefix}ns1\n"), where.stderr
    links = nsgen(*base, "ip", "-o", "link", "show")
    assert [line.split(":")[1].strip().split("@")[0] for line in links.stdout.splitlines()] == [
        "lo",
        "veth1",
    ]
    ping = nsgen(*base, "ping", "-c1", "-W2", "10.120.0.12")
    assert ping.returncode == 0, ping.stdout + ping.stderr

    assert nsgen(*base, "sh", "-c", "exit 7").returncode == 7
    # exec replaces nsgen: a signal kills the command itself, as the shell would report it.
    assert nsgen(*base, "sh", "-c", "kill -TERM $$").returncode == -15
    missing = nsgen(*base, "no-such-command-13")
    assert (missing.returncode, missing.stderr) == (
        127,
        "nsgen: no-such-command-13: command not found\n",
    )
    host = nsgen("exec", str(PAIR), "host", "--prefix", lab.prefix, "--", "ip", "netns", "identify")
    assert (host.returncode, host.stdout) == (0, "\n")


def test_etc_netns_files_apply_as_with_ip_netns_exec(lab_factory: LabFactory) -> None:
    lab = lab_factory(PAIR)
    lab.up()
    etc = Path("/etc/netns")
    made_etc = not etc.exists()
    own = etc / f"{lab.prefix}ns1"
    try:
        own.mkdir(parents=True)
        (own / "hosts").write_text(f"10.120.0.12 peer-{lab.prefix}\n")
        result = nsgen("exec", str(PAIR), "ns1", "--prefix", lab.prefix, "--", "cat", "/etc/hosts")
        assert result.stdout == f"10.120.0.12 peer-{lab.prefix}\n", result.stderr
    finally:
        shutil.rmtree(own, ignore_errors=True)
        if made_etc:
            etc.rmdir()
