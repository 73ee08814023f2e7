"""EfficientNet embedding of trajectories, trained from scratch on other people's writing.

Why a CNN at all: deciding whether a generated candidate still "looks like" the user needs a
similarity that knows what varies between writers and what varies within one writer. A
network trained to tell background writers apart (writer discrimination: classify the
identity) learns exactly that, and its penultimate layer (global-average-pooled EfficientNet
features, L2-normalised) is the embedding. No pretrained weights exist offline, so the net
is trained on CPU in bounded time: fixed epochs (deterministic per seed) with a wall-clock
cap (``time_budget_s``) as a safety net; ``epochs_done_`` records what actually ran.

Weak candidates (``models.pseudo.candidates`` at low strength) of the background samples are
used as training augmentation with the source writer's label: they teach the network that
such variations do not change who wrote it.

State: ``get_state()`` -> (JSON params incl. version, {name: array}) with the network's
``state_dict``; ``from_state`` rebuilds it. No pickle, no torch.save.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from capture.trajectory import Trajectory
from models.base import Estimator, check_seed
from models.nn.threads import set_threads
from models.persistence import Persistent
from models.pseudo.render import N_CHANNELS, render_batch

VERSION = 1
_PREFIX = "net."


def _torch():
    import torch

    return torch


class EfficientNetEmbedder(Estimator, Persistent):
    """Writer-discrimination EfficientNet (b0 layout, scaled width/depth) over rendered images.

    ``fit(trajs, labels)`` trains; ``transform(trajs)`` -> (n, d) float32 unit vectors.
    """

    def __init__(self, image_size: int = 64, width: float = 0.5, depth: float = 0.5,
                 epochs: int = 30, time_budget_s: float = 300.0, batch_size: int = 32,
                 lr: float = 2e-3, weight_decay: float = 1e-4, dropout: float = 0.2,
                 augment: float = 0.5, margin: float = 0.2, scale: float = 16.0,
                 threads: int = 1, random_state: int = 0) -> None:
        self.image_size = image_size
        self.width = width
        self.depth = depth
        self.epochs = epochs
        self.time_budget_s = time_budget_s
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.augment = augment
        self.margin = margin
        self.scale = scale
        self.threads = threads
        self.random_state = random_state

    # -- network ------------------------------------------------------------------------------
    def _build(self, n_classes: int):
        from efficientnet_pytorch import EfficientNet

        return EfficientNet.from_name(
            "efficientnet-b0", in_channels=N_CHANNELS, num_classes=n_classes,
            width_coefficient=self.width, depth_coefficient=self.depth,
            image_size=self.image_size, dropout_rate=self.dropout,
            batch_norm_momentum=0.9)  # torch momentum 0.1: the 0.99 default lags short runs

    def _logits(self, net, x, y=None):
        """Additive-margin cosine softmax (CosFace): features of unseen writers then cluster
        by angle, which is what the embedding is used for; ``_fc.weight`` holds the classes."""
        torch = _torch()
        f = torch.nn.functional.normalize(net._dropout(self._pooled(net, x)), dim=1)
        w = torch.nn.functional.normalize(net._fc.weight, dim=1)
        cos = f @ w.T
        if y is not None:
            cos = cos - self.margin * torch.nn.functional.one_hot(y, cos.shape[1])
        return self.scale * cos

    def _recalibrate(self, net, images: np.ndarray) -> None:
        """Re-estimate BatchNorm statistics on the training images with frozen weights.

        Running averages from a short, augmented run do not match the final weights; exact
        averages over the clean images do (embeddings then reflect what the net learned).
        """
        torch = _torch()
        bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        net.eval()
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
            m.train()
        with torch.no_grad():
            for s in range(0, len(images), 64):
                self._pooled(net, torch.from_numpy(images[s:s + 64]))
        for m in bns:
            m.momentum = 0.1
        net.eval()

    @staticmethod
    def _pooled(net, x):
        """Penultimate layer: global-average-pooled final feature map."""
        return net._avg_pooling(net.extract_features(x)).flatten(start_dim=1)

    # -- training -----------------------------------------------------------------------------
    def fit(self, trajs: Sequence[Trajectory], labels: Sequence[Any],
            augmenter=None, log=None) -> EfficientNetEmbedder:
        """Train on ``trajs`` labelled by writer; ``augmenter(traj, rng) -> Trajectory``;
        ``random_state`` seeds the weights, the augmentation and the batches.

        ``log``: optional callable receiving one progress line per epoch.
        """
        torch = _torch()
        set_threads(self.threads)
        classes, y = np.unique(np.asarray([str(v) for v in labels]), return_inverse=True)
        if classes.size < 2:
            raise ValueError("writer discrimination needs at least two identities")
        seed = check_seed("random_state", self.random_state)
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        net = self._build(int(classes.size))
        base = render_batch(list(trajs), self.image_size)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps_per_epoch = int(np.ceil(len(base) / self.batch_size))
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=self.lr, total_steps=max(1, self.epochs * steps_per_epoch))
        y_t = torch.as_tensor(y, dtype=torch.long)
        t0 = time.perf_counter()
        epochs_done, last_loss, last_acc = 0, float("nan"), float("nan")
        net.train()
        for epoch in range(self.epochs):
            images = base.copy()
            if augmenter is not None and self.augment > 0:
                pick = np.flatnonzero(rng.random(len(base)) < self.augment)
                if pick.size:
                    images[pick] = render_batch([augmenter(trajs[i], rng) for i in pick],
                                                self.image_size)
            order = rng.permutation(len(base))
            losses, correct = [], 0
            for s in range(steps_per_epoch):
                idx = order[s * self.batch_size:(s + 1) * self.batch_size]
                if idx.size < 2:  # BatchNorm needs more than one sample
                    continue
                x = torch.from_numpy(images[idx])
                logits = self._logits(net, x, y_t[idx])
                loss = torch.nn.functional.cross_entropy(logits, y_t[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
                correct += int((logits.argmax(1) == y_t[idx]).sum())
            epochs_done += 1
            last_loss, last_acc = float(np.mean(losses)), correct / len(base)
            if log is not None:
                log(f"epoch {epoch + 1}/{self.epochs} loss {last_loss:.3f} "
                    f"train-acc {last_acc:.2f} {time.perf_counter() - t0:.1f}s")
            if time.perf_counter() - t0 > self.time_budget_s:
                break
        self._recalibrate(net, base)
        self.net_ = net
        self.classes_ = [str(c) for c in classes]
        self.epochs_done_ = epochs_done
        self.train_time_s_ = float(time.perf_counter() - t0)
        self.train_loss_ = last_loss
        self.train_acc_ = last_acc
        return self

    # -- embedding ----------------------------------------------------------------------------
    def transform(self, trajs: Sequence[Trajectory], batch: int = 128) -> np.ndarray:
        """(n, d) float32 L2-normalised embeddings."""
        torch = _torch()
        set_threads(self.threads)
        images = render_batch(list(trajs), self.image_size)
        out = []
        with torch.no_grad():
            for s in range(0, len(images), batch):
                out.append(self._pooled(self.net_, torch.from_numpy(images[s:s + batch])).numpy())
        emb = np.concatenate(out) if out else np.zeros((0, self.dim_), dtype=np.float32)
        norm = np.linalg.norm(emb, axis=1, keepdims=True)
        return (emb / np.where(norm > 0, norm, 1.0)).astype(np.float32)

    @property
    def dim_(self) -> int:
        return int(self.net_._fc.in_features)

    @property
    def n_parameters_(self) -> int:
        return int(sum(p.numel() for p in self.net_.parameters()))

    # -- state --------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        params = {
            "version": VERSION, **self.get_params(), "classes_": self.classes_,
            "epochs_done_": self.epochs_done_, "train_time_s_": self.train_time_s_,
            "train_loss_": self.train_loss_, "train_acc_": self.train_acc_,
        }
        arrays = {_PREFIX + k: v.detach().cpu().numpy().copy()
                  for k, v in self.net_.state_dict().items()}
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any],
                   arrays: dict[str, np.ndarray]) -> EfficientNetEmbedder:
        torch = _torch()
        if params.get("version") != VERSION:
            raise ValueError(f"embedding version {params.get('version')} != {VERSION}")
        keys = ("image_size", "width", "depth", "epochs", "time_budget_s", "batch_size", "lr",
                "weight_decay", "dropout", "augment", "margin", "scale", "threads",
                "random_state")
        self = cls(**{k: params[k] for k in keys if k in params})
        self.classes_ = list(params["classes_"])
        net = self._build(len(self.classes_))
        state = {k[len(_PREFIX):]: torch.from_numpy(np.array(v)) for k, v in arrays.items()
                 if k.startswith(_PREFIX)}
        net.load_state_dict(state, strict=True)
        net.eval()
        self.net_ = net
        for k in ("epochs_done_", "train_time_s_", "train_loss_", "train_acc_"):
            setattr(self, k, params.get(k))
        return self
