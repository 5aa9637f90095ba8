"""Image-quality metrics, computed the way the VFI literature computes them.

* :func:`psnr` per image on [0, 1] data (average over images yourself, or use ``reduce``).
* :func:`ssim_matlab` the "matlab" SSIM of RIFE / EMA-VFI / VFIMamba: the RGB image is a 3-D
  volume (C, H, W) filtered with an 11x11x11 Gaussian (sigma 1.5) after replicate padding of 5 on
  all three axes; C1 = (0.01 L)^2, C2 = (0.03 L)^2 with the data range L read from the *first*
  argument (max > 128 -> 255 else 1; min < -0.5 -> range from -1). It is **not** skimage's SSIM
  (which filters each channel in 2-D and crops borders), and values differ in the third decimal.
* :func:`interpolation_error` Middlebury IE: mean |round(255 pred) - GT| on the 0-255 scale.
* :class:`LPIPS` v0.1 with AlexNet or VGG16 from the offline weights (:mod:`vfilib.weights`).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def psnr(pred: torch.Tensor, gt: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """(B, C, H, W) or (C, H, W) -> PSNR in dB per image, shape (B,) (or scalar)."""
    mse = (pred.double() - gt.double()).square().flatten(-3).mean(-1)
    return 10 * torch.log10(data_range ** 2 / mse.clamp_min(1e-20))


def gaussian_window_1d(size: int = 11, sigma: float = 1.5, dtype=torch.float64) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype) - size // 2
    g = torch.exp(-x.square() / (2 * sigma ** 2))
    return g / g.sum()


def ssim_matlab(img1: torch.Tensor, img2: torch.Tensor, window_size: int = 11) -> torch.Tensor:
    """SSIM per image, (B, 3, H, W) -> (B,). See the module docstring for the exact definition."""
    if img1.ndim == 3:
        return ssim_matlab(img1[None], img2[None], window_size)[0]
    max_val = 255.0 if img1.max() > 128 else 1.0
    min_val = -1.0 if img1.min() < -0.5 else 0.0
    L = max_val - min_val
    dt = torch.float64 if img1.dtype == torch.float64 else torch.float32
    _, _, h, w = img1.shape
    size = min(window_size, h, w)
    g = gaussian_window_1d(size, dtype=dt).to(img1.device)
    kernels = (g.view(1, 1, -1, 1, 1), g.view(1, 1, 1, -1, 1), g.view(1, 1, 1, 1, -1))
    p = window_size // 2

    def filt(x):  # the separable 3-D Gaussian, one axis at a time
        x = F.pad(x, (p,) * 6, mode="replicate")
        for k in kernels:
            x = F.conv3d(x, k)
        return x

    a, b = img1.to(dt)[:, None], img2.to(dt)[:, None]
    mu1, mu2 = filt(a), filt(b)
    s11 = filt(a * a) - mu1 * mu1
    s22 = filt(b * b) - mu2 * mu2
    s12 = filt(a * b) - mu1 * mu2
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2))
    return m.flatten(1).mean(1)


def interpolation_error(pred: torch.Tensor, gt_uint8: torch.Tensor) -> torch.Tensor:
    """Middlebury IE per image: pred in [0, 1], GT on 0-255 (uint8 or float), (B, 3, H, W) -> (B,)."""
    p = torch.round(pred.double().clamp(0, 1) * 255)
    return (p - gt_uint8.double()).abs().flatten(1).mean(1)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round [0, 1] data to 8-bit levels (what saving a PNG does), staying in [0, 1]."""
    return torch.round(x.clamp(0, 1) * 255) / 255


class LPIPS(nn.Module):
    """LPIPS v0.1 distance; inputs (B, 3, H, W) RGB in [0, 1]; returns (B,)."""

    SHIFT = (-0.030, -0.088, -0.188)
    SCALE = (0.458, 0.448, 0.450)

    def __init__(self, net: str = "alex"):
        super().__init__()
        from ..models.published.imagenet import alexnet_features, vgg16_features

        feats, lins = {"alex": alexnet_features, "vgg": vgg16_features}[net]()
        self.net = feats
        for i, w in enumerate(lins):
            self.register_buffer(f"lin{i}", torch.from_numpy(w.copy()).view(1, -1, 1, 1))
        self.register_buffer("shift", torch.tensor(self.SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(self.SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fa = self.net(((a * 2 - 1) - self.shift) / self.scale)
        fb = self.net(((b * 2 - 1) - self.shift) / self.scale)
        total = 0
        for i, (x, y) in enumerate(zip(fa, fb)):
            x = x / (x.square().sum(1, keepdim=True).sqrt() + 1e-10)
            y = y / (y.square().sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + ((x - y).square() * getattr(self, f"lin{i}")).sum(1).mean((1, 2))
        return total


def mean(values) -> float:
    vals = [float(v) for v in values]
    return sum(vals) / len(vals) if vals else math.nan
