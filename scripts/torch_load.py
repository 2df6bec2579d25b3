#!/usr/bin/env python3
"""dae's models in PyTorch: load a `model.safetensors` into its twin, and write the
fixtures that check both directions.

    scripts/torch_load.py load --model KIND WEIGHTS.safetensors [architecture flags]
        Builds the PyTorch twin of KIND (mlp, conv, unet, dncnn: scripts/torch_models.py;
        diffusion: TimeUnet of scripts/diffusion_torch.py, the averaged weights; graph:
        GraphAutoencoder of scripts/graph_torch.py; audio: WaveUnet or MaskNet of
        scripts/audio_torch.py; tabular: TabularDae below; graph, audio and tabular sized from
        the file), loads the file with
        load_state_dict(strict=True) (a missing, extra or misshapen tensor fails) and runs a
        forward pass on a seeded random batch (not graph: that needs the run's graph); prints
        the output's shape and range.

    scripts/torch_load.py fixtures [--out DIR]
        PyTorch -> dae: writes, for a small unet (width 4, depth 2) and dncnn (width 4, depth 3),
        torch_KIND_state.safetensors (the freshly initialized state dict, as `dae import-torch`
        reads it) and torch_KIND_io.safetensors (x_noisy [2, 1, 16, 12], and the twin's x_hat
        and z on it). Default DIR: crates/dae/tests/fixtures.

    scripts/torch_load.py from-dae --model KIND WEIGHTS.safetensors --fixture OUT [flags]
        dae -> PyTorch: loads a file dae wrote (strict), runs the twin on a seeded batch and
        writes OUT with the weights (`weights.<name>`), x_noisy and the twin's x_hat and z, so
        that a Rust test checks dae's output on the same weights without PyTorch.

Architecture flags, as `dae train` / `dae import-torch` take them: --image-size HxW (28x28),
--hidden 256[,...], --latent-dim 64 (mlp), --width, --depth, --residual (unet / dncnn);
--width 16, --depth 2, --group-norm, --attention (diffusion: dae train's --unet-width,
--unet-depth, --group-norm, --attention).

Environment: Python 3 with torch (CPU), numpy and safetensors, e.g. /tmp/torch-venv/bin/python.
"""
import argparse
import os
import sys

import torch
from safetensors.torch import load_file, save_file

from torch_models import Autoencoder, ConvDenoisingAutoencoder, Dncnn, Unet


def build(a):
    """The twin of `a.model` with dae's defaults for the flags not given."""
    h, w = a.image_size
    if a.model == "mlp":
        return Autoencoder(input_dim=h * w, latent_dim=a.latent_dim or 64, hidden=a.hidden or [256])
    if a.model == "conv":
        return ConvDenoisingAutoencoder()
    if a.model == "diffusion":
        from diffusion_torch import TimeUnet
        return TimeUnet(width=a.width or 16, depth=2 if a.depth is None else a.depth,
                        group_norm=a.group_norm, attention=a.attention).eval()
    if a.model == "unet":
        return Unet(width=a.width or 32, depth=2 if a.depth is None else a.depth, residual=a.residual)
    return Dncnn(width=a.width or 32, depth=a.depth or 8)


def run(model, x, kind):
    """The twin's (x_hat, z) on images x [n, 1, h, w]; the MLP takes them flattened. The diffusion
    U-Net's output is its prediction at level t = 500 and it has no code (z empty)."""
    with torch.no_grad():
        if kind == "diffusion":
            return model(x, [500] * x.shape[0]), torch.zeros(0)
        if kind == "mlp":
            x_hat, z = model(x.flatten(1))
            return x_hat.view_as(x), z
        return model(x)


def batch(shape, seed):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def graph_twin(state):
    """The twin of a graph run's file, its sizes and parts read off the tensors it holds."""
    from graph_torch import GraphAutoencoder
    (input_dim, hidden_dim), code_dim = state["layer1.weight"].shape, state["layer2.weight"].shape[1]
    return GraphAutoencoder(input_dim, hidden_dim, code_dim, variational="log_std.weight" in state,
                            feature_decoder="decoder.weight" in state)


def audio_twin(state):
    """The twin of an audio run's file (the waveform U-Net or the masking MLP), sized from it."""
    from audio_torch import MaskNet, WaveUnet
    if "head.weight" in state:
        width, _, _, kernel = state["down.0.weight"].shape
        depth = sum(1 for k in state if k.startswith("down.") and k.endswith(".weight")) - 1
        decoder_kernel = state["merge.0.weight"].shape[3] if depth > 0 else kernel
        return WaveUnet(width, depth, kernel, decoder_kernel), (2, 1, 1, 64 << depth)
    hidden, inputs = state["input.weight"].shape
    return MaskNet(inputs, hidden, state["output.weight"].shape[0]), (2, inputs)


