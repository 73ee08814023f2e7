"""OCGAN (Perera, Nallapati, Xiang, CVPR 2019) on (n, channels, length) arrays.

A denoising autoencoder whose latent space is made to hold only the normal class: codes are
bounded (tanh) and a latent discriminator D_l pushes the encoded normal samples to fill the
whole box U(-1, 1)^d, a visual discriminator D_v makes the decoding of *any* code in that box
look like a normal sample, and a classifier C tells reconstructions of normal samples from
decodings of random codes. Informative-negative mining: a few gradient steps move random codes
towards those C finds least normal, and the decoder is then trained to make exactly those look
normal. So every code decodes to a normal-looking sample, and an anomaly is reconstructed as
the nearest normal one: the anomaly score is the reconstruction error ("recon"; "classifier":
C's doubt about the reconstruction).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.oneclass.base import EpochDetector


class OCGAN(EpochDetector):
    """OCGAN detector. noise: std of the denoising input noise; w_rec: weight of the
    reconstruction loss; mining_steps / mining_lr: informative-negative mining."""

    kind = "ocgan"
    signed_scores = ("classifier",)

    def __init__(self, latent: int = 16, hidden: int = 32, epochs: int = 300,
                 batch_size: int = 32, lr: float = 1e-3, adapt_lr: float = 2e-4,
                 noise: float = 0.1, w_rec: float = 10.0, mining_steps: int = 5,
                 mining_lr: float = 0.1, score: str = "recon", threads: int = 1,
                 random_state: int = 0) -> None:
        self.latent = latent
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.adapt_lr = adapt_lr
        self.noise = noise
        self.w_rec = w_rec
        self.mining_steps = mining_steps
        self.mining_lr = mining_lr
        self.score = score
        self.threads = threads
        self.random_state = random_state

    def _build(self) -> None:
        from models.nn.nets import ConvDecoder, ConvEncoder
        from models.oneclass.nets import mlp

        c, n, h = self.channels_, self.length_, self.hidden
        self.en_ = ConvEncoder(c, n, self.latent, h)
        self.de_ = ConvDecoder(self.latent, c, n, h)
        self.dl_ = mlp(self.latent, 2 * h, 1)
        self.dv_ = ConvEncoder(c, n, 1, h)
        self.cl_ = ConvEncoder(c, n, 1, h)

    def _modules(self) -> dict[str, Any]:
        return {"en": self.en_, "de": self.de_, "dl": self.dl_, "dv": self.dv_, "cl": self.cl_}

    def _code(self, x: Any) -> Any:
        return self.en_(x).tanh()

    def _mine(self, u: Any) -> Any:
        """Move random codes towards those the classifier finds least normal (gradient ascent
        on its "normal" loss), staying in the box."""
        import torch

        from models.nn.gan import bce

        u = u.detach().clone()
        for _ in range(self.mining_steps):
            u.requires_grad_(True)
            (grad,) = torch.autograd.grad(bce(self.cl_(self.de_(u)), True), u)
            u = (u + self.mining_lr * grad.sign()).clamp(-1.0, 1.0).detach()
        return u

    def _steps(self, x: np.ndarray, steps: int, lr: float, rng: np.random.Generator) -> None:
        import torch

        from models.nn.gan import bce
        from models.nn.tensors import batches, tensor

        gen = [*self.en_.parameters(), *self.de_.parameters()]
        disc = [*self.dl_.parameters(), *self.dv_.parameters(), *self.cl_.parameters()]
        opt_g = torch.optim.Adam(gen, lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(disc, lr=lr, betas=(0.5, 0.999))
        xt, it = tensor(x), batches(len(x), self.batch_size, rng)
        self._train_mode()
        for _ in range(steps):
            xb = xt[next(it)]
            u = torch.rand(len(xb), self.latent) * 2.0 - 1.0
            code = self._code(xb + self.noise * torch.randn_like(xb))
            rec, fake = self.de_(code), self.de_(u)
            loss_d = (bce(self.dl_(u), True) + bce(self.dl_(code.detach()), False)
                      + bce(self.dv_(xb), True) + bce(self.dv_(fake.detach()), False)
                      + bce(self.cl_(rec.detach()), True) + bce(self.cl_(fake.detach()), False))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            hard = self.de_(self._mine(u)) if self.mining_steps else fake
            loss_g = (self.w_rec * ((rec - xb) ** 2).mean() + bce(self.dl_(code), True)
                      + bce(self.dv_(hard), True) + bce(self.cl_(hard), True))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        self.loss_ = (float(loss_g.detach()), float(loss_d.detach()))

    def _anomaly(self, x: Any, score: str | None) -> Any:
        score = score or self.score
        rec = self.de_(self._code(x))
        if score == "recon":
            return ((rec - x) ** 2).flatten(1).mean(dim=1)
        if score == "classifier":
            return -self.cl_(rec)[:, 0]
        raise ValueError(f"unknown OCGAN score {score!r} (recon, classifier)")
