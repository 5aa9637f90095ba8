"""The VFI model: ``VFIModel(cfg)(I0, I1, t=0.5, scale=1.0) -> I_t``.

Phase 1 (``cfg.flow == "off"``):

    I0, I1 --batch concat--> CNN stem --> LGS stages --> per-frame features summed
           --> RefineNet (residual + blend mask, conditioned on t) --> I_t

Phase 2 (``cfg.flow``: image | feature | flow_only, the entries of :data:`FLOWS`) adds the flow
estimator (:mod:`.flow`):

    I0, I1, t --> FlowEstimator --> F_t->0, F_t->1, flow mask
    warped I0, I1 --> RefineNet with  image:     the backbone features of the unwarped frames
                                      feature:   each frame's features warped to t at every scale (main)
                                      flow_only: a conv pyramid of the warped frames, no backbone
    I_t = m * warp(I0) + (1 - m) * warp(I1) + r,   m = sigmoid(flow_mask + refine_mask)

Phase 3: with ``scale < 1`` (0.5 for 2K, 0.25 for 4K) all of that runs on downscaled frames; the
flows, mask and residual are upsampled, the full-resolution frames are warped and blended, and a
small full-resolution head (:class:`HiResRefine`, zero-initialised) adds detail. That head is local
(3 convolutions), so ``tile > 0`` runs it in overlapping tiles with the same result in bounded memory.

N-frame context (``cfg.context_frames`` = N > 2, :mod:`.context`): ``context`` holds the frames around
the interval; stem and ``down3`` see all N frames, a gated temporal Mamba2 mixes them into the pair's
1/8 features; the flow, the warping and everything after stay on I0 and I1.

Any input size: frames are padded (replicate) to a multiple of ``cfg.pad_multiple`` and the output
is cropped back. Inputs are RGB float tensors in [0, 1] of shape (B, 3, H, W).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...config import ModelConfig, RuntimeConfig
from ...core.tensors import pad_to
from .backbone import Backbone, sum_frames
from ..layers import ConvPyramid, conv
from .context import stack_window, temporal_context
from .flow import FlowEstimator
from .refine import RefineNet, blend
from ..warp import backward_warp, resize_flow


def check_pair(img0: torch.Tensor, img1: torch.Tensor, values: bool = True) -> None:
    """Raise ValueError with a clear message for inputs the model cannot take. ``values``: also check
    the pixel values (finite, in [0, 1]); that reads them back to the host, a synchronisation."""
    for name, x in (("I0", img0), ("I1", img1)):
        if not torch.is_tensor(x):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4:
            raise ValueError(f"{name} must be (B, 3, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != 3:
            raise ValueError(f"{name} must have 3 (RGB) channels, got {x.shape[1]} (shape {tuple(x.shape)})")
        if not x.is_floating_point():
            raise ValueError(f"{name} must be a float tensor in [0, 1], got dtype {x.dtype}")
    if img0.shape != img1.shape:
        raise ValueError(f"I0 and I1 differ in shape: {tuple(img0.shape)} vs {tuple(img1.shape)}")
    if not values or torch.compiler.is_compiling() or (img0.is_cuda and torch.cuda.is_current_stream_capturing()):
        return                                        # no host sync inside a compiled graph or a CUDA-graph capture
    for name, x in (("I0", img0), ("I1", img1)):
        lo, hi = torch.aminmax(x.detach())
        if not (torch.isfinite(lo) and torch.isfinite(hi)):
            raise ValueError(f"{name} holds NaN or inf pixels")
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ValueError(f"{name} must lie in [0, 1], got values from {lo.item():.3g} to {hi.item():.3g}"
                             + (" (0-255 data: divide by 255)" if hi > 2 else ""))


def as_time(t, batch: int, like: torch.Tensor, values: bool = True) -> torch.Tensor:
    """A float, a (B,) or a (B, 1, 1, 1) timestep -> (B, 1, 1, 1) tensor; t must lie in [0, 1] (checked
    on the host unless ``values`` is False)."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.numel() == 1:
        t = t.reshape(1).expand(batch)
    t = t.reshape(-1)
    if t.numel() != batch:
        raise ValueError(f"t has {t.numel()} values for a batch of {batch}")
    if not values or torch.compiler.is_compiling() or (t.is_cuda and torch.cuda.is_current_stream_capturing()):
        return t.view(batch, 1, 1, 1)      # no host sync in a CUDA-graph capture, no graph break in torch.compile
    if not torch.isfinite(t).all() or (t < 0).any() or (t > 1).any():
        raise ValueError(f"t must lie in [0, 1], got {t.tolist()}")
    return t.view(batch, 1, 1, 1)


