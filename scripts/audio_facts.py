#!/usr/bin/env python3
"""Two facts BENCHMARKS.md ("Speech") states about the audio task, each reproducible here.

    scripts/audio_facts.py levels DIR     median and largest RMS of each speaker's recordings
                                          (FSDD names `{digit}_{speaker}_{index}.wav`)
    scripts/audio_facts.py oracle CLIPS   the oracle magnitude mask on `dae eval --write-audio`
                                          clips: min(|S| / |X|, 1) on the noisy STFT (256-point
                                          periodic Hann frames, hop 64, the noisy phase), the
                                          ceiling of any magnitude masker; mean SI-SDR per spec

16-bit mono PCM WAV files (what FSDD and `dae eval --write-audio` hold). Needs numpy and torch.
"""
import glob
import os
import sys
import wave

import numpy as np


def read(path):
    with wave.open(path) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64) / 32768.0


def si_sdr(s, y):
    s, y = s - s.mean(), y - y.mean()
    a = (s @ y) / (s @ s)
    e = a * s - y
    return 10 * np.log10((a * s) @ (a * s) / (e @ e))


def levels(folder):
    by_speaker = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.wav"))):
        speaker = os.path.basename(path).split("_")[1]
        x = read(path)
        by_speaker.setdefault(speaker, []).append(np.sqrt((x ** 2).mean()))
    print("| speaker | recordings | median RMS | largest RMS |")
    print("|---|---:|---:|---:|")
    for speaker, rms in sorted(by_speaker.items()):
        print(f"| {speaker} | {len(rms)} | {np.median(rms):.4f} | {np.max(rms):.4f} |")


def oracle(clips):
    import torch

    n_fft, hop = 256, 64
    window = torch.hann_window(n_fft, dtype=torch.float64)

    def stft(x):
        return torch.stft(torch.tensor(x), n_fft, hop, window=window, center=True, return_complex=True)

    print("| noise | clips | noisy SI-SDR | oracle mask SI-SDR |")
    print("|---|---:|---:|---:|")
    for spec_dir in sorted(glob.glob(os.path.join(clips, "*"))):
        cleans = sorted(glob.glob(os.path.join(spec_dir, "clip*-clean.wav")))
        if not cleans:
            continue
        rows = []
        for c in cleans:
            s, x = read(c), read(c.replace("-clean.wav", "-noisy.wav"))
            S, X = stft(s), stft(x)
            mask = torch.clamp(S.abs() / (X.abs() + 1e-9), 0, 1)
            y = torch.istft(mask * X, n_fft, hop, window=window, center=True, length=len(x)).numpy()
            rows.append((si_sdr(s, x), si_sdr(s, y)))
        noise = open(os.path.join(spec_dir, "noise.txt")).read().strip()
        noisy, masked = np.mean(rows, 0)
        print(f"| `{noise}` | {len(rows)} | {noisy:.2f} | {masked:.2f} |")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("levels", "oracle"):
        sys.exit(__doc__)
    {"levels": levels, "oracle": oracle}[sys.argv[1]](sys.argv[2])
