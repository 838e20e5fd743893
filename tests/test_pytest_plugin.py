"""The pytest plugin, as its users run it: pytest (pytester) on test files that ask for labs.

Each inner run is a subprocess of its own (a real SIGINT, a real concurrent run, a real
unprivileged user); its tests write down the prefixes they were given, so that the outer
test can look for what each lab left on the host.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from ipaddress import ip_interface
from pathlib import Path

import pytest

from nsgen import pipeline
from nsgen.testing import LabError, TestLab, unique_prefix
from tests import live
from tests.conftest import EXAMPLES, ROOT, live_skip, live_skip_reason
from tests.live import NOT_ROOT

pytest_plugins = ["pytester"]

# Also loaded by the pytest11 entry point once nsgen is installed: loading it both ways is
# harmless (the entry point is named as the module), and this checkout's copy is the one.
PLUGIN = ["-p", "nsgen.pytest_plugin", "-p", "no:cacheprovider"]
PAIR = EXAMPLES / "veth-pair.toml"

RECORD = """
import os
import re
import pathlib

RECORD = pathlib.Path(__file__).parent / "record"


def record(lab, name):
    RECORD.mkdir(exist_ok=True)
    (RECORD / name).write_text(lab.prefix)
    for ns in lab.namespaces.values():
        assert os.path.exists(f"/run/netns/{ns}"), ns


def recorded(name):
    return (RECORD / name).read_text()


def netns_with(prefix):
    return [n for n in os.listdir("/run/netns") if n.startswith(prefix)]
