#!/usr/bin/env python3
"""Denoise throughput of one trained run through three front-ends, for BENCHMARKS.md ("Python
package"): the Python package (`dae.load(run).denoise`), the same weights in PyTorch (the run's
model.safetensors in scripts/torch_models.py), and the `dae denoise` command on PNG files.

    python scripts/bench_python.py --backend dae   --run RUN --threads 1   # needs the dae wheel
    python scripts/bench_python.py --backend torch --run RUN --threads 1   # needs torch, safetensors
    python scripts/bench_python.py --backend cli   --run RUN --threads 1 --dae target/release/dae
    python scripts/bench_python.py --import-time                           # `import dae`, 20 times

Each prints one JSON object. The images are the shipped Fashion-MNIST 10k test split as float32
(N, 1, 28, 28); dae and torch denoise them in batches of --batch, best of --repeat passes after an
untimed warm-up batch; besides wall-clock images/s it reports images per CPU-second of the
process (all its threads), the figure that holds on a machine other jobs share. The cli backend writes --cli-images of them as PNGs first (untimed) and
times one `dae denoise` process over them: PNG decoding and encoding and one image per forward
pass, what the command does.
"""
import argparse
import gzip
import json
import os
import pathlib
import resource
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]


def images():
    with gzip.open(REPO / "data" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz") as f:
        raw = f.read()
    n, h, w = struct.unpack(">III", raw[4:16])
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, h, w)


def best_pass(denoise, x, batch, repeat):
    """The best pass's wall seconds and the CPU seconds (every thread of the process) it used."""
    denoise(x[:batch])  # warm-up, untimed
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(x), batch):
            denoise(x[i : i + batch])
        best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["dae", "torch", "cli"])
    p.add_argument("--run", type=pathlib.Path)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cli-images", type=int, default=2000)
    p.add_argument("--dae", default=str(REPO / "target" / "release" / "dae"))
    p.add_argument("--import-time", action="store_true")
    a = p.parse_args()

    if a.import_time:
        runs = []
        for _ in range(20):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import dae"], check=True)
            runs.append(time.perf_counter() - start)
        start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare = time.perf_counter() - start
        print(json.dumps({"import_dae_seconds_median": float(np.median(runs)), "import_dae_seconds_min": min(runs),
                          "python_startup_seconds": bare}))
        return

    u8 = images()
    x = (u8.astype(np.float32) / np.float32(255.0))[:, None]
    if a.backend == "dae":
        import dae

        dae.set_threads(a.threads)
        model = dae.load(a.run)
        seconds, cpu = best_pass(lambda b: model.denoise(b, batch_size=a.batch), x, a.batch, a.repeat)
        count = len(x)
    elif a.backend == "torch":
        import torch
        from safetensors.torch import load_file

        sys.path.insert(0, str(REPO / "scripts"))
        from torch_models import ConvDenoisingAutoencoder

        torch.set_num_threads(a.threads)
        model = ConvDenoisingAutoencoder()
        model.load_state_dict(load_file(str(a.run / "model.safetensors")))
        model.eval()

        def denoise(b):
            with torch.no_grad():
                return model(torch.from_numpy(b))[0].numpy()

        seconds, cpu = best_pass(denoise, x, a.batch, a.repeat)
        count = len(x)
    else:
        from PIL import Image

        folder = pathlib.Path(tempfile.mkdtemp())
        paths = []
        for i, image in enumerate(u8[: a.cli_images]):
            path = folder / f"{i:05}.png"
            Image.fromarray(image, mode="L").save(path)
            paths.append(str(path))
        start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([a.dae, "denoise", str(a.run), *paths, "-o", str(folder / "out"), "--threads", str(a.threads)],
                       check=True, capture_output=True)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        count = len(paths)
    print(json.dumps({"backend": a.backend, "threads": a.threads, "batch": a.batch, "images": count,
                      "seconds": seconds, "images_per_second": count / seconds,
                      "cpu_seconds": cpu, "images_per_cpu_second": count / cpu}))


if __name__ == "__main__":
    main()
