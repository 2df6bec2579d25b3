#!/usr/bin/env python3
"""Reference values for dae's audio metrics (crates/dae/src/tasks/audio/signal/metrics.rs).

Writes crates/dae/tests/fixtures/audio_metrics.json: two clean 8 kHz signals, four
(reference, estimate) pairs built from them with numpy (seed 0), and for each pair the SI-SDR
and the segmental SNR computed here in float64. crates/dae/tests/audio_metrics_reference.rs
reads the same numbers and checks dae's `si_sdr` and `seg_snr` against them to 1e-6 dB.

Signals are stored as integers in millionths (value = integer / 1e6, rounded to 6 decimals) to
keep the file small; both sides then round each value to float32, the precision dae's metrics
take, and compute on exactly the same samples.

- SI-SDR as asteroid and torchmetrics (`scale_invariant_signal_distortion_ratio`, zero_mean=True)
  define it: both signals made zero-mean, alpha = (<s_hat, s> + eps) / (||s||^2 + eps),
  10 log10((||alpha s||^2 + eps) / (||alpha s - s_hat||^2 + eps)), eps the float64 machine epsilon
  (torchmetrics uses its input dtype's; in float64 it moves no value by 1e-12 dB).
- Segmental SNR: non-overlapping frames of 256 samples (a trailing partial frame counts as a
  frame), per frame 10 log10(sum s^2 / (sum (s - s_hat)^2 + 1e-10)) clamped to [-10, 35] dB,
  frames with sum s^2 < 1e-10 skipped, mean over the rest.

Needs only numpy: `/tmp/torch-venv/bin/python scripts/audio_metrics_reference.py`.
"""

import json
import os

import numpy as np

RATE = 8000
LENGTH = 4000
FRAME = 256
CLAMP = (-10.0, 35.0)
SILENCE = 1e-10
SCALE = 1e6
OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "crates", "dae", "tests", "fixtures", "audio_metrics.json",
)


def si_sdr(reference, estimate):
    eps = np.finfo(np.float64).eps
    s = reference - reference.mean()
    s_hat = estimate - estimate.mean()
    alpha = (np.dot(s_hat, s) + eps) / (np.dot(s, s) + eps)
    target = alpha * s
    noise = target - s_hat
    return float(10.0 * np.log10((np.dot(target, target) + eps) / (np.dot(noise, noise) + eps)))


def seg_snr(reference, estimate, frame=FRAME):
    values = []
    for start in range(0, len(reference), frame):
        s = reference[start:start + frame]
        e = estimate[start:start + frame]
        signal = float(np.dot(s, s))
        if signal < SILENCE:
            continue
        error = float(np.dot(s - e, s - e))
        values.append(np.clip(10.0 * np.log10(signal / (error + SILENCE)), *CLAMP))
    return float(np.mean(values)) if values else float("nan")


def stored(x):
    """The integers written to the JSON, and the float64 values of their float32 roundings."""
    ints = np.round(np.asarray(x, dtype=np.float64) * SCALE).astype(np.int64)
    values = (ints / SCALE).astype(np.float32).astype(np.float64)
    return [int(v) for v in ints], values


def with_noise(clean, noise, snr_db):
    gain = np.sqrt(np.dot(clean, clean) / np.dot(noise, noise) / 10.0 ** (snr_db / 10.0))
    return clean + gain * noise


def main():
    rng = np.random.default_rng(0)
    t = np.arange(LENGTH) / RATE
    # A linear chirp from 100 Hz to 3 kHz with a 75 ms pause (samples 1000-1599: two whole
    # silent frames, which the segmental SNR must skip).
    chirp = 0.5 * np.sin(2 * np.pi * (100.0 * t + 0.5 * (2900.0 / t[-1]) * t * t))
    chirp[1000:1600] = 0.0
    # A voiced-speech-like signal: harmonics of 150 Hz falling off as 1/k, under a 4 Hz
    # syllable envelope.
    harmonic = sum(np.sin(2 * np.pi * 150.0 * k * t + k) / k for k in range(1, 16))
    harmonic = 0.3 * harmonic / np.max(np.abs(harmonic)) * (0.55 - 0.45 * np.cos(2 * np.pi * 4.0 * t))

    references = {}
    for name, x in [("chirp", chirp), ("harmonic", harmonic)]:
        references[name] = stored(x)

    white = rng.standard_normal(LENGTH)
    brown = np.cumsum(rng.standard_normal(LENGTH))
    brown -= brown.mean()
    pairs = [
        ("chirp + white noise at 10 dB", "chirp", with_noise(chirp, white, 10.0)),
        # Gain and offset: SI-SDR ignores both, the segmental SNR does not.
        ("chirp + white noise at -5 dB, times 0.6, plus 0.05", "chirp",
         0.6 * with_noise(chirp, rng.standard_normal(LENGTH), -5.0) + 0.05),
        # Low enough that many frames hit the -10 dB clamp.
        ("harmonic + brown noise at -12 dB", "harmonic", with_noise(harmonic, brown, -12.0)),
        # High enough that loud frames hit the 35 dB clamp.
        ("harmonic + white noise at 38 dB", "harmonic",
         with_noise(harmonic, rng.standard_normal(LENGTH), 38.0)),
    ]

    out_pairs = []
    for name, ref_name, estimate in pairs:
        ints, values = stored(estimate)
        reference = references[ref_name][1]
        out_pairs.append({
            "name": name,
            "reference": ref_name,
            "estimate": ints,
            "si_sdr": si_sdr(reference, values),
            "seg_snr": seg_snr(reference, values),
        })

    doc = {
        "about": "scripts/audio_metrics_reference.py: SI-SDR (zero-mean, asteroid/torchmetrics) "
                 "and segmental SNR (frame 256, clamp [-10, 35] dB, frames with energy < 1e-10 "
                 "skipped, trailing partial frame counted) in numpy float64 on float32 samples",
        "sample_rate": RATE,
        "scale": SCALE,
        "frame": FRAME,
        "references": {name: ints for name, (ints, _) in references.items()},
        "pairs": out_pairs,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    for p in out_pairs:
        print(f"{p['name']:55s} SI-SDR {p['si_sdr']:9.4f} dB  segSNR {p['seg_snr']:8.4f} dB")
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
