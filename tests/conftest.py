"""Shared fixtures: golden-file updating, live labs on the real kernel, reliability figures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from nsgen import tools
from tests import live, reliability

# The fuzzing budget: tests ask for `examples(n)`, n examples under the default profile.
# nsgen-ci is derandomized (the same examples on every run, so the recorded figures are
# stable); nsgen-long (`--hypothesis-profile nsgen-long`) runs 20x as many, freshly random.
_UNHEALTHY = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "nsgen-ci",
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=_UNHEALTHY,
)
settings.register_profile(
    "nsgen-long", max_examples=2000, deadline=None, suppress_health_check=_UNHEALTHY
)
settings.load_profile("nsgen-ci")
DEFAULT_PROFILE_EXAMPLES = 100

FIGURES = pytest.StashKey[reliability.Store]()

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Examples of a directory each: a lab file beside its configuration files.
DAEMON_EXAMPLES = [EXAMPLES / "ospf-bird" / "ospf-bird.toml", EXAMPLES / "bgp-frr" / "bgp-frr.toml"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite golden files from the current output instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def examples(n: int) -> int:
    """n under the default profile, scaled with the profile that runs."""
    return n * settings.default.max_examples // DEFAULT_PROFILE_EXAMPLES


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FIGURES] = reliability.Store()
    config.addinivalue_line(
        "markers", "slow: long live runs (churn, SIGKILL, 700-namespace labs); CI runs them"
    )


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> reliability.Recorder:
    """Record this test's reliability figure for docs/reliability.md."""
    store = request.config.stash[FIGURES]
    return reliability.Recorder(store, reliability.test_name(request.node.nodeid))


def _doc_verdict(config: pytest.Config, exitstatus: int) -> str | None:
    """Why docs/reliability.md is not rewritten, or None when it is."""
    store = config.stash[FIGURES]
    if not store.values:
        return "no reliability figures measured"
    if exitstatus != 0:
        return "the session failed"
    if settings.default.max_examples != DEFAULT_PROFILE_EXAMPLES:
        return "a non-default hypothesis profile ran"
    missing = store.missing()
    if missing:
        return f"{len(missing)} figures not measured ({', '.join(missing)})"
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _doc_verdict(session.config, exitstatus) is None:
        reliability.DOC.parent.mkdir(exist_ok=True)
        reliability.DOC.write_text(session.config.stash[FIGURES].render())


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    verdict = _doc_verdict(config, exitstatus)
    if verdict is None:
        terminalreporter.write_line("docs/reliability.md written from this run's figures")
    elif config.stash[FIGURES].values:
        terminalreporter.write_line(f"docs/reliability.md left alone: {verdict}")


def live_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "live tests need root (CAP_NET_ADMIN) to create namespaces"
    if tools.find("ip") is None:
        return "live tests need iproute2's ip"
    return None


def live_skip(reason: str | None) -> None:
    """Skip a live test that cannot run here, for REASON (None: it can); in CI, fail it."""
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the live tests: {reason}")
        pytest.skip(reason)


# How to get each program the suite runs that pip installs (the test extras).
TEST_EXTRAS = "pip install -e '.[test]'"


def tool(name: str, install: str = TEST_EXTRAS) -> str:
    """The path of program NAME, found as nsgen finds its own (beside this Python, then on
    PATH); when it is missing, the test is skipped with the reason, or in CI fails."""
    path = tools.find(name)
    if path is None:
        reason = f"{name} is not installed ({tools.where()}): {install}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run this test: {reason}")
        pytest.skip(reason)
    return path


def sandbox_skip() -> None:
    """Skip (or, in CI, fail) a test that needs a private host: root and unshare."""
    reason = live_skip_reason()
    if reason is None and tools.find("unshare") is None:
        reason = "private-host tests need unshare (util-linux)"
    live_skip(reason)


@pytest.fixture
def lab_factory() -> Iterator[live.LabFactory]:
    """Live labs with a name prefix unique to this test; everything is removed afterwards."""
    live_skip(live_skip_reason())
    factory = live.LabFactory()
    with live.host_lock():
        try:
            yield factory
        finally:
            factory.cleanup()
