#!/usr/bin/env python3
"""Perceptual and intelligibility scores of the clips `dae eval RUN --write-audio FOLDER` writes.

Usage:

    scripts/audio_quality.py FOLDER [--json] [--limit N] [--no-noisereduce]

FOLDER holds one subfolder per noise spec (`00`, `01`, ...; FOLDER may also be one such
subfolder), each with `noise.txt` (the spec) and `clipNNN-{clean,noisy,denoised,subtraction}.wav`
(8 kHz). For each spec and each estimate, the mean over clips of

- PESQ NB: ITU-T P.862 narrowband, as MOS-LQO (`pesq.pesq(8000, clean, x, "nb")`, range about
  1.0 to 4.5). A clip PESQ refuses (no utterance found, too short) is left out of the PESQ
  mean only, and counted in the `PESQ skipped` column;
- STOI: short-time objective intelligibility, 0 to 1 (`pystoi.stoi(clean, x, 8000,
  extended=False)`);
- SI-SDR in dB: scale-invariant signal-to-distortion ratio, means removed (as dae computes it,
  tasks/audio/signal/metrics.rs);

for the estimates: `noisy` (the input), `dae` (the run's model, `denoised`), `spectral
subtraction` (dae's classical baseline, `subtraction`), and two `noisereduce` (Sainburg et al.,
spectral gating) baselines computed here from the noisy clip: `noisereduce (non-stationary)`,
`noisereduce.reduce_noise(y=noisy, sr=8000)` with its defaults, and `noisereduce (stationary)`,
the same with `stationary=True`. `--no-noisereduce` leaves those two out.

Output: one markdown table on stdout; with `--json`, one JSON line per (spec, estimate) instead
(keys: spec, folder, estimate, clips, pesq_nb, pesq_skipped, stoi, si_sdr). `--limit N` scores the
first N clips of each spec only. Everything is deterministic (noisereduce draws nothing at
random).

Environment: Python 3 with numpy, scipy, pesq, pystoi and noisereduce, e.g.
/tmp/torch-venv/bin/python. Example:

    dae eval runs/audio --noise noise:snr=5 --write-audio /tmp/aq
    /tmp/torch-venv/bin/python scripts/audio_quality.py /tmp/aq
"""
import argparse
import glob
import json
import math
import os
import re
import sys
import wave

import numpy as np

RATE = 8000
KINDS = ["clean", "noisy", "denoised", "subtraction"]


def read_wav(path):
    """Mono float64 samples in [-1, 1] and the rate; 16-bit PCM through `wave`, anything else
    (32-bit float, 24-bit) through scipy."""
    try:
        with wave.open(path) as w:
            if w.getsampwidth() == 2:
                rate, channels = w.getframerate(), w.getnchannels()
                pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
                return pcm.reshape(-1, channels).mean(1), rate
    except wave.Error:
        pass
    from scipy.io import wavfile

    rate, data = wavfile.read(path)
    data = np.asarray(data)
    if data.dtype.kind == "i":
        data = data.astype(np.float64) / float(2 ** (8 * data.dtype.itemsize - 1))
    elif data.dtype.kind == "u":
        data = (data.astype(np.float64) - 128.0) / 128.0
    data = data.astype(np.float64)
    if data.ndim == 2:
        data = data.mean(1)
    return data, rate


def si_sdr(reference, estimate):
    """SI-SDR in dB (tasks/audio/signal/metrics.rs): zero-mean, optimal scaling of the reference."""
    s = reference - reference.mean()
    e = estimate - estimate.mean()
    ss = float(s @ s)
    if ss == 0.0:
        return math.nan
    if float(e @ e) == 0.0:
        return -math.inf
    alpha = float(s @ e) / ss
    distortion = alpha * s - e
    return 10.0 * math.log10(alpha * alpha * ss / float(distortion @ distortion))


def spec_folders(root):
    if os.path.isfile(os.path.join(root, "noise.txt")):
        return [root]
    folders = sorted(d for d in glob.glob(os.path.join(root, "*")) if os.path.isfile(os.path.join(d, "noise.txt")))
    if not folders:
        raise SystemExit(f"{root}: no noise.txt here or in a subfolder; expected the folder of "
                         "`dae eval RUN --write-audio FOLDER`")
    return folders


