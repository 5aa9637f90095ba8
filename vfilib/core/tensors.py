"""Tensor helpers every layer uses: padding to a multiple, and the one place that converts images
between float [0, 1] and uint8 levels (tensors and arrays)."""
from __future__ import annotations

import numpy as np
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


def to_uint8(x: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Floats in [0, 1] -> uint8 levels (clamped, rounded half to even), a tensor or an array, same shape."""
    if torch.is_tensor(x):
        return torch.round(x.detach().float().clamp(0, 1) * 255).to(torch.uint8)
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def from_uint8(x: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """uint8 levels -> float32 in [0, 1], a tensor or an array, same shape."""
    if torch.is_tensor(x):
        return x.float().div_(255)
    return x.astype(np.float32) / 255


def tensor_to_image(x: torch.Tensor) -> np.ndarray:
    """(3, H, W) float tensor in [0, 1] (any device) -> (H, W, 3) uint8 array."""
    return to_uint8(x).permute(1, 2, 0).cpu().numpy()


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 array -> (3, H, W) float32 tensor in [0, 1]."""
    return from_uint8(torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1))
