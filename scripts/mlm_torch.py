#!/usr/bin/env python3
"""The PyTorch twin of dae's masked language model (crates/dae/src/tasks/text/model.rs).

`TextMlm` is built from PyTorch's own modules, with the settings under which they compute what
Burn's do:

- `token_embedding`: `nn.Embedding(vocab, d)`; positions either learned, `position_embedding`
  (`nn.Embedding(max_len, d)`), or fixed sinusoids computed in float32 exactly as Burn's
  `generate_sinusoids` does (sin and cos interleaved per frequency, time scale 10,000), a
  non-persistent buffer (not in the `state_dict()`, as dae writes none);
- `encoder`: `nn.TransformerEncoder` of `nn.TransformerEncoderLayer(d, heads, d_ff, dropout,
  activation="gelu" (exact erf GELU, Burn's `Gelu`), layer_norm_eps=1e-5, batch_first=True,
  norm_first=True)`; scores scaled by 1/sqrt(d / heads) in both; dae uses no padding or
  attention mask (its sequences are all `--seq-len` long);
- `norm`: `nn.LayerNorm(d, eps=1e-5)` (Burn's default epsilon); `head`: `nn.Linear(d, vocab)`.

dae's `model.safetensors` holds exactly this `state_dict()` (docs/torch.md; Burn's separate
query, key and value projections packed into `self_attn.in_proj_weight`).

Modes:

    scripts/mlm_torch.py fixtures [--out crates/dae/tests/fixtures]
        Writes mlm_torch.safetensors: for learned and sinusoidal positions, a small model's
        weights (every parameter drawn from the seed, layer norms off ones and zeros), its logits
        on a token batch, the masked-token cross-entropy (mean over the masked positions, dae's
        loss), every parameter's gradient and the weights after one AdamW step with dae's text
        defaults (lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01). Token ids and
        positions are stored as f32 (dae's TensorFile reads f32 only). The test
        crates/dae/tests/mlm_torch_agreement.rs compares dae against it.

    scripts/mlm_torch.py load RUN_DIR [--text "In the [MASK]"] [--dae-fill FILL.json]
        Loads RUN_DIR/model.safetensors into the twin (sized from the run's config.json) with
        load_state_dict(strict=True). With --text (character runs), prints the twin's top
        predictions for each [MASK]; with --dae-fill, the output of `dae fill RUN_DIR TEXT
        --json --top-k K` (one JSON line per mask), prints the largest difference between dae's
        probabilities and the twin's.

    scripts/mlm_torch.py bench [--threads 1,2] [--steps 20] [--vocab 70]
        Tokens per second of training steps (forward, masked cross-entropy, backward, AdamW) at
        dae's default text sizes: d 128, 2 layers, 4 heads, d_ff 512, sequences of 64, batch 32,
        a character vocabulary (--vocab: a char run's vocab_size), 15% of the positions
        predicted; after 3 warm-up steps, --steps are timed; one JSON line per thread count.

Environment: Python 3 with torch (CPU), numpy and safetensors, e.g. /tmp/torch-venv/bin/python.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

MASK_ID = 1
FIRST_REGULAR = 2
# dae's text defaults (crates/dae/src/tasks/text/config.rs, train/adamw.rs).
LR, BETAS, EPS, WEIGHT_DECAY = 2e-3, (0.9, 0.999), 1e-8, 0.01


def burn_sinusoids(length, d_model, max_timescale=10_000):
    """Burn's `generate_sinusoids`, operation for operation in float32: row i holds
    sin(i·f_k), cos(i·f_k) for f_k = exp(k·(−ln(timescale)/d)), k = 0, 2, 4, …"""
    increment = np.float32(-np.log(np.float32(max_timescale))) / np.float32(d_model)
    k = np.arange(0, d_model, 2, dtype=np.float32)
    frequency = np.exp(k * increment).astype(np.float32)
    angle = frequency[None, :] * np.arange(length, dtype=np.float32)[:, None]
    table = np.empty((length, d_model), dtype=np.float32)
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle)
    return torch.from_numpy(table)


class TextMlm(nn.Module):
    """dae's MaskedLanguageModel: tokens [batch, seq] -> logits [batch, seq, vocab]."""

    def __init__(self, vocab, max_len, d_model, n_heads, n_layers, d_ff, positions="sinusoidal",
                 dropout=0.0):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, d_model)
        if positions == "learned":
            self.position_embedding = nn.Embedding(max_len, d_model)
        else:
            self.position_embedding = None
            self.register_buffer("sinusoids", burn_sinusoids(max_len, d_model), persistent=False)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout, activation="gelu",
                                           layer_norm_eps=1e-5, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model, eps=1e-5)
        self.head = nn.Linear(d_model, vocab)

    def hidden(self, tokens):
        length = tokens.shape[1]
        x = self.token_embedding(tokens)
        if self.position_embedding is not None:
            x = x + self.position_embedding.weight[:length]
        else:
            x = x + self.sinusoids[:length]
        return self.norm(self.encoder(x))

    def forward(self, tokens):
        return self.head(self.hidden(tokens))


