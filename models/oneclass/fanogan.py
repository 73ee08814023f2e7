"""f-AnoGAN (Schlegl et al., Medical Image Analysis 2019) on (n, channels, length) arrays.

Two stages on normal data only: a WGAN-GP (generator G: z -> x, critic D), then an encoder E
trained to invert G with G and D frozen ("izi_f": ``x -> E -> z -> G -> x_hat`` with the loss
``mean (x - x_hat)^2 + kappa * mean (f(x) - f(x_hat))^2``, f = D's trunk features). G can only
produce normal-looking samples, so an anomaly is reconstructed badly: the izi_f loss of a sample
is its anomaly score. "latent" scores by the norm of the code ``||E(x)||`` instead (the
latent-norm score of Berg et al.: normal samples map to the prior's typical codes).

``adapt`` fine-tunes E and G jointly on the izi_f loss (D stays frozen as the feature extractor),
so the reconstruction specialises to the new normal samples (one user's writing).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.oneclass.base import ArrayDetector

SCORES = ("izi_f", "izi", "latent")


class FAnoGAN(ArrayDetector):
    """f-AnoGAN detector.

    gan_steps, critic_steps, gp_weight, lr : WGAN-GP training (critic steps per generator step).
    encoder_steps, encoder_lr, kappa : izi_f encoder training (kappa weighs the feature residual).
    score : "izi_f" (default), "izi" (residual only) or "latent" (||E(x)||).
    """

    kind = "fanogan"

    def __init__(self, latent: int = 16, hidden: int = 32, gan_steps: int = 800,
                 critic_steps: int = 4, encoder_steps: int = 800, batch_size: int = 32,
                 lr: float = 2e-4, encoder_lr: float = 1e-3, adapt_lr: float = 2e-4,
                 gp_weight: float = 10.0, kappa: float = 1.0, score: str = "izi_f",
                 threads: int = 1,
                 random_state: int = 0) -> None:
        self.latent = latent
        self.hidden = hidden
        self.gan_steps = gan_steps
        self.critic_steps = critic_steps
        self.encoder_steps = encoder_steps
        self.batch_size = batch_size
        self.lr = lr
        self.encoder_lr = encoder_lr
        self.adapt_lr = adapt_lr
        self.gp_weight = gp_weight
        self.kappa = kappa
        self.score = score
        self.threads = threads
        self.random_state = random_state

    def _check_params(self) -> None:
        from models.base import ParameterError

        if self.gan_steps < 1 or self.critic_steps < 1 or self.encoder_steps < 0:
            raise ParameterError(f"{type(self).__name__}: gan_steps and critic_steps must be "
                                 ">= 1, encoder_steps >= 0")

    def _build(self) -> None:
        from models.nn.nets import ConvDecoder, ConvEncoder

        c, n, h = self.channels_, self.length_, self.hidden
        self.g_ = ConvDecoder(self.latent, c, n, h)
        self.d_ = ConvEncoder(c, n, 1, h)
        self.e_ = ConvEncoder(c, n, self.latent, h)

    def _modules(self) -> dict[str, Any]:
        return {"g": self.g_, "d": self.d_, "e": self.e_}

    def _train(self, x: np.ndarray, rng: np.random.Generator) -> None:
        from models.nn.gan import train_wgan_gp
        from models.nn.tensors import batches, tensor

        xt = tensor(x)
        it = batches(len(x), self.batch_size, rng)
        self.gan_loss_ = train_wgan_gp(
            self.g_, self.d_, xt, it, steps=self.gan_steps, critic_steps=self.critic_steps,
            latent=self.latent, batch_size=self.batch_size, lr=self.lr,
            gp_weight=self.gp_weight, each_step=self._joint_step(xt))
        self._fit_encoder(xt, self.encoder_steps, self.encoder_lr, [self.e_], it)
        self._after_training(xt)

    def _joint_step(self, xt: Any) -> Any:
        """A callback run after each generator step (None: f-AnoGAN trains E afterwards)."""
        return None

    def _after_training(self, xt: Any) -> None:
        """Hook after ``fit`` and ``adapt`` (Berg et al. record their score ranges here)."""

    def _adapt(self, x: np.ndarray, steps: int, rng: np.random.Generator) -> None:
        from models.nn.tensors import batches, tensor

        xt = tensor(x)
        self._fit_encoder(xt, steps, self.adapt_lr, [self.e_, self.g_],
                          batches(len(x), self.batch_size, rng))
        self._after_training(xt)

    def _fit_encoder(self, xt: Any, steps: int, lr: float, trained: list[Any], it: Any) -> None:
        import torch

        params = [p for m in trained for p in m.parameters()]
        opt = torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
        for m in trained:
            m.train()
        for p in self.d_.parameters():
            p.requires_grad_(False)
        try:
            for _ in range(steps):
                loss = self._izi_f(xt[next(it)]).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        finally:
            for p in self.d_.parameters():
                p.requires_grad_(True)
        if steps or not hasattr(self, "encoder_loss_"):
            self.encoder_loss_ = float(loss.detach()) if steps else float("nan")

    def _izi_f(self, x: Any, kappa: float | None = None) -> Any:
        xh = self.g_(self.e_(x))
        res = ((x - xh) ** 2).flatten(1).mean(dim=1)
        k = self.kappa if kappa is None else kappa
        if k == 0:
            return res
        return res + k * ((self.d_.features(x) - self.d_.features(xh)) ** 2).mean(dim=1)

    def _anomaly(self, x: Any, score: str | None) -> Any:
        score = score or self.score
        if score == "izi_f":
            return self._izi_f(x)
        if score == "izi":
            return self._izi_f(x, kappa=0.0)
        if score == "latent":
            return self.e_(x).norm(dim=1)
        raise ValueError(f"unknown f-AnoGAN score {score!r}; known: {', '.join(SCORES)}")
