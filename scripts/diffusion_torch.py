#!/usr/bin/env python3
"""The PyTorch twin of dae's diffusion U-Net (crates/dae/src/tasks/image/diffusion/), in plain
PyTorch, written out as dae computes it so that the two can be compared number for number.

Architecture (model.rs `TimeUnet`, `width` w, `depth` d, level l has c_l = w * 2^l channels):

- Level embedding: `sinusoid(t, w)` (first half sin(t f_i), second half cos(t f_i),
  f_i = 10000^(-i / (w/2 - 1)), computed in float64 as dae does) -> `embed_a` Linear(w -> 4w)
  -> SiLU -> `embed_b` Linear(4w -> 4w) -> SiLU = e (the activated embedding every block reads).
- `stem` Conv3x3(in -> w), then `down.{l}` = Res(c_{l-1} -> c_l) for l = 0..d (c_{-1} = w) with
  AvgPool2 after every one but the last; each pre-pool output is a skip.
- `middle` (optional, `--attention`): x + Attn(GN(x)) over the h*w positions, one head:
  Burn's MultiHeadAttention = `query`, `key`, `value` Linear(c -> c), softmax(q k^T / sqrt(c))
  (dropout 0.1 on the weights while training, as Burn's default; none in the fixtures), then
  `output` Linear(c -> c). Its group norm is always on.
- Decoder, deepest first: `up.{i}` ConvTranspose2x2/2 (c_{l+1} -> c_l), concatenation
  [upsampled, skip], `merge.{i}` = Res(2 c_l -> c_l).
- Head: [`head_norm` GN] SiLU `head` Conv3x3(w -> in).
- Res(a -> b): h = conv_a(SiLU([norm_a] x)) + level(e)[:, :, None, None];
  out = conv_b(SiLU([norm_b] h)) + (x if a == b else shortcut Conv1x1(x)).
- Group norm (`--group-norm`): the largest group count <= 8 dividing the channels, eps 1e-5,
  affine; Burn names its affine `gamma`/`beta`, PyTorch `weight`/`bias`.

Parameter names are the Burn module's field paths (`down.0.conv_a.weight`, `middle.query.bias`,
...). Conv2d and ConvTranspose2d weights have the same layout in both; PyTorch's Linear weight
is [out, in], Burn's [in, out] (the Rust test transposes).

Training (task.rs): images in [-1, 1], t uniform in 0..T, eps ~ N(0, 1),
x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps (linear betas 1e-4..0.02, T = 1000, float64),
loss = mean((net(x_t, t) - eps)^2); AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay
0.01 (train/adamw.rs, PyTorch's rule); after optimizer step n (1-based) the EMA moves:
ema = d ema + (1 - d) theta, d = min(0.999, (1 + n) / (10 + n)) (train/ema.rs); the average
starts as a copy of the initial weights.

Modes:

    scripts/diffusion_torch.py fixtures [OUT.safetensors]
        Writes crates/dae/tests/fixtures/torch_diffusion.safetensors for
        crates/dae/tests/diffusion_torch_agreement.rs: three seed-0 models on 1-channel 8x8
        images: `plain` (width 4, depth 2), `gn` (width 6, depth 1, group norm with groups of 1, 2 and
        3 channels, its affines drawn at random so that they matter) and `attn` (width 4, depth 1, group norm and attention);
        a batch of three images x0 at timesteps 0, 500, 999 with their eps and x_t; per model
        `{m}.init.*` weights, `{m}.output`, `{m}.loss` (MSE against eps), `{m}.grad.*`,
        `{m}.step1.*` (after one AdamW step) and, for `plain`, `{m}.ema1.*` (the EMA after
        that step). Every tensor is f32.

    scripts/diffusion_torch.py bench --threads N --train-limit K [--width 16]
        Times one training epoch of dae's default diffusion model (width 16, depth 2) on the
        first K Fashion-MNIST training images (batches of 64, T 1000, linear, epsilon, AdamW and
        EMA), and sampling (DDIM, 50 steps, eta 0, batch 128, the EMA weights); prints JSON.

    scripts/diffusion_torch.py train --out DIR --epochs E [--train-limit K] [--width 16] [--seed 0]
    scripts/diffusion_torch.py sample --run DIR -n N [--sampler ddpm|ddim] [--steps K] -o PNG_DIR
        Trains the same model for the same budget (DIR/model.pt holds net, EMA and settings),
        then writes N 28x28 grey PNG samples of the EMA weights (diffusers' DDPMScheduler or
        DDIMScheduler, defaults as dae's: leading timesteps, clip_sample 1.0, eta 0) for
        `dae fid`.

Environment: Python 3 with torch (CPU), numpy, safetensors (and diffusers for `sample`/`bench`),
e.g. /tmp/torch-venv/bin/python. Fashion-MNIST is read from the IDX .gz files in --data
(default /usr/share/datasets/fashion-mnist).
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

T_TRAIN = 1000
LR = 1e-3
EMA_DECAY = 0.999
BATCH = 64


# ----------------------------------------------------------------------------------------------
# Model


def groups_for(channels):
    """model.rs `group_norm`: the largest group count up to 8 that divides the channels."""
    return max(g for g in range(1, 9) if channels % g == 0)


def gn(on, channels):
    return nn.GroupNorm(groups_for(channels), channels, eps=1e-5) if on else None


def conv3x3(c_in, c_out):
    return nn.Conv2d(c_in, c_out, 3, padding=1)


def maybe(norm, x):
    return x if norm is None else norm(x)


def sinusoid(t, dim):
    """model.rs `sinusoid`: float64 angles, f32 features; `t` a list of ints."""
    half = dim // 2
    i = np.arange(half, dtype=np.float64)
    freq = np.exp(-math.log(10000.0) * i / (max(half, 2) - 1))
    angle = np.asarray(t, dtype=np.float64)[:, None] * freq[None, :]
    return torch.from_numpy(np.concatenate([np.sin(angle), np.cos(angle)], 1).astype(np.float32))


class ResBlock(nn.Module):
    def __init__(self, c_in, c_out, embed, group_norm):
        super().__init__()
        self.norm_a = gn(group_norm, c_in)
        self.conv_a = conv3x3(c_in, c_out)
        self.level = nn.Linear(embed, c_out)
        self.norm_b = gn(group_norm, c_out)
        self.conv_b = conv3x3(c_out, c_out)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x, e):
        h = self.conv_a(F.silu(maybe(self.norm_a, x)))
        h = h + self.level(e)[:, :, None, None]
        h = self.conv_b(F.silu(maybe(self.norm_b, h)))
        return h + (x if self.shortcut is None else self.shortcut(x))


class SpatialAttention(nn.Module):
    """Burn's MultiHeadAttention with one head over the positions, after a group norm."""

    def __init__(self, c, dropout):
        super().__init__()
        self.norm = gn(True, c)
        self.query, self.key, self.value, self.output = (nn.Linear(c, c) for _ in range(4))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        b, c, h, w = x.shape
        tokens = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        q, k, v = self.query(tokens), self.key(tokens), self.value(tokens)
        weights = self.dropout(torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), -1))
        out = self.output(weights @ v)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class TimeUnet(nn.Module):
    def __init__(self, width=16, depth=2, group_norm=False, attention=False, channels=1,
                 attention_dropout=0.1):
        super().__init__()
        w, embed = width, 4 * width
        c = lambda l: w << l  # noqa: E731
        self.width = w
        self.embed_a = nn.Linear(w, embed)
        self.embed_b = nn.Linear(embed, embed)
        self.stem = conv3x3(channels, w)
        self.down = nn.ModuleList(
            [ResBlock(w if l == 0 else c(l - 1), c(l), embed, group_norm) for l in range(depth + 1)])
        self.middle = SpatialAttention(c(depth), attention_dropout) if attention else None
        levels = list(reversed(range(depth)))
        self.up = nn.ModuleList([nn.ConvTranspose2d(c(l + 1), c(l), 2, stride=2) for l in levels])
        self.merge = nn.ModuleList([ResBlock(2 * c(l), c(l), embed, group_norm) for l in levels])
        self.head_norm = gn(group_norm, w)
        self.head = conv3x3(w, channels)

    def forward(self, x, t):
        e = self.embed_a(sinusoid(t, self.width).to(x.device))
        e = F.silu(self.embed_b(F.silu(e)))
        h = self.stem(x)
        skips = []
        for l, block in enumerate(self.down):
            h = block(h, e)
            if l < len(self.down) - 1:
                skips.append(h)
                h = F.avg_pool2d(h, 2)
        if self.middle is not None:
            h = self.middle(h)
        for up, merge in zip(self.up, self.merge):
            h = merge(torch.cat([up(h), skips.pop()], 1), e)
        return self.head(F.silu(maybe(self.head_norm, h)))


