"""Networks only the one-class detectors use (the BiGAN joint critic, the code critics, the
Skip-GANomaly U-Net, the score range of Berg et al.); the shared encoder / decoder live in
``models.nn.nets``."""

from __future__ import annotations

import math

import torch
from torch import nn

from models.nn.nets import ConvEncoder, act, check_length


class JointCritic(nn.Module):
    """(x, z) -> logit: the BiGAN discriminator of EGBAD / ALAD, which judges a sample and a code
    together (real x with its encoding E(x) against a generated G(z) with its code z).
    ``features`` is the joint hidden layer (their feature-matching anomaly score)."""

    def __init__(self, channels: int, length: int, latent: int, hidden: int = 32) -> None:
        super().__init__()
        self.x_net = ConvEncoder(channels, length, 2 * hidden, hidden)
        self.z_net = nn.Sequential(nn.Linear(latent, 2 * hidden), act())
        self.joint = nn.Sequential(nn.Linear(4 * hidden, 2 * hidden), act())
        self.head = nn.Linear(2 * hidden, 1)

    def features(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.joint(torch.cat([act()(self.x_net(x)), self.z_net(z)], dim=1))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x, z))


def mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    """Two hidden layers: the code critics (OCGAN's latent discriminator, ALAD's D_zz)."""
    return nn.Sequential(nn.Linear(inp, hidden), act(), nn.Linear(hidden, hidden), act(),
                         nn.Linear(hidden, out))


class UNet1d(nn.Module):
    """(n, C, L) -> (n, C, L): ``ConvEncoder``'s down path and ``ConvDecoder``'s up path with
    a skip connection at every resolution (the generator of Skip-GANomaly)."""

    def __init__(self, channels: int, length: int, hidden: int = 32) -> None:
        super().__init__()
        steps = int(math.log2(check_length(length) // 4))
        w = [hidden]
        for _ in range(steps):
            w.append(min(2 * w[-1], 4 * hidden))
        self.inp = nn.Conv1d(channels, hidden, 3, padding=1)
        self.down = nn.ModuleList(nn.Conv1d(w[k], w[k + 1], 4, stride=2, padding=1)
                                  for k in range(steps))
        self.mid = nn.Conv1d(w[-1], w[-1], 3, padding=1)
        self.up = nn.ModuleList(nn.ConvTranspose1d(2 * w[k + 1], w[k], 4, stride=2, padding=1)
                                for k in reversed(range(steps)))
        self.out = nn.Conv1d(2 * hidden, channels, 3, padding=1)
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.inp(x))
        skips = [h]
        for conv in self.down:
            h = self.act(conv(h))
            skips.append(h)
        h = self.act(self.mid(h))
        for conv in self.up:
            h = self.act(conv(torch.cat([h, skips.pop()], dim=1)))
        return self.out(torch.cat([h, skips.pop()], dim=1))


class Range(nn.Module):
    """Min and max of a score on the training data, kept as buffers so that they are saved
    with the weights (min-max normalisation, Berg et al.)."""

    def __init__(self, size: int = 1) -> None:
        super().__init__()
        self.register_buffer("lo", torch.zeros(size))
        self.register_buffer("hi", torch.ones(size))

    def set(self, values: torch.Tensor) -> None:
        """values: (n, size)."""
        self.lo.copy_(values.min(dim=0).values)
        self.hi.copy_(values.max(dim=0).values)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return (values - self.lo) / (self.hi - self.lo).clamp_min(1e-12)
