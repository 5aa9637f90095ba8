"""RefineNet: a small U-Net decoder that turns multi-scale features into the frame at time t.

    I_t = m * A + (1 - m) * B + r,      m = sigmoid(base_logit + mask_logit)

A, B are the two candidate images (the inputs in Phase 1, the warped inputs in Phase 2) and
``base_logit`` is the prior for the blend: ``logit(1 - t)`` in Phase 1 (linear blend at start, since
the head is zero-initialised) and the flow estimator's mask logit in Phase 2. The timestep enters
every decoder level as a constant channel.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layers import conv


def time_logit(t: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """logit(1 - t): the mask that gives the linear blend (1-t) A + t B."""
    m = (1 - t).clamp(eps, 1 - eps)
    return torch.log(m) - torch.log1p(-m)


class UpBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 4, 2, 1)
        self.body = nn.Sequential(conv(cout + cskip + 1, cout), conv(cout, cout))

    def forward(self, x, skip, tmap):
        x = self.up(x)
        return self.body(torch.cat([x, skip, tmap.expand(-1, 1, *x.shape[2:])], dim=1))


class RefineNet(nn.Module):
    """feats: maps (B, C_i, H/2^i, W/2^i), finest first; images A, B: (B, 3, H, W); t: (B, 1, 1, 1)."""

    def __init__(self, feat_dims: tuple[int, ...], dims: tuple[int, ...], extra_in: int = 0):
        super().__init__()
        self.bottom = nn.Sequential(conv(feat_dims[-1] + 1, dims[-1]), conv(dims[-1], dims[-1]))
        skips = list(feat_dims[:-1])
        skips[0] += 6 + extra_in                         # the finest level also sees both images
        self.ups = nn.ModuleList([UpBlock(dims[i + 1], skips[i], dims[i]) for i in reversed(range(len(dims) - 1))])
        self.head = nn.Conv2d(dims[0], 4, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, feats, img_a, img_b, t, base_logit=None, extra=None):
        res, mask_logit = self.decode(feats, img_a, img_b, t, extra)
        return blend(img_a, img_b, res, (time_logit(t) if base_logit is None else base_logit) + mask_logit)

    def decode(self, feats, img_a, img_b, t, extra=None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> residual (B, 3, H, W) and mask logit (B, 1, H, W), before blending."""
        x = self.bottom(torch.cat([feats[-1], t.expand(-1, 1, *feats[-1].shape[2:])], dim=1))
        skips = list(feats[:-1])
        skips[0] = torch.cat([skips[0], img_a, img_b] + ([extra] if extra is not None else []), dim=1)
        for up, skip in zip(self.ups, reversed(skips)):
            x = up(x, skip, t)
        out = self.head(x)
        return out[:, :3], out[:, 3:4]


def blend(img_a: torch.Tensor, img_b: torch.Tensor, res: torch.Tensor, logit: torch.Tensor) -> torch.Tensor:
    """sigmoid(logit) * A + (1 - sigmoid(logit)) * B + res, clamped to [0, 1]."""
    m = torch.sigmoid(logit)
    return (m * img_a + (1 - m) * img_b + res).clamp(0, 1)
