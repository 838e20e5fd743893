"""A non-editable install works from any directory: templates ship inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from tests.conftest import EXAMPLES, ROOT


def test_wheel_install_renders_from_another_directory(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("nsgen-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [str(env_dir / "bin" / "nsgen"), "render", str(EXAMPLES / "star.toml")],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "golden" / "star.sh").read_text()
    located = subprocess.run(
        [str(python), "-c", "import nsgen; print(nsgen.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert str(env_dir) in located.stdout, "the venv imported the source tree, not the wheel"
