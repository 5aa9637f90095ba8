"""CNN stem and the multi-scale LGS backbone.

Both frames go through the network as one batch of 2B images (frame 0 first). The stem makes
features at 1/1, 1/2 and 1/4; LGS stages run at 1/8 and 1/16, where the SSM branch scans the two
frames together. The backbone returns per-frame features at the 5 scales; the model sums them.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ...config import ModelConfig
from ..layers import ConvPyramid, conv
from .lgs import lgs_stage


class Backbone(nn.Module):
    """(2B, 3, H, W), H and W multiples of 16 -> 5 per-frame maps (2B, dims[i], H/2^i, W/2^i)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.dims
        self.stem = ConvPyramid(3, d[:3], center=True)      # 1/1, 1/2, 1/4
        self.down3 = conv(d[2], d[3], 2)
        self.stage3 = lgs_stage(d[3], cfg.depths[0], cfg.num_heads[0], cfg)     # 1/8
        self.down4 = conv(d[3], d[4], 2)
        self.stage4 = lgs_stage(d[4], cfg.depths[1], cfg.num_heads[1], cfg)     # 1/16

    def forward(self, frames: torch.Tensor, context: nn.Module | None = None) -> list[torch.Tensor]:
        """``context`` (N-frame models, :class:`.context.TemporalContext`): ``frames`` holds N frames per
        window (N*B: I0, I1, then the context frames); it mixes their 1/8 maps into the pair's, and the
        maps returned (and the LGS stages) are the pair's (2B, ...)."""
        feats = self.stem(frames)
        f3 = self.down3(feats[-1])
        if context is not None:
            feats, f3 = context(feats, f3)
        f3 = self.stage3(f3)
        f4 = self.stage4(self.down4(f3))
        return feats + [f3, f4]


def sum_frames(feats: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per-frame features (2B, ...) -> frame-0 + frame-1 (B, ...)."""
    return [f[: f.shape[0] // 2] + f[f.shape[0] // 2:] for f in feats]
