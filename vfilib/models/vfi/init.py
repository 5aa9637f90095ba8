"""MaTVLM partial initialisation of Mamba2 projections from attention weights (seed 001 3.3, scheme A).

Removing the softmax turns attention into a linear RNN whose input, key and query projections play
the roles of Mamba2's x, B and C. So, where shapes allow, ``W_V -> x``, ``W_K -> B``, ``W_Q -> C``
rows of ``in_proj``; the overlapping block ``[:min(rows), :d_model]`` is copied and the rest (z, dt,
the surplus rows, A_log, dt_bias) keeps its random initialisation.
"""
from __future__ import annotations

import torch

from .attention import GatedWindowAttention
from .mamba import Mamba2Mixer


@torch.no_grad()
def matvlm_init_mamba2(mixer: Mamba2Mixer, attn: GatedWindowAttention) -> dict[str, tuple[int, int]]:
    """Copy attention V/K/Q rows into the mixer's x/B/C rows. Returns {target: (rows, cols) copied}."""
    dim = attn.dim
    if mixer.in_proj.weight.shape[1] != dim:
        raise ValueError(f"mixer d_model {mixer.in_proj.weight.shape[1]} != attention dim {dim}")
    w_q, w_k, w_v = attn.qkv.weight.split(dim, dim=0)
    rows = mixer.split_in_proj()
    copied = {}
    for target, src in (("x", w_v), ("B", w_k), ("C", w_q)):
        sl = rows[target]
        n = min(sl.stop - sl.start, src.shape[0])
        mixer.in_proj.weight[sl.start: sl.start + n].copy_(src[:n])
        copied[target] = (n, dim)
    return copied
