"""A non-editable install works from any directory: templates ship inside the wheel.

The wheel goes into a fresh venv that sees the packages this suite runs with (jinja2, typer,
pytest), wherever they are installed: the system's site-packages when the suite runs on the
system Python, the suite's own venv when it runs in one (a venv made with
--system-site-packages from inside another venv sees the system's packages, not its
parent's). So the same test holds in both places, and CI runs it in both (.ci/run).
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

import nsgen
from tests.conftest import EXAMPLES, ROOT


def site_directories() -> list[str]:
    """Where this interpreter finds installed packages (not the checkout, not the stdlib)."""
    return [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with nsgen's wheel installed, and this environment's packages beside it."""
    tmp = tmp_path_factory.mktemp("install")
    wheels = tmp / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("nsgen-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Paths, not a .pth of the parent's .pth files: the parent's editable nsgen stays out.
    (Path(purelib) / "suite-environment.pth").write_text("\n".join(site_directories()) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
        check=True,
        capture_output=True,
    )
    return env_dir


def in_venv(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """ARGS as a user runs them: from another directory, nothing of this suite's environment
    (PYTHONPATH, a venv's PATH) inherited."""
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
    )


def test_wheel_install_renders_from_another_directory(installed: Path, tmp_path: Path) -> None:
    result = in_venv(
        [str(installed / "bin" / "nsgen"), "render", str(EXAMPLES / "star.toml")], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "golden" / "star.sh").read_text()
    version = in_venv([str(installed / "bin" / "nsgen"), "--version"], tmp_path)
    assert version.stdout == f"nsgen {nsgen.__version__}\n", version.stderr


def test_the_venv_runs_the_wheel_with_this_environments_packages(
    installed: Path, tmp_path: Path
) -> None:
    import jinja2
    import typer

    located = in_venv(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import jinja2, nsgen, typer; print(nsgen.__file__, jinja2.__file__, typer.__file__)",
        ],
        tmp_path,
    )
    assert located.returncode == 0, located.stderr
    package, *libraries = located.stdout.split()
    assert package.startswith(str(installed)), "the venv imported the source tree, not the wheel"
    assert libraries == [jinja2.__file__, typer.__file__]


def test_the_wheel_registers_the_pytest_plugin(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    result = in_venv(
        [str(installed / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "--fixtures"],
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    plugin = str(Path("site-packages") / "nsgen" / "pytest_plugin.py")
    for fixture in (
        "nsgen_lab",
        "nsgen_lab_module [module scope]",
        "nsgen_lab_session [session scope]",
    ):
        assert any(
            line.startswith(f"{fixture} -- ") and line.rsplit(":", 1)[0].endswith(plugin)
            for line in result.stdout.splitlines()
        ), result.stdout
