"""Cross-frame scans: token orders for the SSM branch, and their exact inverses.

Each scan is a fixed permutation of token indices, so the inverse is the inverse permutation
(computed with ``argsort``) and ``merge(scan(x))`` returns ``x`` bit for bit.

Token ids. For the cross-frame modes the F frames of a window (F = 2: a pair; F = 4, 6: the
N-frame context of :mod:`vfilib.models.vfi.context`) form one pool of ``F*HW`` tokens, id
``f * HW + h * W + w`` for frame ``f`` in 0 .. F-1. Four directions are used, in this order:
row-major, column-major, row-major reversed, column-major reversed.

Modes
    ``interleaved``  f0(p0), f1(p0), ..., fF-1(p0), f0(p1), ... (VFIMamba's Mixed-SSM order; F frames alternate)
    ``sequential``   all tokens of f0, then all tokens of f1, ...
    ``per_frame``    classic SS2D: each frame scanned alone (sequences of length HW)

Shapes: ``scan`` takes ``(F*B, H, W, C)`` (frame-0 batch first, then frame-1, ...) and returns
``(4B, F*HW, C)`` for the cross-frame modes and ``(4*F*B, HW, C)`` for ``per_frame``; the batch is
direction-major (all sequences of direction 0 first). ``frames`` defaults to 2 everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import torch
from einops import rearrange

NUM_DIRECTIONS = 4


def _directions(h: int, w: int) -> torch.Tensor:
    """Spatial orders of one frame: (4, HW) indices into row-major positions."""
    row = torch.arange(h * w)
    col = torch.arange(h * w).reshape(h, w).t().reshape(-1)
    return torch.stack([row, col, row.flip(0), col.flip(0)])


def _cross_frame(join) -> Callable[[int, int, int], torch.Tensor]:
    """A cross-frame order from ``join(p, offsets)``, which joins one frame's spatial order ``p`` (HW,)
    with the same order in every frame (``offsets`` = f * HW): the four directions of
    :func:`_directions`, on F*HW tokens."""
    def order(h: int, w: int, frames: int) -> torch.Tensor:
        d, offsets = _directions(h, w), torch.arange(frames) * (h * w)
        fwd = [join(p, offsets) for p in (d[0], d[1])]
        return torch.stack([fwd[0], fwd[1], fwd[0].flip(0), fwd[1].flip(0)])
    return order


@dataclass(frozen=True)
class Scan:
    """A scan mode: ``order(h, w, frames)`` -> (4, L) token ids; ``cross_frame``: one sequence over
    all frames (L = F*HW) or each frame alone (L = HW); ``about``: what it is, in words (figures)."""

    order: Callable[[int, int, int], torch.Tensor]
    about: str
    cross_frame: bool = True


#: scan (:data:`vfilib.config.SCAN_MODES`) -> its token orders
SCANS = {
    "interleaved": Scan(_cross_frame(lambda p, off: (p[:, None] + off).reshape(-1)),
                        "one sequence of F*HW tokens alternating between the frames"),
    "sequential": Scan(_cross_frame(lambda p, off: (off[:, None] + p).reshape(-1)),
                       "one sequence: all of frame 0, then all of frame 1, ..."),
    "per_frame": Scan(lambda h, w, frames: _directions(h, w), "each frame scanned on its own (no cross-frame sequence)",
                      cross_frame=False),
}


@lru_cache(maxsize=64)
def scan_index(mode: str, h: int, w: int, frames: int = 2) -> torch.Tensor:
    """Token order of every direction: (4, L) int64; L = F*HW (cross-frame, F = ``frames``) or HW (per_frame)."""
    if mode not in SCANS:
        raise ValueError(f"unknown scan mode {mode!r}; choose from {sorted(SCANS)}")
    if frames < 1:
        raise ValueError(f"a scan needs at least one frame, got frames={frames}")
    return SCANS[mode].order(h, w, frames)


@lru_cache(maxsize=64)
def merge_index(mode: str, h: int, w: int, frames: int = 2) -> torch.Tensor:
    """Inverse permutation of :func:`scan_index`: (4, L)."""
    return torch.argsort(scan_index(mode, h, w, frames), dim=1)


@lru_cache(maxsize=256)
def _indices_on(mode: str, h: int, w: int, device: torch.device, frames: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    return scan_index(mode, h, w, frames).to(device), merge_index(mode, h, w, frames).to(device)


@torch.compiler.assume_constant_result
def indices_on(mode: str, h: int, w: int, device: torch.device, frames: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(scan_index, merge_index) already on ``device``: no host-to-device copy per call (which would
    also break CUDA-graph capture), and constants of a ``torch.compile`` graph (not recomputed in it)."""
    return _indices_on(mode, h, w, device, frames)


def to_pool(x: torch.Tensor, mode: str, frames: int = 2) -> torch.Tensor:
    """(F*B, H, W, C) -> token pool in id order: (B, F*HW, C) cross-frame, or (F*B, HW, C) per frame."""
    if not SCANS[mode].cross_frame:
        return rearrange(x, "b h w c -> b (h w) c")
    if x.shape[0] % frames:
        what = "frame pairs (2B)" if frames == 2 else f"windows of {frames} frames ({frames}B)"
        raise ValueError(f"cross-frame scan needs a batch of {what}, got batch {x.shape[0]}")
    return rearrange(x, "(f b) h w c -> b (f h w) c", f=frames)


def from_pool(pool: torch.Tensor, h: int, w: int, mode: str, frames: int = 2) -> torch.Tensor:
    """Inverse of :func:`to_pool`: (..., N, L, C) -> (..., F*B, H, W, C)."""
    if not SCANS[mode].cross_frame:
        return rearrange(pool, "... n (h w) c -> ... n h w c", h=h, w=w)
    return rearrange(pool, "... b (f h w) c -> ... (f b) h w c", f=frames, h=h, w=w)


def scan(x: torch.Tensor, mode: str = "interleaved", frames: int = 2) -> torch.Tensor:
    """(F*B, H, W, C) -> (4B, F*HW, C) [cross-frame] or (4*F*B, HW, C) [per_frame]."""
    _, h, w, _ = x.shape
    idx = indices_on(mode, h, w, x.device, frames)[0]
    pool = to_pool(x, mode, frames)                        # (N, L, C)
    seqs = pool[:, idx]                                    # (N, 4, L, C)
    return rearrange(seqs, "n d l c -> (d n) l c")


def merge(y: torch.Tensor, h: int, w: int, mode: str = "interleaved", reduce: str | None = "sum",
          frames: int = 2) -> torch.Tensor:
    """Inverse of :func:`scan`.

    y: (4B, F*HW, C) or (4*F*B, HW, C). Returns (F*B, H, W, C) with the four directions summed
    (``reduce="sum"``) or (4, F*B, H, W, C) with each direction mapped back (``reduce=None``).
    """
    inv = merge_index(mode, h, w, frames).to(y.device)
    seqs = rearrange(y, "(d n) l c -> n d l c", d=NUM_DIRECTIONS)
    d = torch.arange(NUM_DIRECTIONS, device=y.device)[:, None]
    pool = seqs[:, d, inv]                                 # (N, 4, L, C) back in id order
    out = from_pool(rearrange(pool, "n d l c -> d n l c"), h, w, mode, frames)
    if reduce is None:
        return out
    if reduce == "sum":
        return out.sum(0)
    raise ValueError(f"reduce must be 'sum' or None, got {reduce!r}")
