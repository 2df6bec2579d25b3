"""Type stubs of the native module dae._dae (re-exported by the package ``dae``)."""

import os
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, "os.PathLike[str]"]
_Float32Array = npt.NDArray[np.float32]

class DaeError(Exception):
    """An error of the dae library; its message is the one the ``dae`` command prints."""

class Model:
    """A trained image run loaded for inference (see :func:`load`)."""

    def denoise(
        self, x: _Float32Array, batch_size: int = 256, precision: str = "f32"
    ) -> _Float32Array:
        """Denoises float32 images in [0, 1], shaped (N, C, H, W) or (N, D) flat; returns x̂ in
        the same shape, each image as ``dae denoise`` computes it (padded by repeating the edge
        to a size the model takes, cropped back). ``precision``: "f32", or "bf16" (MLP, CPU)."""
    def encode(self, x: _Float32Array, batch_size: int = 500) -> _Float32Array:
        """The codes z of clean float32 images shaped (N, C, H, W) or (N, D) flat, as
        ``dae probe`` computes them: shape (N, code dimension)."""
    @property
    def kind(self) -> str:
        """The architecture: "conv", "mlp", "unet" or "dncnn"."""
    @property
    def image_shape(self) -> Tuple[int, int, int]:
        """The image shape the run trained on, (C, H, W)."""
    @property
    def noise(self) -> str:
        """The training noise spec, as config.json stores it."""
    @property
    def run_dir(self) -> Path:
        """The run directory the model was loaded from."""

def load(run_dir: _Path, device: Optional[str] = None) -> Model:
    """Loads the image run at ``run_dir`` (written by ``dae train`` or :func:`train`): its final
    model, or its last checkpoint's. ``device``: "cpu" (or a GPU dae was built with); default:
    the run's."""

def corrupt(
    x: _Float32Array, noise: str, seed: int = 0
) -> Tuple[_Float32Array, npt.NDArray[np.bool_]]:
    """Corrupts ``x`` (samples first: (N, C, H, W), (N, H, W), (N, D) or one (D,)) with a noise
    spec of ``dae train --noise``'s grammar, drawn from ``seed``; returns x̃ (float32) and the
    mask M (bool, True where the corruption changed or hid the entry)."""

def set_threads(threads: int) -> None:
    """Sets the CPU threads of the tensor kernels for the rest of the process (``--threads``);
    call it before any other dae function; a second call fails."""

def train(
    config: Optional[Mapping[str, Any]] = None,
    *,
    progress: Optional[Callable[[dict[str, Any]], object]] = None,
    progress_steps: bool = False,
    **kwargs: Any,
) -> Path:
    """Trains an image denoiser as ``dae train`` does with the same settings (the flags' names
    with ``_``: model, noise, epochs, batch_size, lr, seed, train_limit, val_limit, out, resume,
    ...), from ``config`` and/or keyword arguments; returns the run directory. ``progress`` is
    called with a dict per epoch end (its metrics.jsonl record, ``event="epoch_end"``) and, with
    ``progress_steps``, per epoch start and step. Ctrl-C stops before the next step, keeps the
    last completed epoch's checkpoint and raises KeyboardInterrupt; ``train(resume=run_dir)``
    continues the run."""
