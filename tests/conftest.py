"""Shared fixtures: golden-file updating, and live labs on the real kernel."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import live

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite golden files from the current output instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def live_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "live tests need root (CAP_NET_ADMIN) to create namespaces"
    if shutil.which("ip") is None:
        return "live tests need iproute2's ip"
    return None


@pytest.fixture
def lab_factory() -> Iterator[live.LabFactory]:
    """Live labs with a name prefix unique to this test; everything is removed afterwards."""
    reason = live_skip_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the live tests: {reason}")
        pytest.skip(reason)
    factory = live.LabFactory()
    with live.host_lock():
        try:
            yield factory
        finally:
            factory.cleanup()
