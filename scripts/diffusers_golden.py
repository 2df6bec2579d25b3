#!/usr/bin/env python3
"""Golden values from Python diffusers for dae's diffusion core (crates/dae/src/diffusion/).

Writes crates/dae/tests/fixtures/diffusers_schedulers.json, which
crates/dae/tests/diffusers_agreement.rs reads (no Python needed there) and checks to 1e-6:

- "schedules": for the linear (diffusers "linear", beta 1e-4..0.02) and cosine
  ("squaredcos_cap_v2") schedules with T = 1000 and T = 50, `betas` and `alphas_cumprod` exactly
  as a default DDPMScheduler holds them (float32, upcast); for T = 50 also `alphas_cumprod_f64`,
  the same scheduler built in float64 (see below).
- "timesteps": `scheduler.timesteps` after `set_timesteps(steps)` (default "leading" spacing,
  steps_offset 0) for DDIM (T 1000: 1000, 100, 50, 30, 20, 10; T 50: 50, 10, 7) and DDPM
  (T 1000: 1000, 50, 30; T 50: 50, 7).
- "forward": `add_noise(x0, noise, t)` and `get_velocity(x0, noise, t)` at a few t.
- "steps": single `step` calls: DDPM (T steps and fewer), DDIM eta 0 and eta 1, each prediction
  type ("epsilon", "sample", "v_prediction"), clip_sample on (range 1) and off, at the first,
  a middle and the last timestep of the sampler's timesteps; each records the timestep, the
  previous one (null on the last step), `prev_sample` and `pred_original_sample`.

The inputs (`sample`, `model_output`, `noise`, `x0`: 16 values each) are float32 values drawn by
numpy's default_rng(0), written into the fixture as exact decimals, so both sides start from the
same numbers.

Steps and forward values are computed by diffusers' own `step`, `add_noise` and `get_velocity`
on float64 tensors, with the scheduler's buffers built in float64: during construction,
`torch.linspace` and `torch.tensor` are wrapped to return float64 where diffusers asks for
float32 or the default (the betas, `one`, `final_alpha_cumprod`). dae computes its schedule in
float64, and in float32 the cosine schedule's last alpha_bar (2.4e-9) carries a relative error of
~1e-5 that the step's division by sqrt(alpha_bar) would turn into differences far above 1e-6;
the float32 schedules are still checked, as "schedules" above.

The noise a step adds is passed explicitly: DDIMScheduler.step takes `variance_noise=`;
DDPMScheduler.step draws it with `randn_tensor(generator=...)`, so this script replaces
`diffusers.schedulers.scheduling_ddpm.randn_tensor` with a function returning the fixture's noise
(checking the shape and dtype it is asked for).

Values are written with 12 significant digits (the checks are at 1e-6).

Run: `/tmp/torch-venv/bin/pip install diffusers` once, then
`/tmp/torch-venv/bin/python scripts/diffusers_golden.py`.
"""

import contextlib
import json
import os

import diffusers
import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from diffusers.schedulers import scheduling_ddpm

KINDS = {"linear": "linear", "cosine": "squaredcos_cap_v2"}
PREDICTIONS = ["epsilon", "sample", "v_prediction"]
N = 16
OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "crates", "dae", "tests", "fixtures", "diffusers_schedulers.json",
)


def num(v):
    """A float64 rounded to 12 significant digits (keeps the fixture small)."""
    return float(f"{v:.12g}")


def values(t):
    return [num(v) for v in t.double().flatten().tolist()]


@contextlib.contextmanager
def float64_buffers():
    """Makes the float32 tensors a scheduler's constructor creates float64."""
    linspace, tensor = torch.linspace, torch.tensor

    def linspace64(*args, **kwargs):
        kwargs["dtype"] = torch.float64
        return linspace(*args, **kwargs)

    def tensor64(data, *args, **kwargs):
        if kwargs.get("dtype") in (None, torch.float32):
            kwargs["dtype"] = torch.float64
        return tensor(data, *args, **kwargs)

    torch.linspace, torch.tensor = linspace64, tensor64
    try:
        yield
    finally:
        torch.linspace, torch.tensor = linspace, tensor


def scheduler(cls, kind, train_steps, f64, prediction="epsilon", clip=False):
    kwargs = dict(
        num_train_timesteps=train_steps,
        beta_schedule=KINDS[kind],
        prediction_type=prediction,
        clip_sample=clip,
        clip_sample_range=1.0,
    )
    if not f64:
        return cls(**kwargs)
    with float64_buffers():
        s = cls(**kwargs)
    assert s.alphas_cumprod.dtype == torch.float64
    extra = s.one if cls is DDPMScheduler else s.final_alpha_cumprod
    assert extra.dtype == torch.float64 and float(extra) == 1.0
    return s


