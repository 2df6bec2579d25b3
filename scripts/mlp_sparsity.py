#!/usr/bin/env python3
"""How many zeros the document's MLP sees at inference: the fraction of exact zeros in the noisy
input (clamping) and after each ReLU, for an MLP trained 3 epochs on the 60k Fashion-MNIST train
set with the document's settings (PyTorch). BENCHMARKS.md uses it to bound what a kernel that
skips zeros could gain for MLP inference.

    /tmp/torch-venv/bin/python scripts/mlp_sparsity.py [--data DIR]
"""
import argparse

import torch

from bench_torch import read_idx_images
from torch_models import Autoencoder


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=3)
    a = p.parse_args()
    torch.manual_seed(0)
    train = read_idx_images(a.data, "train-images-idx3-ubyte")
    test = read_idx_images(a.data, "t10k-images-idx3-ubyte")
    model = Autoencoder()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(a.epochs):
        order = torch.randperm(len(train))
        for i in range(0, len(train), 128):
            x = train[order[i:i + 128]]
            x_noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
            loss = ((model(x_noisy)[0] - x) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        x_noisy = (test + 0.2 * torch.randn_like(test)).clamp(0, 1)
        h1 = model.encoder[1](model.encoder[0](x_noisy))
        z = model.encoder[3](model.encoder[2](h1))
        h3 = model.decoder[1](model.decoder[0](z))
    for name, t in [("noisy input (784)", x_noisy), ("hidden 1 (256)", h1), ("code (64)", z), ("hidden 3 (256)", h3)]:
        print(f"{name:<18} zero fraction {(t == 0).float().mean().item():.3f}")


if __name__ == "__main__":
    main()
