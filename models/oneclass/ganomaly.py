"""GANomaly (Akcay, Atapour-Abarghouei, Breckon, ACCV 2018) on (n, channels, length) arrays.

Encoder G_E maps a sample to a code z, decoder G_D reconstructs it, a second encoder E maps the
reconstruction to a code z'. Trained on normal data only with a discriminator D:
``w_adv * ||f(x) - f(x_hat)||^2`` (feature matching on D's trunk) ``+ w_con * |x - x_hat|``
``+ w_enc * ||z - z'||^2``. The generator learns to reconstruct (and re-encode) normal samples
only, so for an anomaly the two codes disagree: the anomaly score is ``mean((z - z')^2)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.oneclass.base import EpochDetector


class GANomaly(EpochDetector):
    """GANomaly detector. ``epochs`` over the training data in batches of ``batch_size``.

    score: "latent" (the paper's ||z - z'||^2) or "recon" (the contextual |x - x_hat|), for
    comparison only.
    """

    kind = "ganomaly"

    def __init__(self, latent: int = 32, hidden: int = 32, epochs: int = 300,
                 batch_size: int = 32, lr: float = 1e-3, adapt_lr: float = 2e-4,
                 w_adv: float = 1.0, w_con: float = 50.0, w_enc: float = 1.0,
                 score: str = "latent", threads: int = 1,
                 random_state: int = 0) -> None:
        self.latent = latent
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.adapt_lr = adapt_lr
        self.w_adv = w_adv
        self.w_con = w_con
        self.w_enc = w_enc
        self.score = score
        self.threads = threads
        self.random_state = random_state

    def _build(self) -> None:
        from models.nn.nets import ConvDecoder, ConvEncoder

        c, n, h = self.channels_, self.length_, self.hidden
        self.ge_ = ConvEncoder(c, n, self.latent, h)
        self.gd_ = ConvDecoder(self.latent, c, n, h)
        self.e2_ = ConvEncoder(c, n, self.latent, h)
        self.d_ = ConvEncoder(c, n, 1, h)

    def _modules(self) -> dict[str, Any]:
        return {"ge": self.ge_, "gd": self.gd_, "e2": self.e2_, "d": self.d_}

    def _steps(self, x: np.ndarray, steps: int, lr: float, rng: np.random.Generator) -> None:
        import torch
        import torch.nn.functional as F

        from models.nn.gan import bce
        from models.nn.tensors import batches, tensor

        gen = [*self.ge_.parameters(), *self.gd_.parameters(), *self.e2_.parameters()]
        opt_g = torch.optim.Adam(gen, lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(self.d_.parameters(), lr=lr, betas=(0.5, 0.999))
        xt = tensor(x)
        self._train_mode()
        it = batches(len(x), self.batch_size, rng)
        for _ in range(steps):
            xb = xt[next(it)]
            z = self.ge_(xb)
            xh = self.gd_(z)
            zh = self.e2_(xh)
            adv = F.mse_loss(self.d_.features(xh), self.d_.features(xb).detach())
            loss_g = (self.w_adv * adv + self.w_con * F.l1_loss(xh, xb)
                      + self.w_enc * F.mse_loss(zh, z))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            real, fake = self.d_(xb), self.d_(xh.detach())
            loss_d = bce(real, True) + bce(fake, False)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        self.loss_ = (float(loss_g.detach()), float(loss_d.detach()))

    def _anomaly(self, x: Any, score: str | None) -> Any:
        score = score or self.score
        z = self.ge_(x)
        xh = self.gd_(z)
        if score == "recon":
            return (xh - x).abs().flatten(1).mean(dim=1)
        if score != "latent":
            raise ValueError(f"unknown GANomaly score {score!r} (latent, recon)")
        return ((z - self.e2_(xh)) ** 2).mean(dim=1)
