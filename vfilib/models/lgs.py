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

from ..config import ModelConfig
from . import scan as scan_ops
from .attention import GatedWindowAttention
from .channel_attention import ChannelAttentionBlock
from .mamba import Mamba1Mixer, Mamba2Mixer
from .mhc import HyperConnection, collapse_streams, expand_streams


class SSMBranch(nn.Module):
    """Scan -> Mamba mixer -> exact inverse, summed over the 4 directions. (2B, H, W, C) -> same.

    Equal to ``merge(mixer(scan(x)))``; the mixer's ``forward_scanned`` computes it with the
    token-wise projections applied once per token rather than once per direction.
    """

    def __init__(self, dim: int, cfg: ModelConfig):
        super().__init__()
        self.mode = cfg.scan
        if cfg.mamba_version == 2:
            self.mixer = Mamba2Mixer(dim, d_state=cfg.d_state, d_conv=cfg.d_conv, expand=cfg.expand,
                                     headdim=cfg.headdim, ngroups=cfg.ngroups)
        else:
            self.mixer = Mamba1Mixer(dim, d_state=cfg.mamba1_d_state, d_conv=cfg.d_conv, expand=cfg.expand)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h, w, _ = x.shape
        idx, inv = scan_ops.indices_on(self.mode, h, w, x.device)
        pool = self.mixer.forward_scanned(scan_ops.to_pool(x, self.mode), idx, inv)
        return scan_ops.from_pool(pool, h, w, self.mode)


class LGSBlock(nn.Module):
    """Input and output: (2B, H, W, C), or (n, 2B, H, W, C) residual streams when mHC is on."""

    def __init__(self, dim: int, num_heads: int, cfg: ModelConfig):
        super().__init__()
        self.ssm = SSMBranch(dim, cfg) if cfg.backbone_mode != "gated_attn_only" else None
        self.attn = (GatedWindowAttention(dim, num_heads, cfg.window_size, gate=cfg.attn_gate)
                     if cfg.backbone_mode != "mamba2_only" else None)
        n_branches = (self.ssm is not None) + (self.attn is not None)
        self.norm1 = nn.LayerNorm(dim)
        self.fuse = nn.Linear(n_branches * dim, dim)
        self.ca = ChannelAttentionBlock(dim, efficient=cfg.use_ecab)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * cfg.mlp_ratio))
        self.hc = None
        if cfg.use_mhc != "off":
            self.hc = nn.ModuleList([HyperConnection(dim, cfg.mhc_streams, cfg.use_mhc, cfg.mhc_sinkhorn_iters)
                                     for _ in range(2)])

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
    """A stack of LGS blocks at one scale. (2B, C, H, W) -> (2B, C, H, W)."""

    def __init__(self, dim: int, depth: int, num_heads: int, cfg: ModelConfig):
        super().__init__()
        self.blocks = nn.ModuleList([LGSBlock(dim, num_heads, cfg) for _ in range(depth)])
        self.streams = cfg.mhc_streams if cfg.use_mhc != "off" else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = rearrange(x, "n c h w -> n h w c")
        if self.streams:
            x = expand_streams(x, self.streams)
        for blk in self.blocks:
            x = blk(x)
        if self.streams:
            x = collapse_streams(x)
        return rearrange(x, "n h w c -> n c h w")
