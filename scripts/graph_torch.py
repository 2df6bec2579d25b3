#!/usr/bin/env python3
"""The PyTorch twin of dae's graph autoencoder (crates/dae/src/tasks/graph/), in plain PyTorch.

No PyTorch Geometric: the model is written out as dae computes it, so that the two can be
compared number for number.

- A two-layer GCN encoder (Kipf & Welling 2017), weights `[in, out]` Glorot-uniform, zero
  biases, `Â·(H·W) + b` with `Â = D̃^{-1/2}(A + I)D̃^{-1/2}` (d̃ = degree + 1) applied sparsely:
  `index_select` of the source rows, a scale by the entry's weight, `index_add_` into the
  destination rows. The input layer `X̃·W` gathers the weight rows of each nonzero feature.
- ReLU on the hidden layer; an optional VGAE head for the log standard deviation (clamped at
  10); an optional learned mask token (a masked node's input row) and a one-layer GCN feature
  decoder that sees the masked nodes' codes re-masked to zero (GraphMAE).
- The losses of task.rs: `full_adjacency_loss` (Kipf's weighted BCE over every pair, self loops
  included), `edge_loss` (BCE on positives and given negatives, each side averaged), the VGAE KL
  term, `scaled_cosine_error` (GraphMAE's SCE).
- AdamW with dae's settings (train/adamw.rs): PyTorch's defaults, betas (0.9, 0.999), eps 1e-8,
  decoupled weight decay.

Two modes:

    scripts/graph_torch.py fixtures [--out crates/dae/tests/fixtures]
        Writes torch_graph.safetensors: a tiny graph (16 nodes, 10 features with values other
        than 1, 21 edges, one isolated node, one node without features), the initial weights,
        the codes, each loss and the weights after AdamW steps; every tensor is f32 (indices
        too: dae's TensorFile reads f32 only, and these are small integers). The test
        crates/dae/tests/graph_torch_agreement.rs compares dae against it. The losses are also
        checked here against PyTorch's own BCE-with-logits and cosine similarity.

    scripts/graph_torch.py gat-fixture [--out crates/dae/tests/fixtures]
        Writes graph_gat_torch.safetensors: the GAT autoencoder (gat.rs, gat_model.rs; written
        densely here, attention as a masked [heads, destination, source] matrix) on the same
        graph's kept edges and masked nodes: initial weights under dae's names, the codes, the
        decoded rows, the SCE loss and the weights after one AdamW step
        (graph_torch_agreement.rs's `gat_forward_and_one_adamw_step_match_pytorch`).

    scripts/graph_torch.py bench [--threads 1,2] [--repeat 3] [--data data/cora]
        Times full-batch training steps on Cora for dae's two default recipes (config.rs):
        edges (GCN 1433 -> 32 -> 16, full-adjacency loss, lr 0.01, no weight decay, message
        passing on a fixed 85% of the edges) and features (1433 -> 512 -> 512, half the nodes
        masked per step, SCE γ 3, GCN decoder, lr 0.001, weight decay 2e-4). One epoch is 10
        steps (dae's `steps_per_epoch`); after one warm-up epoch, `--repeat` epochs are timed
        and their median printed, one JSON line per recipe and thread count on stdout.

Environment: Python 3 with torch (CPU), numpy and safetensors, e.g. /tmp/torch-venv/bin/python
(`python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy safetensors`).
scripts/bench_graph_vs_pytorch.sh runs the bench beside dae.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MAX_LOG_STD = 10.0


# ----------------------------------------------------------------------------------------------
# The model


class Propagation:
    """`Â` with self loops as weighted (source, destination) entries, as model.rs builds it."""

    def __init__(self, nodes, edges):
        degree = np.ones(nodes, dtype=np.float64)
        for a, b in edges:
            degree[a] += 1.0
            degree[b] += 1.0
        src, dst, w = list(range(nodes)), list(range(nodes)), list(1.0 / degree)
        for a, b in edges:
            weight = 1.0 / np.sqrt(degree[a] * degree[b])
            src += [a, b]
            dst += [b, a]
            w += [weight, weight]
        self.nodes = nodes
        self.source = torch.tensor(src, dtype=torch.long)
        self.destination = torch.tensor(dst, dtype=torch.long)
        self.weight = torch.tensor(np.array(w, dtype=np.float64).astype(np.float32)).unsqueeze(1)

    def propagate(self, h):
        messages = h.index_select(0, self.source) * self.weight
        return torch.zeros(self.nodes, h.shape[1], dtype=h.dtype).index_add_(0, self.destination, messages)

    def dense(self):
        a = torch.zeros(self.nodes, self.nodes)
        a.index_put_((self.destination, self.source), self.weight.squeeze(1), accumulate=True)
        return a


class FeatureInput:
    """The encoder's sparse input: kept entries (node, feature, value) and the masked nodes."""

    def __init__(self, node, feature, value, masked=None):
        self.node, self.feature, self.value, self.masked = node, feature, value.unsqueeze(1), masked


