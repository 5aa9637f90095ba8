"""The Local-Global Synergistic (LGS) block and the stage that stacks it.

    h = LN(x)
    global: scan(h) -> Mamba (4 directions folded into the batch) -> merge (sum)   [cross-frame]
    local : gated window attention, per frame
    f = Linear(concat(global, local));  f = f + ECAB/CAB(f)
    x = x + f ;  x = x + MLP(LN(x))          (or both residuals through mHC streams)

Tokens are channels-last: (2B, H, W, C), frame-0 batch first.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from einops import rearrange
from timm.layers import Mlp

from ...config import ModelConfig
from . import scan as scan_ops
from .attention import GatedWindowAttention
from .channel_attention import ChannelAttentionBlock
from .mamba import MIXERS
from .mhc import RESIDUALS, collapse_streams, expand_streams


class SSMBranch(nn.Module):
    """Scan -> Mamba mixer -> exact inverse, summed over the 4 directions. (2B, H, W, C) -> same.

    Equal to ``merge(mixer(scan(x)))``; the mixer's ``forward_scanned`` computes it with the
    token-wise projections applied once per token rather than once per direction.
    """

    def __init__(self, mixer: nn.Module, scan: str = "interleaved"):
        super().__init__()
        self.mode, self.mixer = scan, mixer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h, w, _ = x.shape
        idx, inv = scan_ops.indices_on(self.mode, h, w, x.device)
        pool = self.mixer.forward_scanned(scan_ops.to_pool(x, self.mode), idx, inv)
        return scan_ops.from_pool(pool, h, w, self.mode)


class LGSBlock(nn.Module):
    """Input and output: (2B, H, W, C), or (n, 2B, H, W, C) residual streams when ``hyper`` is given.

    The layers are passed in: ``ssm`` (global, cross-frame; an :class:`SSMBranch` or None), ``attn``
    (local, per frame; e.g. :class:`~.attention.GatedWindowAttention` or None), ``channel_attn`` (ECAB /
    CAB on the fused map), ``hyper`` (a factory of residual mixers, e.g. mHC, or None for plain
    residuals), ``norm_layer``."""

    def __init__(self, dim: int, ssm: nn.Module | None, attn: nn.Module | None, channel_attn: nn.Module,
                 mlp_ratio: float = 2.0, norm_layer=nn.LayerNorm, hyper=None):
        super().__init__()
        if ssm is None and attn is None:
            raise ValueError("an LGS block needs a global (ssm) or a local (attn) branch")
        self.ssm, self.attn = ssm, attn
        n_branches = (ssm is not None) + (attn is not None)
        self.norm1 = norm_layer(dim)
        self.fuse = nn.Linear(n_branches * dim, dim)
        self.ca = channel_attn
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.hc = nn.ModuleList([hyper(), hyper()]) if hyper is not None else None

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        """The token mixer sublayer (no residual). (2B, H, W, C) -> same."""
        h = self.norm1(x)
        parts = [b(h) for b in (self.ssm, self.attn) if b is not None]
        f = self.fuse(torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0])
        f_nchw = rearrange(f, "n h w c -> n c h w")
        return f + rearrange(self.ca(f_nchw), "n c h w -> n h w c")

    def ffn(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.norm2(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.hc is None:
            x = x + self.mix(x)
            return x + self.ffn(x)
        x = self.hc[0](x, self.mix)
        return self.hc[1](x, self.ffn)


class LGSStage(nn.Module):
    """A stack of blocks at one scale. (2B, C, H, W) -> (2B, C, H, W); ``streams`` > 0: the blocks mix
    that many residual streams (mHC), expanded before the first and collapsed after the last."""

    def __init__(self, blocks: list[nn.Module], streams: int = 0):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.streams = streams

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = rearrange(x, "n c h w -> n h w c")
        if self.streams:
            x = expand_streams(x, self.streams)
        for blk in self.blocks:
            x = blk(x)
        if self.streams:
            x = collapse_streams(x)
        return rearrange(x, "n h w c -> n c h w")


def ssm_branch(dim: int, num_heads: int, cfg: ModelConfig) -> SSMBranch:
    """The global branch: the config's Mamba mixer (:data:`.mamba.MIXERS`) over its cross-frame scan."""
    return SSMBranch(MIXERS[cfg.mamba_version](dim, cfg), cfg.scan)


def attention_branch(dim: int, num_heads: int, cfg: ModelConfig) -> GatedWindowAttention:
    """The local branch: (gated) window attention, per frame."""
    return GatedWindowAttention(dim, num_heads, cfg.window_size, gate=cfg.attn_gate)


#: backbone_mode (:data:`vfilib.config.BACKBONE_MODES`) -> builders of the (global, local) branches of
#: an LGS block, each (dim, num_heads, cfg) -> module; None leaves that branch out.
BACKBONES = {
    "hybrid": (ssm_branch, attention_branch),
    "mamba2_only": (ssm_branch, None),
    "gated_attn_only": (None, attention_branch),
}


def lgs_block(dim: int, num_heads: int, cfg: ModelConfig) -> LGSBlock:
    """The one place that reads the architecture config into an LGS block's layers (each variant from
    its registry: :data:`BACKBONES`, :data:`.mhc.RESIDUALS`, :data:`.channel_attention.CHANNEL_ATTENTION`)."""
    ssm, attn = (make(dim, num_heads, cfg) if make else None for make in BACKBONES[cfg.backbone_mode])
    residual = RESIDUALS[cfg.residual]
    hyper = residual(dim, cfg) if residual else None
    return LGSBlock(dim, ssm, attn, ChannelAttentionBlock(dim, cfg.channel_attention), cfg.mlp_ratio, hyper=hyper)


def lgs_stage(dim: int, depth: int, num_heads: int, cfg: ModelConfig) -> LGSStage:
    return LGSStage([lgs_block(dim, num_heads, cfg) for _ in range(depth)],
                    cfg.mhc_streams if RESIDUALS[cfg.residual] else 0)
