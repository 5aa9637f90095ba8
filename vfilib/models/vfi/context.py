"""N-frame context: the frames around the interval enter the backbone at 1/8 through a gated residual.

    window    I(-k+1) .. I(-1), I0, I1, I2 .. I(k)           N = 2k frames (``ModelConfig.context_frames``)
    stem, down3 on all N frames (one batch: I0, I1, then the context frames)
    1/8 tokens of the N frames in time order, interleaved (:mod:`.scan` with F = N frames)
        -> LayerNorm + a learned per-slot embedding -> Mamba2 (4 directions, exact inverse)
    pair's 1/8 features += gate * (mixer output at the I0 and I1 slots)      gate: per channel, zero at init
    stage3, down4, stage4, flow, warping, RefineNet: the pair only, as in the 2-frame model

Warping stays from I0 and I1. With the gate at zero the model computes what the 2-frame model computes
(the stem treats each frame alone), so 2-frame weights load into it (:func:`with_context`: the new
``temporal.*`` tensors start fresh) and fine-tuning starts exactly from the 2-frame model.

Context tensors (the ``context`` argument of :meth:`vfilib.models.vfi.VFIModel.forward`):
``(B, N-2, 3, H, W)`` in time order: the k-1 frames before I0 (oldest first), then the k-1 after I1
(nearest first); or a pair ``(before, after)`` of ``(B, k-1, 3, H, W)`` stacks in time order; or None.
A neighbour that does not exist (clip ends, scene cuts) repeats the nearest frame of the window
(:mod:`vfilib.data.window`); None repeats I0 before and I1 after (the 2-frame view).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange

from ...config import ModelConfig
from . import scan as scan_ops
from .mamba import Mamba2Mixer

SCAN = "interleaved"


def time_order(frames: int) -> list[int]:
    """Positions, in the stem's batch order (I0, I1, context...), of the frames in time order."""
    k = frames // 2
    return list(range(2, k + 1)) + [0, 1] + list(range(k + 1, frames))


def as_context(context, img0: torch.Tensor, img1: torch.Tensor, frames: int) -> torch.Tensor:
    """A model's ``context`` argument -> (B, N-2, 3, H, W) in time order (None: I0 and I1 repeated)."""
    k = frames // 2
    b = img0.shape[0]
    if context is None:
        return torch.cat([img0[:, None].expand(b, k - 1, *img0.shape[1:]),
                          img1[:, None].expand(b, k - 1, *img1.shape[1:])], 1)
    if isinstance(context, (tuple, list)):
        if len(context) != 2:
            raise ValueError(f"context as a sequence must be (before, after), got {len(context)} items")
        for name, c in zip(("before", "after"), context):
            if not torch.is_tensor(c) or c.ndim != 5 or c.shape[1] != k - 1:
                raise ValueError(f"context {name} must be (B, {k - 1}, 3, H, W) for a {frames}-frame model, got "
                                 f"{tuple(c.shape) if torch.is_tensor(c) else type(c).__name__}")
        context = torch.cat(list(context), 1)
    want = (b, frames - 2, *img0.shape[1:])
    if not torch.is_tensor(context) or tuple(context.shape) != want:
        got = tuple(context.shape) if torch.is_tensor(context) else type(context).__name__
        raise ValueError(f"context must be (B, N-2, 3, H, W) = {want} for a {frames}-frame model, got {got}")
    if context.dtype != img0.dtype or context.device != img0.device:
        context = context.to(img0)
    return context


def stack_window(img0: torch.Tensor, img1: torch.Tensor, context, frames: int) -> torch.Tensor:
    """The stem's batch: (N*B, 3, H, W) = I0, I1, then the context frames (each a (B, 3, H, W) block).
    ``frames`` = 2: the pair (and ``context`` must be None)."""
    if frames == 2:
        if context is not None:
            raise ValueError("this model takes no context (context_frames = 2); build it with context_frames 4 or 6")
        return torch.cat([img0, img1], 0)
    ctx = as_context(context, img0, img1, frames)
    return torch.cat([img0, img1, rearrange(ctx, "b n c h w -> (n b) c h w")], 0)


class TemporalContext(nn.Module):
    """The N frames' 1/8 features -> the pair's, with the temporal mixer's output added through a gate.

    forward(feats, f3): ``feats`` the stem's maps (N*B, C_i, H_i, W_i), ``f3`` the 1/8 map (N*B, C, h, w),
    batch order I0, I1, context (:func:`stack_window`) -> (the stem's maps of the pair (2B, ...),
    the pair's 1/8 map (2B, C, h, w)). ``mixer``: a sequence mixer with ``forward_scanned`` (Mamba2)."""

    def __init__(self, dim: int, frames: int, mixer: nn.Module):
        super().__init__()
        if frames < 4 or frames % 2:
            raise ValueError(f"a temporal context needs N = 4, 6, ... frames, got {frames}")
        self.frames = frames
        self.norm = nn.LayerNorm(dim)
        self.slot = nn.Parameter(torch.zeros(frames, dim))        # which frame of the window a token is from
        nn.init.trunc_normal_(self.slot, std=0.02)
        self.mixer = mixer
        self.gate = nn.Parameter(torch.zeros(dim))                 # zero: the 2-frame model, exactly
        self.register_buffer("order", torch.tensor(time_order(frames)), persistent=False)

    def mix(self, f3: torch.Tensor) -> torch.Tensor:
        """(N*B, C, h, w) in stem order -> the mixer's output at the I0 and I1 slots, (2B, C, h, w)."""
        f, (h, w) = self.frames, f3.shape[-2:]
        x = rearrange(f3, "(f b) c h w -> f b h w c", f=f).index_select(0, self.order)     # time order
        x = self.norm(x) + self.slot[:, None, None, None].to(x.dtype)
        idx, inv = scan_ops.indices_on(SCAN, h, w, x.device, f)
        pool = scan_ops.to_pool(rearrange(x, "f b h w c -> (f b) h w c"), SCAN, f)
        y = scan_ops.from_pool(self.mixer.forward_scanned(pool, idx, inv), h, w, SCAN, f)
        k = f // 2
        return rearrange(rearrange(y, "(f b) h w c -> f b c h w", f=f)[k - 1:k + 1], "f b c h w -> (f b) c h w")

    def forward(self, feats: list[torch.Tensor], f3: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        pair = 2 * (f3.shape[0] // self.frames)
        out = f3[:pair] + self.gate.view(1, -1, 1, 1).to(f3.dtype) * self.mix(f3)
        return [x[:pair] for x in feats], out


def temporal_context(cfg: ModelConfig) -> TemporalContext | None:
    """The one place that reads the config into the context mixer (None for a 2-frame model)."""
    if cfg.context_frames == 2:
        return None
    dim = cfg.dims[3]
    mixer = Mamba2Mixer(dim, d_state=cfg.d_state, d_conv=cfg.d_conv, expand=cfg.expand, headdim=cfg.headdim,
                        ngroups=cfg.ngroups)
    return TemporalContext(dim, cfg.context_frames, mixer)


def with_context(state: dict, cfg: ModelConfig, frames: int, runtime=None, source: str = "<weights>"):
    """A ``frames``-frame model holding 2-frame (or any) weights ``state`` of config ``cfg``: every
    tensor loads strictly, the context mixer (``temporal.*``) starts fresh with its gate at zero.
    Returns (model, names of the fresh tensors)."""
    from .. import build_model
    from ..weights.checkpoint import load_weights

    model = build_model(cfg.replace(context_frames=frames), runtime)
    fresh = load_weights(model, state, source, allow_new=("temporal.",))
    return model, fresh
