"""Small 1-D convolutional networks over (batch, channels, length) float32 tensors, shared by
the one-class detectors and the inpainting generators.

Inputs are a trajectory resampled to ``length`` points with position / velocity channels, or an
8x8 digit image read as 8 rows of 8 pixels. The encoders halve the length down to 4 and the
decoders double it back, so ``length`` must be 4 * 2**k (8, 16, 32, 64, 128): the shapes then
match exactly with no cropping. The networks are deliberately small: they train from scratch
on a CPU, on a few hundred samples, in a minute.
"""

from __future__ import annotations

import math

import torch
from torch import nn

LENGTHS = (8, 16, 32, 64, 128)


def check_length(length: int) -> int:
    """``length`` as an int, or ParameterError when the encoder/decoder cannot produce it."""
    from models.base import ParameterError

    if int(length) not in LENGTHS:
        raise ParameterError(f"length must be one of {LENGTHS}, got {length}")
    return int(length)


def act() -> nn.Module:
    return nn.LeakyReLU(0.2)


class ConvEncoder(nn.Module):
    """(n, C, L) -> (n, out). ``features`` is the flattened trunk output: the critic's features
    for GANomaly's feature matching and f-AnoGAN's izi_f residual."""

    def __init__(self, channels: int, length: int, out: int, hidden: int = 32) -> None:
        super().__init__()
        steps = int(math.log2(check_length(length) // 4))
        layers: list[nn.Module] = [nn.Conv1d(channels, hidden, 3, padding=1), act()]
        h = hidden
        for _ in range(steps):
            nxt = min(2 * h, 4 * hidden)
            layers += [nn.Conv1d(h, nxt, 4, stride=2, padding=1), act()]
            h = nxt
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(4 * h, out)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ConvDecoder(nn.Module):
    """(n, latent) -> (n, C, L), the mirror of ``ConvEncoder`` (linear output: the callers'
    data are standardised, not squashed into a range)."""

    def __init__(self, latent: int, channels: int, length: int, hidden: int = 32) -> None:
        super().__init__()
        steps = int(math.log2(check_length(length) // 4))
        widths = [hidden]
        for _ in range(steps):
            widths.append(min(2 * widths[-1], 4 * hidden))
        top = widths[-1]
        self.top = top
        self.fc = nn.Linear(latent, 4 * top)
        layers: list[nn.Module] = [act()]
        for k in range(steps, 0, -1):
            layers += [nn.ConvTranspose1d(widths[k], widths[k - 1], 4, stride=2, padding=1),
                       act()]
        layers.append(nn.Conv1d(hidden, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.fc(z).view(z.shape[0], self.top, 4))