def adamw(params):
    """dae's AdamW (train/adamw.rs defaults, PyTorch's update rule)."""
    return torch.optim.AdamW(params, lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


def ema_decay(step, decay=EMA_DECAY):
    """train/ema.rs `Ema::decay_at` (step 1-based)."""
    return min(decay, (1.0 + step) / (10.0 + step))


@torch.no_grad()
def ema_update(average, trained, step):
    d = ema_decay(step)
    for a, p in zip(average.parameters(), trained.parameters()):
        a.mul_(d).add_(p.detach(), alpha=1.0 - d)


def alpha_bars(t_total=T_TRAIN):
    """schedule.rs, linear: betas evenly spaced from 1e-4 to 0.02, cumulative products (f64)."""
    betas = np.linspace(1e-4, 0.02, t_total, dtype=np.float64)
    return np.cumprod(1.0 - betas)


# ----------------------------------------------------------------------------------------------
# Fixtures

FIXTURE_MODELS = {
    "plain": dict(width=4, depth=2, group_norm=False, attention=False),
    # Width 6: groups of 1 (6 channels), 2 (12) and 3 (24 after the concatenation) channels.
    "gn": dict(width=6, depth=1, group_norm=True, attention=False),
    "attn": dict(width=4, depth=1, group_norm=True, attention=True),
}
STEPS = [0, 500, 999]
SIDE = 8


def fixtures(path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    out = {}
    n = len(STEPS)
    # Smooth-ish images in [-1, 1], the noise, and x_t in float64 as dae's add_noise.
    x0 = torch.tanh(2 * torch.randn(n, 1, SIDE, SIDE, generator=gen, dtype=torch.float64))
    eps = torch.randn(n, 1, SIDE, SIDE, generator=gen).double()
    ab = torch.from_numpy(alpha_bars()[STEPS])[:, None, None, None]
    x0, eps = x0.float(), eps.float()
    xt = (ab.sqrt() * x0.double() + (1 - ab).sqrt() * eps.double()).float()
    out["x0"], out["eps"], out["xt"] = x0, eps, xt
    out["steps"] = torch.tensor(STEPS, dtype=torch.float32)
    out["lr"] = torch.tensor([LR])
    out["ema_decay"] = torch.tensor([EMA_DECAY])
    for name, sizes in FIXTURE_MODELS.items():
        out[f"{name}.sizes"] = torch.tensor([float(sizes[k]) for k in ["width", "depth", "group_norm", "attention"]])
        make = lambda: TimeUnet(**sizes, attention_dropout=0.0)  # noqa: E731
        model = make()
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.GroupNorm):
                    # Not the identity affine of a fresh layer, so that the test sees it.
                    m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=gen))
                    m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
        init = {k: v.detach().clone() for k, v in model.state_dict().items()}
        out[f"{name}.parameters"] = torch.tensor([float(len(list(model.parameters())))])
        for k, v in init.items():
            out[f"{name}.init.{k}"] = v
        opt = adamw(model.parameters())
        y = model(xt, STEPS)
        loss = (y - eps).pow(2).mean()
        out[f"{name}.output"] = y.detach().clone()
        out[f"{name}.loss"] = loss.detach().reshape(1)
        opt.zero_grad()
        loss.backward()
        for k, p in model.named_parameters():
            out[f"{name}.grad.{k}"] = p.grad.detach().clone()
        opt.step()
        for k, p in model.named_parameters():
            out[f"{name}.step1.{k}"] = p.detach().clone()
        if name == "plain":
            average = make()
            average.load_state_dict(init)
            ema_update(average, model, 1)
            for k, p in average.named_parameters():
                out[f"{name}.ema1.{k}"] = p.detach().clone()
        print(f"  {name}: loss {loss.item():.6f}, {sum(p.numel() for p in model.parameters())} parameters")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_file({k: v.detach().float().contiguous() for k, v in sorted(out.items())}, path)
    print(f"wrote {path}: {len(out)} tensors, {os.path.getsize(path)} bytes")