class HiResRefine(nn.Module):
    """Full-resolution stage of ``scale < 1``: warp the full frames with the upsampled flow, blend with
    the upsampled mask and residual, add a local correction (receptive field 3 px; zero-initialised so
    a Phase-2 checkpoint starts out unchanged). Inputs are full-resolution (B, ., H, W) tensors."""

    halo = 3

    def __init__(self, dim: int):
        super().__init__()
        self.body = nn.Sequential(conv(9, dim), conv(dim, dim), nn.Conv2d(dim, 3, 3, padding=1))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, img0, img1, flow, logit, res, offset=(0, 0)) -> torch.Tensor:
        w0 = backward_warp(img0, flow[:, :2], offset=offset)
        w1 = backward_warp(img1, flow[:, 2:4], offset=offset)
        base = blend(w0, w1, res, logit)
        return (base + self.body(torch.cat([w0, w1, base], 1))).clamp(0, 1)

    def tiled(self, img0, img1, flow, logit, res, tile: int, overlap: int = 16) -> torch.Tensor:
        """The same output computed in ``tile`` x ``tile`` pieces, each with ``overlap`` px of context
        (>= the head's receptive field, so tiles agree with the untiled result up to rounding)."""
        if overlap < self.halo:
            raise ValueError(f"overlap {overlap} is smaller than the receptive field ({self.halo} px)")
        h, w = flow.shape[-2:]
        out = img0.new_empty(img0.shape[0], 3, h, w)
        for y in range(0, h, tile):
            for x in range(0, w, tile):
                y0, x0 = max(0, y - overlap), max(0, x - overlap)
                y1, x1 = min(h, y + tile + overlap), min(w, x + tile + overlap)
                sl = (..., slice(y0, y1), slice(x0, x1))
                piece = self(img0, img1, flow[sl], logit[sl], res[sl], offset=(y0, x0))
                out[..., y:y + tile, x:x + tile] = piece[..., y - y0:y - y0 + tile, x - x0:x - x0 + tile]
        return out


def image_features(model, x, flow, w0, w1, tt) -> list[torch.Tensor]:
    """Exp-2b: the backbone features of the unwarped frames, summed per scale."""
    return sum_frames(model.backbone(x, model.temporal))


def warped_features(model, x, flow, w0, w1, tt) -> list[torch.Tensor]:
    """Exp-2c: each frame's backbone features warped to time t at every scale, summed."""
    out = []
    for f in model.backbone(x, model.temporal):
        n = f.shape[0] // 2
        fl = resize_flow(flow, f.shape[-2:])
        out.append(backward_warp(f[:n], fl[:, :2]) + backward_warp(f[n:], fl[:, 2:4]))
    return out


def context_features(model, x, flow, w0, w1, tt) -> list[torch.Tensor]:
    """Exp-2d: a conv pyramid of the warped frames, the flow and t; no backbone."""
    return model.context(torch.cat([w0, w1, flow / 16, tt.expand(-1, 1, *w0.shape[2:])], 1))


@dataclass(frozen=True)
class FlowMode:
    """What a ``cfg.flow`` mode builds: the LGS backbone, Exp-2d's context pyramid, and ``features``
    (model, padded pair (2B, 3, H, W), flow (B, 4, H, W), warped frames, t (B, 1, 1, 1)) -> RefineNet's
    5 feature maps; None: Phase 1, no flow estimator."""

    backbone: bool = True
    context: bool = False
    features: Callable | None = None


#: flow (:data:`vfilib.config.FLOW_MODES`) -> what the model builds and how its features are made
FLOWS = {
    "off": FlowMode(),
    "image": FlowMode(features=image_features),
    "feature": FlowMode(features=warped_features),
    "flow_only": FlowMode(backbone=False, context=True, features=context_features),
}


