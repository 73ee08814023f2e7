"""Small 1-D convolutional networks shared by the one-class detectors and the inpainting
generators, and the pieces of GAN training they all need.

Inputs are (batch, channels, length) float32 tensors: a trajectory resampled to ``length``
points with position / velocity channels, or an 8x8 digit image read as 8 rows of 8 pixels.
The encoders halve the length down to 4 and the decoders double it back, so ``length`` must be
4 * 2**k (8, 16, 32, 64, 128): the shapes then match exactly with no cropping. The networks are
deliberately small: they train from scratch on a CPU, on a few hundred samples, in a minute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

LENGTHS = (8, 16, 32, 64, 128)


def check_length(length: int) -> int:
    """``length`` as an int, or ParameterError when the encoder/decoder cannot produce it."""
    from models.base import ParameterError

    if int(length) not in LENGTHS:
        raise ParameterError(f"length must be one of {LENGTHS}, got {length}")
    return int(length)


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


class ConvEncoder(nn.Module):
    """(n, C, L) -> (n, out). ``features`` is the flattened trunk output: the critic's features
    for GANomaly's feature matching and f-AnoGAN's izi_f residual."""

    def __init__(self, channels: int, length: int, out: int, hidden: int = 32) -> None:
        super().__init__()
        steps = int(math.log2(check_length(length) // 4))
        layers: list[nn.Module] = [nn.Conv1d(channels, hidden, 3, padding=1), _act()]
        h = hidden
        for _ in range(steps):
            nxt = min(2 * h, 4 * hidden)
            layers += [nn.Conv1d(h, nxt, 4, stride=2, padding=1), _act()]
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
        layers: list[nn.Module] = [_act()]
        for k in range(steps, 0, -1):
            layers += [nn.ConvTranspose1d(widths[k], widths[k - 1], 4, stride=2, padding=1),
                       _act()]
        layers.append(nn.Conv1d(hidden, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.fc(z).view(z.shape[0], self.top, 4))


class InpaintNet(nn.Module):
    """(x, mask, z) -> x with the masked frames regenerated (context encoder).

    ``mask`` is (n, 1, L) with 1 on the frames to fill; the network sees the sample with those
    frames zeroed, the mask itself, and a latent code ``z`` (n, latent) injected only on masked
    frames (noise for the GAN, a posterior/prior sample for the VAE). Dilated residual
    convolutions (kernel 3, dilations up to 32: receptive field 127 frames) let every filled frame see the whole context,
    so the fill joins the kept parts on both sides. Unmasked frames are returned unchanged.
    """

    def __init__(self, channels: int, latent: int, hidden: int = 32,
                 dilations: Sequence[int] = (1, 2, 4, 8, 16, 32)) -> None:
        super().__init__()
        self.inp = nn.Conv1d(channels + 1, hidden, 3, padding=1)
        self.z_proj = nn.Linear(latent, hidden)
        self.blocks = nn.ModuleList(nn.Conv1d(hidden, hidden, 3, padding=d, dilation=d)
                                    for d in dilations)
        self.out = nn.Conv1d(hidden, channels, 3, padding=1)
        self.act = _act()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        keep = x * (1.0 - mask)
        h = self.inp(torch.cat([keep, mask], dim=1)) + self.z_proj(z)[:, :, None] * mask
        for conv in self.blocks:
            h = h + conv(self.act(h))
        return keep + self.out(self.act(h)) * mask


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     extra: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): (||grad critic(mix)|| - 1)^2 on random mixes
    of real and fake samples; ``extra`` channels (a mask) are appended unchanged."""
    eps = torch.rand(real.shape[0], 1, 1)
    mix = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    out = critic(mix if extra is None else torch.cat([mix, extra], dim=1))
    (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def batches(n: int, batch_size: int, rng: np.random.Generator):
    """Endless shuffled index batches (a new permutation per pass over the data)."""
    while True:
        order = rng.permutation(n)
        for s in range(0, n, batch_size):
            yield order[s:s + batch_size]


def tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def module_arrays(modules: Mapping[str, nn.Module]) -> dict[str, np.ndarray]:
    """{"<name>.<param>": array} of several modules' weights (npz-ready, no pickle)."""
    return {f"{name}.{k}": v.detach().cpu().numpy().copy()
            for name, mod in modules.items() for k, v in mod.state_dict().items()}


def load_module_arrays(modules: Mapping[str, nn.Module], arrays: Mapping[str, np.ndarray]
                       ) -> None:
    """Inverse of ``module_arrays``; ValueError on missing or mis-shaped weights."""
    for name, mod in modules.items():
        prefix = name + "."
        state = {k[len(prefix):]: torch.from_numpy(np.array(v, dtype=np.float32))
                 for k, v in arrays.items() if k.startswith(prefix)}
        try:
            mod.load_state_dict(state)
        except RuntimeError as exc:  # missing keys or shape mismatch
            raise ValueError(f"network {name!r} does not match its stored weights") from exc
        mod.eval()
