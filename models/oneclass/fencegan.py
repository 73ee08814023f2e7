"""FenceGAN (Ngo et al., 2019, "Fence GAN: towards better anomaly detection") on
(n, channels, length) arrays.

A GAN whose generator does not imitate the normal data but encircles it: its loss pulls the
discriminator's output on generated samples to the boundary value ``alpha`` (encirclement
loss ``mean (sigmoid D(G(z)) - alpha)^2``) and spreads them out (dispersion loss ``beta /
mean ||G(z) - centre||``). The discriminator, trained on normal data against these boundary
samples (weighted ``gamma``), becomes a one-class classifier whose decision surface fences the
normal data in: the anomaly score is ``-D(x)`` (the logit; "disc").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.oneclass.base import EpochDetector


class FenceGAN(EpochDetector):
    """FenceGAN detector: alpha (boundary target of D on generated samples), beta (dispersion
    weight), gamma (weight of the generated samples in D's loss)."""

    kind = "fencegan"
    signed_scores = ("disc",)

    def __init__(self, latent: int = 16, hidden: int = 32, epochs: int = 300,
                 batch_size: int = 32, lr: float = 2e-4, adapt_lr: float = 1e-4,
                 alpha: float = 0.5, beta: float = 1.0, gamma: float = 0.1,
                 score: str = "disc", threads: int = 1,
                 random_state: int = 0) -> None:
        self.latent = latent
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.adapt_lr = adapt_lr
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.score = score
        self.threads = threads
        self.random_state = random_state

    def _build(self) -> None:
        from models.nn.nets import ConvDecoder, ConvEncoder

        c, n, h = self.channels_, self.length_, self.hidden
        self.g_ = ConvDecoder(self.latent, c, n, h)
        self.d_ = ConvEncoder(c, n, 1, h)

    def _modules(self) -> dict[str, Any]:
        return {"g": self.g_, "d": self.d_}

    def _steps(self, x: np.ndarray, steps: int, lr: float, rng: np.random.Generator) -> None:
        import torch

        from models.nn.gan import bce
        from models.nn.tensors import batches, tensor

        opt_g = torch.optim.Adam(self.g_.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(self.d_.parameters(), lr=lr, betas=(0.5, 0.999))
        xt, it = tensor(x), batches(len(x), self.batch_size, rng)
        self._train_mode()
        for _ in range(steps):
            xb = xt[next(it)]
            fake = self.g_(torch.randn(len(xb), self.latent))
            loss_d = bce(self.d_(xb), True) + self.gamma * bce(self.d_(fake.detach()), False)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            flat = fake.flatten(1)
            spread = (flat - flat.mean(dim=0)).norm(dim=1).mean()
            loss_g = (((torch.sigmoid(self.d_(fake)) - self.alpha) ** 2).mean()
                      + self.beta / spread.clamp_min(1e-6))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        self.loss_ = (float(loss_g.detach()), float(loss_d.detach()))

    def _anomaly(self, x: Any, score: str | None) -> Any:
        if (score or self.score) != "disc":
            raise ValueError(f"unknown FenceGAN score {score or self.score!r} (disc)")
        return -self.d_(x)[:, 0]