def masked_loss(logits, rows, targets):
    """dae's loss: −(1/|M|) Σ_{t∈M} log p(x_t | x̃) over the flattened masked positions M."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1])[rows], targets)


def twin_of_run(run):
    """The twin sized from a text run's config.json, with the run's weights loaded strictly."""
    with open(os.path.join(run, "config.json")) as f:
        c = json.load(f)["model"]
    model = TextMlm(c["vocab_size"], c["max_len"], c["d_model"], c["n_heads"], c["n_layers"],
                    c["d_ff"], c.get("positions", "sinusoidal"))
    model.load_state_dict(load_file(os.path.join(run, "model.safetensors")), strict=True)
    return model.eval(), c


def encode_chars(run, text):
    """A character run's token ids of `text` ([MASK] -> the mask id; unknown -> [UNK])."""
    with open(os.path.join(run, "vocab.json")) as f:
        vocab = json.load(f)
    if vocab["kind"] != "char":
        raise SystemExit("--text needs a character run (--tokenizer char)")
    ids = {t: i for i, t in enumerate(vocab["tokens"])}
    out = []
    for i, piece in enumerate(text.split("[MASK]")):
        if i > 0:
            out.append(MASK_ID)
        out.extend(ids.get(ch, 0) for ch in piece)
    return out, vocab["tokens"]


def load(a):
    model, c = twin_of_run(a.run)
    n = sum(p.numel() for p in model.parameters())
    print(f"{a.run}/model.safetensors: loaded (strict) into TextMlm, {n} weights, "
          f"{c['n_layers']} layers of width {c['d_model']}, {c.get('positions')} positions")
    if not a.text:
        return
    ids, tokens = encode_chars(a.run, a.text)
    if len(ids) > c["max_len"]:
        raise SystemExit(f"the text is {len(ids)} tokens long; the model takes at most {c['max_len']}")
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([ids])), dim=-1)[0]
    masks = [i for i, t in enumerate(ids) if t == MASK_ID]
    for i in masks:
        top = torch.topk(probs[i], 5)
        shown = ", ".join(f"{tokens[j]!r} {p:.4f}" for p, j in zip(top.values.tolist(), top.indices.tolist()))
        print(f"position {i}: {shown}")
    if a.dae_fill:
        with open(a.dae_fill) as f:
            masks_of_dae = [json.loads(line) for line in f if line.strip()]
        index = {t: j for j, t in enumerate(tokens)}
        worst, count = 0.0, 0
        for m in masks_of_dae:
            for p in m["predictions"]:
                twin = probs[m["position"], index[p["token"]]].item()
                worst, count = max(worst, abs(twin - p["probability"])), count + 1
        print(f"dae fill vs the twin: max |p_dae - p_torch| {worst:.3e} over {count} probabilities")


