"""Denoising autoencoders from Python: the `dae` library (Rust, Burn) on NumPy arrays.

- ``dae.load(run_dir)``: an image run's model, with ``.denoise(x)`` and ``.encode(x)``;
- ``dae.corrupt(x, "gaussian:sigma=0.3", seed=0)``: the corruptions, returning x̃ and the mask M;
- ``dae.train(...)``: ``dae train`` for image runs, with a progress callback; Ctrl-C stops it
  cleanly, keeping the last epoch's checkpoint;
- ``dae.DaeError``: every error of the library, with the message the ``dae`` command prints.

docs/python.md in the repository describes the API.
"""

from ._dae import DaeError, Model, corrupt, load, set_threads, train

__all__ = ["DaeError", "Model", "corrupt", "load", "set_threads", "train"]
