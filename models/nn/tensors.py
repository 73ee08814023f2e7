"""numpy <-> torch helpers: float32 tensors, shuffled batches, and network weights as named
arrays (npz-ready: stored models and the weight cache never pickle)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn


def batches(n: int, batch_size: int, rng: np.random.Generator):
    """Endless shuffled index batches (a new permutation per pass over the data)."""
    while True:
        order = rng.permutation(n)
        for s in range(0, n, batch_size):
            yield order[s:s + batch_size]


def tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def module_arrays(modules: Mapping[str, nn.Module]) -> dict[str, np.ndarray]:
    """{"<name>.<param>": array} of several modules' weights (npz-ready, no pickle)."""
    return {f"{name}.{k}": v.detach().cpu().numpy().copy()
            for name, mod in modules.items() for k, v in mod.state_dict().items()}


def load_module_arrays(modules: Mapping[str, nn.Module], arrays: Mapping[str, np.ndarray]
                       ) -> None:
    """Inverse of ``module_arrays``; ValueError on missing or mis-shaped weights."""
    for name, mod in modules.items():
        prefix = name + "."
        state = {k[len(prefix):]: torch.from_numpy(np.array(v, dtype=np.float32))
                 for k, v in arrays.items() if k.startswith(prefix)}
        try:
            mod.load_state_dict(state)
        except RuntimeError as exc:  # missing keys or shape mismatch
            raise ValueError(f"network {name!r} does not match its stored weights") from exc
        mod.eval()