class TabularDae(torch.nn.Module):
    """The twin of a tabular run's TabularDae (crates/dae/src/tasks/tabular/model.rs): Linear
    layers `encoder.<i>` with ReLU after each, then `decoder.<i>` with ReLU between them; input
    dropout (no weights) is left out, as in evaluation."""

    def __init__(self, encoder, decoder):
        super().__init__()
        linear = lambda w: torch.nn.Linear(w[1], w[0])
        self.encoder = torch.nn.ModuleList(linear(w) for w in encoder)
        self.decoder = torch.nn.ModuleList(linear(w) for w in decoder)

    def encode(self, x):
        for layer in self.encoder:
            x = torch.relu(layer(x))
        return x

    def forward(self, x):
        x = self.encode(x)
        for i, layer in enumerate(self.decoder):
            x = layer(x)
            if i + 1 < len(self.decoder):
                x = torch.relu(x)
        return x


def tabular_twin(state):
    """The twin of a tabular run's file, its layer sizes read off the weights."""
    shapes = lambda part: [tuple(state[f"{part}.{i}.weight"].shape)
                           for i in range(sum(1 for k in state if k.startswith(part) and k.endswith(".weight")))]
    encoder, decoder = shapes("encoder"), shapes("decoder")
    return TabularDae(encoder, decoder), (2, encoder[0][1])


def load(a):
    if a.model == "tabular":
        state = load_file(a.weights)
        model, shape = tabular_twin(state)
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            y = model(batch(shape, 0))
        print(f"{a.weights}: tabular loaded (strict), "
              f"{sum(p.numel() for p in model.parameters())} weights; output {list(y.shape)}")
        return
    if a.model == "audio":
        state = load_file(a.weights)
        model, shape = audio_twin(state)
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            y = model(batch(shape, 0))
        print(f"{a.weights}: audio {type(model).__name__} loaded (strict), "
              f"{sum(p.numel() for p in model.parameters())} weights; output {list(y.shape)}")
        return
    if a.model == "graph":
        # The forward pass needs the run's graph: loading strictly is the check here.
        state = load_file(a.weights)
        model = graph_twin(state)
        model.load_state_dict(state, strict=True)
        print(f"{a.weights}: graph loaded (strict), {sum(p.numel() for p in model.parameters())} weights")
        return
    model = build(a)
    model.load_state_dict(load_file(a.weights), strict=True)
    x = batch((2, 1, *a.image_size), 0)
    x_hat, z = run(model, x, a.model)
    print(f"{a.weights}: {a.model} loaded (strict), {sum(p.numel() for p in model.parameters())} weights; "
          f"x_hat {list(x_hat.shape)} in [{x_hat.min():.4f}, {x_hat.max():.4f}], z {list(z.shape)}")


def fixtures(a):
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    for kind, model in [("unet", Unet(width=4, depth=2)), ("dncnn", Dncnn(width=4, depth=3))]:
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(state, os.path.join(a.out, f"torch_{kind}_state.safetensors"))
        x = batch((2, 1, 16, 12), 1)
        x_hat, z = run(model, x, kind)
        io = {"x_noisy": x, "x_hat": x_hat.contiguous(), "z": z.contiguous()}
        save_file(io, os.path.join(a.out, f"torch_{kind}_io.safetensors"))
    print(f"wrote torch_{{unet,dncnn}}_{{state,io}}.safetensors in {a.out} (torch {torch.__version__})")


def from_dae(a):
    model = build(a)
    weights = load_file(a.weights)
    model.load_state_dict(weights, strict=True)
    x = batch((2, 1, *a.image_size), 2)
    x_hat, z = run(model, x, a.model)
    out = {f"weights.{k}": v.contiguous() for k, v in weights.items()}
    out.update({"x_noisy": x, "x_hat": x_hat.contiguous(), "z": z.contiguous()})
    save_file(out, a.fixture)
    print(f"{a.weights}: loaded into the PyTorch {a.model} (strict); wrote {a.fixture}")


def image_size(s):
    h, w = s.lower().split("x")
    return int(h), int(w)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def with_model(parser):
        parser.add_argument("--model", required=True, choices=["mlp", "conv", "unet", "dncnn", "diffusion", "graph", "audio", "tabular"])
        parser.add_argument("weights")
        parser.add_argument("--image-size", type=image_size, default=(28, 28))
        parser.add_argument("--hidden", type=lambda s: [int(v) for v in s.split(",")])
        parser.add_argument("--latent-dim", type=int)
        parser.add_argument("--width", type=int)
        parser.add_argument("--depth", type=int)
        parser.add_argument("--residual", action="store_true")
        parser.add_argument("--group-norm", action="store_true")
        parser.add_argument("--attention", action="store_true")
        return parser

    with_model(sub.add_parser("load", help="load a model.safetensors (strict) and run it"))
    f = sub.add_parser("fixtures", help="write the PyTorch -> dae fixtures")
    f.add_argument("--out", default=os.path.join(here, "..", "crates", "dae", "tests", "fixtures"))
    d = with_model(sub.add_parser("from-dae", help="write a dae -> PyTorch fixture"))
    d.add_argument("--fixture", required=True)
    a = p.parse_args()
    {"load": load, "fixtures": fixtures, "from-dae": from_dae}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