"""


@pytest.fixture
def live_pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    live_skip(live_skip_reason())
    # The inner runs import this checkout's nsgen, whatever is installed.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    shutil.copy(PAIR, pytester.path)
    pytester.makepyfile(record=RECORD)
    return pytester


@pytest.fixture
def host_lock() -> Iterator[None]:
    with live.host_lock():
        yield


def recorded(directory: Path) -> dict[str, str]:
    record = directory / "record"
    return {p.name: p.read_text() for p in record.iterdir()} if record.is_dir() else {}


def assert_gone(prefixes: dict[str, str]) -> None:
    assert prefixes
    for test, prefix in prefixes.items():
        assert live.host_residue(prefix) == [], f"{test} left {live.host_residue(prefix)}"


def test_labs_are_up_during_the_test_and_gone_after_it_whatever_happened(
    live_pytester: pytest.Pytester, host_lock: None
) -> None:
    live_pytester.makepyfile(
        test_function="""
        from record import record, recorded, netns_with

        def test_passes(nsgen_lab):
            lab = nsgen_lab("veth-pair.toml")
            record(lab, "passes")
            ping = lab.run(
                "ns1", "ping", "-c1", "-W2", lab.address("ns2", "veth2"),
                capture_output=True, text=True,
            )
            assert ping.returncode == 0, ping.stdout + ping.stderr
            seen = lab.run(
                "ns1", "sh", "-c", 'echo "$NSGEN_LAB $NSGEN_NS $NSGEN_RUN"',
                capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
            ).stdout.split()
            ns1 = lab.namespace("ns1")
            assert seen == [lab.name, ns1, f"/run/nsgen/{lab.name}/run/{ns1}"], seen
            assert lab.status().returncode == 0
            assert lab.verify().returncode == 0
            assert nsgen_lab("veth-pair.toml") is lab

        def test_fails(nsgen_lab):
            record(nsgen_lab("veth-pair.toml"), "fails")
            assert False, "deliberately"

        def test_raises(nsgen_lab):
            record(nsgen_lab("veth-pair.toml"), "raises")
            raise RuntimeError("deliberately")

        def test_each_lab_went_down_after_its_test():
            for test in ("passes", "fails", "raises"):
                assert netns_with(recorded(test)) == [], test
        """,
        test_shared="""
        from record import record, recorded, netns_with

        def test_first(nsgen_lab_module, nsgen_lab_session):
            module = nsgen_lab_module("veth-pair.toml")
            session = nsgen_lab_session("veth-pair.toml")
            record(module, "module")
            record(session, "session")
            assert module.prefix != session.prefix

        def test_second(nsgen_lab_module):
            lab = nsgen_lab_module("veth-pair.toml")
            assert lab.prefix == recorded("module")
            record(lab, "module")
        """,
        test_zz_later="""
        from record import record, recorded, netns_with

        def test_module_lab_is_down_and_session_lab_still_up(nsgen_lab_session):
            assert netns_with(recorded("module")) == []
            lab = nsgen_lab_session("veth-pair.toml")
            assert lab.prefix == recorded("session")
            record(lab, "session")
        """,
    )
    result = live_pytester.runpytest_subprocess(*PLUGIN)
    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines(["*AssertionError: deliberately*", "*RuntimeError: deliberately*"])
    prefixes = recorded(live_pytester.path)
    assert sorted(prefixes) == ["fails", "module", "passes", "raises", "session"]
    assert len(set(prefixes.values())) == 5
    assert_gone(prefixes)


def test_lab_is_gone_after_a_keyboard_interrupt(
    live_pytester: pytest.Pytester, host_lock: None
) -> None:
    live_pytester.makepyfile(
        test_interrupted="""
        import os
        import signal
        import time

        from record import record

        def test_interrupted(nsgen_lab):
            record(nsgen_lab("veth-pair.toml"), "interrupted")
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)

        def test_never_runs():
            pass
        """
    )
    result = live_pytester.runpytest_subprocess(*PLUGIN)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    assert_gone(recorded(live_pytester.path))


def test_a_failed_up_fails_the_test_with_the_scripts_words_and_leaves_nothing(
    live_pytester: pytest.Pytester, host_lock: None
) -> None:
    shutil.copy(EXAMPLES / "star.toml", live_pytester.path)
    live_pytester.makepyfile(
        test_broken="""
        from record import RECORD, record

        def test_second_copy_of_a_host_subnet_is_refused(nsgen_lab, nsgen_lab_module):
            record(nsgen_lab("star.toml"), "first")
            try:
                nsgen_lab_module("star.toml")
            finally:
                (refused,) = nsgen_lab_module.labs.values()
                (RECORD / "second").write_text(refused.prefix)

        def test_missing_file(nsgen_lab):
            nsgen_lab("missing.toml")
        """
    )
    result = live_pytester.runpytest_subprocess(*PLUGIN)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*LabError: nsgen up */star.toml --prefix p* exited 1:",
            "*the host already routes 10.0.0.0/24 through*",
            "*LabError: missing.toml: no such file",
        ],
    )
    assert_gone(recorded(live_pytester.path))


def test_two_concurrent_runs_get_different_prefixes(
    live_pytester: pytest.Pytester, host_lock: None
) -> None:
    # Two barriers: both labs are up before either looks, and neither tears its lab down
    # before the other has looked (a run that finished first used to remove its lab while
    # the other was still checking it). Files appear by rename, so a reader never sees
    # one half-written.
    test = """
        import os
        import time

        from record import record

        def put(shared, name, text):
            with open(os.path.join(shared, "." + name), "w") as new:
                new.write(text)
            os.rename(os.path.join(shared, "." + name), os.path.join(shared, name))

        def wait_for(shared, kind):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                mine = sorted(f for f in os.listdir(shared) if f.startswith(kind))
                if len(mine) == 2:
                    return mine
                time.sleep(0.05)
            raise AssertionError(f"the other run never wrote its {kind} file")

        def test_together(nsgen_lab):
            lab = nsgen_lab("veth-pair.toml")
            record(lab, os.environ["RUN"])
            shared = os.environ["SHARED"]
            put(shared, "prefix-" + os.environ["RUN"], lab.prefix)
            names = wait_for(shared, "prefix-")
            prefixes = [open(os.path.join(shared, f)).read() for f in names]
            try:
                for prefix in prefixes:
                    assert os.path.exists(f"/run/netns/{prefix}ns1"), prefix
            finally:
                put(shared, "seen-" + os.environ["RUN"], "")
                wait_for(shared, "seen-")
        """
    shared = live_pytester.mkdir("shared")
    runs = {}
    for run in ("a", "b"):
        directory = live_pytester.mkdir(run)
        shutil.copy(PAIR, directory)
        (directory / "record.py").write_text(RECORD)
        (directory / "test_together.py").write_text(test.replace("\n        ", "\n"))
        env = dict(os.environ, RUN=run, SHARED=str(shared))
        runs[run] = subprocess.Popen(
            [sys.executable, "-m", "pytest", *PLUGIN, "-q", str(directory)],
            cwd=directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    outputs = {run: child.communicate(timeout=120)[0] for run, child in runs.items()}
    for run, child in runs.items():
        assert child.returncode == 0, outputs[run]
    prefixes = {run: (live_pytester.path / run / "record" / run).read_text() for run in runs}
    assert prefixes["a"] != prefixes["b"]
    assert_gone(prefixes)


@pytest.mark.parametrize("setpriv", list(NOT_ROOT.values()), ids=list(NOT_ROOT))
def test_without_root_the_test_is_skipped_with_the_reason(setpriv: list[str]) -> None:
    live_skip(live_skip_reason())  # switching to another user needs root itself
    # Where nobody can read (pytester's directories are root's alone).
    shared = Path(tempfile.mkdtemp(prefix="nsgen-plugin-"))
    try:
        shared.chmod(0o755)
        shutil.copy(PAIR, shared)
        (shared / "test_unprivileged.py").write_text(
            "def test_needs_a_lab(nsgen_lab):\n    nsgen_lab('veth-pair.toml')\n"
        )
        for path in shared.iterdir():
            path.chmod(0o644)
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
        result = subprocess.run(
            ["setpriv", *setpriv, sys.executable, "-m", "pytest", *PLUGIN, "-rs", str(shared)],
            cwd=shared,
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(shared)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert (
        "SKIPPED [1] test_unprivileged.py:1: "
        "nsgen_lab needs root (CAP_NET_ADMIN) to create network namespaces"
    ) in result.stdout


def test_loading_the_plugin_imports_nothing_heavy(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_plain(request):
            assert request.config.pluginmanager.has_plugin("nsgen.pytest_plugin")
            heavy = {"jinja2", "nsgen.testing", "nsgen.pipeline", "nsgen.execute"}
            assert heavy.isdisjoint(sys.modules)
        """
    )
    result = pytester.runpytest_subprocess(*PLUGIN)
    result.assert_outcomes(passed=1)