class VFIModel(nn.Module):
    """forward(I0, I1, t=0.5, scale=1.0, tile=0, context=None): (B, 3, H, W) x2 -> (B, 3, H, W) in [0, 1].

    ``t``: float or (B,) in [0, 1]. ``context`` (models with ``cfg.context_frames`` = N > 2): the other
    N - 2 frames of the window, (B, N-2, 3, H, W) in time order (k-1 before I0, oldest first, then k-1
    after I1), or a pair (before, after) of (B, k-1, 3, H, W); None: I0 and I1 repeated (no neighbours). ``scale`` (flow models): working resolution of flow, backbone and
    RefineNet relative to the input. ``tile`` > 0: the full-resolution stage in tiles of that size.
    ``return_aux``: also return {"flow": (B, 4, h, w), "mask_logit": (B, 1, h, w)} at the working size."""

    def __init__(self, cfg: ModelConfig, runtime: RuntimeConfig | None = None):
        super().__init__()
        self.cfg = cfg
        mode = FLOWS[cfg.flow]
        self.backbone = Backbone(cfg) if mode.backbone else None
        self.context = ConvPyramid(11, cfg.dims) if mode.context else None
        self.flow = FlowEstimator(cfg.flow_channels) if mode.features else None
        self.refine = RefineNet(cfg.dims, cfg.refine_dims)
        self.hires = HiResRefine(cfg.hires_dims) if mode.features else None
        self.temporal = temporal_context(cfg)          # None: the pair alone (context_frames = 2)
        self.set_runtime(runtime or RuntimeConfig())
        # False: inputs' values are not read back to check them (a host synchronisation per call, so
        # the GPU idles while the next kernels are launched); the trainer checks its first batch instead
        self.check_values = True

    def set_runtime(self, runtime: RuntimeConfig) -> "VFIModel":
        """Switch how the model runs (SSD implementation and dtype, chunk size, fused kernels); the
        weights and the architecture stay as they are."""
        self.runtime = runtime
        for m in self.modules():
            if hasattr(m, "apply_runtime"):
                m.apply_runtime(runtime)
        return self

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t=0.5, scale: float = 1.0, tile: int = 0,
                return_aux: bool = False, context=None):
        check_pair(img0, img1, self.check_values)
        b = img0.shape[0]
        tt = as_time(t, b, img0, self.check_values)
        frames = stack_window(img0, img1, context, self.cfg.context_frames)      # (N*B, 3, H, W): I0, I1, context
        if self.flow is None:
            if scale != 1:
                raise ValueError("scale != 1 needs a flow model (cfg.flow != 'off'); Phase-1 models run at full size")
            x, (h, w) = pad_to(frames, self.cfg.pad_multiple)
            out = self.refine(sum_frames(self.backbone(x, self.temporal)), x[:b], x[b:2 * b], tt)[..., :h, :w]
            return (out, {}) if return_aux else out
        if not 0 < scale <= 1:
            raise ValueError(f"scale must lie in (0, 1], got {scale}")
        small = frames
        if scale != 1:
            small = F.interpolate(small, scale_factor=scale, mode="bilinear", align_corners=False, antialias=True)
        x, (h, w) = pad_to(small, self.cfg.pad_multiple)
        a, c = x[:b], x[b:2 * b]
        flow, flow_logit = self.flow(a, c, tt)
        w0, w1 = backward_warp(a, flow[:, :2]), backward_warp(c, flow[:, 2:4])
        feats = self._features(x, flow, w0, w1, tt)
        res, refine_logit = self.refine.decode(feats, w0, w1, tt)
        logit = flow_logit + refine_logit
        aux = {"flow": flow[..., :h, :w], "mask_logit": logit[..., :h, :w]}
        if scale == 1:
            out = blend(w0, w1, res, logit)[..., :h, :w]
        else:
            full = img0.shape[-2:]
            up = lambda z: F.interpolate(z[..., :h, :w], size=full, mode="bilinear", align_corners=False)  # noqa: E731
            flow_full = resize_flow(flow[..., :h, :w], full)
            args = (img0, img1, flow_full, up(logit), up(res))
            out = self.hires.tiled(*args, tile) if tile else self.hires(*args)
        return (out, aux) if return_aux else out

    def _features(self, x, flow, w0, w1, tt) -> list[torch.Tensor]:
        return FLOWS[self.cfg.flow].features(self, x, flow, w0, w1, tt)

    def features(self, img0: torch.Tensor, img1: torch.Tensor, context=None) -> list[torch.Tensor]:
        """Per-frame backbone features (2B, C_i, H/2^i, W/2^i), i = 0..4, of the padded pair (with its
        context mixed in for N-frame models)."""
        check_pair(img0, img1)
        if self.backbone is None:
            raise ValueError("a flow_only model has no backbone features")
        x, _ = pad_to(stack_window(img0, img1, context, self.cfg.context_frames), self.cfg.pad_multiple)
        return self.backbone(x, self.temporal)
