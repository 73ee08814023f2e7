"""Torch's thread count, capped for a small shared machine (torch is imported on call only)."""

from __future__ import annotations


def set_threads(n: int) -> None:
    """Cap torch's intra-op threads (the product runs on a 2-core machine next to other work)."""
    import torch

    n = int(max(1, min(2, n)))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
