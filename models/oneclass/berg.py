"""Berg, Ahlberg, Felsberg (2019), "Unsupervised learning of anomaly detection from
contaminated image data using simultaneous encoder training", on (n, channels, length) arrays.

f-AnoGAN trains its encoder after the GAN; Berg et al. train it *with* the GAN: after every
generator update the encoder takes one izi_f step against the current generator (the
``each_step`` hook of ``nets.train_wgan_gp``). They find that this stratifies the latent space
-- samples unlike the bulk of the training data, including anomalies that contaminate it, get
codes of larger norm -- and score by the min-max normalised residual plus the latent norm.
Here both terms are min-max normalised over the training data (``nets.Range``, stored with the
weights; refreshed on ``adapt``): ``(r - r_min) / (r_max - r_min) + (|z| - n_min) / (n_max -
n_min)`` with r the izi_f residual and z = E(x) ("berg"); f-AnoGAN's "izi_f", "izi" and
"latent" scores are available on the same networks.
"""

from __future__ import annotations

from typing import Any

from models.oneclass.fanogan import SCORES as FANOGAN_SCORES
from models.oneclass.fanogan import FAnoGAN


class BergGAN(FAnoGAN):
    """f-AnoGAN with the encoder trained jointly (one izi_f step per generator step), then
    ``encoder_steps`` more as in f-AnoGAN (0 by default); score "berg"."""

    kind = "berg"
    signed_scores = ("berg",)

    def __init__(self, latent: int = 16, hidden: int = 32, gan_steps: int = 800,
                 critic_steps: int = 4, encoder_steps: int = 0, batch_size: int = 32,
                 lr: float = 2e-4, encoder_lr: float = 1e-3, adapt_lr: float = 2e-4,
                 gp_weight: float = 10.0, kappa: float = 1.0, score: str = "berg",
                 threads: int = 1,
                 random_state: int = 0) -> None:
        super().__init__(latent=latent, hidden=hidden, gan_steps=gan_steps,
                         critic_steps=critic_steps, encoder_steps=encoder_steps,
                         batch_size=batch_size, lr=lr, encoder_lr=encoder_lr,
                         adapt_lr=adapt_lr, gp_weight=gp_weight, kappa=kappa, score=score,
                         threads=threads, random_state=random_state)

    def _build(self) -> None:
        from models.oneclass.nets import Range

        super()._build()
        self.range_ = Range(2)

    def _modules(self) -> dict[str, Any]:
        return {**super()._modules(), "range": self.range_}

    def _joint_step(self, xt: Any) -> Any:
        import torch

        opt = torch.optim.Adam(self.e_.parameters(), lr=self.encoder_lr, betas=(0.5, 0.999))
        gen_and_critic = [*self.g_.parameters(), *self.d_.parameters()]

        def step(xb: Any) -> None:
            self.e_.train()
            for p in gen_and_critic:
                p.requires_grad_(False)
            try:
                loss = self._izi_f(xb).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            finally:
                for p in gen_and_critic:
                    p.requires_grad_(True)
            self.encoder_loss_ = float(loss.detach())

        return step

    def _raw(self, x: Any) -> Any:
        """(n, 2): izi_f residual and latent norm."""
        import torch

        return torch.stack([self._izi_f(x), self.e_(x).norm(dim=1)], dim=1)

    def _after_training(self, xt: Any) -> None:
        import torch

        self._eval()
        with torch.no_grad():
            self.range_.set(self._raw(xt))

    def _anomaly(self, x: Any, score: str | None) -> Any:
        score = score or self.score
        if score == "berg":
            return self.range_(self._raw(x)).sum(dim=1)
        if score not in FANOGAN_SCORES:
            raise ValueError(f"unknown Berg score {score!r}; known: berg, "
                             f"{', '.join(FANOGAN_SCORES)}")
        return super()._anomaly(x, score)
