"""Quickstart of the Python package `dae`: train a small run, load it, corrupt held-out images,
denoise them and encode them. CI checks this file with `mypy --strict`.

    python crates/dae-py/examples/quickstart.py [RUN_DIR]
"""

import sys
import tempfile
from pathlib import Path
from typing import Any, Dict

import numpy as np
import numpy.typing as npt

import dae


def psnr(clean: npt.NDArray[np.float32], other: npt.NDArray[np.float32]) -> float:
    """Peak signal-to-noise ratio of images in [0, 1], in dB."""
    mse = float(np.mean((clean - other) ** 2))
    return 10.0 * float(np.log10(1.0 / mse))


def show(event: Dict[str, Any]) -> None:
    """Prints one epoch's record as it ends."""
    print(f"epoch {event['epoch']}: train loss {event['train_loss']:.4f}, val PSNR {event['val_psnr']:.2f} dB")


def main() -> None:
    if len(sys.argv) > 1:
        run = Path(sys.argv[1])
    else:
        # The document's conv DAE on 1,024 of the shipped Fashion-MNIST images, two epochs.
        out = Path(tempfile.mkdtemp()) / "conv"
        run = dae.train({"epochs": 2, "train_limit": 1024, "val_limit": 256}, out=out, progress=show)
    model = dae.load(run)
    print(model)

    # Any float32 images in [0, 1], shaped (N, 1, H, W); here smooth random blobs.
    rng = np.random.default_rng(0)
    blobs = rng.random((16, 1, 7, 7)).astype(np.float32)
    clean = np.kron(blobs, np.ones((1, 1, 4, 4), np.float32))
    noisy, mask = dae.corrupt(clean, model.noise, seed=0)
    denoised = model.denoise(noisy)
    print(f"{mask.mean():.0%} of the pixels corrupted; PSNR noisy {psnr(clean, noisy):.2f} dB, denoised {psnr(clean, denoised):.2f} dB")

    codes = model.encode(clean)
    print(f"codes: {codes.shape[0]} images x {codes.shape[1]} dimensions")


if __name__ == "__main__":
    main()
