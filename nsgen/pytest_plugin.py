"""The pytest plugin (entry point `pytest11`): fixtures that give a test its own lab.

    def test_ping(nsgen_lab):
        lab = nsgen_lab("lab.toml")       # up under a prefix of its own; down after the test
        assert lab.run("h1", "ping", "-c1", lab.address("h2", "eth0")).returncode == 0

pytest loads this module in every run of every project where nsgen is installed, so it
defines fixtures and nothing else, and imports nsgen's pipeline (Jinja2 and all) only when a
test asks for a lab.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from nsgen.testing import LabFactory


def _labs(request: pytest.FixtureRequest) -> Iterator[LabFactory]:
    from nsgen.testing import LabFactory, skip_reason

    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    # A session has no test file of its own: its labs' relative paths start at the rootdir.
    base = request.config.rootpath if request.scope == "session" else request.path.parent
    factory = LabFactory(base)
    try:
        yield factory
    finally:
        # Runs after a failure, an exception and Ctrl-C too: pytest tears fixtures down
        # before it exits on KeyboardInterrupt.
        factory.close()


@pytest.fixture
def nsgen_lab(request: pytest.FixtureRequest) -> Iterator[LabFactory]:
    """nsgen_lab("lab.toml"): the lab of that file (relative to the test file), up under a
    prefix unique to this run, taken down after the test, whatever its outcome. Without
    root, the test is skipped."""
    yield from _labs(request)


@pytest.fixture(scope="module")
def nsgen_lab_module(request: pytest.FixtureRequest) -> Iterator[LabFactory]:
    """As nsgen_lab, for labs shared by the tests of a module: down after its last test."""
    yield from _labs(request)


@pytest.fixture(scope="session")
def nsgen_lab_session(request: pytest.FixtureRequest) -> Iterator[LabFactory]:
    """As nsgen_lab, for labs shared by the whole run: down when pytest finishes."""
    yield from _labs(request)
