"""Mamba mixers with the parameter names of ``mamba_ssm`` so one state_dict loads on both paths.

``Mamba2Mixer`` mirrors ``mamba_ssm.Mamba2`` (non-fused path, ``use_mem_eff_path=False``):
``in_proj`` -> [z, x, B, C, dt]; depthwise causal ``conv1d`` over xBC, SiLU; SSD scan with
``A = -exp(A_log)``, ``softplus(dt + dt_bias)`` and skip ``D``; gated RMSNorm ``norm``
(``norm(y * silu(z))``); ``out_proj``.

``Mamba1Mixer`` mirrors ``mamba_ssm.Mamba`` (slow path): ``in_proj`` -> [x, z], ``conv1d``,
``x_proj`` -> [dt, B, C], ``dt_proj``, selective scan with ``A_log`` (d_inner, d_state), ``D``,
``out_proj``.

The scan runs on the official kernels (Triton SSD / CUDA selective scan) when ``impl`` resolves to
``official``, else on vfilib's pure-PyTorch versions in :mod:`vfilib.models.ssd`. The SSM core runs
in float32 under autocast (with ``ssm_dtype='autocast'`` on the official kernels, x, B, C and the
output stay in the autocast dtype). For inference on CUDA, the scan gathers, conv1d and output norm
of :meth:`Mamba2Mixer.forward_scanned` run as fused Triton kernels (:mod:`vfilib.models.runtime.kernels`).
"""
from __future__ import annotations

import functools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange, repeat

from ...config import SSM_DTYPES, RuntimeConfig
from ..runtime import kernels
from . import ssd


@functools.lru_cache(maxsize=1)
def official_kernels() -> dict | None:
    """The official ``mamba_ssm`` kernels, or None when ``mamba_ssm`` cannot be imported.

    ``ssd`` (Mamba2) is Triton; ``selective_scan`` (Mamba1) needs the package's compiled CUDA
    extension and is None when that was not built (``scripts/device_mamba.sh`` installs the Triton
    part alone in seconds): Mamba1 then runs vfilib's reference scan."""
    try:
        from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
    except Exception:  # ImportError, or a CUDA extension that fails to load
        return None
    try:
        import selective_scan_cuda
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
        scan = selective_scan_fn if hasattr(selective_scan_cuda, "fwd") else None
    except Exception:
        scan = None
    return {"ssd": mamba_chunk_scan_combined, "selective_scan": scan}


@torch.library.custom_op("vfilib::ssd_official", mutates_args=())
def ssd_official(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                 D: torch.Tensor, dt_bias: torch.Tensor, chunk_size: int) -> torch.Tensor:
    """The official SSD forward (``dt_softplus=True``) as an opaque op, so ``torch.compile`` keeps one
    graph around it (inference: no backward). x (b, l, h, p), dt (b, l, h), B/C (b, l, g, n) -> (b, l, h, p)."""
    return official_kernels()["ssd"](x, dt, A, B, C, chunk_size=chunk_size, D=D, dt_bias=dt_bias, dt_softplus=True)


@ssd_official.register_fake
def _(x, dt, A, B, C, D, dt_bias, chunk_size):
    return torch.empty(x.shape, device=x.device, dtype=x.dtype)


def resolve_impl(impl: str, device: torch.device, kernel: str = "ssd") -> str:
    """'auto' -> 'official' on CUDA when mamba_ssm's ``kernel`` (ssd | selective_scan) imports, else 'torch'."""
    if impl == "torch":
        return "torch"
    available = device.type == "cuda" and (official_kernels() or {}).get(kernel) is not None
    if impl == "official":
        if not available:
            raise RuntimeError(
                "ssm_impl='official' needs a CUDA device and an importable mamba_ssm "
                f"(device={device}, mamba_ssm={'ok' if official_kernels() else 'missing'})")
        return "official"
    if impl == "auto":
        return "official" if available else "torch"
    raise ValueError(f"unknown ssm_impl {impl!r}")


