"""Small convolutional layers shared by the stem, RefineNet, the flow estimator and the peers' networks."""
from __future__ import annotations

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
