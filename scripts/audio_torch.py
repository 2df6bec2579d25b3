#!/usr/bin/env python3
"""The PyTorch twin of dae's speech denoisers (crates/dae/src/tasks/audio/), in plain PyTorch.

The two models and the losses are written out as dae computes them, so that the two can be
compared number for number:

- `WaveUnet(width, depth, kernel, decoder_kernel)`: the 1-D U-Net of model.rs as 2-D
  convolutions with `[1, k]` kernels on `[N, C, 1, L]`. Encoder: Conv1xk(1 -> c0) ReLU, then per
  level `fold` (space-to-depth: channel 2i holds channel i's even samples, 2i+1 its odd ones)
  and Conv1xk(c_l -> c_l) ReLU, c_l = width * 2^l. Decoder, deepest first: ConvTranspose
  `[1, 2]` stride `[1, 2]` (c_{l+1} -> c_l), concatenation `[upsampled, skip]`, Conv1xk'
  (2 c_l -> c_l) ReLU. Head Conv1x1(c0 -> 1); the output is `x - head`. Parameter names are
  those of dae's Burn module: `down.{i}`, `up.{i}`, `merge.{i}`, `head` (`.weight`, `.bias`);
  Conv2d weights `[out, in, 1, k]` and ConvTranspose2d weights `[in, out, 1, 2]`, as in Burn.
- `MaskNet(input, hidden, bins)`: Linear-ReLU-Linear-ReLU-Linear-Sigmoid (`input`, `hidden`,
  `output`); PyTorch's Linear weight is `[out, in]`, Burn's `[in, out]` (the Rust test
  transposes).
- Losses (loss.rs, task.rs): L1, MSE, the multi-resolution STFT loss over (512, 128),
  (256, 64), (128, 32) (resolutions longer than the signal skipped): centred zero-padded STFT,
  periodic Hann window, magnitude `sqrt(max(re^2 + im^2, 1e-7))`, spectral convergence
  `||S - Y||_F / max(||S||_F, 1e-7)` plus the mean |log S - log Y|, averaged over resolutions;
  and the spectral model's masked-magnitude MSE `mean((gain * |noisy| - |clean|)^2)`.
- The spectral model's features (spectral.rs): `ln(|X| + 1e-3) / 4 + 1` of a frame and
  `context` frames on each side, frames beyond the ends at the floor value.
- AdamW with dae's defaults (train/adamw.rs, PyTorch's): betas (0.9, 0.999), eps 1e-8, weight
  decay 0.01.

Two modes:

    scripts/audio_torch.py fixtures [OUT.safetensors]
        Writes the fixture of crates/dae/tests/audio_torch_agreement.rs (default
        crates/dae/tests/fixtures/torch_audio.safetensors): a small wave model (width 4, depth
        2, kernels 5 and 3) and a small masking MLP (n_fft 32, hop 8, context 1, hidden 12), with
        seed-0 weights, a deterministic batch of two 512-sample clips (clean and noisy), the
        wave model's output, every loss, the gradients and the weights after one AdamW step
        (lr 1e-3) of the L1 loss and of the MR-STFT loss, and for the masking MLP the noisy and
        clean STFT magnitudes, its features, its gains, the masked MSE, its gradients and the
        weights after one AdamW step (lr 5e-4). Every tensor is f32. The STFT loss is checked
        here against the same loss written with explicit DFT matrices (loss.rs's formulation).

    scripts/audio_torch.py bench [--data DIR|TAR] [--epochs 3] [--threads 1] [--model wave]
        Trains dae's default model (wave: width 16, depth 4, kernels 9/5, L1, lr 1e-3;
        spectral: n_fft 256, hop 64, context 2, hidden 512, masked MSE, lr 5e-4) on dae's data
        preparation (data.rs, task.rs): speakers sorted, the last one for test and the one
        before it for validation, the training speakers' recordings (sorted by speaker and name)
        end to end, non-overlapping 8192-sample segments, a fresh shuffle per epoch, batches
        of 16 (the last one smaller), white noise at an SNR drawn uniformly in 0..10 dB per
        segment. The timed epoch covers what dae's `train_seconds` covers: drawing the noise
        (and the STFT features), forward, backward and AdamW steps; no validation. Prints one
        JSON line: the median epoch time in seconds and every epoch's time. DIR is a folder of
        16-bit PCM WAV files (speaker = subfolder, or the middle field of
        `label_speaker_index.wav`); a .tar of them (the default: data/fsdd/fsdd-subset.tar, the
        subset dae embeds) is read in place.

Environment: Python 3 with torch (CPU), numpy and safetensors, e.g. /tmp/torch-venv/bin/python.
"""
import argparse
import io
import json
import os
import statistics
import sys
import tarfile
import time
import wave

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