def feature_input(nodes, entries, masked_nodes=(), normalize=True):
    """task.rs's `feature_input`: entries `(node, feature, value)` of the unmasked nodes, each
    node's values divided by their (f32) sum when `normalize`; `masked` `[nodes, 1]` or None."""
    masked = set(int(i) for i in masked_nodes)
    sums = {}
    for i, _, v in entries:
        sums[i] = np.float32(sums.get(i, np.float32(0.0)) + np.float32(v))
    node, feature, value = [], [], []
    for i, f, v in entries:
        if i in masked:
            continue
        s = sums[i]
        scale = np.float32(1.0) / s if normalize and s != 0 else np.float32(1.0)
        node.append(i)
        feature.append(f)
        value.append(np.float32(v) * scale)
    m = None
    if masked:
        m = torch.zeros(nodes, 1)
        m[sorted(masked)] = 1.0
    return FeatureInput(torch.tensor(node, dtype=torch.long), torch.tensor(feature, dtype=torch.long),
                        torch.tensor(np.array(value, dtype=np.float32)), m)


def glorot(fan_in, fan_out, generator=None):
    bound = (6.0 / (fan_in + fan_out)) ** 0.5
    return (torch.rand(fan_in, fan_out, generator=generator) * 2.0 - 1.0) * bound


class GcnLayer(nn.Module):
    """`Â · (h · W) + b`, W `[in, out]`."""

    def __init__(self, fan_in, fan_out, generator=None):
        super().__init__()
        self.weight = nn.Parameter(glorot(fan_in, fan_out, generator))
        self.bias = nn.Parameter(torch.zeros(fan_out))

    def forward(self, h, graph):
        return graph.propagate(h @ self.weight) + self.bias


class GraphAutoencoder(nn.Module):
    """model.rs's `GraphAutoencoder`: GCN encoder, optional VGAE head, mask token and decoder."""

    def __init__(self, input_dim, hidden_dim, code_dim, variational=False, feature_decoder=False, generator=None):
        super().__init__()
        self.layer1 = GcnLayer(input_dim, hidden_dim, generator)
        self.layer2 = GcnLayer(hidden_dim, code_dim, generator)
        self.log_std = GcnLayer(hidden_dim, code_dim, generator) if variational else None
        self.mask_token = nn.Parameter(torch.zeros(1, input_dim)) if feature_decoder else None
        self.decoder = GcnLayer(code_dim, input_dim, generator) if feature_decoder else None

    def input_product(self, x, nodes):
        w = self.layer1.weight
        rows = w.index_select(0, x.feature) * x.value
        product = torch.zeros(nodes, w.shape[1]).index_add_(0, x.node, rows)
        if x.masked is not None and self.mask_token is not None:
            product = product + x.masked @ (self.mask_token @ w)
        return product

    def encode(self, x, graph):
        hidden = torch.relu(graph.propagate(self.input_product(x, graph.nodes)) + self.layer1.bias)
        mean = self.layer2(hidden, graph)
        log_std = self.log_std(hidden, graph).clamp(max=MAX_LOG_STD) if self.log_std is not None else None
        return mean, log_std

    def decode_features(self, codes, masked, graph, rows=None):
        if masked is not None:
            codes = codes * (1.0 - masked)
        mixed = graph.propagate(codes)
        if rows is not None:
            mixed = mixed.index_select(0, rows)
        return mixed @ self.decoder.weight + self.decoder.bias


