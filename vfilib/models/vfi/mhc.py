"""Manifold-constrained hyper-connections (mHC) and mHC-lite.

A residual layer ``x + F(x)`` becomes ``n`` parallel residual streams ``X`` (n, ...):

    x_in  = sum_k pre_k X_k                      (pre >= 0, sigmoid)
    X'_i  = sum_j H_ij X_j + post_i * F(x_in)    (post >= 0, 2 * sigmoid)

with the stream-mixing matrix ``H`` doubly stochastic, so mixing neither amplifies nor kills the
signal. ``mhc`` projects ``exp(logits)`` onto the Birkhoff polytope with Sinkhorn-Knopp
iterations; ``mhc_lite`` builds ``H`` exactly as a convex combination of the ``n!`` permutation
matrices (softmax weights), no iterations. Coefficients are a learned static part plus a small
input-dependent part computed from the pooled streams. Logits are clamped to [-10, 10] so late
training cannot overflow ``exp`` (a reported mHC failure mode); the trainer adds NaN guards.
"""
from __future__ import annotations

import itertools
import math
from functools import partial

import torch
import torch.nn as nn

LOGIT_CLAMP = 10.0


def sinkhorn(logits: torch.Tensor, iters: int = 20, eps: float = 1e-8) -> torch.Tensor:
    """(..., n, n) logits -> (..., n, n) approximately doubly stochastic (Sinkhorn-Knopp on exp)."""
    m = torch.exp(logits - logits.amax(dim=(-2, -1), keepdim=True))
    for _ in range(iters):
        m = m / (m.sum(dim=-1, keepdim=True) + eps)
        m = m / (m.sum(dim=-2, keepdim=True) + eps)
    return m


def permutation_matrices(n: int) -> torch.Tensor:
    """All n! permutation matrices, (n!, n, n); the identity first."""
    eye = torch.eye(n)
    return torch.stack([eye[list(p)] for p in itertools.permutations(range(n))])


def birkhoff_convex(weights_logits: torch.Tensor, perms: torch.Tensor) -> torch.Tensor:
    """(..., n!) logits, (n!, n, n) permutations -> (..., n, n) exactly doubly stochastic."""
    return torch.einsum("...k,kij->...ij", torch.softmax(weights_logits, dim=-1), perms)


class HyperConnection(nn.Module):
    """Wraps one residual sublayer. ``forward(streams, fn)``; streams: (n, N, ..., C)."""

    def __init__(self, dim: int, n: int = 2, mode: str = "mhc", sinkhorn_iters: int = 20):
        super().__init__()
        if mode not in ("mhc", "mhc_lite"):
            raise ValueError(f"mode must be 'mhc' or 'mhc_lite', got {mode!r}")
        self.n, self.mode, self.iters = n, mode, sinkhorn_iters
        if mode == "mhc":
            self.res_logits = nn.Parameter(3.0 * torch.eye(n))            # near-identity start
            n_res = n * n
        else:
            self.register_buffer("perms", permutation_matrices(n), persistent=False)
            start = torch.zeros(math.factorial(n))
            start[0] = 3.0                                                # the identity permutation
            self.res_logits = nn.Parameter(start)
            n_res = start.numel()
        self.pre_logits = nn.Parameter(torch.full((n,), math.log(1.0 / (n - 1))))  # sigmoid = 1/n
        self.post_logits = nn.Parameter(torch.zeros(n))                   # 2*sigmoid(0) = 1
        self.dyn_norm = nn.LayerNorm(dim)
        self.dyn = nn.Linear(dim, n_res + 2 * n)
        self.dyn_scale = nn.Parameter(torch.zeros(1))
        self.n_res = n_res

    def coefficients(self, streams: torch.Tensor):
        """pre (N, n), H (N, n, n), post (N, n) for streams (n, N, ..., C)."""
        pooled = streams.mean(dim=0).flatten(1, -2).mean(1)              # (N, C)
        d = self.dyn_scale * self.dyn(self.dyn_norm(pooled.float()))
        d_res, d_pre, d_post = d.split([self.n_res, self.n, self.n], dim=-1)
        res = (self.res_logits.flatten() + d_res).clamp(-LOGIT_CLAMP, LOGIT_CLAMP)
        if self.mode == "mhc":
            H = sinkhorn(res.view(-1, self.n, self.n), self.iters)
        else:
            H = birkhoff_convex(res, self.perms)
        pre = torch.sigmoid(self.pre_logits + d_pre)
        post = 2 * torch.sigmoid(self.post_logits + d_post)
        return pre, H, post

    def forward(self, streams: torch.Tensor, fn) -> torch.Tensor:
        pre, H, post = self.coefficients(streams)
        dt = streams.dtype
        x_in = torch.einsum("nk,kn...->n...", pre.to(dt), streams)
        y = fn(x_in)
        mixed = torch.einsum("nij,jn...->in...", H.to(dt), streams)
        return mixed + torch.einsum("ni,n...->in...", post.to(dt), y)


def expand_streams(x: torch.Tensor, n: int) -> torch.Tensor:
    """(N, ...) -> (n, N, ...) copies."""
    return x.unsqueeze(0).expand(n, *x.shape).contiguous()


def collapse_streams(streams: torch.Tensor) -> torch.Tensor:
    """(n, N, ...) -> (N, ...) mean over streams."""
    return streams.mean(dim=0)


#: residual (:data:`vfilib.config.RESIDUAL_MODES`) -> a factory of one residual sublayer's mixer,
#: (dim, cfg) -> (() -> module), or None for plain residuals (x + F(x), one stream)
RESIDUALS = {
    "plain": None,
    "mhc": lambda dim, cfg: partial(HyperConnection, dim, cfg.mhc_streams, "mhc", cfg.mhc_sinkhorn_iters),
    "mhc_lite": lambda dim, cfg: partial(HyperConnection, dim, cfg.mhc_streams, "mhc_lite", cfg.mhc_sinkhorn_iters),
}