RESOLUTIONS = [(512, 128), (256, 64), (128, 32)]
MAG_FLOOR = 1e-7
FEATURE_FLOOR = 1e-3


# ----------------------------------------------------------------------------------------------
# Models


def fold(x):
    """`[n, c, 1, L]` -> `[n, 2c, 1, L/2]`: channel 2i holds channel i's even samples, 2i+1 its
    odd ones (model.rs `fold`)."""
    n, c, _, length = x.shape
    return x.reshape(n, c, length // 2, 2).transpose(2, 3).reshape(n, 2 * c, 1, length // 2)


def conv_1xk(c_in, c_out, k):
    return nn.Conv2d(c_in, c_out, (1, k), padding=(0, k // 2))


class WaveUnet(nn.Module):
    """The waveform U-Net of model.rs, parameter for parameter."""

    def __init__(self, width, depth, kernel, decoder_kernel):
        super().__init__()
        c = lambda l: width << l  # noqa: E731
        self.down = nn.ModuleList(
            [conv_1xk(1, c(0), kernel)] + [conv_1xk(c(l), c(l), kernel) for l in range(1, depth + 1)]
        )
        levels = list(reversed(range(depth)))
        self.up = nn.ModuleList([nn.ConvTranspose2d(c(l + 1), c(l), (1, 2), stride=(1, 2)) for l in levels])
        self.merge = nn.ModuleList([conv_1xk(2 * c(l), c(l), decoder_kernel) for l in levels])
        self.head = nn.Conv2d(c(0), 1, (1, 1))

    def forward(self, x):
        skips, h = [], x
        for level, conv in enumerate(self.down):
            if level > 0:
                h = fold(h)
            h = F.relu(conv(h))
            skips.append(h)
        skips.pop()
        for up, merge in zip(self.up, self.merge):
            skip = skips.pop()
            h = F.relu(merge(torch.cat([up(h), skip], 1)))
        return x - self.head(h)


class MaskNet(nn.Module):
    """The masking MLP of model.rs: one gain in (0, 1) per bin."""

    def __init__(self, input, hidden, bins):
        super().__init__()
        self.input = nn.Linear(input, hidden)
        self.hidden = nn.Linear(hidden, hidden)
        self.output = nn.Linear(hidden, bins)

    def forward(self, features):
        h = F.relu(self.input(features))
        h = F.relu(self.hidden(h))
        return torch.sigmoid(self.output(h))


def adamw(params, lr):
    """dae's AdamW (train/adamw.rs defaults, PyTorch's update rule)."""
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


# ----------------------------------------------------------------------------------------------
# Losses and features


def hann(n_fft):
    """The periodic Hann window, as dae builds it (in f64, then f32)."""
    i = np.arange(n_fft, dtype=np.float64)
    return torch.from_numpy((0.5 - 0.5 * np.cos(2.0 * np.pi * i / n_fft)).astype(np.float32))


def stft_magnitude(x, n_fft, hop):
    """|STFT(x)| `[batch * frames, n_fft/2 + 1]` of `x` `[batch, length]`: centred, zero padded,
    periodic Hann, floored at 1e-7 before the square root (loss.rs `stft_magnitude`)."""
    spec = torch.stft(x, n_fft, hop, window=hann(n_fft), center=True, pad_mode="constant",
                      return_complex=True)  # [batch, bins, frames]
    power = spec.real ** 2 + spec.imag ** 2
    return power.clamp_min(MAG_FLOOR).sqrt().transpose(1, 2).reshape(-1, n_fft // 2 + 1)


def stft_magnitude_matmul(x, n_fft, hop):
    """The same magnitude with loss.rs's formulation: gathered frames times DFT matrices."""
    batch, length = x.shape
    pad = n_fft // 2
    padded = F.pad(x, (pad, pad))
    frames = 1 + length // hop
    index = (torch.arange(frames)[:, None] * hop + torch.arange(n_fft)[None, :]).reshape(-1)
    framed = padded[:, index].reshape(batch * frames, n_fft) * hann(n_fft)[None, :]
    bins = n_fft // 2 + 1
    i = np.arange(n_fft)[:, None]
    k = np.arange(bins)[None, :]
    phase = 2.0 * np.pi * ((i * k) % n_fft) / n_fft
    cos = torch.from_numpy(np.cos(phase).astype(np.float32))
    sin = torch.from_numpy((-np.sin(phase)).astype(np.float32))
    re, im = framed @ cos, framed @ sin
    return (re ** 2 + im ** 2).clamp_min(MAG_FLOOR).sqrt()


def mrstft_loss(y, s, magnitude=stft_magnitude):
    """The multi-resolution STFT loss of `y` against `s`, both `[batch, length]`."""
    length = y.shape[1]
    total, count = torch.zeros(()), 0
    for n_fft, hop in RESOLUTIONS:
        if n_fft > length:
            continue
        ym, sm = magnitude(y, n_fft, hop), magnitude(s, n_fft, hop)
        convergence = ((sm - ym) ** 2).sum().sqrt() / (sm ** 2).sum().sqrt().clamp_min(1e-7)
        log_mag = (sm.log() - ym.log()).abs().mean()
        total = total + convergence + log_mag
        count += 1
    return total / max(count, 1)


def wave_loss(name, y, s):
    if name == "l1":
        return (y - s).abs().mean()
    if name == "mse":
        return ((y - s) ** 2).mean()
    if name == "mrstft":
        return mrstft_loss(y, s)
    if name == "l1_mrstft":
        return (y - s).abs().mean() + mrstft_loss(y, s)
    if name == "sisdr":
        return -si_sdr(y, s).mean()
    if name == "snr":
        return -snr(y, s).mean()
    raise ValueError(name)


def snr(y, s):
    """SNR in dB of each row (loss.rs `snr`): 10 log10((|s|^2 + 1e-8) / (|s - y|^2 + 1e-8))."""
    return 10.0 * torch.log10(((s ** 2).sum(1) + 1e-8) / (((s - y) ** 2).sum(1) + 1e-8))


def si_sdr(y, s):
    """SI-SDR in dB of each row of `y` against `s` `[batch, length]` (loss.rs `si_sdr`): both
    made zero-mean, a = <s, y> / (<s, s> + 1e-8), 10 log10((|a s|^2 + 1e-8) / (|a s - y|^2 + 1e-8))."""
    s = s - s.mean(1, keepdim=True)
    y = y - y.mean(1, keepdim=True)
    a = (s * y).sum(1, keepdim=True) / ((s * s).sum(1, keepdim=True) + 1e-8)
    target = a * s
    e = target - y
    return 10.0 * torch.log10(((target ** 2).sum(1) + 1e-8) / ((e ** 2).sum(1) + 1e-8))


def plain_magnitude(x, n_fft, hop):
    """|STFT| `[batch, frames, bins]` without the loss's floor (signal/stft.rs `magnitude`)."""
    spec = torch.stft(x, n_fft, hop, window=hann(n_fft), center=True, pad_mode="constant",
                      return_complex=True)
    return spec.abs().transpose(1, 2)


def features(magnitude, context):
    """The masking model's input `[batch * frames, bins * (2 context + 2)]` for `magnitude`
    `[batch, frames, bins]` (spectral.rs `features`, per segment): the scaled log magnitudes of
    each frame and `context` frames on each side, then the segment's noise floor (the root of the
    mean power of its quietest tenth of the frames, subtraction.rs `noise_power`)."""
    batch, frames, bins = magnitude.shape
    log = torch.log(magnitude + FEATURE_FLOOR) / 4.0 + 1.0
    floor = float(np.float32(np.log(np.float32(FEATURE_FLOOR))) / np.float32(4.0) + np.float32(1.0))
    padded = torch.full((batch, frames + 2 * context, bins), floor)
    padded[:, context:context + frames] = log
    slots = [padded[:, o:o + frames] for o in range(2 * context + 1)]
    power = magnitude.double() ** 2
    energy = power.sum(2)
    count = max(1, min(frames, int(np.ceil(frames * 0.10))))
    quiet = torch.argsort(energy, dim=1, stable=True)[:, :count]
    noise = torch.stack([power[b, quiet[b]].mean(0) for b in range(batch)]).sqrt().float()
    noise = (torch.log(noise + FEATURE_FLOOR) / 4.0 + 1.0).unsqueeze(1).expand(batch, frames, bins)
    return torch.cat(slots + [noise], 2).reshape(batch * frames, bins * (2 * context + 2))


def masked_mse(net, feats, noisy_mag, clean_mag):
    return ((net(feats) * noisy_mag - clean_mag) ** 2).mean()


# ----------------------------------------------------------------------------------------------
# Fixtures

WAVE_SIZES = dict(width=4, depth=2, kernel=5, decoder_kernel=3)
MASK_SIZES = dict(n_fft=32, hop=8, context=1, hidden=12)
LENGTH = 512
WAVE_LR = 1e-3
MASK_LR = 5e-4


def fixture_batch(gen):
    """Two clips of 512 samples: a few tones under an envelope (clean) and clean plus white noise
    at about 5 dB (noisy); `[2, length]` each."""
    t = torch.arange(LENGTH, dtype=torch.float64) / 8000.0
    clean = []
    for b in range(2):
        freqs = torch.rand(3, generator=gen, dtype=torch.float64) * 2500.0 + 150.0
        amps = torch.rand(3, generator=gen, dtype=torch.float64) * 0.3 + 0.05
        x = sum(a * torch.sin(2 * np.pi * f * t) for a, f in zip(amps, freqs))
        envelope = torch.sin(np.pi * (t / t[-1])) ** 2 if b == 0 else torch.ones_like(t)
        clean.append(x * envelope)
    clean = torch.stack(clean).float()
    noise = torch.randn(clean.shape, generator=gen)
    gain = (clean.pow(2).mean(1, keepdim=True) / (noise.pow(2).mean(1, keepdim=True) * 10 ** 0.5)).sqrt()
    return clean, clean + gain * noise


def snapshot(model, prefix, out):
    for name, p in model.state_dict().items():
        out[f"{prefix}.{name}"] = p.detach().clone()


def grads(model, prefix, out):
    for name, p in model.named_parameters():
        out[f"{prefix}.{name}"] = p.grad.detach().clone()


def one_step(make, init, loss_fn, lr, prefix, out):
    """Gradients and weights after one AdamW step of `loss_fn(model)` from `init`."""
    model = make()
    model.load_state_dict(init)
    opt = adamw(model.parameters(), lr)
    opt.zero_grad()
    loss = loss_fn(model)
    loss.backward()
    grads(model, f"{prefix}.grad", out)
    opt.step()
    snapshot(model, f"{prefix}.step1", out)
    return loss.detach()


def fixtures(path):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    out = {}

    # The waveform U-Net.
    clean, noisy = fixture_batch(gen)
    out["wave.clean"] = clean
    out["wave.noisy"] = noisy
    make_wave = lambda: WaveUnet(**WAVE_SIZES)  # noqa: E731
    wave = make_wave()
    init = {k: v.clone() for k, v in wave.state_dict().items()}
    snapshot(wave, "wave.init", out)
    x = noisy.reshape(2, 1, 1, LENGTH)
    with torch.no_grad():
        y = wave(x)
    out["wave.output"] = y
    y2 = y.reshape(2, LENGTH)
    with torch.no_grad():
        for name in ["l1", "mse", "mrstft", "l1_mrstft", "sisdr", "snr"]:
            out[f"wave.loss.{name}"] = wave_loss(name, y2, clean).reshape(1)
        # 256 samples: the (512, 128) resolution is skipped.
        out["wave.loss.mrstft_256"] = mrstft_loss(y2[:, :256], clean[:, :256]).reshape(1)
        # loss.rs's matmul formulation gives the same numbers.
        for n in [LENGTH, 256]:
            a = mrstft_loss(y2[:, :n], clean[:, :n])
            b = mrstft_loss(y2[:, :n], clean[:, :n], stft_magnitude_matmul)
            assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), (n, float(a), float(b))
    for name, lr in [("l1", WAVE_LR), ("mrstft", WAVE_LR)]:
        one_step(make_wave, init, lambda m, name=name: wave_loss(name, m(x).reshape(2, LENGTH), clean),
                 lr, f"wave.{name}", out)

    # The masking MLP, on the STFT of the same clips.
    n_fft, hop, context, hidden = (MASK_SIZES[k] for k in ["n_fft", "hop", "context", "hidden"])
    bins = n_fft // 2 + 1
    noisy_mag = plain_magnitude(noisy, n_fft, hop)
    clean_mag = plain_magnitude(clean, n_fft, hop)
    feats = features(noisy_mag, context)
    noisy_mag, clean_mag = noisy_mag.reshape(-1, bins), clean_mag.reshape(-1, bins)
    out["mask.noisy_mag"] = noisy_mag
    out["mask.clean_mag"] = clean_mag
    out["mask.features"] = feats
    make_mask = lambda: MaskNet(bins * (2 * context + 2), hidden, bins)  # noqa: E731
    mask = make_mask()
    minit = {k: v.clone() for k, v in mask.state_dict().items()}
    snapshot(mask, "mask.init", out)
    with torch.no_grad():
        out["mask.gains"] = mask(feats)
        out["mask.loss"] = masked_mse(mask, feats, noisy_mag, clean_mag).reshape(1)
    one_step(make_mask, minit, lambda m: masked_mse(m, feats, noisy_mag, clean_mag), MASK_LR, "mask.mse", out)
    # The waveform losses of the spectral model: gains on the noisy spectrum, torch.istft back to
    # samples (loss.rs `inverse_stft`), SNR against the clean clips.
    spec = torch.stft(noisy, n_fft, hop, window=hann(n_fft), center=True, pad_mode="constant",
                      return_complex=True).transpose(1, 2)
    out["mask.noisy_re"] = spec.real.reshape(-1, bins).contiguous()
    out["mask.noisy_im"] = spec.imag.reshape(-1, bins).contiguous()

    def mask_snr(m):
        gains = m(feats).reshape(spec.shape)
        y = torch.istft((gains * spec).transpose(1, 2), n_fft, hop, window=hann(n_fft), center=True,
                        length=LENGTH)
        return -snr(y, clean).mean()

    with torch.no_grad():
        out["mask.loss.snr"] = mask_snr(mask).reshape(1)
    one_step(make_mask, minit, mask_snr, MASK_LR, "mask.snr", out)

    out["sizes.wave"] = torch.tensor([float(WAVE_SIZES[k]) for k in ["width", "depth", "kernel", "decoder_kernel"]])
    out["sizes.mask"] = torch.tensor([float(MASK_SIZES[k]) for k in ["n_fft", "hop", "context", "hidden"]])
    out["lr"] = torch.tensor([WAVE_LR, MASK_LR])

    from safetensors.torch import save_file

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_file({k: v.detach().float().contiguous() for k, v in sorted(out.items())}, path)
    print(f"wrote {path}: {len(out)} tensors, {os.path.getsize(path)} bytes")
    for k in sorted(out):
        if ".loss" in k:
            print(f"  {k} = {float(out[k][0]):.6f}")


# ----------------------------------------------------------------------------------------------
# Bench


def decode_wav(data, name):
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{name}: only 16-bit PCM is read here")
        rate, channels = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return rate, pcm.reshape(-1, channels).mean(1).astype(np.float32)


def speaker_of(name):
    """data.rs `speaker_of`: the subfolder, else the middle field of `label_speaker_index`."""
    parts = name.split("/")
    if len(parts) > 1:
        return parts[0]
    stem = os.path.splitext(parts[0])[0]
    fields = stem.split("_")
    return fields[1] if len(fields) == 3 and fields[1] else stem


def read_recordings(source):
    """`[(speaker, name, samples)]` sorted as dae sorts them, and the sample rate."""
    files = []
    if os.path.isdir(source):
        for entry in sorted(os.listdir(source)):
            path = os.path.join(source, entry)
            if os.path.isdir(path):
                names = [f"{entry}/{f}" for f in sorted(os.listdir(path))]
            else:
                names = [entry]
            for name in names:
                full = os.path.join(source, name)
                if os.path.isfile(full) and name.lower().endswith(".wav"):
                    with open(full, "rb") as fh:
                        files.append((name, fh.read()))
    else:
        with tarfile.open(source) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith(".wav"):
                    files.append((member.name, tar.extractfile(member).read()))
    recordings, rates = [], set()
    for name, data in files:
        rate, samples = decode_wav(data, name)
        rates.add(rate)
        recordings.append((speaker_of(name), name, samples))
    if len(rates) != 1:
        raise SystemExit(f"{source}: expected one sample rate, found {sorted(rates)}")
    recordings.sort(key=lambda r: (r[0], r[1]))
    return recordings, rates.pop()


def training_segments(recordings, segment):
    speakers = sorted({r[0] for r in recordings})
    if len(speakers) < 3:
        raise SystemExit("the audio task needs at least three speakers")
    train_speakers = set(speakers[:-2])  # the last is test, the one before validation
    train = np.concatenate([r[2] for r in recordings if r[0] in train_speakers])
    starts = list(range(0, len(train) - segment + 1, segment))
    return np.stack([train[s:s + segment] for s in starts]), speakers[:-2]


def add_white_noise(clean, rng, snr_lo=0.0, snr_hi=10.0):
    """Each row plus white noise at an SNR drawn per row (corrupt.rs `add_at_snr`)."""
    snr = rng.uniform(snr_lo, snr_hi, size=(clean.shape[0], 1))
    noise = rng.standard_normal(clean.shape).astype(np.float32)
    ps = (clean.astype(np.float64) ** 2).mean(1, keepdims=True)
    pn = (noise.astype(np.float64) ** 2).mean(1, keepdims=True)
    gain = np.where(ps > 0, np.sqrt(ps / (pn * 10 ** (snr / 10))), 0.0).astype(np.float32)
    return clean + gain * noise


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    recordings, rate = read_recordings(args.data)
    segment, batch = 8192, 16
    segments, train_speakers = training_segments(recordings, segment)
    if args.model == "wave":
        model = WaveUnet(width=16, depth=4, kernel=9, decoder_kernel=5)
        lr = 1e-3
    else:
        n_fft, hop, context, hidden = 256, 64, 2, 1024
        bins = n_fft // 2 + 1
        model = MaskNet(bins * (2 * context + 2), hidden, bins)
        lr = 5e-4
    opt = adamw(model.parameters(), lr)
    n = len(segments)
    times, losses = [], []
    for epoch in range(args.epochs):
        order = rng.permutation(n)
        start = time.perf_counter()
        total = 0.0
        batches = 0
        for b in range(0, n, batch):
            idx = order[b:b + batch]
            clean = segments[idx]
            noisy = add_white_noise(clean, rng)
            # Both at the noisy segment's unit level (denoise.rs `level`).
            gain = np.maximum(np.sqrt((noisy.astype(np.float64) ** 2).mean(1, keepdims=True)), 1e-4)
            clean_t = torch.from_numpy((clean / gain).astype(np.float32))
            noisy_t = torch.from_numpy((noisy / gain).astype(np.float32))
            if args.model == "wave":
                y = model(noisy_t.reshape(len(idx), 1, 1, segment)).reshape(len(idx), segment)
                loss = wave_loss(args.loss, y, clean_t)
            elif args.loss == "magnitude":
                with torch.no_grad():
                    nm = plain_magnitude(noisy_t, n_fft, hop)
                    cm = plain_magnitude(clean_t, n_fft, hop)
                    feats = features(nm, context)
                loss = masked_mse(model, feats, nm.reshape(-1, bins), cm.reshape(-1, bins))
            else:
                # The gains on the noisy spectrum, back to samples (loss.rs `inverse_stft`).
                with torch.no_grad():
                    spec = torch.stft(noisy_t, n_fft, hop, window=hann(n_fft), center=True,
                                      pad_mode="constant", return_complex=True).transpose(1, 2)
                    feats = features(spec.abs(), context)
                gains = model(feats).reshape(spec.shape)
                y = torch.istft((gains * spec).transpose(1, 2), n_fft, hop, window=hann(n_fft),
                                center=True, length=segment)
                loss = wave_loss(args.loss, y, clean_t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            batches += 1
        times.append(time.perf_counter() - start)
        losses.append(total / batches)
        print(f"epoch {epoch + 1}: loss {losses[-1]:.5f}  {times[-1]:.2f}s", file=sys.stderr)
    print(json.dumps({
        "framework": "pytorch",
        "torch": torch.__version__,
        "model": args.model,
        "loss": args.loss,
        "threads": args.threads,
        "epochs": args.epochs,
        "segments": n,
        "batches_per_epoch": -(-n // batch),
        "train_speakers": len(train_speakers),
        "sample_rate": rate,
        "median_epoch_s": round(statistics.median(times), 4),
        "epoch_s": [round(t, 4) for t in times],
        "train_loss": [round(l, 6) for l in losses],
    }))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("fixtures", help="write torch_audio.safetensors")
    f.add_argument("out", nargs="?",
                   default=os.path.join(here, "..", "crates", "dae", "tests", "fixtures", "torch_audio.safetensors"))
    b = sub.add_parser("bench", help="time training epochs of a default audio model")
    b.add_argument("--data", default=os.path.join(here, "..", "data", "fsdd", "fsdd-subset.tar"),
                   help="a folder of WAV files or a .tar of them")
    b.add_argument("--epochs", type=int, default=3)
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--model", choices=["wave", "spectral"], default="wave")
    b.add_argument("--loss", default="snr",
                   help="l1, mse, mrstft, l1_mrstft, sisdr, snr (both models) or magnitude (spectral)")
    a = p.parse_args()
    if a.mode == "fixtures":
        fixtures(a.out)
    else:
        bench(a)


if __name__ == "__main__":
    main()
