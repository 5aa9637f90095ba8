"""Gated window attention (per frame).

Non-overlapping ``ws x ws`` windows, multi-head SDPA, then the head-specific elementwise output
gate of Qiu et al. (2025): ``Y' = sigmoid(X W_g) * Y`` on the SDPA output, before the output
projection. ``gate=False`` gives plain window attention (Exp-1g). Maps whose size is not a multiple
of the window are padded; padded tokens are masked out as keys and cropped from the output.
A depthwise 3x3 convolution (conditional position encoding) supplies position information, so the
SDPA call needs no bias and can use the flash / memory-efficient kernels.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange


def window_partition(x: torch.Tensor, ws: int) -> torch.Tensor:
    """(N, H, W, C) with H, W multiples of ws -> (N * nH * nW, ws*ws, C)."""
    return rearrange(x, "n (a p) (b q) c -> (n a b) (p q) c", p=ws, q=ws)


def window_reverse(x: torch.Tensor, ws: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (N * nH * nW, ws*ws, C) -> (N, H, W, C)."""
    return rearrange(x, "(n a b) (p q) c -> n (a p) (b q) c", a=h // ws, b=w // ws, p=ws, q=ws)


class GatedWindowAttention(nn.Module):
    """Input and output: (N, H, W, C), N = number of frames (2B), any H, W."""

    def __init__(self, dim: int, num_heads: int, window_size: int = 8, gate: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} not divisible by num_heads {num_heads}")
        self.dim, self.num_heads, self.window_size, self.use_gate = dim, num_heads, window_size, gate
        self.cpe = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.gate = nn.Linear(dim, dim) if gate else None   # one gate per head and channel
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, w, c = x.shape
        ws = self.window_size
        x = x + rearrange(self.cpe(rearrange(x, "n h w c -> n c h w")), "n c h w -> n h w c")
        ph, pw = (-h) % ws, (-w) % ws
        xp = F.pad(x, (0, 0, 0, pw, 0, ph)) if (ph or pw) else x
        Hp, Wp = h + ph, w + pw
        win = window_partition(xp, ws)                                     # (nw, T, C)
        q, k, v = rearrange(self.qkv(win), "n t (k h d) -> k n h t d", k=3, h=self.num_heads)
        mask = None
        if ph or pw:  # padded tokens must not be attended to
            valid = torch.zeros(1, Hp, Wp, 1, dtype=torch.bool, device=x.device)
            valid[:, :h, :w] = True
            valid = window_partition(valid, ws).squeeze(-1)                # (nWin, T)
            mask = valid.repeat(n, 1)[:, None, None, :]                    # (nw, 1, 1, T)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = rearrange(y, "n h t d -> n t (h d)")
        if self.gate is not None:
            y = torch.sigmoid(self.gate(win)) * y
        y = window_reverse(self.proj(y), ws, Hp, Wp)
        return y[:, :h, :w].contiguous() if (ph or pw) else y
