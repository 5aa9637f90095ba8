"""CNN stem and the multi-scale LGS backbone.

Both frames go through the network as one batch of 2B images (frame 0 first). The stem makes
features at 1/1, 1/2 and 1/4; LGS stages run at 1/4 and 1/8, where the SSM branch scans the two
frames together. The backbone returns per-frame features at the 4 scales; the model sums them.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .lgs import LGSStage


def conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.PReLU(cout))


class Stem(nn.Module):
    """(N, 3, H, W) in [0, 1] -> features at 1/1, 1/2, 1/4 with dims[0], dims[1], dims[2] channels."""

    def __init__(self, dims: tuple[int, ...]):
        super().__init__()
        self.levels = nn.ModuleList([
            nn.Sequential(conv(3, dims[0]), conv(dims[0], dims[0])),
            nn.Sequential(conv(dims[0], dims[1], 2), conv(dims[1], dims[1])),
            nn.Sequential(conv(dims[1], dims[2], 2), conv(dims[2], dims[2])),
        ])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        x = x - 0.5
        for level in self.levels:
            x = level(x)
            feats.append(x)
        return feats


class Backbone(nn.Module):
    """(2B, 3, H, W), H and W multiples of 8 -> 4 per-frame feature maps (2B, dims[i], H/2^i, W/2^i)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.dims
        self.stem = Stem(d)
        self.stage3 = LGSStage(d[2], cfg.depths[0], cfg.num_heads[0], cfg)     # 1/4
        self.down = conv(d[2], d[3], 2)
        self.stage4 = LGSStage(d[3], cfg.depths[1], cfg.num_heads[1], cfg)     # 1/8

    def forward(self, frames: torch.Tensor) -> list[torch.Tensor]:
        f0, f1, f2 = self.stem(frames)
        f2 = self.stage3(f2)
        f3 = self.stage4(self.down(f2))
        return [f0, f1, f2, f3]


def sum_frames(feats: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per-frame features (2B, ...) -> frame-0 + frame-1 (B, ...)."""
    return [f[: f.shape[0] // 2] + f[f.shape[0] // 2:] for f in feats]
