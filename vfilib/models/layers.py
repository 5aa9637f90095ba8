"""Small convolutional layers shared by the vfilib network (stem, RefineNet, flow estimator) and the
published networks (RIFE family)."""
from __future__ import annotations

import torch
import torch.nn as nn


def conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution (padding 1) followed by PReLU: (B, cin, H, W) -> (B, cout, H/stride, W/stride)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.PReLU(cout))


class ConvPair(nn.Module):
    """A stride-2 conv then a 3x3 conv (PReLU after each): (B, cin, H, W) -> (B, cout, H/2, W/2)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1, self.conv2 = conv(cin, cout, 2), conv(cout, cout)

    def forward(self, x):
        return self.conv2(self.conv1(x))


class ConvPyramid(nn.Module):
    """(N, cin, H, W) -> one feature map per entry of ``dims`` at 1/1, 1/2, 1/4, ... (a 3x3 conv, stride 1
    for the first level and 2 after, then a 3x3 conv; PReLU after each). ``center``: the input is
    shifted by -0.5 first (images in [0, 1]; the backbone's stem). It is the backbone's stem and
    Exp-2d's context pyramid of the warped frames (``flow_only``)."""

    def __init__(self, cin: int, dims: tuple[int, ...], center: bool = False):
        super().__init__()
        self.center = center
        cins = (cin,) + tuple(dims[:-1])
        self.levels = nn.ModuleList([
            nn.Sequential(conv(c_in, c_out, 1 if i == 0 else 2), conv(c_out, c_out))
            for i, (c_in, c_out) in enumerate(zip(cins, dims))])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        if self.center:
            x = x - 0.5
        for level in self.levels:
            x = level(x)
            feats.append(x)
        return feats