def clip_ids(folder):
    ids = set()
    for path in glob.glob(os.path.join(folder, "clip*-clean.wav")):
        m = re.match(r"clip(\d+)-clean\.wav$", os.path.basename(path))
        if m:
            ids.add(m.group(1))
    return sorted(ids, key=int)


def fit_length(x, n):
    return x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))


def score_folder(folder, limit, with_nr):
    from pesq import PesqError, pesq
    from pystoi import stoi

    if with_nr:
        import noisereduce

    spec = open(os.path.join(folder, "noise.txt")).read().strip()
    names = ["noisy", "dae", "spectral subtraction"]
    if with_nr:
        names += ["noisereduce (non-stationary)", "noisereduce (stationary)"]
    acc = {n: {"pesq": [], "stoi": [], "si_sdr": [], "skipped": {}} for n in names}
    ids = clip_ids(folder)[:limit] if limit else clip_ids(folder)
    for cid in ids:
        audio = {}
        for kind in KINDS:
            x, rate = read_wav(os.path.join(folder, f"clip{cid}-{kind}.wav"))
            if rate != RATE:
                raise SystemExit(f"{folder}/clip{cid}-{kind}.wav: {rate} Hz; PESQ NB here expects {RATE} Hz")
            audio[kind] = x
        clean = audio["clean"]
        estimates = {"noisy": audio["noisy"], "dae": audio["denoised"],
                     "spectral subtraction": audio["subtraction"]}
        if with_nr:
            noisy32 = audio["noisy"].astype(np.float32)
            estimates["noisereduce (non-stationary)"] = np.asarray(
                noisereduce.reduce_noise(y=noisy32, sr=RATE), dtype=np.float64)
            estimates["noisereduce (stationary)"] = np.asarray(
                noisereduce.reduce_noise(y=noisy32, sr=RATE, stationary=True), dtype=np.float64)
        for name, x in estimates.items():
            x = fit_length(x, len(clean))
            a = acc[name]
            try:
                a["pesq"].append(pesq(RATE, clean, x, "nb"))
            except PesqError as e:  # NoUtterancesError, BufferTooShortError, ...
                reason = type(e).__name__
                a["skipped"][reason] = a["skipped"].get(reason, 0) + 1
            a["stoi"].append(stoi(clean, x, RATE, extended=False))
            a["si_sdr"].append(si_sdr(clean, x))
    rows = []
    for name in names:
        a = acc[name]
        mean = lambda v: float(np.mean(v)) if v else math.nan  # noqa: E731
        rows.append({
            "spec": spec,
            "folder": os.path.basename(os.path.normpath(folder)),
            "estimate": name,
            "clips": len(ids),
            "pesq_nb": mean(a["pesq"]),
            "pesq_skipped": sum(a["skipped"].values()),
            "pesq_skip_reasons": a["skipped"],
            "stoi": mean(a["stoi"]),
            "si_sdr": mean(a["si_sdr"]),
        })
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder")
    p.add_argument("--json", action="store_true", help="one JSON line per row instead of the table")
    p.add_argument("--limit", type=int, default=0, help="score only the first N clips of each spec")
    p.add_argument("--no-noisereduce", action="store_true", help="leave out the noisereduce baselines")
    a = p.parse_args()
    rows = []
    for folder in spec_folders(a.folder):
        rows += score_folder(folder, a.limit, not a.no_noisereduce)
    if a.json:
        for r in rows:
            print(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else
                                  round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}))
        return
    print("| noise | estimate | clips | PESQ NB (ITU-T P.862, MOS-LQO) | PESQ skipped | STOI | SI-SDR (dB) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| `{r['spec']}` | {r['estimate']} | {r['clips']} | {r['pesq_nb']:.3f} | "
              f"{r['pesq_skipped']} | {r['stoi']:.3f} | {r['si_sdr']:.2f} |")
    skipped = sum(r["pesq_skipped"] for r in rows)
    if skipped:
        reasons = {}
        for r in rows:
            for k, v in r["pesq_skip_reasons"].items():
                reasons[k] = reasons.get(k, 0) + v
        print(f"\nPESQ skipped {skipped} clip scores: " + ", ".join(f"{k} x{v}" for k, v in sorted(reasons.items())),
              file=sys.stderr)


if __name__ == "__main__":
    main()
