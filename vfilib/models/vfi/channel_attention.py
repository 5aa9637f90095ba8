"""Channel attention blocks for the LGS fusion: ECAB (ECA-Net) and CAB (RCAN squeeze-excite).

Both share the body ``conv3x3 -> GELU -> conv3x3`` and differ only in how channels are reweighted,
so Exp-1f compares exactly the attention. Input and output: (N, C, H, W).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn


def eca_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """ECA-Net's adaptive kernel size: the odd number nearest |log2(C) + b| / gamma."""
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


class ECA(nn.Module):
    """Efficient channel attention: 1-D conv over the pooled channel descriptor."""

    def __init__(self, channels: int):
        super().__init__()
        k = eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean(dim=(2, 3))[:, None, :]                     # (N, 1, C)
        return x * torch.sigmoid(self.conv(y))[:, 0, :, None, None]


class SqueezeExcite(nn.Module):
    """RCAN channel attention: pool -> 1x1 conv (C/r) -> ReLU -> 1x1 conv -> sigmoid."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        mid = max(channels // reduction, 4)
        self.body = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, mid, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(mid, channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.body(x)


#: config name (:data:`vfilib.config.CHANNEL_ATTENTIONS`) -> the channel reweighting, (channels) -> module
CHANNEL_ATTENTION = {"ecab": ECA, "cab": SqueezeExcite}


class ChannelAttentionBlock(nn.Module):
    """conv-GELU-conv then the channel attention ``kind``: ECA ("ecab") or squeeze-excite ("cab")."""

    def __init__(self, channels: int, kind: str = "ecab", compress: int = 2):
        super().__init__()
        mid = max(channels // compress, 8)
        self.body = nn.Sequential(nn.Conv2d(channels, mid, 3, padding=1), nn.GELU(),
                                  nn.Conv2d(mid, channels, 3, padding=1))
        self.attn = CHANNEL_ATTENTION[kind](channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(self.body(x))
