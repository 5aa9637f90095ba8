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

from .backbone import conv


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
    """feats: 4 maps (B, C_i, H/2^i, W/2^i); images A, B: (B, 3, H, W); t: (B, 1, 1, 1)."""

    def __init__(self, feat_dims: tuple[int, ...], dims: tuple[int, ...], extra_in: int = 0):
        super().__init__()
        self.bottom = nn.Sequential(conv(feat_dims[3] + 1, dims[3]), conv(dims[3], dims[3]))
        self.up2 = UpBlock(dims[3], feat_dims[2], dims[2])
        self.up1 = UpBlock(dims[2], feat_dims[1], dims[1])
        self.up0 = UpBlock(dims[1], feat_dims[0] + 6 + extra_in, dims[0])
        self.head = nn.Conv2d(dims[0], 4, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, feats, img_a, img_b, t, base_logit=None, extra=None):
        f0, f1, f2, f3 = feats
        x = self.bottom(torch.cat([f3, t.expand(-1, 1, *f3.shape[2:])], dim=1))
        x = self.up2(x, f2, t)
        x = self.up1(x, f1, t)
        skip0 = [f0, img_a, img_b] + ([extra] if extra is not None else [])
        x = self.up0(x, torch.cat(skip0, dim=1), t)
        out = self.head(x)
        res, mask_logit = out[:, :3], out[:, 3:4]
        if base_logit is None:
            base_logit = time_logit(t)
        m = torch.sigmoid(base_logit + mask_logit)
        return (m * img_a + (1 - m) * img_b + res).clamp(0, 1)