def test_fixture_names_do_not_clash_with_this_projects_own(pytestconfig: pytest.Config) -> None:
    # This suite loads the plugin too (nsgen is installed in its environment).
    from tests import conftest

    assert not {name for name in vars(conftest) if name.startswith("nsgen_lab")}


# ---- The lab object without a kernel: names and addresses from the resolved lab ----------


def test_names_and_addresses_come_from_the_resolved_lab() -> None:
    routed = EXAMPLES / "routed.toml"
    lab = TestLab(routed, "px", pipeline.compile_plan(routed, "px"))
    assert lab.name == "pxrouted"
    assert lab.namespace("a1") == "pxa1"
    assert lab.namespaces["r1"] == "pxr1"
    assert lab.addresses("a1") == [ip_interface("10.1.0.11/24"), ip_interface("fd00:1::11/64")]
    assert lab.address("a1", "eth0") == "10.1.0.11"
    assert lab.address("a1", "eth0", version=6) == "fd00:1::11"
    assert lab.addresses("r1", "eth2") == [
        ip_interface("10.2.0.1/24"),
        ip_interface("fd00:2::1/64"),
    ]
    with pytest.raises(LabError, match=r"declares no namespace 'zz'; its namespaces: sw1, sw2"):
        lab.namespace("zz")
    with pytest.raises(LabError, match=r"a1 has no device eth9; its devices: eth0"):
        lab.address("a1", "eth9")

    star = EXAMPLES / "star.toml"
    lab = TestLab(star, "px", pipeline.compile_plan(star, "px"))
    assert lab.device("host", "br0") == "pxbr0"
    assert lab.addresses("host") == [ip_interface("10.0.0.1/24")]
    assert lab.address("host", "br0") == "10.0.0.1"
    with pytest.raises(LabError, match="no IPv6 address"):
        lab.address("h1", "eth0", version=6)


def test_a_missing_command_raises_as_subprocess_does() -> None:
    lab = TestLab(PAIR, "px", pipeline.compile_plan(PAIR, "px"))
    with pytest.raises(FileNotFoundError):
        lab.run("ns1", "no-such-command-13")


def test_prefixes_are_short_fresh_and_valid() -> None:
    drawn = [unique_prefix() for _ in range(200)]
    assert len(set(drawn)) == len(drawn)
    for prefix in drawn:
        assert len(prefix) == 6 and prefix.startswith("p") and prefix.isalnum()
        pipeline.compile_plan(PAIR, prefix)
    assert unique_prefix(drawn) not in drawn


def readme_example() -> tuple[str, str]:
    """The manual's example topology and test file, as printed there."""
    text = (ROOT / "docs" / "testing.md").read_text()
    after = text[text.index("<!-- the pytest example:") :]
    toml = re.search(r"```toml\n(.*?)```", after, re.S)
    test = re.search(r"```python\n(.*?)```", after, re.S)
    assert toml is not None and test is not None
    return toml[1], test[1]


def test_the_readme_example_passes(live_pytester: pytest.Pytester, host_lock: None) -> None:
    topology, test = readme_example()
    (live_pytester.path / "lab.toml").write_text(topology)
    (live_pytester.path / "test_web.py").write_text(test)
    result = live_pytester.runpytest_subprocess(*PLUGIN)
    result.assert_outcomes(passed=1)
