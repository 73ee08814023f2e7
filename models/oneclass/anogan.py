"""AnoGAN (Schlegl et al., IPMI 2017) on (n, channels, length) arrays.

A GAN trained on normal data only (here f-AnoGAN's WGAN-GP, ``nets.train_wgan_gp``, as in
f-AnoGAN's own comparison), then, for every sample to score, a search of the latent space:
``search_steps`` Adam steps on z minimise ``(1 - lam) * |x - G(z)| + lam * |f(x) - f(G(z))|``
(residual + discrimination loss, f = the critic's trunk features; the paper's lam = 0.1), and
the loss reached is the anomaly score ("anogan"; "residual" for the residual part alone).
The search starts at z = 0 (the prior's mode) so a sample's score does not depend on what it is
scored with; the cost is ``search_steps`` forward and backward passes per call, which is why
f-AnoGAN and the BiGANs learn an encoder instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.oneclass.base import ArrayDetector

SCORES = ("anogan", "residual")


class AnoGAN(ArrayDetector):
    """AnoGAN detector. gan_steps, critic_steps, gp_weight, lr: WGAN-GP training; search_steps,
    search_lr, lam: the latent search at scoring time."""

    kind = "anogan"

    def __init__(self, latent: int = 16, hidden: int = 32, gan_steps: int = 800,
                 critic_steps: int = 4, batch_size: int = 32, lr: float = 2e-4,
                 adapt_lr: float = 2e-4, gp_weight: float = 10.0, search_steps: int = 100,
                 search_lr: float = 0.05, lam: float = 0.1, score: str = "anogan",
                 threads: int = 1,
                 random_state: int = 0) -> None:
        self.latent = latent
        self.hidden = hidden
        self.gan_steps = gan_steps
        self.critic_steps = critic_steps
        self.batch_size = batch_size
        self.lr = lr
        self.adapt_lr = adapt_lr
        self.gp_weight = gp_weight
        self.search_steps = search_steps
        self.search_lr = search_lr
        self.lam = lam
        self.score = score
        self.threads = threads
        self.random_state = random_state

    def _check_params(self) -> None:
        from models.base import ParameterError

        if self.gan_steps < 1 or self.critic_steps < 1 or self.search_steps < 0:
            raise ParameterError("AnoGAN: gan_steps and critic_steps must be >= 1, "
                                 "search_steps >= 0")

    def _build(self) -> None:
        from models.nn.nets import ConvDecoder, ConvEncoder

        c, n, h = self.channels_, self.length_, self.hidden
        self.g_ = ConvDecoder(self.latent, c, n, h)
        self.d_ = ConvEncoder(c, n, 1, h)

    def _modules(self) -> dict[str, Any]:
        return {"g": self.g_, "d": self.d_}

    def _gan(self, x: np.ndarray, steps: int, lr: float, rng: np.random.Generator) -> None:
        from models.nn.gan import train_wgan_gp
        from models.nn.tensors import batches, tensor

        self.gan_loss_ = train_wgan_gp(
            self.g_, self.d_, tensor(x), batches(len(x), self.batch_size, rng), steps=steps,
            critic_steps=self.critic_steps, latent=self.latent, batch_size=self.batch_size,
            lr=lr, gp_weight=self.gp_weight)

    def _train(self, x: np.ndarray, rng: np.random.Generator) -> None:
        self._gan(x, self.gan_steps, self.lr, rng)

    def _adapt(self, x: np.ndarray, steps: int, rng: np.random.Generator) -> None:
        self._gan(x, steps, self.adapt_lr, rng)

    def _losses(self, x: Any, z: Any) -> tuple[Any, Any]:
        """Per-sample (residual, discrimination) losses of codes z for samples x."""
        xg = self.g_(z)
        res = (x - xg).abs().flatten(1).mean(dim=1)
        disc = (self.d_.features(x) - self.d_.features(xg)).abs().mean(dim=1)
        return res, disc

    def _anomaly(self, x: Any, score: str | None) -> Any:
        import torch

        score = score or self.score
        if score not in SCORES:
            raise ValueError(f"unknown AnoGAN score {score!r}; known: {', '.join(SCORES)}")
        for p in self._parameters():
            p.requires_grad_(False)
        try:
            with torch.enable_grad():
                z = torch.zeros(len(x), self.latent, requires_grad=True)
                opt = torch.optim.Adam([z], lr=self.search_lr)
                for _ in range(self.search_steps):
                    res, disc = self._losses(x, z)
                    # a sum: each sample's code gets its own gradient, Adam scales per element
                    loss = ((1.0 - self.lam) * res + self.lam * disc).sum()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        finally:
            for p in self._parameters():
                p.requires_grad_(True)
        res, disc = self._losses(x, z.detach())
        return res if score == "residual" else (1.0 - self.lam) * res + self.lam * disc

    def _parameters(self) -> list[Any]:
        return [*self.g_.parameters(), *self.d_.parameters()]


def anogan_on(gan: Any, **params: Any) -> AnoGAN:
    """An AnoGAN that searches the latent space of an already trained WGAN (a fitted
    ``FAnoGAN``, say: its generator and critic are copied, nothing is trained), as f-AnoGAN's
    authors compare the two: the same GAN, inverted by search instead of by an encoder."""
    import copy

    det = AnoGAN(**{"latent": gan.latent, "hidden": gan.hidden, **params})
    det.channels_, det.length_, det.n_train_ = gan.channels_, gan.length_, gan.n_train_
    det.g_, det.d_ = copy.deepcopy(gan.g_), copy.deepcopy(gan.d_)
    det._eval()
    return det
