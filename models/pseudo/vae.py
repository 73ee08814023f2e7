"""The "vae" generator: pseudo data decoded from a VAE's latent space around the user's samples.

The report's second route to pseudo-anomalies. A small fully connected VAE learns, from other
people's recordings, what fixed-length writing shapes look like (positions centred, scaled
to unit RMS size, resampled to ``length`` points). For a user, each reference is encoded to
its latent mean; codes on a shell around it (``impostor_radius`` times the user's own latent
spread) decode to pseudo-impostors, codes very near it (``genuine_radius``) to pseudo-genuine.

A VAE decodes blurry averages, so a decoded shape is never used directly: the *change* the
latent move makes, ``decode(z') - decode(z)``, is added to the reference itself (resampled to
its frames, in its units). Timing, pen state and fine detail stay the reference's; only the
learned, writer-like shape variation is new.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from capture.preprocess import resample_length, scale_normalize
from capture.trajectory import Trajectory, TrajectoryMeta
from models.nn.threads import set_threads
from models.pseudo.base import GENUINE, IMPOSTOR, PseudoData, PseudoDataError, PseudoGenerator, tag

VERSION = 1
_PREFIX = "net."


def shape_vector(traj: Trajectory, length: int) -> tuple[np.ndarray, float]:
    """(length * D,) unit-size resampled positions and the RMS size that was divided out."""
    pos = traj.positions - traj.positions.mean(axis=0)
    size = float(np.sqrt(np.mean(np.sum(pos**2, axis=1)))) or 1.0
    return resample_length(scale_normalize(pos), length).ravel(), size


def _net(in_dim: int, hidden: int, latent: int):
    import torch

    class VAE(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = torch.nn.Sequential(
                torch.nn.Linear(in_dim, hidden), torch.nn.SiLU(),
                torch.nn.Linear(hidden, hidden // 2), torch.nn.SiLU())
            self.mu = torch.nn.Linear(hidden // 2, latent)
            self.logvar = torch.nn.Linear(hidden // 2, latent)
            self.dec = torch.nn.Sequential(
                torch.nn.Linear(latent, hidden // 2), torch.nn.SiLU(),
                torch.nn.Linear(hidden // 2, hidden), torch.nn.SiLU(),
                torch.nn.Linear(hidden, in_dim))

        def encode(self, x):
            h = self.enc(x)
            return self.mu(h), self.logvar(h)

        def forward(self, x):
            mu, logvar = self.encode(x)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return self.dec(z), mu, logvar

    return VAE()


class VAEGenerator(PseudoGenerator):
    """VAE latent-shell pseudo data (generator name "vae").

    Parameters
    ----------
    length : points per resampled shape vector.
    latent, hidden : network size.
    epochs, batch_size, lr, beta : training (beta weighs the KL term).
    impostor_radius, genuine_radius : shell radii in units of the user's latent spread
        (mean distance of the references' codes to their centroid).
    n_impostors, n_genuine : how many of each per enrollment.
    pretrain_seed : seeds ``fit`` (the network); random_state : seeds ``generate``.
    """

    name = "vae"

    def __init__(self, length: int = 64, latent: int = 16, hidden: int = 256,
                 epochs: int = 300, batch_size: int = 64, lr: float = 2e-3, beta: float = 0.05,
                 impostor_radius: float = 4.0, genuine_radius: float = 0.5,
                 n_impostors: int = 0, n_genuine: int = 20, threads: int = 1,
                 pretrain_seed: int = 0, random_state: int = 0) -> None:
        self.length = length
        self.latent = latent
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.impostor_radius = impostor_radius
        self.genuine_radius = genuine_radius
        self.n_impostors = n_impostors
        self.n_genuine = n_genuine
        self.threads = threads
        self.pretrain_seed = pretrain_seed
        self.random_state = random_state

    # -- fit ----------------------------------------------------------------------------------
    def _fit(self, background: list[Trajectory], seed: int) -> None:
        import torch

        if len({t.dims for t in background}) > 1:
            raise PseudoDataError("background mixes 2-D and 3-D trajectories")
        self.dims_ = background[0].dims if background else None
        self.net_ = None
        self.latent_scale_ = 1.0
        if len(background) < 4:
            return  # nothing to learn from: generate() then returns no pseudo data
        set_threads(self.threads)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        x = np.stack([shape_vector(t, self.length)[0] for t in background]).astype(np.float32)
        net = _net(x.shape[1], self.hidden, self.latent)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        xt = torch.from_numpy(x)
        net.train()
        for _ in range(self.epochs):
            order = rng.permutation(len(x))
            for s in range(0, len(x), self.batch_size):
                xb = xt[order[s:s + self.batch_size]]
                rec, mu, logvar = net(xb)
                recon = torch.mean(torch.sum((rec - xb) ** 2, dim=1))
                kl = torch.mean(-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1))
                loss = recon + self.beta * kl
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
        self.net_ = net
        self.train_loss_ = float(loss.detach())
        with torch.no_grad():
            mu, _ = net.encode(xt)
        # typical distance of a code to the latent centroid: the fallback radius unit
        self.latent_scale_ = float(torch.linalg.norm(mu - mu.mean(0), dim=1).mean()) or 1.0

    # -- generate -----------------------------------------------------------------------------
    def _generate(self, references: list[Trajectory], seed: int) -> PseudoData:
        import torch

        if self.net_ is None:
            return PseudoData()
        if self.dims_ is not None and references[0].dims != self.dims_:
            raise PseudoDataError(
                f"references are {references[0].dims}-D but the generator was fitted on "
                f"{self.dims_}-D background data")
        set_threads(self.threads)
        rng = np.random.default_rng(seed)
        vecs, sizes = zip(*(shape_vector(r, self.length) for r in references))
        with torch.no_grad():
            mu, _ = self.net_.encode(torch.from_numpy(np.stack(vecs).astype(np.float32)))
            mu = mu.numpy().astype(np.float64)
            base = self.net_.dec(torch.from_numpy(mu.astype(np.float32))).numpy()
        spread = float(np.mean(np.linalg.norm(mu - mu.mean(axis=0), axis=1)))
        if len(references) < 2 or spread <= 0:
            spread = 0.5 * self.latent_scale_
        out = PseudoData()
        for kind, count, radius in ((GENUINE, self.n_genuine, self.genuine_radius),
                                    (IMPOSTOR, self.n_impostors, self.impostor_radius)):
            if count <= 0:
                continue
            parents = np.arange(count) % len(references)
            u = rng.standard_normal((count, mu.shape[1]))
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            z = mu[parents] + radius * spread * u
            with torch.no_grad():
                dec = self.net_.dec(torch.from_numpy(z.astype(np.float32))).numpy()
            for k, p in enumerate(parents):
                delta = (dec[k] - base[p]).reshape(self.length, -1).astype(np.float64)
                out_list = out.genuine if kind == GENUINE else out.impostors
                out_list.append(self._apply(references[int(p)], int(p), delta, sizes[p],
                                            kind, radius, seed))
        return out

    def _apply(self, ref: Trajectory, parent: int, delta: np.ndarray, size: float, kind: str,
               radius: float, seed: int) -> Trajectory:
        pos = ref.positions + size * resample_length(delta, len(ref))
        meta = TrajectoryMeta(
            user=ref.meta.user, content=ref.meta.content, device=ref.meta.device,
            source=ref.meta.source,
            extra={"transform": "vae-shell", "strength": float(radius), "parents": [parent],
                   "parent_sources": [ref.meta.source], "seed": int(seed)})
        return tag(Trajectory(ref.t, pos, ref.channels, meta), kind, self.name)

    # -- state --------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        params = {"version": VERSION, **self.get_params(), "dims_": self.dims_,
                  "latent_scale_": self.latent_scale_, "trained": self.net_ is not None}
        arrays = {}
        if self.net_ is not None:
            arrays = {_PREFIX + k: v.detach().numpy().copy()
                      for k, v in self.net_.state_dict().items()}
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> VAEGenerator:
        import torch

        p = dict(params)
        if p.pop("version", None) != VERSION:
            raise ValueError("unsupported vae generator version")
        dims, scale, trained = p.pop("dims_"), p.pop("latent_scale_"), p.pop("trained")
        self = cls(**p)
        self.dims_, self.latent_scale_, self.net_ = dims, float(scale), None
        if trained:
            in_dim = self.length * int(dims)
            net = _net(in_dim, self.hidden, self.latent)
            net.load_state_dict({k[len(_PREFIX):]: torch.from_numpy(np.array(v))
                                 for k, v in arrays.items() if k.startswith(_PREFIX)})
            net.eval()
            self.net_ = net
        self.fitted_ = True
        return self
