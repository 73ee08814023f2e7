"""The context-encoder network of the mask-and-inpaint generators ("gan", "vae-inpaint")."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.nn.nets import act


class InpaintNet(nn.Module):
    """(x, mask, z) -> x with the masked frames regenerated (context encoder).

    ``mask`` is (n, 1, L) with 1 on the frames to fill; the network sees the sample with those
    frames zeroed, the mask itself, and a latent code ``z`` (n, latent) injected only on masked
    frames (noise for the GAN, a posterior/prior sample for the VAE). Dilated residual
    convolutions (kernel 3, dilations up to 32: receptive field 127 frames) let every filled frame see the whole context,
    so the fill joins the kept parts on both sides. Unmasked frames are returned unchanged.
    """

    def __init__(self, channels: int, latent: int, hidden: int = 32,
                 dilations: Sequence[int] = (1, 2, 4, 8, 16, 32)) -> None:
        super().__init__()
        self.inp = nn.Conv1d(channels + 1, hidden, 3, padding=1)
        self.z_proj = nn.Linear(latent, hidden)
        self.blocks = nn.ModuleList(nn.Conv1d(hidden, hidden, 3, padding=d, dilation=d)
                                    for d in dilations)
        self.out = nn.Conv1d(hidden, channels, 3, padding=1)
        self.act = act()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        keep = x * (1.0 - mask)
        h = self.inp(torch.cat([keep, mask], dim=1)) + self.z_proj(z)[:, :, None] * mask
        for conv in self.blocks:
            h = h + conv(self.act(h))
        return keep + self.out(self.act(h)) * mask
