#!/usr/bin/env python3
"""How many zeros the document's MLP sees at inference: the fraction of exact zeros in the noisy
input (clamping) and after each ReLU, for an MLP trained 3 epochs on the 60k Fashion-MNIST train
set with the document's settings (PyTorch), and the multiply-adds a kernel skipping those zeros
could leave out, image by image or per block of rows. BENCHMARKS.md uses it to bound what such a
kernel could gain for MLP inference.

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
    p.add_argument("--block", type=int, default=128, help="rows per block (the inference batch)")
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
    # Each layer's input, and the multiply-adds per image of the layer that reads it.
    layers = [("noisy input (784)", x_noisy, 784 * 256), ("hidden 1 (256)", h1, 256 * 64),
              ("code (64)", z, 64 * 256), ("hidden 3 (256)", h3, 256 * 784)]
    total = sum(macs for _, _, macs in layers)
    per_image = per_block = 0.0
    for name, t, macs in layers:
        zero = (t == 0).float().mean().item()
        # A kernel that keeps GEMM speed can only skip an input unit that is zero in every row
        # of its block of rows.
        rows = len(t) // a.block * a.block
        blocks = t[:rows].reshape(-1, a.block, t.shape[1])
        dead = (blocks == 0).all(dim=1).float().mean().item()
        per_image += zero * macs
        per_block += dead * macs
        print(f"{name:<18} zero fraction {zero:.3f}, zero in a whole block of {a.block} rows {dead:.3f}")
    print(f"multiply-adds a zero-skipping kernel could leave out, of {total} per image: "
          f"{per_image / total:.1%} image by image, {per_block / total:.1%} by blocks of {a.block} rows")
    print(f"inference speed-up if that were free: {total / (total - per_image):.2f}x image by image, "
          f"{total / (total - per_block):.2f}x by blocks")


if __name__ == "__main__":
    main()
