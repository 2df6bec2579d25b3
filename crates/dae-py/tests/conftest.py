"""Shared fixtures: the `dae` binary, the shipped Fashion-MNIST images, and small runs trained by
the binary, for comparing the package with the command line."""

import gzip
import os
import pathlib
import struct
import subprocess
from typing import Dict, List

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
# The `dae` binary the package is compared with; CI sets DAE_BIN.
DAE_BIN = pathlib.Path(os.environ.get("DAE_BIN", str(REPO / "target" / "release" / "dae")))
# The tiny run every comparison trains: 256 training and 64 held-out images, one epoch.
TINY = ["--epochs", "1", "--train-limit", "256", "--val-limit", "64"]
# The embedded data's split: the first 8,000 of the 10k test images train, the rest are held out.
HELD_OUT_START = 8000


def dae_cli(*args: str) -> subprocess.CompletedProcess:
    """Runs the `dae` binary; a failure fails the test with its stderr."""
    if not DAE_BIN.is_file():
        pytest.fail(f"no dae binary at {DAE_BIN}: build it (cargo build --release) or set DAE_BIN")
    done = subprocess.run([str(DAE_BIN), *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"dae {' '.join(args)} failed:\n{done.stderr}")
    return done


def fashion_mnist() -> np.ndarray:
    """The shipped Fashion-MNIST 10k test split as uint8, (10000, 28, 28)."""
    path = REPO / "data" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    with gzip.open(path) as f:
        raw = f.read()
    count, height, width = struct.unpack(">III", raw[4:16])
    return np.frombuffer(raw, np.uint8, offset=16).reshape(count, height, width)


def held_out(count: int) -> np.ndarray:
    """The first `count` held-out images as dae reads them (byte / 255), (count, 1, 28, 28)."""
    images = fashion_mnist()[HELD_OUT_START : HELD_OUT_START + count]
    return (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]


def metrics_without_timing(run: pathlib.Path) -> List[Dict[str, object]]:
    """`metrics.jsonl` without the fields that measure time."""
    import json

    records = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        record.pop("train_seconds")
        record.pop("images_per_second")
        records.append(record)
    return records


@pytest.fixture(scope="session")
def cli_conv_run(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The document's conv DAE trained by `dae train` on the tiny split."""
    out = tmp_path_factory.mktemp("cli") / "conv"
    dae_cli("train", *TINY, "--out", str(out))
    return out


@pytest.fixture(scope="session")
def cli_mlp_run(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The document's MLP DAE trained by `dae train` on the tiny split."""
    out = tmp_path_factory.mktemp("cli") / "mlp"
    dae_cli("train", "--model", "mlp", *TINY, "--out", str(out))
    return out
