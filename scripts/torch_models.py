"""The PyTorch twins of dae's image denoisers: the document's two models (shared by the fixture
writer and the speed yardstick) and dae's U-Net and DnCNN, whose `state_dict()` names are those of
dae's `model.safetensors` (docs/torch.md)."""
import torch
import torch.nn.functional as F
from torch import nn


class Autoencoder(nn.Module):
    """The document's fully connected autoencoder."""

    def __init__(self, input_dim=784, latent_dim=64, hidden=256):
        super().__init__()
        # `hidden` may also list several widths, outermost first (dae's --hidden): a ReLU follows
        # every Linear, so Linear i is module 2i of each nn.Sequential, as dae names it.
        widths = [input_dim] + ([hidden] if isinstance(hidden, int) else list(hidden)) + [latent_dim]

        def stack(sizes, last):
            layers = []
            for a, b in zip(sizes, sizes[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            layers[-1] = last
            return nn.Sequential(*layers)

        self.encoder = stack(widths, nn.ReLU())
        self.decoder = stack(widths[::-1], nn.Sigmoid())

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z), z


class ConvDenoisingAutoencoder(nn.Module):
    """The document's convolutional denoising autoencoder."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(64, 32, kernel_size=2, stride=2), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, kernel_size=2, stride=2), nn.Sigmoid(),
        )

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z), z


class ConvBlock(nn.Module):
    """Two 3x3 convolutions (padding 1), each followed by a ReLU: one level of dae's U-Net."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)
        self.conv_b = nn.Conv2d(c_out, c_out, kernel_size=3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv_b(torch.relu(self.conv_a(x))))


class Unet(nn.Module):
    """dae's U-Net (crates/dae/src/tasks/image/model/unet.rs), under the names of its Burn fields.

    Level l has width * 2**l channels; `depth` 2x max-poolings down, `depth` 2x2 stride-2
    up-convolutions back, each followed by concatenation with the encoder's level and a ConvBlock;
    a 1x1 head to the image channels, then a sigmoid (or, residual, x - head).
    """

    def __init__(self, channels=1, width=32, depth=2, residual=False):
        super().__init__()
        level = [width << l for l in range(depth + 1)]
        self.down = nn.ModuleList(ConvBlock(c_in, c) for c_in, c in zip([channels] + level[:-1], level))
        deepest_first = list(range(depth - 1, -1, -1))
        self.up = nn.ModuleList(nn.ConvTranspose2d(level[l + 1], level[l], kernel_size=2, stride=2)
                                for l in deepest_first)
        self.merge = nn.ModuleList(ConvBlock(2 * level[l], level[l]) for l in deepest_first)
        self.head = nn.Conv2d(width, channels, kernel_size=1)
        self.residual = residual

    def forward(self, x):
        skips, h = [], x
        for l, block in enumerate(self.down):
            if l > 0:
                h = F.max_pool2d(h, 2)
            h = block(h)
            if l < len(self.down) - 1:
                skips.append(h)
        z = h
        for up, merge in zip(self.up, self.merge):
            h = merge(torch.cat([up(h), skips.pop()], dim=1))
        out = self.head(h)
        return (x - out if self.residual else torch.sigmoid(out)), z


class Dncnn(nn.Module):
    """dae's DnCNN-like denoiser (crates/dae/src/tasks/image/model/dncnn.rs): `depth` 3x3
    convolutions, ReLU after all but the last, which predicts the noise: x_hat = x - noise."""

    def __init__(self, channels=1, width=32, depth=8):
        super().__init__()
        sizes = [channels] + [width] * (depth - 1) + [channels]
        self.layers = nn.ModuleList(nn.Conv2d(a, b, kernel_size=3, padding=1) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        h = x
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
        return x - self.layers[-1](h), h