# ----------------------------------------------------------------------------------------------
# The losses of task.rs


def edge_logits(z, a, b):
    return (z.index_select(0, a) * z.index_select(0, b)).sum(1)


def edge_loss(z, positive, negative):
    pos = -F.logsigmoid(edge_logits(z, positive[:, 0], positive[:, 1])).mean()
    neg = -F.logsigmoid(-edge_logits(z, negative[:, 0], negative[:, 1])).mean()
    return pos + neg


def adjacency_target(n, edges):
    target = torch.eye(n)
    target[edges[:, 0], edges[:, 1]] = 1.0
    target[edges[:, 1], edges[:, 0]] = 1.0
    return target


def full_adjacency_loss(z, edges, target=None):
    n = z.shape[0]
    if target is None:
        target = adjacency_target(n, edges)
    # Kipf & Welling weigh the classes by the edges alone; the diagonal is a positive label.
    ones = float(2 * edges.shape[0])
    zeros = float(n * n) - ones
    logits = z @ z.t()
    log_p = F.logsigmoid(logits)
    positive = target * log_p * (zeros / ones)
    negative = (1.0 - target) * (log_p - logits)
    norm = float(n * n) / (2.0 * zeros)
    return -(positive + negative).mean() * norm


def vgae_kl(mean, log_std):
    n = mean.shape[0]
    return (1.0 + 2.0 * log_std - mean ** 2 - torch.exp(2.0 * log_std)).sum(1).mean() * (-0.5 / n)


def scaled_cosine_error(reconstructed, target, gamma):
    def norm(t):
        return (t ** 2).sum(1, keepdim=True).add(1e-12).sqrt()

    cos = (reconstructed * target).sum(1, keepdim=True) / (norm(reconstructed) * norm(target))
    return (1.0 - cos).clamp(min=0.0).pow(gamma).mean()


def adamw(params, lr, weight_decay):
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)


# ----------------------------------------------------------------------------------------------
# Fixtures


def fixture_graph():
    """16 nodes: node 15 isolated, node 13 without features; 21 edges; 10 features."""
    edges = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (3, 4), (3, 5), (4, 6), (5, 6), (5, 7), (6, 8),
             (7, 8), (7, 9), (8, 10), (9, 10), (9, 11), (10, 12), (11, 12), (12, 13), (13, 14), (0, 14)]
    rng = np.random.RandomState(7)
    choices = np.array([1.0, 2.0, 0.5, 3.0, 1.5], dtype=np.float32)
    entries = []
    for i in range(16):
        if i == 13:
            continue
        count = 1 + rng.randint(3)
        features = sorted(rng.choice(10, size=count, replace=False).tolist())
        if i == 15:
            features = sorted(set(features) | {9})
        for f in features:
            entries.append((i, f, float(choices[rng.randint(len(choices))])))
    return 16, edges, entries


