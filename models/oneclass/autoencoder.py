"""A plain convolutional autoencoder on (n, channels, length) arrays: the baseline every GAN
detector of the research line claims to beat.

``ConvEncoder`` -> code -> ``ConvDecoder``, trained on normal data only to minimise the mean
squared reconstruction error; that error is the anomaly score (what it has not seen, it
reconstructs badly). No adversary, no latent prior.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.oneclass.base import EpochDetector


class AutoEncoder(EpochDetector):
    """Autoencoder detector; score "recon" = mean squared reconstruction error."""

    kind = "autoencoder"

    def __init__(self, latent: int = 16, hidden: int = 32, epochs: int = 300,
                 batch_size: int = 32, lr: float = 1e-3, adapt_lr: float = 2e-4,
                 score: str = "recon", threads: int = 1,
                 random_state: int = 0) -> None:
        self.latent = latent
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.adapt_lr = adapt_lr
        self.score = score
        self.threads = threads
        self.random_state = random_state

    def _build(self) -> None:
        from models.nn.nets import ConvDecoder, ConvEncoder

        c, n, h = self.channels_, self.length_, self.hidden
        self.enc_ = ConvEncoder(c, n, self.latent, h)
        self.dec_ = ConvDecoder(self.latent, c, n, h)

    def _modules(self) -> dict[str, Any]:
        return {"enc": self.enc_, "dec": self.dec_}

    def _steps(self, x: np.ndarray, steps: int, lr: float, rng: np.random.Generator) -> None:
        import torch

        from models.nn.tensors import batches, tensor

        opt = torch.optim.Adam([*self.enc_.parameters(), *self.dec_.parameters()], lr=lr)
        xt, it = tensor(x), batches(len(x), self.batch_size, rng)
        self._train_mode()
        for _ in range(steps):
            xb = xt[next(it)]
            loss = ((self.dec_(self.enc_(xb)) - xb) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.loss_ = float(loss.detach())

    def _anomaly(self, x: Any, score: str | None) -> Any:
        if (score or self.score) != "recon":
            raise ValueError(f"unknown autoencoder score {score or self.score!r} (recon)")
        return ((self.dec_(self.enc_(x)) - x) ** 2).flatten(1).mean(dim=1)
