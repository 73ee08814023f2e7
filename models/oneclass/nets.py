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


class JointCritic(nn.Module):
    """(x, z) -> logit: the BiGAN discriminator of EGBAD / ALAD, which judges a sample and a code
    together (real x with its encoding E(x) against a generated G(z) with its code z).
    ``features`` is the joint hidden layer (their feature-matching anomaly score)."""

    def __init__(self, channels: int, length: int, latent: int, hidden: int = 32) -> None:
        super().__init__()
        self.x_net = ConvEncoder(channels, length, 2 * hidden, hidden)
        self.z_net = nn.Sequential(nn.Linear(latent, 2 * hidden), _act())
        self.joint = nn.Sequential(nn.Linear(4 * hidden, 2 * hidden), _act())
        self.head = nn.Linear(2 * hidden, 1)

    def features(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.joint(torch.cat([_act()(self.x_net(x)), self.z_net(z)], dim=1))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x, z))


def mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    """Two hidden layers: the code critics (OCGAN's latent discriminator, ALAD's D_zz)."""
    return nn.Sequential(nn.Linear(inp, hidden), _act(), nn.Linear(hidden, hidden), _act(),
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
        self.act = _act()

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


def bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Binary cross-entropy of discriminator logits against "real" (1) or "fake" (0)."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return nn.functional.binary_cross_entropy_with_logits(logits, target)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     extra: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): (||grad critic(mix)|| - 1)^2 on random mixes
    of real and fake samples; ``extra`` channels (a mask) are appended unchanged."""
    eps = torch.rand(real.shape[0], 1, 1)
    mix = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    out = critic(mix if extra is None else torch.cat([mix, extra], dim=1))
    (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def train_wgan_gp(g: nn.Module, d: nn.Module, xt: torch.Tensor, it, *, steps: int,
                  critic_steps: int, latent: int, batch_size: int, lr: float, gp_weight: float,
                  each_step=None) -> tuple[float, float]:
    """WGAN-GP training of generator ``g`` (z -> x) and critic ``d`` on ``xt`` (batches from
    ``it``): ``critic_steps`` critic updates per generator update. ``each_step(xb)`` runs after
    every generator update (Berg et al. train their encoder there, jointly). Returns the last
    (generator, critic) losses; both networks are left in eval mode."""
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.9))
    g.train()
    d.train()
    loss_g = loss_d = torch.zeros(())
    for _ in range(steps):
        for _ in range(critic_steps):
            xb = xt[next(it)]
            fake = g(torch.randn(len(xb), latent)).detach()
            loss_d = d(fake).mean() - d(xb).mean() + gp_weight * gradient_penalty(d, xb, fake)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        loss_g = -d(g(torch.randn(batch_size, latent))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if each_step is not None:
            each_step(xb)
    g.eval()
    d.eval()
    return float(loss_g.detach()), float(loss_d.detach())


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