def main():
    rng = np.random.default_rng(0)
    inputs = {
        name: rng.standard_normal(N).astype(np.float32).astype(np.float64)
        for name in ["sample", "model_output", "noise", "x0"]
    }
    # Shaped (batch 1, 16): DDPMScheduler.step reads the channel dimension.
    tensors = {k: torch.from_numpy(v)[None] for k, v in inputs.items()}

    def fixed_noise(shape, generator=None, device=None, dtype=None):
        assert tuple(shape) == (1, N) and dtype == torch.float64, (shape, dtype)
        return tensors["noise"].clone()

    scheduling_ddpm.randn_tensor = fixed_noise

    schedules = []
    for kind in KINDS:
        for train_steps in [1000, 50]:
            s = scheduler(DDPMScheduler, kind, train_steps, f64=False)
            d = scheduler(DDIMScheduler, kind, train_steps, f64=False)
            assert torch.equal(s.alphas_cumprod, d.alphas_cumprod)
            entry = {
                "kind": kind,
                "train_steps": train_steps,
                "betas": values(s.betas),
                "alphas_cumprod": values(s.alphas_cumprod),
            }
            if train_steps == 50:
                s64 = scheduler(DDPMScheduler, kind, train_steps, f64=True)
                entry["alphas_cumprod_f64"] = values(s64.alphas_cumprod)
            schedules.append(entry)

    timesteps = []
    counts = {
        ("ddim", 1000): [1000, 100, 50, 30, 20, 10],
        ("ddim", 50): [50, 10, 7],
        ("ddpm", 1000): [1000, 50, 30],
        ("ddpm", 50): [50, 7],
    }
    for (sampler, train_steps), steps_list in counts.items():
        cls = DDIMScheduler if sampler == "ddim" else DDPMScheduler
        for steps in steps_list:
            s = scheduler(cls, "linear", train_steps, f64=False)
            s.set_timesteps(steps)
            timesteps.append({
                "sampler": sampler,
                "train_steps": train_steps,
                "steps": steps,
                "timesteps": [int(t) for t in s.timesteps.tolist()],
            })

    forward = []
    for kind in KINDS:
        s = scheduler(DDPMScheduler, kind, 1000, f64=True)
        for t in [0, 1, 500, 999]:
            tt = torch.tensor([t])
            noisy = s.add_noise(tensors["x0"], tensors["noise"], tt)
            velocity = s.get_velocity(tensors["x0"], tensors["noise"], tt)
            forward.append({
                "kind": kind, "train_steps": 1000, "t": t,
                "add_noise": values(noisy), "velocity": values(velocity),
            })

    # (sampler, eta, train_steps, inference steps)
    samplers = [
        ("ddpm", None, 1000, 1000),
        ("ddpm", None, 1000, 50),
        ("ddim", 0.0, 1000, 50),
        ("ddim", 1.0, 1000, 20),
        ("ddpm", None, 50, 50),
        ("ddim", 0.0, 50, 10),
        ("ddim", 1.0, 50, 7),
    ]
    steps = []
    for kind in KINDS:
        for sampler, eta, train_steps, count in samplers:
            for prediction in PREDICTIONS:
                for clip in [False, True]:
                    cls = DDIMScheduler if sampler == "ddim" else DDPMScheduler
                    s = scheduler(cls, kind, train_steps, True, prediction, clip)
                    s.set_timesteps(count)
                    ts = [int(t) for t in s.timesteps.tolist()]
                    for i in [0, len(ts) // 2, len(ts) - 1]:
                        t = ts[i]
                        args = (tensors["model_output"], t, tensors["sample"])
                        if sampler == "ddim":
                            kw = {"eta": eta}
                            if eta > 0:
                                kw["variance_noise"] = tensors["noise"]
                            out = s.step(*args, **kw)
                        else:
                            out = s.step(*args)
                        assert out.prev_sample.dtype == torch.float64
                        steps.append({
                            "kind": kind, "sampler": sampler, "eta": eta,
                            "train_steps": train_steps, "steps": count,
                            "prediction": prediction, "clip_sample": clip,
                            "t": t, "prev": ts[i + 1] if i + 1 < len(ts) else None,
                            "prev_sample": values(out.prev_sample),
                            "pred_original_sample": values(out.pred_original_sample),
                        })

    fixture = {
        "generator": "scripts/diffusers_golden.py",
        "diffusers": diffusers.__version__,
        "torch": torch.__version__.split("+")[0],
        "inputs": {k: [float(x) for x in v] for k, v in inputs.items()},
        "schedules": schedules,
        "timesteps": timesteps,
        "forward": forward,
        "steps": steps,
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"{OUT}: {os.path.getsize(OUT)} bytes, {len(steps)} steps")


if __name__ == "__main__":
    main()
