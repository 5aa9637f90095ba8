"""Phase 2: an IFNet-style coarse-to-fine flow estimator conditioned on the timestep t.

    FlowEstimator(I0, I1, t) -> flow (B, 4, H, W) = [F_t->0 (x, y), F_t->1 (x, y)] in pixels,
                                mask_logit (B, 1, H, W)  (blend weight of warped I0 = sigmoid)

Three :class:`IFBlock` refine the flow at 1/4, 1/2 and 1/1 of the working resolution (each block
works internally at a further 1/4). Each block sees both (warped) frames, the current mask, the
current flow and a constant t map; as in RIFE HDv3 it also runs on the swapped pair (frames
exchanged, t -> 1 - t, mask negated) and the two answers are averaged, so the estimator is
symmetric under time reversal. The block layout (conv0, convblock0..3, conv1 flow head, conv2 mask
head) is RIFE HDv3's, so :func:`init_from_rife_hdv3` can copy its pretrained weights: every tensor
whose shape matches, and for the first convolution the image, mask and flow input channels (RGB
order, where RIFE reads BGR) with zero weights for the new t channel.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layers import conv
from ..warp import backward_warp, resize


def _head(c: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.PReLU(c // 2),
                         nn.ConvTranspose2d(c // 2, cout, 4, 2, 1))



class IFBlock(nn.Module):
    """One refinement step. x: (B, in_ch - 4, H, W) images/mask/t, flow: (B, 4, H, W) ->
    (flow delta (B, 4, H, W), mask delta (B, 1, H, W)); works internally at 1/(4 * scale)."""

    def __init__(self, in_ch: int, c: int):
        super().__init__()
        self.conv0 = nn.Sequential(conv(in_ch, c // 2, 2), conv(c // 2, c, 2))
        for i in range(4):
            setattr(self, f"convblock{i}", nn.Sequential(conv(c, c), conv(c, c)))
        self.conv1 = _head(c, 4)
        self.conv2 = _head(c, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.conv0(torch.cat([resize(x, 1 / scale), resize(flow, 1 / scale) / scale], 1))
        for i in range(4):
            feat = getattr(self, f"convblock{i}")(feat) + feat
        return resize(self.conv1(feat), scale) * scale, resize(self.conv2(feat), scale)


def swap_flow(flow: torch.Tensor) -> torch.Tensor:
    """[F_t->0, F_t->1] -> [F_t->1, F_t->0]."""
    return torch.cat([flow[:, 2:4], flow[:, :2]], 1)


class FlowEstimator(nn.Module):
    """forward(I0, I1, t): RGB (B, 3, H, W) x2 and t (B, 1, 1, 1) -> (flow (B, 4, H, W), mask_logit (B, 1, H, W)).
    H and W must be multiples of 32 (the coarsest block works at 1/32); the model pads before calling."""

    SCALES = (4, 2, 1)
    multiple = 32

    def __init__(self, channels: int = 90, with_t: bool = True):
        super().__init__()
        self.with_t = with_t
        in_ch = 3 + 3 + 1 + 4 + int(with_t)         # I0w, I1w, mask, flow (+ t)
        self.block0, self.block1, self.block2 = (IFBlock(in_ch, channels) for _ in range(3))

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: torch.Tensor | None = None, scale: float = 1.0):
        """``scale`` < 1 makes every block work coarser (RIFE's own ``scale`` for large frames)."""
        b, _, h, w = img0.shape
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"FlowEstimator needs H, W multiples of {self.multiple}, got {h}x{w}")
        flow = img0.new_zeros(b, 4, h, w)
        mask = img0.new_zeros(b, 1, h, w)
        tmap = t.to(img0).expand(b, 1, h, w) if self.with_t else None
        w0, w1 = img0, img1
        for block, s in zip((self.block0, self.block1, self.block2), (s / scale for s in self.SCALES)):
            extra_a = [tmap] if self.with_t else []
            extra_b = [1 - tmap] if self.with_t else []
            f_a, m_a = block(torch.cat([w0, w1, mask, *extra_a], 1), flow, s)
            f_b, m_b = block(torch.cat([w1, w0, -mask, *extra_b], 1), swap_flow(flow), s)
            flow = flow + (f_a + swap_flow(f_b)) / 2
            mask = mask + (m_a - m_b) / 2
            w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        return flow, mask


def init_from_rife_hdv3(est: FlowEstimator, rife_state: dict[str, torch.Tensor]) -> list[str]:
    """Copy RIFE HDv3's IFNet weights (``block0..2.*`` keys, BGR inputs) into ``est`` where shapes
    allow; returns the names of the tensors copied (fully or, for the first conv, channel-wise)."""
    own = est.state_dict()
    copied = []
    for k, v in rife_state.items():
        k = k.removeprefix("module.")
        if k not in own:
            continue
        if own[k].shape == v.shape:
            own[k] = v.clone()
            copied.append(k)
        elif k.endswith("conv0.0.0.weight") and own[k].shape[1] == v.shape[1] + int(est.with_t) \
                and own[k].shape[0] == v.shape[0]:
            w = torch.zeros_like(own[k])
            # RIFE input order: I0 (BGR), I1 (BGR), mask, flow(4) -> ours: I0 (RGB), I1 (RGB), mask, [t], flow
            w[:, 0:3] = v[:, [2, 1, 0]]
            w[:, 3:6] = v[:, [5, 4, 3]]
            w[:, 6] = v[:, 6]
            w[:, -4:] = v[:, 7:11]
            own[k] = w
            copied.append(k)
    est.load_state_dict(own)
    return copied
