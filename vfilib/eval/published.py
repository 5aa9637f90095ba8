"""Published networks as peers: RGB in and out of the harness, BGR at the network's boundary, zero
padding to the network's multiple, the times it supports.

A network of :mod:`vfilib.models.published` answers ``net(img0, img1, t, scale) -> (frame, flow, mask)``
on BGR frames padded to ``net.pad_multiple(scale)`` (RIFE was trained on OpenCV's BGR frames).
:class:`PublishedNet` wraps one as an :class:`~vfilib.eval.interpolators.Interpolator`; its peer
entry (:data:`vfilib.eval.peers.PEERS`) gives the name, the weights and whether it takes any t
(Practical-RIFE v3.9 and 4.25) or t = 0.5 only (RIFE HDv3: other dyadic t by bisection,
:class:`vfilib.eval.interpolators.RecursiveT`).
"""
from __future__ import annotations

import torch

from ..core.tensors import pad_to
from ..data.io import rgb_to_bgr
from .interpolators import Interpolator


def _bgr_padded(fn, i0: torch.Tensor, i1: torch.Tensor, device, multiple: int) -> torch.Tensor:
    """``fn(a, b)`` on the RGB pair turned BGR, moved to ``device`` and padded to ``multiple`` (zeros,
    as the reference code pads); its frame cropped back, turned RGB, clamped, on the input's device."""
    h, w = i0.shape[-2:]
    a, _ = pad_to(rgb_to_bgr(i0.to(device)), multiple, mode="constant")
    b, _ = pad_to(rgb_to_bgr(i1.to(device)), multiple, mode="constant")
    return rgb_to_bgr(fn(a, b)[..., :h, :w]).clamp(0, 1).to(i0)


class PublishedNet(Interpolator):
    """A published network behind the harness's interface: (B, 3, H, W) RGB pair in [0, 1], t (B,) ->
    (B, 3, H, W). ``any_t=False``: t = 0.5 only (wrap it in RecursiveT for other t). ``scales``: the
    working scales their published inference uses (1 up to 1080p, 0.5 for 2K-4K, 0.25 for 8K); others
    make the blocks' grids uneven."""

    scales = (1.0, 0.5, 0.25)

    def __init__(self, name: str, net: torch.nn.Module, any_t: bool = True):
        self.name, self.net, self.supports_any_t = name, net, any_t

    @torch.no_grad()
    def __call__(self, i0, i1, t, scale=1.0):
        dev = next(self.net.parameters()).device
        tt = torch.as_tensor(t, dtype=torch.float32, device=dev).reshape(-1, 1, 1, 1)
        if (tt < 0).any() or (tt > 1).any():
            raise ValueError(f"{self.name}: t must lie in [0, 1], got {tt.flatten().tolist()}")
        if not self.supports_any_t and not torch.allclose(tt, torch.full_like(tt, 0.5)):
            raise ValueError(f"{self.name} predicts t = 0.5 only; wrap it in RecursiveT for other t")
        return _bgr_padded(lambda a, b: self.net(a, b, tt, scale)[0], i0, i1, dev, self.net.pad_multiple(scale))

    def trainable(self):
        """The network and a differentiable forward at scale 1 (t = 0.5 only where ``any_t`` is False:
        the adaptation gives it nothing else)."""
        def forward(i0, i1, t):
            tt = t.to(i0).reshape(-1, 1, 1, 1)
            return _bgr_padded(lambda a, b: self.net(a, b, tt)[0], i0, i1, i0.device, self.net.pad_multiple(1.0))
        return self.net, forward
