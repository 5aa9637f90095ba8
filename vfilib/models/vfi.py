"""The Phase-1 VFI model: ``VFIModel(cfg)(I0, I1, t=0.5) -> I_t``.

    I0, I1 --batch concat--> CNN stem --> LGS stages --> per-frame features summed
           --> RefineNet (residual + blend mask, conditioned on t) --> I_t

Any input size: frames are padded (replicate) to a multiple of ``cfg.pad_multiple`` and the output
is cropped back. Inputs are RGB float tensors in [0, 1] of shape (B, 3, H, W).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig
from .backbone import Backbone, sum_frames
from .refine import RefineNet


def check_pair(img0: torch.Tensor, img1: torch.Tensor) -> None:
    """Raise ValueError with a clear message for inputs the model cannot take."""
    for name, x in (("I0", img0), ("I1", img1)):
        if not torch.is_tensor(x):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4:
            raise ValueError(f"{name} must be (B, 3, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != 3:
            raise ValueError(f"{name} must have 3 (RGB) channels, got {x.shape[1]} (shape {tuple(x.shape)})")
        if not x.is_floating_point():
            raise ValueError(f"{name} must be a float tensor in [0, 1], got dtype {x.dtype}")
    if img0.shape != img1.shape:
        raise ValueError(f"I0 and I1 differ in shape: {tuple(img0.shape)} vs {tuple(img1.shape)}")


def as_time(t, batch: int, like: torch.Tensor) -> torch.Tensor:
    """A float, a (B,) or a (B, 1, 1, 1) timestep -> (B, 1, 1, 1) tensor; t must lie in [0, 1]."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.numel() == 1:
        t = t.reshape(1).expand(batch)
    t = t.reshape(-1)
    if t.numel() != batch:
        raise ValueError(f"t has {t.numel()} values for a batch of {batch}")
    if not torch.isfinite(t).all() or (t < 0).any() or (t > 1).any():
        raise ValueError(f"t must lie in [0, 1], got {t.tolist()}")
    return t.view(batch, 1, 1, 1)


def pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Replicate-pad (…, H, W) on the bottom/right to multiples of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)


class VFIModel(nn.Module):
    """Phase-1 model. forward(I0, I1, t=0.5): (B, 3, H, W) x2 -> (B, 3, H, W) in [0, 1]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = Backbone(cfg)
        self.refine = RefineNet(cfg.dims, cfg.refine_dims)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t=0.5) -> torch.Tensor:
        check_pair(img0, img1)
        b = img0.shape[0]
        tt = as_time(t, b, img0)
        x, (h, w) = pad_to(torch.cat([img0, img1], dim=0), self.cfg.pad_multiple)
        feats = sum_frames(self.backbone(x))
        out = self.refine(feats, x[:b], x[b:], tt)
        return out[..., :h, :w]

    def features(self, img0: torch.Tensor, img1: torch.Tensor) -> list[torch.Tensor]:
        """Per-frame backbone features (2B, C_i, H/2^i, W/2^i), i = 0..4, of the padded pair."""
        check_pair(img0, img1)
        x, _ = pad_to(torch.cat([img0, img1], dim=0), self.cfg.pad_multiple)
        return self.backbone(x)
