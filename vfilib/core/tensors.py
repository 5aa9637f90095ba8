"""Tensor helpers every layer uses: padding to a multiple and cropping back."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to(x: torch.Tensor, multiple: int, mode: str = "replicate") -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (..., H, W) on the bottom/right to multiples of ``multiple``; returns (padded, (H, W))."""
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)
