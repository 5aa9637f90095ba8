"""Flow fields: differentiable backward warping, and resizing images and flows (vfilib's network and
the published ones share them).

``backward_warp(img, flow)`` samples ``img`` at ``x + flow(x)``: with ``flow = F_{t->0}`` it brings
frame 0 to time t. Flow is in pixels, channel 0 horizontal (x), channel 1 vertical (y).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_GRIDS: dict = {}


def _base_grid(h: int, w: int, device, dtype) -> torch.Tensor:
    key = (h, w, device, dtype)
    if key not in _GRIDS:
        ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                                torch.arange(w, device=device, dtype=dtype), indexing="ij")
        _GRIDS[key] = torch.stack([xs, ys])[None]                    # (1, 2, H, W)
    return _GRIDS[key]


def backward_warp(img: torch.Tensor, flow: torch.Tensor, padding_mode: str = "border",
                  offset: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """img (B, C, H, W), flow (B, 2, h, w) in pixels -> (B, C, h, w) = img(x + flow(x)), bilinear.

    Normally h, w = H, W. With ``offset = (y0, x0)`` the flow is a tile of a larger field whose
    top-left pixel is (y0, x0) of ``img`` (tiled high-resolution inference): the result is exactly
    that tile of the full warp."""
    _, _, h, w = img.shape
    th, tw = flow.shape[-2:]
    pos = _base_grid(th, tw, img.device, flow.dtype) + flow
    if offset != (0, 0):
        pos = torch.stack([pos[:, 0] + offset[1], pos[:, 1] + offset[0]], dim=1)
    gx = 2 * pos[:, 0] / max(w - 1, 1) - 1
    gy = 2 * pos[:, 1] / max(h - 1, 1) - 1
    grid = torch.stack([gx, gy], dim=-1).to(img.dtype)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)


def resize(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Bilinear resize by ``factor`` (values unchanged; scale flows separately)."""
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False,
                                               recompute_scale_factor=False)


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a pixel flow field (B, 2k, h, w) to ``size`` and scale its vectors to the new pixels."""
    h, w = flow.shape[-2:]
    if (h, w) == tuple(size):
        return flow
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=False)
    sx, sy = size[1] / w, size[0] / h
    xy = torch.stack([out[:, 0::2] * sx, out[:, 1::2] * sy], dim=2)       # python scalars: no H2D copy
    return xy.flatten(1, 2)
