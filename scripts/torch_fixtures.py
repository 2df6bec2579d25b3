#!/usr/bin/env python3
"""Write the PyTorch fixtures that dae's Rust tests compare against.

For each of the document's two models (the MLP `Autoencoder(784, 64)` and the
`ConvDenoisingAutoencoder`) this records, in one safetensors file:

  init.<name>    the freshly initialized weights (PyTorch names, PyTorch layouts)
  x, x_noisy     a fixed batch of real Fashion-MNIST images and its clamped Gaussian corruption
  x_hat, z       the forward output on x_noisy
  loss           nn.MSELoss()(x_hat, x), shape [1]
  step1.<name>   the weights after one AdamW(lr=1e-3) step on that loss
  step3.<name>   the weights after three steps on the same batch (conv only: bias correction
                 over steps; the MLP's weights are large enough to keep one snapshot)

The files are committed (crates/dae/tests/fixtures/), so CI needs no PyTorch. To regenerate:

    python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy safetensors
    apt-get install -y dataset-fashion-mnist   # or point --images at data/fashion-mnist
    /tmp/torch-venv/bin/python scripts/torch_fixtures.py
"""
import argparse
import gzip
import os

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from torch_models import Autoencoder, ConvDenoisingAutoencoder


def read_images(path, n):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    count, rows, cols = np.frombuffer(raw[4:16], dtype=">u4")
    images = np.frombuffer(raw[16:], dtype=np.uint8).reshape(count, rows * cols)[:n]
    return torch.from_numpy(images.astype(np.float32) / 255.0)


def snapshot(model, prefix):
    return {f"{prefix}.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def fixture(model, x, sigma, seed, steps=3):
    generator = torch.Generator().manual_seed(seed)
    x_noisy = (x + sigma * torch.randn(x.shape, generator=generator)).clamp(0.0, 1.0)
    out = snapshot(model, "init")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    x_hat, z = model(x_noisy)
    loss = loss_fn(x_hat, x)
    out.update({"x": x.contiguous(), "x_noisy": x_noisy.contiguous(), "x_hat": x_hat.detach().contiguous(),
                "z": z.detach().contiguous(), "loss": loss.detach().reshape(1)})
    for step in range(1, steps + 1):
        if step > 1:
            x_hat, _ = model(x_noisy)
            loss = loss_fn(x_hat, x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step in (1, 3):
            out.update(snapshot(model, f"step{step}"))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", default=os.path.join(here, "..", "data", "fashion-mnist", "t10k-images-idx3-ubyte.gz"))
    p.add_argument("--out", default=os.path.join(here, "..", "crates", "dae", "tests", "fixtures"))
    a = p.parse_args()
    torch.manual_seed(0)
    os.makedirs(a.out, exist_ok=True)

    x = read_images(a.images, 16)
    save_file(fixture(Autoencoder(), x, 0.2, 1, steps=1), os.path.join(a.out, "torch_mlp.safetensors"))
    x = read_images(a.images, 8).view(-1, 1, 28, 28)
    save_file(fixture(ConvDenoisingAutoencoder(), x, 0.3, 2), os.path.join(a.out, "torch_conv.safetensors"))
    print(f"wrote {a.out}/torch_mlp.safetensors and torch_conv.safetensors (torch {torch.__version__})")


if __name__ == "__main__":
    main()
