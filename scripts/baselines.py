#!/usr/bin/env python3
"""Classical baselines for Fashion-MNIST denoising at Gaussian sigma 0.3 (clamped to [0, 1]).

Prints, for the full 10k test set, the PSNR (10 log10(1 / MSE) over every pixel of every image,
as `dae eval` reports it) and mean SSIM (skimage's Gaussian SSIM, as dae's metric) of:

- the noisy input itself;
- total-variation denoising (Chambolle's 2004 projection algorithm for the ROF model, isotropic
  TV), its weight chosen on 2,000 training images from a grid;
- the best linear (affine) map: the least-squares 785x784 matrix W minimising
  ||[x~, 1] W - x||^2 over the 60k training images (one noise draw each), applied to the test
  set. This is the Wiener filter estimated from data.

The noise is drawn with numpy (seed 0), not with dae's generator: the realisations differ, but
over 7.84 million test pixels the PSNR moves by about 0.01 dB between draws.

Needs only numpy: `python3 scripts/baselines.py --data /usr/share/datasets/fashion-mnist`
(e.g. with the /tmp/torch-venv interpreter). Add `--json` for one JSON object per line.
"""

import argparse
import gzip
import json
import os
import sys

import numpy as np

SIGMA = 0.3


def read_idx_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, n, h, w = np.frombuffer(data[:16], dtype=">u4")
    if magic != 2051:
        sys.exit(f"{path}: not an IDX image file (magic {magic})")
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, h, w).astype(np.float32) / 255.0


def find(data_dir, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    sys.exit(f"{data_dir}: no {stem}[.gz]")


def corrupt(x, rng):
    return np.clip(x + SIGMA * rng.standard_normal(x.shape, dtype=np.float32), 0.0, 1.0)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10.0 * np.log10(1.0 / mse)


def gaussian_kernel(size=11, sigma=1.5):
    r = size // 2
    k = np.exp(-((np.arange(size) - r) ** 2) / (2 * sigma * sigma))
    return k / k.sum()


def filter_valid(img, k):
    """Separable valid correlation over the last two axes of a stack of images."""
    n = len(k)
    h, w = img.shape[-2:]
    rows = sum(k[j] * img[..., :, j : w - n + 1 + j] for j in range(n))
    return sum(k[j] * rows[..., j : h - n + 1 + j, :] for j in range(n))


def mean_ssim(a, b):
    """Mean over images of SSIM as dae's eval::metrics::ssim (and skimage, gaussian weights)."""
    k = gaussian_kernel()
    x, y = a.astype(np.float64), b.astype(np.float64)
    mx, my = filter_valid(x, k), filter_valid(y, k)
    vx = filter_valid(x * x, k) - mx * mx
    vy = filter_valid(y * y, k) - my * my
    vxy = filter_valid(x * y, k) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def grad(u):
    gx = np.zeros_like(u)
    gy = np.zeros_like(u)
    gx[..., :-1, :] = u[..., 1:, :] - u[..., :-1, :]
    gy[..., :, :-1] = u[..., :, 1:] - u[..., :, :-1]
    return gx, gy


def div(px, py):
    """The negative adjoint of `grad` (Neumann boundary)."""
    d = np.zeros_like(px)
    d[..., 0, :] += px[..., 0, :]
    d[..., 1:-1, :] += px[..., 1:-1, :] - px[..., :-2, :]
    d[..., -1, :] -= px[..., -2, :]
    d[..., :, 0] += py[..., :, 0]
    d[..., :, 1:-1] += py[..., :, 1:-1] - py[..., :, :-2]
    d[..., :, -1] -= py[..., :, -2]
    return d


def tv_chambolle(f, weight, iterations=100, tau=0.25):
    """ROF denoising min_u ||u - f||^2 / 2 + weight * TV(u), Chambolle (2004), on a stack."""
    px = np.zeros_like(f)
    py = np.zeros_like(f)
    for _ in range(iterations):
        gx, gy = grad(div(px, py) - f / weight)
        norm = 1.0 + tau * np.sqrt(gx * gx + gy * gy)
        px = (px + tau * gx) / norm
        py = (py + tau * gy) / norm
    return f - weight * div(px, py)


def best_linear_map(x_train, noisy_train):
    n, d = noisy_train.shape
    gram = np.zeros((d + 1, d + 1))
    cross = np.zeros((d + 1, d))
    for s in range(0, n, 10000):
        a = np.hstack([noisy_train[s : s + 10000], np.ones((min(10000, n - s), 1), np.float32)])
        a = a.astype(np.float64)
        gram += a.T @ a
        cross += a.T @ x_train[s : s + 10000].astype(np.float64)
    return np.linalg.solve(gram, cross)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    train = read_idx_images(find(args.data, "train-images-idx3-ubyte"))
    test = read_idx_images(find(args.data, "t10k-images-idx3-ubyte"))
    rng = np.random.default_rng(0)
    noisy_test = corrupt(test, rng)
    rows = []

    def report(name, out, detail):
        row = {
            "method": name,
            "psnr": round(psnr(out, test), 3),
            "ssim": round(mean_ssim(out, test), 4),
            "detail": detail,
        }
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"{name:<22} PSNR {row['psnr']:6.2f} dB  SSIM {row['ssim']:.4f}  {detail}",
                  flush=True)

    report("noisy input", noisy_test, f"gaussian sigma {SIGMA}, clamped")

    # TV: choose the weight on 2,000 training images, then denoise the test set with it.
    tune = train[:2000]
    noisy_tune = corrupt(tune, rng)
    weights = [0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3]
    scores = {w: psnr(np.clip(tv_chambolle(noisy_tune, w), 0, 1), tune) for w in weights}
    best = max(scores, key=scores.get)
    tv = np.clip(tv_chambolle(noisy_test, best), 0.0, 1.0)
    report("total variation", tv, f"Chambolle, weight {best} (best of {weights} on 2k train)")

    noisy_train = corrupt(train, rng).reshape(len(train), -1)
    w = best_linear_map(train.reshape(len(train), -1), noisy_train)
    flat = noisy_test.reshape(len(test), -1).astype(np.float64)
    linear = (np.hstack([flat, np.ones((len(flat), 1))]) @ w).reshape(test.shape)
    report("best linear map", linear, "affine least squares on 60k train, unclamped")
    report("best linear map, clamped", np.clip(linear, 0, 1), "same, output clamped to [0, 1]")


if __name__ == "__main__":
    main()
