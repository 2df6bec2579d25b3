#!/usr/bin/env python3
"""Writes crates/dae/tests/fixtures/quality_reference.json: two small feature sets and their
Fréchet distance (scipy.linalg.sqrtm, as pytorch-fid computes it), KID (the unbiased MMD² with
the cubic kernel, whole sets) and k-NN precision / recall (k = 3), for the cross-check in
crates/dae/tests/quality_reference.rs.

Rerun: /tmp/torch-venv/bin/python scripts/quality_reference.py (numpy + scipy).
"""
import json
import pathlib

import numpy as np
from scipy import linalg

rng = np.random.default_rng(12)
DIM = 8
# Correlated, shifted Gaussians; float32 values, as dae's features are.
mix_a = rng.normal(size=(DIM, DIM))
mix_b = rng.normal(size=(DIM, DIM)) * 0.7 + np.eye(DIM) * 0.5
a = (rng.normal(size=(200, DIM)) @ mix_a).astype(np.float32)
b = (rng.normal(size=(150, DIM)) @ mix_b + 0.4).astype(np.float32)
a64, b64 = a.astype(np.float64), b.astype(np.float64)


def frechet(x, y):
    mx, my = x.mean(0), y.mean(0)
    cx, cy = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = np.real(linalg.sqrtm(cx @ cy))
    return float(((mx - my) ** 2).sum() + np.trace(cx) + np.trace(cy) - 2 * np.trace(root))


def kid(x, y):
    d = x.shape[1]
    k = lambda p, q: (p @ q.T / d + 1) ** 3
    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * k(x, y).mean()
    )


def sq_dist(p, q):
    return ((p[:, None, :] - q[None, :, :]) ** 2).sum(-1)


def covered(queries, refs, k):
    within = sq_dist(refs, refs)
    radii = np.sort(within, axis=1)[:, k]  # column 0 is the point itself
    return float((sq_dist(queries, refs) <= radii[None, :]).any(axis=1).mean())


out = {
    "dim": DIM,
    "a": a.ravel().tolist(),
    "b": b.ravel().tolist(),
    "frechet_distance": frechet(a64, b64),
    "kid": kid(a64, b64),
    "precision": covered(b64, a64, 3),
    "recall": covered(a64, b64, 3),
}
path = pathlib.Path(__file__).resolve().parent.parent / "crates/dae/tests/fixtures/quality_reference.json"
path.write_text(json.dumps(out) + "\n")
print(path, {k: v for k, v in out.items() if k not in ("a", "b")})
