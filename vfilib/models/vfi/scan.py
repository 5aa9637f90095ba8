"""Cross-frame scans: token orders for the SSM branch, and their exact inverses.

Each scan is a fixed permutation of token indices, so the inverse is the inverse permutation
(computed with ``argsort``) and ``merge(scan(x))`` returns ``x`` bit for bit.

Token ids. For the cross-frame modes the two frames of a pair form one pool of ``2HW`` tokens,
id ``f * HW + h * W + w`` for frame ``f`` in {0, 1}. Four directions are used, in this order:
row-major, column-major, row-major reversed, column-major reversed.

Modes
    ``interleaved``  f0(p0), f1(p0), f0(p1), f1(p1), ... (VFIMamba's Mixed-SSM order)
    ``sequential``   all tokens of f0, then all tokens of f1
    ``per_frame``    classic SS2D: each frame scanned alone (sequences of length HW)

Shapes: ``scan`` takes ``(2B, H, W, C)`` (frame-0 batch first, then frame-1) and returns
``(4B, 2HW, C)`` for the cross-frame modes and ``(8B, HW, C)`` for ``per_frame``; the batch is
direction-major (all sequences of direction 0 first).
"""
from __future__ import annotations

from functools import lru_cache

import torch
from einops import rearrange

NUM_DIRECTIONS = 4


def _directions(h: int, w: int) -> torch.Tensor:
    """Spatial orders of one frame: (4, HW) indices into row-major positions."""
    row = torch.arange(h * w)
    col = torch.arange(h * w).reshape(h, w).t().reshape(-1)
    return torch.stack([row, col, row.flip(0), col.flip(0)])


@lru_cache(maxsize=64)
def scan_index(mode: str, h: int, w: int) -> torch.Tensor:
    """Token order of every direction: (4, L) int64; L = 2HW (cross-frame) or HW (per_frame)."""
    hw = h * w
    row = torch.arange(hw)
    col = torch.arange(hw).reshape(h, w).t().reshape(-1)
    if mode == "per_frame":
        return _directions(h, w)
    if mode == "interleaved":
        fwd = [torch.stack([p, p + hw], dim=1).reshape(-1) for p in (row, col)]
    elif mode == "sequential":
        fwd = [torch.cat([p, p + hw]) for p in (row, col)]
    else:
        raise ValueError(f"unknown scan mode {mode!r}")
    return torch.stack([fwd[0], fwd[1], fwd[0].flip(0), fwd[1].flip(0)])


@lru_cache(maxsize=64)
def merge_index(mode: str, h: int, w: int) -> torch.Tensor:
    """Inverse permutation of :func:`scan_index`: (4, L)."""
    return torch.argsort(scan_index(mode, h, w), dim=1)


@lru_cache(maxsize=256)
def _indices_on(mode: str, h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return scan_index(mode, h, w).to(device), merge_index(mode, h, w).to(device)


@torch.compiler.assume_constant_result
def indices_on(mode: str, h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(scan_index, merge_index) already on ``device``: no host-to-device copy per call (which would
    also break CUDA-graph capture), and constants of a ``torch.compile`` graph (not recomputed in it)."""
    return _indices_on(mode, h, w, device)


def to_pool(x: torch.Tensor, mode: str) -> torch.Tensor:
    """(2B, H, W, C) -> token pool in id order: (B, 2HW, C) cross-frame, or (2B, HW, C) per frame."""
    if mode == "per_frame":
        return rearrange(x, "b h w c -> b (h w) c")
    if x.shape[0] % 2:
        raise ValueError(f"cross-frame scan needs a batch of frame pairs (2B), got batch {x.shape[0]}")
    return rearrange(x, "(f b) h w c -> b (f h w) c", f=2)


def from_pool(pool: torch.Tensor, h: int, w: int, mode: str) -> torch.Tensor:
    """Inverse of :func:`to_pool`: (..., N, L, C) -> (..., 2B, H, W, C)."""
    if mode == "per_frame":
        return rearrange(pool, "... n (h w) c -> ... n h w c", h=h, w=w)
    return rearrange(pool, "... b (f h w) c -> ... (f b) h w c", f=2, h=h, w=w)


def scan(x: torch.Tensor, mode: str = "interleaved") -> torch.Tensor:
    """(2B, H, W, C) -> (4B, 2HW, C) [cross-frame] or (8B, HW, C) [per_frame]."""
    _, h, w, _ = x.shape
    idx = indices_on(mode, h, w, x.device)[0]
    pool = to_pool(x, mode)                                # (N, L, C)
    seqs = pool[:, idx]                                    # (N, 4, L, C)
    return rearrange(seqs, "n d l c -> (d n) l c")


def merge(y: torch.Tensor, h: int, w: int, mode: str = "interleaved", reduce: str | None = "sum") -> torch.Tensor:
    """Inverse of :func:`scan`.

    y: (4B, 2HW, C) or (8B, HW, C). Returns (2B, H, W, C) with the four directions summed
    (``reduce="sum"``) or (4, 2B, H, W, C) with each direction mapped back (``reduce=None``).
    """
    inv = merge_index(mode, h, w).to(y.device)
    seqs = rearrange(y, "(d n) l c -> n d l c", d=NUM_DIRECTIONS)
    d = torch.arange(NUM_DIRECTIONS, device=y.device)[:, None]
    pool = seqs[:, d, inv]                                 # (N, 4, L, C) back in id order
    out = from_pool(rearrange(pool, "n d l c -> d n l c"), h, w, mode)
    if reduce is None:
        return out
    if reduce == "sum":
        return out.sum(0)
    raise ValueError(f"reduce must be 'sum' or None, got {reduce!r}")