def _inv_softplus_dt(n: int, dt_min: float = 1e-3, dt_max: float = 0.1, floor: float = 1e-4) -> torch.Tensor:
    dt = torch.exp(torch.rand(n) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)).clamp(min=floor)
    return dt + torch.log(-torch.expm1(-dt))


def _no_autocast(device_type: str):
    return torch.autocast(device_type=device_type, enabled=False)


class RMSNormGated(nn.Module):
    """``norm(x * silu(z)) * weight`` per group (mamba_ssm's RMSNorm with norm_before_gate=False)."""

    def __init__(self, dim: int, eps: float = 1e-5, group_size: int | None = None):
        super().__init__()
        self.eps = eps
        self.group_size = group_size or dim
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        cdt = torch.float64 if dtype == torch.float64 else torch.float32
        x = x.to(cdt) * F.silu(z.to(cdt))
        xg = rearrange(x, "... (g d) -> ... g d", d=self.group_size)
        xg = xg * torch.rsqrt(xg.square().mean(-1, keepdim=True) + self.eps)
        return (rearrange(xg, "... g d -> ... (g d)") * self.weight.to(cdt)).to(dtype)


class Mamba2Mixer(nn.Module):
    """Mamba2 block. Input and output: (B, L, d_model)."""

    def __init__(self, d_model: int, d_state: int = 128, d_conv: int = 4, expand: int = 2,
                 headdim: int = 64, ngroups: int = 1, chunk_size: int = 0, impl: str = "auto",
                 ssm_dtype: str = "fp32", fused: str = "auto"):
        super().__init__()
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner = expand * d_model
        if self.d_inner % headdim:
            raise ValueError(f"headdim {headdim} must divide d_inner {self.d_inner}")
        if ssm_dtype not in SSM_DTYPES:
            raise ValueError(f"ssm_dtype {ssm_dtype!r}: choose from {SSM_DTYPES}")
        self.headdim, self.ngroups = headdim, ngroups
        self.impl, self.ssm_dtype, self.chunk, self.fused = impl, ssm_dtype, chunk_size, fused
        self.nheads = self.d_inner // headdim
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner + 2 * ngroups * d_state + self.nheads, bias=False)
        conv_dim = self.d_inner + 2 * ngroups * d_state
        self.conv1d = nn.Conv1d(conv_dim, conv_dim, d_conv, groups=conv_dim, padding=d_conv - 1, bias=True)
        self.dt_bias = nn.Parameter(_inv_softplus_dt(self.nheads))
        self.A_log = nn.Parameter(torch.log(torch.empty(self.nheads).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(self.nheads))
        self.norm = RMSNormGated(self.d_inner, eps=1e-5, group_size=self.d_inner // ngroups)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)
        for p in (self.dt_bias, self.A_log, self.D):
            p._no_weight_decay = True

    def apply_runtime(self, rt: RuntimeConfig) -> None:
        """Switch the SSD implementation, its input dtype, chunk size and the fused kernels (no weight changes)."""
        self.impl, self.ssm_dtype, self.chunk, self.fused = rt.ssm_impl, rt.ssm_dtype, rt.chunk_size, rt.fused

    def chunk_for(self, impl: str) -> int:
        """The SSD chunk: as set, or 256 on the official kernels and 64 on the pure-PyTorch SSD."""
        return self.chunk or (256 if impl == "official" else 64)

    def split_in_proj(self) -> dict[str, slice]:
        """Row ranges of ``in_proj.weight``: z, x, B, C, dt (used by the MaTVLM initialisation)."""
        di, gn = self.d_inner, self.ngroups * self.d_state
        o = [0, di, 2 * di, 2 * di + gn, 2 * di + 2 * gn, 2 * di + 2 * gn + self.nheads]
        return {k: slice(o[i], o[i + 1]) for i, k in enumerate(["z", "x", "B", "C", "dt"])}

    def _split(self, zxbcdt: torch.Tensor):
        return torch.split(zxbcdt, [self.d_inner, self.d_inner + 2 * self.ngroups * self.d_state, self.nheads], dim=-1)

    def _scan(self, xBC: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        """Causal conv + SSD over sequences. xBC: (n, L, conv_dim), dt: (n, L, nheads) -> y (n, L, d_inner)."""
        seqlen = xBC.shape[1]
        return self._ssd(F.silu(self.conv1d(xBC.transpose(1, 2))[..., :seqlen].transpose(1, 2)), dt)

    def core_dtype(self, t: torch.Tensor) -> torch.dtype:
        """dtype of the SSD inputs x, B, C for activations like ``t``: float32 (float64 stays float64),
        or ``t``'s own half dtype when ``ssm_dtype='autocast'`` and the official kernels run."""
        if t.dtype == torch.float64:
            return torch.float64
        if (self.ssm_dtype == "autocast" and t.dtype in (torch.bfloat16, torch.float16)
                and resolve_impl(self.impl, t.device) == "official"):
            return t.dtype
        return torch.float32

    def _ssd(self, xBC: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        """SSD core on conv outputs. xBC: (n, L, conv_dim) after conv + SiLU, dt: (n, L, nheads)
        -> y (n, L, d_inner) in :meth:`core_dtype` (dt, A, D and the states are float32 or float64)."""
        impl = resolve_impl(self.impl, xBC.device)
        x, B, C = torch.split(xBC, [self.d_inner, self.ngroups * self.d_state, self.ngroups * self.d_state], dim=-1)
        x = rearrange(x, "b l (h p) -> b l h p", p=self.headdim)
        B = rearrange(B, "b l (g n) -> b l g n", g=self.ngroups)
        C = rearrange(C, "b l (g n) -> b l g n", g=self.ngroups)
        A = -torch.exp(self.A_log.float())
        xdt = self.core_dtype(xBC)
        with _no_autocast(xBC.device.type):  # SSM core in float32 (float64 stays float64)
            f = (lambda t: t.double()) if xBC.dtype == torch.float64 else (lambda t: t.float())
            args = (x.to(xdt), f(dt), f(A), B.to(xdt), C.to(xdt))
            chunk = self.chunk_for(impl)
            kw = dict(chunk_size=chunk, D=f(self.D), dt_bias=f(self.dt_bias), dt_softplus=True)
            if impl == "official" and kernels.use_fused(xBC, self.fused):
                # inference: strided views (unit last stride) go in without copies, through the op
                # torch.compile sees as one node
                y = ssd_official(*args, kw["D"], kw["dt_bias"], chunk)
            elif impl == "official":   # training: contiguous inputs, as verified against the torch path
                y = official_kernels()["ssd"](*[a.contiguous() for a in args], **kw)
            else:
                y = ssd.ssd_chunked(*args, **kw)
        return rearrange(y, "b l h p -> b l (h p)")

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """u: (B, L, d_model) -> (B, L, d_model); the computation of ``mamba_ssm.Mamba2``."""
        z, xBC, dt = self._split(self.in_proj(u))
        y = self.norm(self._scan(xBC, dt), z)
        return self.out_proj(y.to(u.dtype))

    def forward_scanned(self, pool: torch.Tensor, idx: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
        """Run every scan direction over a token pool and sum the results back in token order.

        pool: (N, T, d_model); idx, inv: (D, T) a permutation per direction and its inverse.
        Equals ``sum_d forward(pool[:, idx[d]])[:, inv[d]]``, but the token-wise projections
        (in_proj, out_proj) run once per token instead of once per direction.
        """
        n_dir = idx.shape[0]
        z, xBC, dt = self._split(self.in_proj(pool))
        seq = lambda t: rearrange(t[:, idx], "n d l c -> (d n) l c")       # noqa: E731
        if kernels.use_fused(pool, self.fused):   # inference on CUDA: gather+conv+SiLU and unscan+norm+sum fused
            conv = kernels.scan_conv_silu(xBC, idx, self.conv1d.weight, self.conv1d.bias, self.core_dtype(xBC))
            y = self._ssd(conv, seq(dt))
            if y.stride(-1) != 1:      # the pure-PyTorch SSD (no mamba_ssm on this GPU) returns a strided view
                y = y.contiguous()
            y = kernels.merge_gated_rmsnorm(y, inv, z, self.norm.weight, self.norm.eps, self.norm.group_size)
            return self.out_proj(y.to(pool.dtype))
        y = rearrange(self._scan(seq(xBC), seq(dt)), "(d n) l c -> n d l c", d=n_dir)
        y = y[:, torch.arange(n_dir, device=y.device)[:, None], inv]          # back in token order
        y = self.norm(y, z[:, None].expand_as(y)).sum(1)
        return self.out_proj(y.to(pool.dtype))


class Mamba1Mixer(nn.Module):
    """Mamba1 (S6) block. Input and output: (B, L, d_model)."""

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2, impl: str = "auto"):
        super().__init__()
        self.d_inner = expand * d_model
        self.d_state, self.impl = d_state, impl
        self.dt_rank = math.ceil(d_model / 16)
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, d_conv, groups=self.d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        std = self.dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        with torch.no_grad():
            self.dt_proj.bias.copy_(_inv_softplus_dt(self.d_inner))
        self.A_log = nn.Parameter(torch.log(repeat(torch.arange(1, d_state + 1, dtype=torch.float32),
                                                   "n -> d n", d=self.d_inner).contiguous()))
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)
        for p in (self.A_log, self.D):
            p._no_weight_decay = True

    def apply_runtime(self, rt: RuntimeConfig) -> None:
        self.impl = rt.ssm_impl

    def _scan(self, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """Conv + selective scan. x, z: (n, L, d_inner) -> y (n, L, d_inner) (gated by silu(z) if z given)."""
        seqlen = x.shape[1]
        impl = resolve_impl(self.impl, x.device, "selective_scan")
        x = F.silu(self.conv1d(rearrange(x, "b l d -> b d l"))[..., :seqlen])
        dt, B, C = torch.split(self.x_proj(rearrange(x, "b d l -> b l d")),
                               [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = rearrange(dt @ self.dt_proj.weight.t(), "b l d -> b d l")
        B, C = (rearrange(t, "b l n -> b n l").contiguous() for t in (B, C))
        A = -torch.exp(self.A_log.float())
        with _no_autocast(x.device.type):
            f = (lambda t: t.double().contiguous()) if x.dtype == torch.float64 else (lambda t: t.float().contiguous())
            args = (f(x), f(dt), f(A), f(B), f(C), f(self.D))
            zz = None if z is None else f(rearrange(z, "b l d -> b d l"))
            kw = dict(z=zz, delta_bias=f(self.dt_proj.bias), delta_softplus=True)
            fn = official_kernels()["selective_scan"] if impl == "official" else ssd.selective_scan_ref
            y = fn(*args, **kw)
        return rearrange(y, "b d l -> b l d")

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """u: (B, L, d_model) -> (B, L, d_model); the computation of ``mamba_ssm.Mamba`` (slow path)."""
        x, z = self.in_proj(u).chunk(2, dim=-1)
        return self.out_proj(self._scan(x, z).to(u.dtype))

    def forward_scanned(self, pool: torch.Tensor, idx: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
        """As :meth:`Mamba2Mixer.forward_scanned`: (N, T, d_model) -> (N, T, d_model)."""
        n_dir = idx.shape[0]
        x, z = self.in_proj(pool).chunk(2, dim=-1)
        y = rearrange(self._scan(rearrange(x[:, idx], "n d l c -> (d n) l c"), None), "(d n) l c -> n d l c", d=n_dir)
        y = y[:, torch.arange(n_dir, device=y.device)[:, None], inv]           # back in token order
        y = (y * F.silu(z.to(y.dtype))[:, None]).sum(1)
        return self.out_proj(y.to(pool.dtype))


#: mamba_version (:data:`vfilib.config.MAMBA_VERSIONS`) -> the global branch's mixer, (dim, cfg) -> module
MIXERS = {
    1: lambda dim, cfg: Mamba1Mixer(dim, d_state=cfg.mamba1_d_state, d_conv=cfg.d_conv, expand=cfg.expand),
    2: lambda dim, cfg: Mamba2Mixer(dim, d_state=cfg.d_state, d_conv=cfg.d_conv, expand=cfg.expand,
                                    headdim=cfg.headdim, ngroups=cfg.ngroups),
}
