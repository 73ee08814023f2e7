"""BiGAN detectors on (n, channels, length) arrays: EGBAD (Zenati et al. 2018, "Efficient
GAN-based anomaly detection") and ALAD (Zenati et al., ICDM 2018).

A generator G: z -> x and an encoder E: x -> z are learned jointly against a discriminator
D(x, z) (``nets.JointCritic``) that tells real pairs (x, E(x)) from generated ones (G(z), z).
At the optimum E inverts G, so no latent search is needed at test time (AnoGAN's cost).

- EGBAD scores ``alpha * |x - G(E(x))| + (1 - alpha) * |f(x, E(x)) - f(G(E(x)), E(x))|`` (f:
  D's joint features; the paper's alpha = 0.9).
- ALAD adds two cycle-consistency discriminators, D_xx(x, x') on sample pairs and D_zz(z, z')
  on code pairs (real: a pair of equal items; fake: an item and its reconstruction), and scores
  by D_xx's features: ``|f_xx(x, x) - f_xx(x, G(E(x)))|`` (the paper's best score).
"recon" is the residual ``|x - G(E(x))|`` for both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.oneclass.base import EpochDetector


class EGBAD(EpochDetector):
    """Efficient GAN-based anomaly detection (BiGAN). Scores "egbad" or "recon"."""

    kind = "egbad"
    scores: tuple[str, ...] = ("egbad", "recon")

    def __init__(self, latent: int = 16, hidden: int = 32, epochs: int = 300,
                 batch_size: int = 32, lr: float = 2e-4, adapt_lr: float = 1e-4,
                 alpha: float = 0.9, score: str = "egbad", threads: int = 1,
                 random_state: int = 0) -> None:
        self.latent = latent
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.adapt_lr = adapt_lr
        self.alpha = alpha
        self.score = score
        self.threads = threads
        self.random_state = random_state

    def _build(self) -> None:
        from models.nn.nets import ConvDecoder, ConvEncoder
        from models.oneclass.nets import JointCritic

        c, n, h = self.channels_, self.length_, self.hidden
        self.g_ = ConvDecoder(self.latent, c, n, h)
        self.e_ = ConvEncoder(c, n, self.latent, h)
        self.d_ = JointCritic(c, n, self.latent, h)

    def _modules(self) -> dict[str, Any]:
        return {"g": self.g_, "e": self.e_, "d": self.d_}

    def _critics(self) -> list[Any]:
        return [self.d_]

    def _d_loss(self, x: Any, z: Any, ex: Any, gz: Any) -> Any:
        """Discriminator loss on real pairs (x, ex = E(x)) and fake pairs (gz = G(z), z)."""
        from models.nn.gan import bce

        return bce(self.d_(x, ex.detach()), True) + bce(self.d_(gz.detach(), z), False)

    def _g_loss(self, x: Any, z: Any, ex: Any, gz: Any) -> Any:
        """G and E fool D: the labels swapped."""
        from models.nn.gan import bce

        return bce(self.d_(x, ex), False) + bce(self.d_(gz, z), True)

    def _steps(self, x: np.ndarray, steps: int, lr: float, rng: np.random.Generator) -> None:
        import torch

        from models.nn.tensors import batches, tensor

        gen = [*self.g_.parameters(), *self.e_.parameters()]
        disc = [p for m in self._critics() for p in m.parameters()]
        opt_g = torch.optim.Adam(gen, lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(disc, lr=lr, betas=(0.5, 0.999))
        xt, it = tensor(x), batches(len(x), self.batch_size, rng)
        self._train_mode()
        for _ in range(steps):
            xb = xt[next(it)]
            z = torch.randn(len(xb), self.latent)
            ex, gz = self.e_(xb), self.g_(z)
            loss_d = self._d_loss(xb, z, ex, gz)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = self._g_loss(xb, z, ex, gz)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        self.loss_ = (float(loss_g.detach()), float(loss_d.detach()))

    def _anomaly(self, x: Any, score: str | None) -> Any:
        score = score or self.score
        if score not in self.scores:
            raise ValueError(f"unknown {self.kind} score {score!r} ({', '.join(self.scores)})")
        ex = self.e_(x)
        xr = self.g_(ex)
        rec = (x - xr).abs().flatten(1).mean(dim=1)
        if score == "recon":
            return rec
        return self._feature_score(x, ex, xr, rec)

    def _feature_score(self, x: Any, ex: Any, xr: Any, rec: Any) -> Any:
        fm = (self.d_.features(x, ex) - self.d_.features(xr, ex)).abs().mean(dim=1)
        return self.alpha * rec + (1.0 - self.alpha) * fm


class ALAD(EGBAD):
    """Adversarially learned anomaly detection: EGBAD plus the cycle discriminators D_xx and
    D_zz. Scores "fm" (D_xx feature matching, default) or "recon"."""

    kind = "alad"
    scores = ("fm", "recon")

    def __init__(self, latent: int = 16, hidden: int = 32, epochs: int = 300,
                 batch_size: int = 32, lr: float = 2e-4, adapt_lr: float = 1e-4,
                 score: str = "fm", threads: int = 1,
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
        from models.nn.nets import ConvEncoder
        from models.oneclass.nets import mlp

        super()._build()
        c, n, h = self.channels_, self.length_, self.hidden
        self.dxx_ = ConvEncoder(2 * c, n, 1, h)
        self.dzz_ = mlp(2 * self.latent, 2 * h, 1)

    def _modules(self) -> dict[str, Any]:
        return {**super()._modules(), "dxx": self.dxx_, "dzz": self.dzz_}

    def _critics(self) -> list[Any]:
        return [self.d_, self.dxx_, self.dzz_]

    def _cycles(self, x: Any, z: Any, ex: Any, gz: Any) -> tuple[Any, Any]:
        """Logits of D_xx on (x, G(E(x))) and D_zz on (z, E(G(z)))."""
        import torch

        return (self.dxx_(torch.cat([x, self.g_(ex)], dim=1)),
                self.dzz_(torch.cat([z, self.e_(gz)], dim=1)))

    def _d_loss(self, x: Any, z: Any, ex: Any, gz: Any) -> Any:
        import torch

        from models.nn.gan import bce

        with torch.no_grad():
            xr, zr = self.g_(ex), self.e_(gz)
        return (super()._d_loss(x, z, ex, gz)
                + bce(self.dxx_(torch.cat([x, x], dim=1)), True)
                + bce(self.dxx_(torch.cat([x, xr], dim=1)), False)
                + bce(self.dzz_(torch.cat([z, z], dim=1)), True)
                + bce(self.dzz_(torch.cat([z, zr], dim=1)), False))

    def _g_loss(self, x: Any, z: Any, ex: Any, gz: Any) -> Any:
        import torch

        from models.nn.gan import bce

        xx_fake, zz_fake = self._cycles(x, z, ex, gz)
        return (super()._g_loss(x, z, ex, gz)
                + bce(self.dxx_(torch.cat([x, x], dim=1)), False) + bce(xx_fake, True)
                + bce(self.dzz_(torch.cat([z, z], dim=1)), False) + bce(zz_fake, True))

    def _feature_score(self, x: Any, ex: Any, xr: Any, rec: Any) -> Any:
        import torch

        real = self.dxx_.features(torch.cat([x, x], dim=1))
        fake = self.dxx_.features(torch.cat([x, xr], dim=1))
        return (real - fake).abs().mean(dim=1)