# ----------------------------------------------------------------------------------------------
# Data, training, sampling


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, h, w = np.frombuffer(data[:16], dtype=">u4")
    assert magic == 2051, path
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, h, w)


def training_images(data_dir, limit):
    """The first `limit` Fashion-MNIST training images in [-1, 1] (task.rs `to_model_range`)."""
    images = read_idx_images(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
    if limit:
        images = images[:limit]
    x = images.astype(np.float32) / 255.0
    return torch.from_numpy(2.0 * x - 1.0).unsqueeze(1)


def train_epoch(model, average, opt, images, rng, gen, step, sqrt_ab, sqrt_1m_ab):
    """One epoch of task.rs: shuffled batches of 64 (the last one smaller), returns (mean loss,
    optimizer steps so far)."""
    n = len(images)
    order = torch.from_numpy(rng.permutation(n))
    total, batches = 0.0, 0
    for start in range(0, n, BATCH):
        idx = order[start:start + BATCH]
        x0 = images[idx]
        t = torch.randint(0, T_TRAIN, (len(idx),), generator=gen)
        eps = torch.randn(x0.shape, generator=gen)
        xt = sqrt_ab[t][:, None, None, None] * x0 + sqrt_1m_ab[t][:, None, None, None] * eps
        loss = (model(xt, t.tolist()) - eps).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        ema_update(average, model, step)
        total += loss.item()
        batches += 1
    return total / batches, step


def scheduler(kind):
    from diffusers import DDIMScheduler, DDPMScheduler

    cls = DDIMScheduler if kind == "ddim" else DDPMScheduler
    # diffusers' defaults are dae's: linear 1e-4..0.02, leading timesteps, clip_sample 1.0.
    return cls(num_train_timesteps=T_TRAIN, beta_schedule="linear", prediction_type="epsilon",
               clip_sample=True, clip_sample_range=1.0)


@torch.no_grad()
def draw(model, n, s, steps, seed, batch=128, side=28):
    """`n` samples of `model` with the diffusers scheduler `s` (in [0, 1])."""
    kind = "ddim" if type(s).__name__ == "DDIMScheduler" else "ddpm"
    s.set_timesteps(steps)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        m = min(batch, n - start)
        x = torch.randn(m, 1, side, side, generator=gen)
        for t in s.timesteps:
            eps = model(x, [int(t)] * m)
            kw = dict(eta=0.0) if kind == "ddim" else dict(generator=gen)
            x = s.step(eps, t, x, **kw).prev_sample
        out.append(((x + 1) / 2).clamp(0, 1))
    return torch.cat(out)


def new_models(width, seed):
    torch.manual_seed(seed)
    model = TimeUnet(width=width, depth=2)
    average = TimeUnet(width=width, depth=2)
    average.load_state_dict(model.state_dict())
    average.requires_grad_(False)
    return model, average


def schedule_tensors():
    ab = alpha_bars()
    return torch.from_numpy(np.sqrt(ab)).float(), torch.from_numpy(np.sqrt(1 - ab)).float()


def bench(args):
    torch.set_num_threads(args.threads)
    images = training_images(args.data, args.train_limit)
    model, average = new_models(args.width, args.seed)
    opt = adamw(model.parameters())
    rng, gen = np.random.default_rng(args.seed), torch.Generator().manual_seed(args.seed)
    sqrt_ab, sqrt_1m_ab = schedule_tensors()
    start = time.perf_counter()
    loss, step = train_epoch(model, average, opt, images, rng, gen, 0, sqrt_ab, sqrt_1m_ab)
    epoch_s = time.perf_counter() - start
    average.eval()
    s = scheduler("ddim")  # imports diffusers outside the timed part
    start = time.perf_counter()
    draw(average, args.samples, s, 50, args.seed)
    sample_s = time.perf_counter() - start
    print(json.dumps({
        "framework": "pytorch", "torch": torch.__version__, "threads": args.threads,
        "width": args.width, "depth": 2, "train_images": len(images), "batch": BATCH,
        "steps": step, "train_loss": round(loss, 6), "epoch_s": round(epoch_s, 3),
        "train_images_per_s": round(len(images) / epoch_s, 2),
        "sample": {"sampler": "ddim", "steps": 50, "batch": 128, "images": args.samples,
                   "seconds": round(sample_s, 3), "images_per_s": round(args.samples / sample_s, 3)},
    }))


def train(args):
    torch.set_num_threads(args.threads)
    images = training_images(args.data, args.train_limit)
    model, average = new_models(args.width, args.seed)
    opt = adamw(model.parameters())
    rng, gen = np.random.default_rng(args.seed), torch.Generator().manual_seed(args.seed)
    sqrt_ab, sqrt_1m_ab = schedule_tensors()
    step = 0
    os.makedirs(args.out, exist_ok=True)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss, step = train_epoch(model, average, opt, images, rng, gen, step, sqrt_ab, sqrt_1m_ab)
        print(f"epoch {epoch}: train loss {loss:.5f}  {time.perf_counter() - start:.1f}s", file=sys.stderr)
        torch.save({"width": args.width, "depth": 2, "net": model.state_dict(), "ema": average.state_dict(),
                    "epoch": epoch, "steps": step}, os.path.join(args.out, "model.pt"))


def sample(args):
    from PIL import Image

    torch.set_num_threads(args.threads)
    saved = torch.load(os.path.join(args.run, "model.pt"))
    model = TimeUnet(width=saved["width"], depth=saved["depth"])
    model.load_state_dict(saved["ema"])
    model.eval()
    steps = args.steps or (1000 if args.sampler == "ddpm" else 50)
    images = draw(model, args.n, scheduler(args.sampler), steps, args.seed)
    os.makedirs(args.o, exist_ok=True)
    for i, img in enumerate(images):
        pixels = (img[0].numpy() * 255.0).round().astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(os.path.join(args.o, f"{i:05}.png"))
    print(f"wrote {len(images)} samples to {args.o}", file=sys.stderr)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("fixtures", help="write torch_diffusion.safetensors")
    f.add_argument("out", nargs="?", default=os.path.join(
        here, "..", "crates", "dae", "tests", "fixtures", "torch_diffusion.safetensors"))
    for name in ["bench", "train", "sample"]:
        s = sub.add_parser(name)
        s.add_argument("--threads", type=int, default=1)
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
        if name != "sample":
            s.add_argument("--train-limit", type=int, default=None)
            s.add_argument("--width", type=int, default=16)
        if name == "bench":
            s.add_argument("--samples", type=int, default=128, help="images to sample (DDIM 50)")
        if name == "train":
            s.add_argument("--out", required=True)
            s.add_argument("--epochs", type=int, default=1)
        if name == "sample":
            s.add_argument("--run", required=True)
            s.add_argument("-n", type=int, default=64)
            s.add_argument("--sampler", choices=["ddpm", "ddim"], default="ddim")
            s.add_argument("--steps", type=int, default=None)
            s.add_argument("-o", required=True)
    a = p.parse_args()
    {"fixtures": lambda: fixtures(a.out), "bench": lambda: bench(a), "train": lambda: train(a),
     "sample": lambda: sample(a)}[a.mode]()


if __name__ == "__main__":
    main()
