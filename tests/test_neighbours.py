"""The host's neighbour tables on the real kernel. gc_thresh1/2/3 exist only in the host's
initial network namespace, so these tests change the real host's values: each records them
first and puts them back exactly in `finally`, whatever the script did."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from nsgen import tools
from tests.live import LabFactory, run
from tests.test_limits import star

RECORD = Path("/run/nsgen/.host/neigh")
KEYS = [f"net.ipv{f}.neigh.default.gc_thresh{i}" for f in (4, 6) for i in (1, 2, 3)]
BIG = 700  # 1400 entries: more than the kernel's default gc_thresh3 of 1024


def path_of(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def values() -> dict[str, int]:
    return {key: int(path_of(key).read_text()) for key in KEYS}


@pytest.fixture
def host_tables(lab_factory: LabFactory) -> Iterator[dict[str, int]]:
    """The host's values before the test; restored afterwards, with the shared record."""
    if not path_of(KEYS[2]).exists():
        pytest.skip("no gc_thresh here: not the host's initial network namespace")
    if RECORD.exists() and "\nlab " in "\n" + RECORD.read_text():
        pytest.skip(f"another lab on this host holds a neighbour-table raise ({RECORD})")
    found = values()
    try:
        yield found
    finally:
        for lab in lab_factory.labs:
            lab.sh("down")
        for key, value in found.items():
            if int(path_of(key).read_text()) != value:
                path_of(key).write_text(f"{value}\n")
        RECORD.unlink(missing_ok=True)