def fill_parameters(model, generator):
    """Every parameter drawn from `generator`: weights uniform in ±1/sqrt(fan in) (embeddings
    N(0, 1)), biases small, layer norms 1 ± 0.2 and ±0.1, so that no two layers are alike (the
    encoder's deep copies start equal) and a swapped norm would show."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embedding" in name:
                p.copy_(torch.randn(p.shape, generator=generator))
            elif "norm" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * (torch.rand(p.shape, generator=generator) - 0.5))
            else:
                fan_in = p.shape[-1] if p.dim() == 2 else model.head.in_features
                bound = 1.0 / math.sqrt(fan_in)
                p.copy_((2 * torch.rand(p.shape, generator=generator) - 1) * bound)


def fixtures(a):
    vocab, seq, batch, d_model, heads, layers, d_ff = 19, 12, 3, 16, 4, 2, 40
    generator = torch.Generator().manual_seed(17)
    clean = torch.randint(FIRST_REGULAR, vocab, (batch, seq), generator=generator)
    # BERT masking as dae draws it: positions chosen, most become [MASK], some a random token,
    # some kept; one [UNK] in the input too.
    chosen = torch.rand(batch * seq, generator=generator) < 0.3
    chosen[[0, seq + 5, 2 * seq + 11]] = True
    rows = chosen.nonzero().flatten()
    noisy = clean.flatten().clone()
    kind = torch.rand(len(rows), generator=generator)
    random_ids = torch.randint(FIRST_REGULAR, vocab, (len(rows),), generator=generator)
    noisy[rows] = torch.where(kind < 0.8, torch.full_like(random_ids, MASK_ID),
                              torch.where(kind < 0.9, random_ids, noisy[rows]))
    noisy[7] = 0
    noisy = noisy.view(batch, seq)
    targets = clean.flatten()[rows]
    out = {
        "sizes": torch.tensor([vocab, seq, batch, d_model, heads, layers, d_ff], dtype=torch.float32),
        "adamw": torch.tensor([LR, BETAS[0], BETAS[1], EPS, WEIGHT_DECAY], dtype=torch.float32),
        "tokens": noisy.float(),
        "rows": rows.float(),
        "targets": targets.float(),
    }
    for positions in ["learned", "sinusoidal"]:
        model = TextMlm(vocab, seq, d_model, heads, layers, d_ff, positions)
        fill_parameters(model, generator)
        out.update({f"{positions}.init.{k}": v.clone() for k, v in model.state_dict().items()})
        logits = model(noisy)
        loss = masked_loss(logits, rows, targets)
        # The loss as PyTorch's own sum of per-row terms: the mean over M and nothing else.
        per_row = -torch.log_softmax(logits.reshape(-1, vocab)[rows], dim=-1).gather(1, targets[:, None])
        assert torch.allclose(loss, per_row.mean())
        loss.backward()
        optimizer = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS,
                                      weight_decay=WEIGHT_DECAY)
        out[f"{positions}.logits"] = logits.detach().clone()
        out[f"{positions}.loss"] = loss.detach().reshape(1)
        out.update({f"{positions}.grad.{k}": p.grad.clone() for k, p in model.named_parameters()})
        optimizer.step()
        out.update({f"{positions}.step1.{k}": v.clone() for k, v in model.state_dict().items()})
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "mlm_torch.safetensors")
    save_file({k: v.float().contiguous() for k, v in out.items()}, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(rows)} masked positions, "
          f"torch {torch.__version__})")


def bench(a):
    # --vocab: the character vocabulary of dae's embedded Bible (a char run's config.json).
    vocab, seq, batch = a.vocab, 64, 32
    for threads in a.threads:
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        model = TextMlm(vocab, seq, 128, 4, 2, 512, "sinusoidal").train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS,
                                      weight_decay=WEIGHT_DECAY)
        tokens = torch.randint(FIRST_REGULAR, vocab, (batch, seq))
        rows = (torch.rand(batch * seq) < 0.15).nonzero().flatten()
        targets = tokens.flatten()[rows]

        def step():
            optimizer.zero_grad(set_to_none=True)
            logits = model.head(model.hidden(tokens).reshape(-1, 128)[rows])
            F.cross_entropy(logits, targets).backward()
            optimizer.step()

        for _ in range(3):
            step()
        start = time.perf_counter()
        for _ in range(a.steps):
            step()
        seconds = time.perf_counter() - start
        print(json.dumps({"threads": threads, "steps": a.steps, "seconds": round(seconds, 3),
                          "tokens_per_second": round(a.steps * batch * seq / seconds),
                          "torch": torch.__version__}))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fixtures", help="write mlm_torch.safetensors")
    f.add_argument("--out", default=os.path.join(here, "..", "crates", "dae", "tests", "fixtures"))
    lo = sub.add_parser("load", help="load a text run's model.safetensors strictly")
    lo.add_argument("run")
    lo.add_argument("--text")
    lo.add_argument("--dae-fill")
    b = sub.add_parser("bench", help="PyTorch training tokens/s at dae's default text sizes")
    b.add_argument("--threads", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2])
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--vocab", type=int, default=70)
    a = p.parse_args()
    {"fixtures": fixtures, "load": load, "bench": bench}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
