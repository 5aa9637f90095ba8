"""The pretrained RIFE networks as peers: BGR at their boundary, padding, t handling.

The networks and their weights are :mod:`vfilib.models.rife`. RIFE HDv3 predicts t = 0.5 only (other
dyadic t by bisection: :class:`vfilib.eval.interpolators.RecursiveT`); Practical-RIFE v3.9 takes any
t, with or without its context net + U-Net (``rife_v39_refine``).
"""
from __future__ import annotations

import torch

from ..core.tensors import pad_to
from ..data.io import rgb_to_bgr
from ..models.rife import IFNetHDv3, IFNetV39, fetch_weights, load_ifnet_hdv3, load_ifnet_v39
from .interpolators import Interpolator


def _bgr_padded(fn, i0: torch.Tensor, i1: torch.Tensor, device, multiple: int) -> torch.Tensor:
    """``fn(a, b)`` on the RGB pair turned BGR, moved to ``device`` and padded to ``multiple`` (zeros,
    as the reference code pads); its frame cropped back, turned RGB, clamped, on the input's device."""
    h, w = i0.shape[-2:]
    a, _ = pad_to(rgb_to_bgr(i0.to(device)), multiple, mode="constant")
    b, _ = pad_to(rgb_to_bgr(i1.to(device)), multiple, mode="constant")
    return rgb_to_bgr(fn(a, b)[..., :h, :w]).clamp(0, 1).to(i0)


#: the working scales the RIFE networks take (their published inference: 1 for up to 1080p, 0.5 for
#: 2K-4K, 0.25 for 8K); other values make the blocks' grids uneven and the flows no longer fit
RIFE_SCALES = (1.0, 0.5, 0.25)


class RifeHDv3(Interpolator):
    """RIFE HDv3: t = 0.5 only. Padded to a multiple of 32, or of 16 / scale below 0.5 (its coarsest
    block works at 1/(4 scale) and halves that twice), so each block's grid stays whole."""

    name = "rife_hdv3"
    supports_any_t = False
    scales = RIFE_SCALES

    def __init__(self, net: IFNetHDv3):
        self.net = net

    @torch.no_grad()
    def __call__(self, i0, i1, t, scale=1.0):
        if not torch.allclose(t.float(), torch.full_like(t.float(), 0.5)):
            raise ValueError("RIFE HDv3 predicts t = 0.5 only; wrap it in RecursiveT for other t")
        dev = next(self.net.parameters()).device
        return _bgr_padded(lambda a, b: self.net(a, b, scale)[0], i0, i1, dev, max(32, round(16 / scale)))


class RifeV39(Interpolator):
    """Practical-RIFE v3.9: any t directly; ``refine`` adds its context net + U-Net residual (the
    published inference leaves it off). Padded to a multiple of 128 / scale (at least 128), as its
    published inference pads: the coarsest block, doubled for large motion, works at 1/(32 scale)."""

    supports_any_t = True
    scales = RIFE_SCALES

    def __init__(self, net: IFNetV39, refine: bool = False):
        self.net, self.refine = net, refine
        self.name = "rife_v39_refine" if refine else "rife_v39"

    @torch.no_grad()
    def __call__(self, i0, i1, t, scale=1.0):
        dev = next(self.net.parameters()).device
        tt = torch.as_tensor(t, dtype=torch.float32, device=dev).reshape(-1, 1, 1, 1)
        if (tt < 0).any() or (tt > 1).any():
            raise ValueError(f"RIFE v3.9: t must lie in [0, 1], got {tt.flatten().tolist()}")
        return _bgr_padded(lambda a, b: self.net(a, b, tt, scale, refine=self.refine)[0], i0, i1, dev,
                           max(128, round(128 / scale)))


def rife_hdv3(device="cpu") -> RifeHDv3:
    return RifeHDv3(load_ifnet_hdv3(fetch_weights("rife_hdv3"), device))


def rife_v39(device="cpu", refine: bool = False) -> RifeV39:
    return RifeV39(load_ifnet_v39(fetch_weights("rife_v39"), device), refine=refine)