def snapshot(model, prefix):
    return {f"{prefix}.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def with_weights(init, variational, feature_decoder):
    """A model of the fixture's sizes holding the weights `init` (a state dict of every part)."""
    model = GraphAutoencoder(10, 8, 4, variational=variational, feature_decoder=feature_decoder)
    own = model.state_dict()
    model.load_state_dict({k: init[k].clone() for k in own})
    return model


def close(name, a, b, tol=1e-5):
    d = (a - b).abs().max().item()
    assert d <= tol, f"self-check {name}: max |diff| {d}"


def fixtures(out_dir):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20261201)
    n, edges, entries = fixture_graph()
    edges_t = torch.tensor(edges, dtype=torch.long)
    # Message passing of the "both" step: three edges dropped (the edge loss still sees all).
    dropped = {(3, 4), (9, 10), (0, 14)}
    kept = [e for e in edges if e not in dropped]
    masked_nodes = [1, 4, 7, 10, 15]
    edge_set = set(edges) | {(b, a) for a, b in edges}
    rng = np.random.RandomState(3)
    negatives = []
    while len(negatives) < len(edges):
        a, b = rng.randint(n), rng.randint(n)
        if a != b and (a, b) not in edge_set and (a, b) not in negatives:
            negatives.append((a, b))
    negatives_t = torch.tensor(negatives, dtype=torch.long)
    eps = torch.randn(n, 4, generator=gen)

    full = GraphAutoencoder(10, 8, 4, variational=True, feature_decoder=True, generator=gen)
    with torch.no_grad():
        full.mask_token.copy_(0.5 * torch.randn(1, 10, generator=gen))
    init = {k: v.detach().clone() for k, v in full.state_dict().items()}

    graph = Propagation(n, edges)
    kept_graph = Propagation(n, kept)
    x = feature_input(n, entries)
    x_masked = feature_input(n, entries, masked_nodes)
    dense = torch.zeros(n, 10)
    for i, f, v in entries:
        dense[i, f] = v
    rows = torch.tensor(masked_nodes, dtype=torch.long)
    gamma = 3.0

    out = {f"init.{k}": v.contiguous() for k, v in init.items()}
    out["graph.nodes"] = torch.tensor([float(n)])
    out["graph.edges"] = edges_t.float()
    out["graph.features"] = torch.tensor(entries, dtype=torch.float32)
    out["graph.kept_edges"] = torch.tensor(kept, dtype=torch.float32)
    out["masked_nodes"] = rows.float()
    out["negatives"] = negatives_t.float()
    out["eps"] = eps
    out["sce_gamma"] = torch.tensor([gamma])

    # Forward: the codes of the uncorrupted graph, and of the masked input on the kept edges.
    with torch.no_grad():
        mean, log_std = full.encode(x, graph)
        # Self-check of the sparse forms against dense products.
        xn = torch.zeros(n, 10)
        xn[x.node, x.feature] = x.value.squeeze(1)
        a = graph.dense()
        close("dense Â", a, a.t())
        hidden = torch.relu(a @ xn @ full.layer1.weight + full.layer1.bias)
        close("dense codes", mean, a @ hidden @ full.layer2.weight + full.layer2.bias)
        m_mean, _ = full.encode(x_masked, kept_graph)
        decoded = full.decode_features(m_mean, x_masked.masked, kept_graph, rows)
        out["x"] = xn
        out["codes.mean"] = mean
        out["codes.log_std"] = log_std
        out["codes_masked.mean"] = m_mean
        out["decoded"] = decoded

        # The losses, each checked against PyTorch's own formulation.
        loss_full = full_adjacency_loss(mean, edges_t)
        target = adjacency_target(n, edges_t)
        ones = float(2 * edges_t.shape[0])
        ref = (n * n / (2.0 * (n * n - ones))) * F.binary_cross_entropy_with_logits(
            mean @ mean.t(), target, pos_weight=torch.tensor((n * n - ones) / ones))
        close("full loss", loss_full, ref)
        loss_sampled = edge_loss(mean, edges_t, negatives_t)
        lp, ln = edge_logits(mean, edges_t[:, 0], edges_t[:, 1]), edge_logits(mean, negatives_t[:, 0], negatives_t[:, 1])
        ref = F.binary_cross_entropy_with_logits(lp, torch.ones_like(lp)) + \
            F.binary_cross_entropy_with_logits(ln, torch.zeros_like(ln))
        close("sampled loss", loss_sampled, ref)
        z = mean + eps * torch.exp(log_std)
        kl = vgae_kl(mean, log_std)
        var = torch.exp(log_std) ** 2
        ref = (0.5 * (var + mean ** 2 - 1.0 - torch.log(var))).sum(1).mean() / n
        close("KL", kl, ref)
        loss_vgae = full_adjacency_loss(z, edges_t) + kl
        loss_sce = scaled_cosine_error(decoded, dense[rows], gamma)
        ref = ((1.0 - F.cosine_similarity(decoded, dense[rows], dim=1)) ** gamma).mean()
        close("SCE", loss_sce, ref)
        loss_both = full_adjacency_loss(m_mean, edges_t) + loss_sce
        for k, v in [("full", loss_full), ("sampled", loss_sampled), ("vgae", loss_vgae),
                     ("vgae_kl", kl), ("sce", loss_sce), ("both", loss_both)]:
            out[f"loss.{k}"] = v.reshape(1)

    lr, decay = 0.01, 0.01
    # Three AdamW steps of the "both" objective (full edges + features) on the masked input.
    model = with_weights(init, variational=False, feature_decoder=True)
    opt = adamw(model.parameters(), lr, decay)
    for step in range(1, 4):
        m, _ = model.encode(x_masked, kept_graph)
        loss = full_adjacency_loss(m, edges_t) + scaled_cosine_error(
            model.decode_features(m, x_masked.masked, kept_graph, rows), dense[rows], gamma)
        if step == 1:
            close("both loss", loss.detach(), out["loss.both"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in (1, 3):
            out.update(snapshot(model, f"both.step{step}"))
    # One step of the sampled edge loss (GAE) and one of the VGAE loss with the given noise.
    model = with_weights(init, variational=False, feature_decoder=False)
    opt = adamw(model.parameters(), lr, decay)
    m, _ = model.encode(x, graph)
    opt.zero_grad()
    edge_loss(m, edges_t, negatives_t).backward()
    opt.step()
    out.update(snapshot(model, "sampled.step1"))
    model = with_weights(init, variational=True, feature_decoder=False)
    opt = adamw(model.parameters(), lr, decay)
    m, s = model.encode(x, graph)
    opt.zero_grad()
    (full_adjacency_loss(m + eps * torch.exp(s), edges_t) + vgae_kl(m, s)).backward()
    opt.step()
    out.update(snapshot(model, "vgae.step1"))

    from safetensors.torch import save_file

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "torch_graph.safetensors")
    save_file({k: v.detach().float().contiguous() for k, v in out.items()}, path)
    print(f"wrote {path}: {len(out)} tensors (torch {torch.__version__}); losses: "
          + ", ".join(f"{k[5:]} {v.item():.6f}" for k, v in out.items() if k.startswith("loss.")))


# ----------------------------------------------------------------------------------------------
# The GAT autoencoder (gat.rs, gat_model.rs), written densely: an independent form of dae's
# sparse one (attention as a [heads, destination, source] matrix, non-edges at -inf).


def gat_dense(h, p, name, adjacency, heads):
    """One GAT layer `name` of the parameters `p` on `h`, heads concatenated; `adjacency`
    [dst, src] is True on the entries of the graph with self loops."""
    z = h @ p[f"{name}.weight"]
    n, width = z.shape
    zh = z.view(n, heads, width // heads)
    source = (zh * p[f"{name}.attention_source"]).sum(-1)          # [n, heads]
    destination = (zh * p[f"{name}.attention_destination"]).sum(-1)
    e = F.leaky_relu(destination.t().unsqueeze(2) + source.t().unsqueeze(1), 0.2)
    alpha = torch.softmax(e.masked_fill(~adjacency, float("-inf")), dim=2)
    return torch.einsum("hij,jhd->ihd", alpha, zh).reshape(n, width) + p[f"{name}.bias"]


def gat_forward(p, x_dense, masked, adjacency, rows, heads):
    """GraphMAE's GAT autoencoder with PReLU: the codes, and the decoded rows `rows` of the codes
    mapped by `encoder_to_decoder` and re-masked (one-head GAT decoder)."""
    hidden = F.prelu(gat_dense(x_dense, p, "layer1", adjacency, heads), p["prelu1.weight"])
    codes = F.prelu(gat_dense(hidden, p, "layer2", adjacency, heads), p["prelu2.weight"])
    h = (codes @ p["encoder_to_decoder"]) * (1.0 - masked)
    return codes, gat_dense(h, p, "decoder", adjacency, 1)[rows]


def gat_fixture(out_dir):
    """graph_gat_torch.safetensors: the GAT autoencoder (10 features, 2 heads, 8 -> 4, PReLU,
    feature decoder) on the fixture graph's kept edges with its masked nodes: initial weights
    under dae's names (tasks/graph/torch.rs), codes, decoded rows, SCE loss, weights after one
    AdamW step."""
    gen = torch.Generator().manual_seed(20261202)
    n, edges, entries = fixture_graph()
    dropped = {(3, 4), (9, 10), (0, 14)}
    kept = [e for e in edges if e not in dropped]
    masked_nodes = [1, 4, 7, 10, 15]
    heads, gamma = 2, 3.0
    shapes = {"layer1": (10, 8, heads), "layer2": (8, 4, heads), "decoder": (4, 10, 1)}
    p = {}
    for name, (i, o, h) in shapes.items():
        p[f"{name}.weight"] = 0.5 * torch.randn(i, o, generator=gen)
        # Attention vectors large enough that logits fall on both sides of the LeakyReLU's kink.
        p[f"{name}.attention_source"] = 1.5 * torch.randn(h, o // h, generator=gen)
        p[f"{name}.attention_destination"] = 1.5 * torch.randn(h, o // h, generator=gen)
        p[f"{name}.bias"] = 0.1 * torch.randn(o, generator=gen)
    p["mask_token"] = 0.5 * torch.randn(1, 10, generator=gen)
    p["encoder_to_decoder"] = 0.5 * torch.randn(4, 4, generator=gen)
    p["prelu1.weight"] = torch.tensor([0.25])
    p["prelu2.weight"] = torch.tensor([0.1])
    for v in p.values():
        v.requires_grad_(True)
    out = {f"gat.init.{k}": v.detach().clone() for k, v in p.items()}

    x = feature_input(n, entries, masked_nodes)
    x_dense = torch.zeros(n, 10)
    x_dense[x.node, x.feature] = x.value.squeeze(1)
    x_dense = x_dense + x.masked @ p["mask_token"]
    adjacency = torch.eye(n, dtype=torch.bool)
    for a, b in kept:
        adjacency[a, b] = adjacency[b, a] = True
    dense = torch.zeros(n, 10)
    for i, f, v in entries:
        dense[i, f] = v
    rows = torch.tensor(masked_nodes, dtype=torch.long)
    codes, decoded = gat_forward(p, x_dense, x.masked, adjacency, rows, heads)
    loss = scaled_cosine_error(decoded, dense[rows], gamma)
    out["gat.codes"] = codes.detach().clone()
    out["gat.decoded"] = decoded.detach().clone()
    out["gat.loss"] = loss.detach().reshape(1)
    # Adam's epsilon at 1e-4, not 1e-8: where a gradient is nearly zero (layer 2's `a_dst` shifts
    # every logit into a node alike, which the softmax cancels wherever the LeakyReLU is linear:
    # its gradient here is ~1e-10, rounding), the first step `g / (|g| + eps)` would compare
    # rounding noise; with 1e-4 it compares the gradient itself there.
    opt = torch.optim.AdamW(list(p.values()), lr=0.01, betas=(0.9, 0.999), eps=1e-4, weight_decay=0.01)
    opt.zero_grad()
    loss.backward()
    opt.step()
    out.update({f"gat.step1.{k}": v.detach().clone() for k, v in p.items()})

    from safetensors.torch import save_file

    path = os.path.join(out_dir, "graph_gat_torch.safetensors")
    save_file({k: v.float().contiguous() for k, v in out.items()}, path)
    print(f"wrote {path}: {len(out)} tensors; GAT SCE loss {loss.item():.6f}")


# ----------------------------------------------------------------------------------------------
# Bench


def read_csv(path):
    with open(path, encoding="utf-8") as f:
        header = [h.strip().lower() for h in f.readline().split(",")]
        rows = [[x.strip() for x in line.split(",")] for line in f if line.strip()]
    return header, rows


def load_graph(folder):
    """The three-file graph as dae reads it: node ids in nodes.csv order, self loops and repeated
    edges dropped."""
    header, rows = read_csv(os.path.join(folder, "nodes.csv"))
    ids = [r[header.index("node")] for r in rows]
    index = {node: i for i, node in enumerate(ids)}
    header, rows = read_csv(os.path.join(folder, "features.csv"))
    nc, fc = header.index("node"), header.index("feature")
    vc = header.index("value") if "value" in header else None
    entries = [(index[r[nc]], int(r[fc]), float(r[vc]) if vc is not None else 1.0) for r in rows]
    entries.sort()
    header, rows = read_csv(os.path.join(folder, "edges.csv"))
    sc, dc = header.index("src"), header.index("dst")
    seen = set()
    for r in rows:
        a, b = index[r[sc]], index[r[dc]]
        if a != b:
            seen.add((min(a, b), max(a, b)))
    return len(ids), sorted(seen), entries


def epoch_seconds(step, epochs, steps_per_epoch=10):
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in range(steps_per_epoch):
            step()
        times.append(time.perf_counter() - start)
    return times


def bench(args):
    n, edges, entries = load_graph(args.data)
    width = max(f for _, f, _ in entries) + 1
    node = torch.tensor([e[0] for e in entries], dtype=torch.long)
    feature = torch.tensor([e[1] for e in entries], dtype=torch.long)
    raw = torch.tensor([e[2] for e in entries], dtype=torch.float32)
    sums = torch.zeros(n).index_add_(0, node, raw)
    value = raw / sums.index_select(0, node)
    dense = torch.zeros(n, width)
    dense[node, feature] = raw
    rng = np.random.RandomState(0)
    order = rng.permutation(len(edges))
    train = [edges[i] for i in sorted(order[: int(round(0.85 * len(edges)))])]
    train_t = torch.tensor(train, dtype=torch.long)
    print(f"graph: {n} nodes, {len(edges)} edges ({len(train)} for message passing in the edges recipe), "
          f"{width} features, {len(entries)} entries; torch {torch.__version__}", file=sys.stderr)

    def edges_recipe():
        model = GraphAutoencoder(width, 32, 16)
        opt = adamw(model.parameters(), 0.01, 0.0)
        graph = Propagation(n, train)
        target = adjacency_target(n, train_t)
        x = FeatureInput(node, feature, value)

        def step():
            mean, _ = model.encode(x, graph)
            loss = full_adjacency_loss(mean, train_t, target)
            opt.zero_grad()
            loss.backward()
            opt.step()

        return step

    def features_recipe():
        model = GraphAutoencoder(width, 512, 512, feature_decoder=True)
        opt = adamw(model.parameters(), 0.001, 2e-4)
        graph = Propagation(n, edges)
        generator = torch.Generator().manual_seed(0)
        count = int(round(0.5 * n))

        def step():
            rows = torch.randperm(n, generator=generator)[:count].sort().values
            masked = torch.zeros(n, 1)
            masked[rows] = 1.0
            keep = masked.squeeze(1).index_select(0, node) == 0
            x = FeatureInput(node[keep], feature[keep], value[keep], masked)
            mean, _ = model.encode(x, graph)
            decoded = model.decode_features(mean, masked, graph, rows)
            loss = scaled_cosine_error(decoded, dense.index_select(0, rows), 3.0)
            opt.zero_grad()
            loss.backward()
            opt.step()

        return step

    recipes = {"edges": edges_recipe, "features": features_recipe}
    for recipe in args.recipes.split(","):
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            torch.manual_seed(0)
            step = recipes[recipe]()
            times = epoch_seconds(step, 1 + args.repeat)[1:]
            print(json.dumps({"tool": "pytorch", "recipe": recipe, "threads": threads,
                              "seconds_per_epoch": statistics.median(times), "epochs": times,
                              "torch": torch.__version__}), flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("fixtures", help="write torch_graph.safetensors")
    f.add_argument("--out", default=os.path.join(here, "..", "crates", "dae", "tests", "fixtures"))
    g = sub.add_parser("gat-fixture", help="write graph_gat_torch.safetensors")
    g.add_argument("--out", default=os.path.join(here, "..", "crates", "dae", "tests", "fixtures"))
    b = sub.add_parser("bench", help="time training epochs of the default recipes on Cora")
    b.add_argument("--threads", default="1,2")
    b.add_argument("--repeat", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    b.add_argument("--recipes", default="edges,features")
    b.add_argument("--data", default=os.path.join(here, "..", "data", "cora"))
    a = p.parse_args()
    if a.mode == "fixtures":
        fixtures(a.out)
    elif a.mode == "gat-fixture":
        gat_fixture(a.out)
    else:
        bench(a)


if __name__ == "__main__":
    main()
