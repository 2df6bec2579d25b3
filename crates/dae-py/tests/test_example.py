"""The example script runs, and it and the type stubs pass `mypy --strict`."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def test_quickstart_runs_on_a_run_directory(cli_conv_run: pathlib.Path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE), str(cli_conv_run)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "dae.Model(conv on 1x28x28 images" in done.stdout
    assert "codes: 16 images x " in done.stdout


def test_quickstart_passes_mypy_strict() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed; CI installs it and runs this test")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(EXAMPLE)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
