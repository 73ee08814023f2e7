"""Skip-GANomaly (Akcay, Atapour-Abarghouei, Breckon, IJCNN 2019) on (n, channels, length)
arrays.

GANomaly's generator with the second encoder removed and skip connections added: a U-Net G
(``nets.UNet1d``) reconstructs x, a discriminator D (``ConvEncoder``) judges x against G(x).
Generator loss ``w_adv * BCE(D(G(x)), real) + w_con * |x - G(x)| + w_lat * ||f(x) - f(G(x))||^2``
(f = D's trunk features); D is trained with BCE. Score ``lam * |x - G(x)| + (1 - lam) *
||f(x) - f(G(x))||^2`` (the paper's lambda = 0.9), "recon" for the residual alone. The paper
min-max normalises the score over the test set; scores here are per sample (a verifier scores
one login at a time).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.oneclass.base import EpochDetector


class SkipGANomaly(EpochDetector):
    """Skip-GANomaly detector (score "skip" or "recon")."""

    kind = "skip-ganomaly"

    def __init__(self, hidden: int = 32, epochs: int = 300, batch_size: int = 32,
                 lr: float = 1e-3, adapt_lr: float = 2e-4, w_adv: float = 1.0,
                 w_con: float = 40.0, w_lat: float = 1.0, lam: float = 0.9,
                 score: str = "skip", threads: int = 1,
                 random_state: int = 0) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.adapt_lr = adapt_lr
        self.w_adv = w_adv
        self.w_con = w_con
        self.w_lat = w_lat
        self.lam = lam
        self.score = score
        self.threads = threads
        self.random_state = random_state

    def _build(self) -> None:
        from models.nn.nets import ConvEncoder
        from models.oneclass.nets import UNet1d

        self.g_ = UNet1d(self.channels_, self.length_, self.hidden)
        self.d_ = ConvEncoder(self.channels_, self.length_, 1, self.hidden)

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
            xh = self.g_(xb)
            lat = ((self.d_.features(xh) - self.d_.features(xb).detach()) ** 2).mean()
            loss_g = (self.w_adv * bce(self.d_(xh), True)
                      + self.w_con * (xh - xb).abs().mean() + self.w_lat * lat)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            loss_d = bce(self.d_(xb), True) + bce(self.d_(xh.detach()), False)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        self.loss_ = (float(loss_g.detach()), float(loss_d.detach()))

    def _anomaly(self, x: Any, score: str | None) -> Any:
        score = score or self.score
        xh = self.g_(x)
        rec = (x - xh).abs().flatten(1).mean(dim=1)
        if score == "recon":
            return rec
        if score != "skip":
            raise ValueError(f"unknown Skip-GANomaly score {score!r} (skip, recon)")
        lat = ((self.d_.features(x) - self.d_.features(xh)) ** 2).mean(dim=1)
        return self.lam * rec + (1.0 - self.lam) * lat