def raised(found: dict[str, int], size: int) -> dict[str, int]:
    share = {"1": 8, "2": 2, "3": 1}
    return {key: max(value, size // share[key[-1]]) for key, value in found.items()}


def lab_file(tmp_path: Path, name: str, hosts: int, size: int | None) -> Path:
    path = tmp_path / f"{name}.toml"
    extra = "" if size is None else f"[host]\nneighbour_table = {size}\n"
    path.write_text(f'name = "{name}"\n' + star(hosts, extra=extra))
    return path


def size_above(found: dict[str, int]) -> int:
    size = 2048
    while size <= max(found.values()):
        size *= 2
    return size


def test_two_labs_raise_the_tables_and_the_last_one_down_puts_them_back(
    lab_factory: LabFactory, host_tables: dict[str, int], tmp_path: Path
) -> None:
    size = size_above(host_tables)
    first = lab_factory(lab_file(tmp_path, "na", 3, size))
    second = lab_factory(lab_file(tmp_path, "nb", 3, size * 2), prefix=lab_factory.prefix + "b")
    dry = first.sh("up", "--dry-run")
    assert f"sysctl -w net.ipv4.neigh.default.gc_thresh3={size}" in dry.stdout
    assert values() == host_tables, "a dry run changed the host"
    first.up()
    assert values() == raised(host_tables, size)
    second.up()
    assert values() == raised(host_tables, size * 2)
    record = RECORD.read_text()
    assert f"lab {first.prefix}na {size}\n" in record
    assert f"lab {second.prefix}nb {size * 2}\n" in record
    for key, value in host_tables.items():
        assert re.search(rf"^original {re.escape(key)} {value} \d+$", record, re.M), key
    first.down()
    assert values() == raised(host_tables, size * 2), "the other lab still holds its raise"
    assert f"lab {first.prefix}na " not in RECORD.read_text()
    second.down()
    assert values() == host_tables
    assert not RECORD.exists()


def test_an_up_without_the_key_lets_go_of_the_raise(
    lab_factory: LabFactory, host_tables: dict[str, int], tmp_path: Path
) -> None:
    size = size_above(host_tables)
    lab = lab_factory(lab_file(tmp_path, "nc", 3, size))
    lab.up()
    assert values() == raised(host_tables, size)
    assert (lab.state / "removers" / "neighbour-table.sh").is_file()
    plain = lab_factory(lab_file(tmp_path, "nc", 3, None))
    assert "neigh_hold" not in plain.text
    plain.up()
    assert values() == host_tables
    assert not RECORD.exists()
    # The kept remover let go of the raise, and went with it.
    assert not (lab.state / "removers").exists()
    plain.down()


@pytest.mark.slow
def test_a_large_star_with_the_opt_in_verifies_every_time(
    lab_factory: LabFactory, host_tables: dict[str, int], tmp_path: Path
) -> None:
    lab = lab_factory(lab_file(tmp_path, "nbig", BIG, 8192))
    up = lab.up()
    assert "warning" not in up.stderr
    assert values() == raised(host_tables, 8192)
    for attempt in range(3):
        verify = lab.sh("verify")
        assert verify.returncode == 0, f"verify {attempt + 1}: {verify.stdout[-2000:]}"
        assert f"verify: {BIG} of {BIG} checks passed" in verify.stdout
    lab.down()
    assert values() == host_tables


@pytest.mark.slow
def test_a_large_star_without_it_warns_and_verify_never_fails_unexplained(
    lab_factory: LabFactory, host_tables: dict[str, int], tmp_path: Path
) -> None:
    lab = lab_factory(lab_file(tmp_path, "nwarn", BIG, None))
    up = lab.up()
    assert values() == host_tables, "without the opt-in nsgen never changes a sysctl"
    if host_tables["net.ipv4.neigh.default.gc_thresh3"] < 2 * BIG:
        warning = [line for line in up.stderr.splitlines() if "neighbour entries" in line]
        assert len(warning) == 1, up.stderr
        assert f"needs about {2 * BIG} IPv4 neighbour entries" in warning[0]
        assert "sysctl -w net.ipv4.neigh.default.gc_thresh1=512 " in warning[0]
        assert (
            "net.ipv4.neigh.default.gc_thresh2=2048 net.ipv4.neigh.default.gc_thresh3=4096"
            in (warning[0])
        )
        assert "[host] neighbour_table = 4096" in warning[0]
    else:
        assert "neighbour entries" not in up.stderr
    verify = lab.sh("verify")
    if verify.returncode != 0:
        assert verify.returncode == 4
        assert "neighbour table was full while verify ran" in verify.stdout, verify.stdout[-3000:]
        assert re.search(r"sysctl -w .*net\.ipv4\.neigh\.default\.gc_thresh3=\d+", verify.stdout)
        fails = [line for line in verify.stdout.splitlines() if line.startswith("FAIL")]
        assert fails, "exit 4 without a FAIL line"


# An awk that reads a stand-in for /proc/net/stat/arp_cache: its table_fulls count grows by one
# at each read, as when other labs on the host fill the table while verify runs, and it holds
# $FAKE_ENTRIES entries (the table serves every namespace: most of them are not the lab's).
COUNTING_AWK = """#!/bin/sh
n=$#
for a; do
    if [ "$a" = /proc/net/stat/arp_cache ]; then
        reads=$(($(cat "$FAKE_DIR/reads" 2>/dev/null || echo 0) + 1))
        echo "$reads" >"$FAKE_DIR/reads"
        a=$FAKE_DIR/arp_cache
        printf 'entries  table_fulls\\n%08x  %08x\\n' "$FAKE_ENTRIES" "$reads" >"$a"
    fi
    set -- "$@" "$a"
done
shift "$n"
exec REAL_AWK "$@"
"""


def test_verify_blames_the_table_only_on_the_labs_own_evidence(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    """A host-wide table_fulls count that grew while verify ran does not make verify blame the
    neighbour table for a failure of the lab's own (an address removed by hand) when the lab
    holds few of the table's entries; when it holds most of them, it does."""
    real = tools.find("awk")
    assert real is not None
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "awk").write_text(COUNTING_AWK.replace("REAL_AWK", real))
    (bindir / "awk").chmod(0o755)
    # 65 namespaces: 130 neighbour entries, enough for the script to watch the table.
    lab = lab_factory(lab_file(tmp_path, "nv", 65, None))
    lab.up()
    h1 = f"{lab.prefix}h1"
    run(["ip", "-n", h1, "address", "flush", "dev", "e0"])
    blame = "neighbour table was full while verify ran"
    for entries, blamed in ((100000, False), (2, True)):
        env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
        env |= {"FAKE_DIR": str(tmp_path), "FAKE_ENTRIES": str(entries)}
        verify = lab.sh("verify", env=env)
        assert verify.returncode == 4, verify.stdout + verify.stderr
        fails = [line for line in verify.stdout.splitlines() if line.startswith("FAIL")]
        assert fails and all(f"{h1} -> " in f or f"({h1}:e0)" in f for f in fails), fails
        assert (blame in verify.stdout) == blamed, verify.stdout[-2000:]
    lab.down()
