"""The pieces of GAN training the one-class detectors and the inpainting generators share:
discriminator loss, WGAN-GP gradient penalty and training loop."""

from __future__ import annotations

import torch
from torch import nn


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
