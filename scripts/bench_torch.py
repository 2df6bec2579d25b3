#!/usr/bin/env python3
"""PyTorch side of `scripts/bench_vs_pytorch.sh`: the document's two models, trained and run the
way `shared/reference/seed_pytorch.py` does, timed the way `dae bench` times dae.

Needs torch and numpy (python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy).

    python3 scripts/bench_torch.py --model conv --threads 1 --train-limit 10000

Prints one JSON object with the same fields as `dae bench --json`: the last epoch's training
seconds and images/s (steps only), inference (no autograd) images/s over the 10k test split in
batches of --infer-batch, peak resident memory (ru_maxrss) and held-out PSNR.
"""
import argparse
import copy
import gzip
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
from torch import nn

from torch_models import Autoencoder, ConvDenoisingAutoencoder


def read_idx_images(data_dir, stem, limit=None):
    for name in (stem, stem + ".gz"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            break
    else:
        sys.exit(f"{data_dir}: no {stem}[.gz]")
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
    if magic != 2051:
        sys.exit(f"{path}: not an IDX image file (magic {magic})")
    images = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, rows * cols)
    if limit:
        images = images[:limit]
    return torch.from_numpy(images.astype(np.float32) / 255.0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["conv", "mlp"], default="conv")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--infer-batch", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--infer-precision", choices=["f32", "bf16"], default="f32",
                   help="bf16: inference on a bfloat16 copy of the trained model, inputs cast to bf16 "
                        "(not the document's code; for comparison with dae's --precision bf16)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (the data set is moved to the GPU once, before timing)")
    a = p.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    conv = a.model == "conv"
    batch = 64 if conv else 128
    sigma = 0.3 if conv else 0.2
    shape = (lambda t: t.view(-1, 1, 28, 28)) if conv else (lambda t: t)

    device = torch.device(a.device)
    train = read_idx_images(a.data, "train-images-idx3-ubyte", a.train_limit).to(device)
    test = read_idx_images(a.data, "t10k-images-idx3-ubyte").to(device)
    model = (ConvDenoisingAutoencoder() if conv else Autoencoder()).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()

    for _ in range(a.epochs):
        model.train()
        order = torch.randperm(len(train), device=device)
        start = time.perf_counter()
        for i in range(0, len(train), batch):
            x = shape(train[order[i:i + batch]])
            x_noisy = (x + sigma * torch.randn_like(x)).clamp(0.0, 1.0)
            x_hat, _ = model(x_noisy)
            loss = loss_fn(x_hat, x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()
        train_seconds = time.perf_counter() - start

    model.eval()
    if a.infer_precision == "bf16":
        model = copy.deepcopy(model).to(torch.bfloat16)
        cast = lambda t: t.to(torch.bfloat16)
    else:
        cast = lambda t: t
    generator = torch.Generator().manual_seed(a.seed + 1)
    noise = torch.randn(test.shape, generator=generator).to(device)
    noisy = (test + sigma * noise).clamp(0.0, 1.0)
    with torch.no_grad():
        model(cast(shape(noisy[:a.infer_batch])))  # untimed warm-up batch, as in dae bench
        start = time.perf_counter()
        outs = []
        for i in range(0, len(test), a.infer_batch):
            x_hat, _ = model(cast(shape(noisy[i:i + a.infer_batch])))
            outs.append(x_hat.float().cpu().numpy().reshape(-1))
        infer_seconds = time.perf_counter() - start
    mse = float(((np.concatenate(outs) - test.cpu().numpy().reshape(-1)) ** 2).mean())
    print(json.dumps({
        "model": a.model, "threads": a.threads, "device": a.device, "train_images": len(train),
        "train_seconds": train_seconds, "train_images_per_second": len(train) / train_seconds,
        "infer_images": len(test), "infer_seconds": infer_seconds,
        "infer_images_per_second": len(test) / infer_seconds, "infer_precision": a.infer_precision,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "val_psnr": 10 * math.log10(1 / mse), "torch": torch.__version__,
    }), flush=True)


if __name__ == "__main__":
    main()
