"""Fused Triton kernels for the SSM branch's inference path, beside their PyTorch references.

The 4-direction scan around the Mamba2 core costs more in memory traffic than in arithmetic: the
plain path gathers the projected tokens into every scan order, transposes them for ``nn.Conv1d``,
casts for the SSD kernel, and after the scan gathers the outputs back, gates and normalises each
direction and sums them (about a dozen full passes over (4N, L, C) tensors). Two kernels replace it:

``scan_conv_silu(src, idx, weight, bias)``
    gather ``src`` (N, T, C) into the order ``idx`` (D, L) of every direction, depthwise causal
    conv1d (``weight`` (C, 1, K), ``bias`` (C,)) and SiLU in one pass -> (D*N, L, C) float32 (or
    ``out_dtype``; the arithmetic is float32 either way), batch direction-major (``d * N + n``), the layout :func:`vfilib.models.vfi.scan.scan` uses.

``merge_gated_rmsnorm(y, inv, z, weight, eps, group_size)``
    for every token: read its row of each direction's output ``y`` (D*N, L, E) through the inverse
    permutation ``inv`` (D, T), gate with ``silu(z)`` (z: (N, T, E), token order), RMS-normalise per
    group, scale by ``weight`` and sum over directions -> (N, T, E).

Both equal their ``*_ref`` (the computation of :class:`vfilib.models.vfi.mamba.Mamba2Mixer`'s plain
path) up to float rounding; ``tests/test_kernels.py`` checks it. On CUDA tensors they run compiled;
on CPU tensors through Triton's interpreter (``TRITON_INTERPRET=1``; slow, for the tests). They have no backward: the mixer
uses them only when no gradient is needed (:func:`use_fused`). Each is a ``torch.library`` custom op,
so ``torch.compile`` keeps one graph across them instead of breaking at every Triton launch.

Switch: the mixer's ``fused`` setting (``RuntimeConfig.fused``): ``auto`` (fused on CUDA without
autograd) or ``off`` (the speed benchmark compares both).
"""
from __future__ import annotations

import functools
import os

import torch
import torch.nn.functional as F
from einops import rearrange

try:
    import triton
    import triton.language as tl
except ImportError:  # the plain path needs no Triton
    triton = tl = None

_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"     # Triton's interpreter: the kernels on CPU (tests)


def use_fused(t: torch.Tensor, mode: str = "auto") -> bool:
    """Whether the mixer should take the fused path for activations like ``t``: mode ``auto``, CUDA (or
    Triton's interpreter), Triton importable, not float64, and no autograd graph being recorded
    through ``t``."""
    if mode not in ("auto", "off"):
        raise ValueError(f"fused mode {mode!r}: choose from ('auto', 'off')")
    on_device = t.is_cuda or _INTERPRET
    return (mode == "auto" and triton is not None and on_device and t.dtype != torch.float64
            and not (torch.is_grad_enabled() and t.requires_grad))


# --------------------------------------------------------------------------- references (PyTorch)

def scan_conv_silu_ref(src: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                       out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N, T, C) tokens, (D, L) orders, conv1d weight (C, 1, K) and bias (C,) -> (D*N, L, C) out_dtype."""
    k = weight.shape[-1]
    seq = rearrange(src[:, idx], "n d l c -> (d n) c l").float()
    out = F.conv1d(seq, weight.float(), bias.float(), padding=k - 1, groups=weight.shape[0])[..., :idx.shape[1]]
    return F.silu(out).transpose(1, 2).to(out_dtype)


def merge_gated_rmsnorm_ref(y: torch.Tensor, inv: torch.Tensor, z: torch.Tensor, weight: torch.Tensor,
                            eps: float, group_size: int) -> torch.Tensor:
    """y (D*N, L, E), inv (D, T), z (N, T, E), weight (E,) -> (N, T, E) float32."""
    d = inv.shape[0]
    yy = rearrange(y, "(d n) l e -> n d l e", d=d)[:, torch.arange(d, device=y.device)[:, None], inv].float()
    v = yy * F.silu(z.float())[:, None]
    vg = rearrange(v, "... (g s) -> ... g s", s=group_size)
    vg = vg * torch.rsqrt(vg.square().mean(-1, keepdim=True) + eps)
    return (rearrange(vg, "... g s -> ... (g s)") * weight.float()).sum(1)


# --------------------------------------------------------------------------- Triton kernels

def _scan_conv_silu_kernel(src, idx, w, b, out, N, L, C, s_n, s_t,
                           K: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_C: tl.constexpr):
    pid_l, pid_c, pid_b = tl.program_id(0), tl.program_id(1), tl.program_id(2)   # pid_b = d * N + n
    d, n = pid_b // N, pid_b % N
    ls = pid_l * BLOCK_L + tl.arange(0, BLOCK_L)
    cs = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    cmask = cs < C
    acc = tl.zeros((BLOCK_L, BLOCK_C), dtype=tl.float32)
    acc += tl.load(b + cs, mask=cmask, other=0.0).to(tl.float32)[None, :]
    for k in tl.static_range(K):
        pos = ls - (K - 1) + k                       # causal: taps at l-K+1 .. l, zero before the start
        ok = (pos >= 0) & (pos < L)
        tok = tl.load(idx + d.to(tl.int64) * L + pos, mask=ok, other=0).to(tl.int64)
        x = tl.load(src + n.to(tl.int64) * s_n + tok[:, None] * s_t + cs[None, :],
                    mask=ok[:, None] & cmask[None, :], other=0.0).to(tl.float32)
        wk = tl.load(w + cs * K + k, mask=cmask, other=0.0).to(tl.float32)
        acc += x * wk[None, :]
    acc = acc * tl.sigmoid(acc)
    row = pid_b.to(tl.int64) * L + ls
    tl.store(out + row[:, None] * C + cs[None, :], acc.to(out.dtype.element_ty), mask=(ls < L)[:, None] & cmask[None, :])


def _merge_gated_rmsnorm_kernel(y, inv, z, w, out, N, T, E, s_yb, s_yt, s_zn, s_zt, eps,
                                D: tl.constexpr, G: tl.constexpr, BLOCK_T: tl.constexpr,
                                BLOCK_G: tl.constexpr):
    pid_t, pid_g, n = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    ts = pid_t * BLOCK_T + tl.arange(0, BLOCK_T)
    cg = tl.arange(0, BLOCK_G)
    cs = pid_g * G + cg
    tmask = ts < T
    m2 = tmask[:, None] & (cg < G)[None, :]
    zz = tl.load(z + n.to(tl.int64) * s_zn + ts[:, None].to(tl.int64) * s_zt + cs[None, :], mask=m2,
                 other=0.0).to(tl.float32)
    gate = zz * tl.sigmoid(zz)
    acc = tl.zeros((BLOCK_T, BLOCK_G), dtype=tl.float32)
    for d in tl.static_range(D):
        row = tl.load(inv + d * T + ts, mask=tmask, other=0).to(tl.int64)
        v = tl.load(y + (d * N + n).to(tl.int64) * s_yb + row[:, None] * s_yt + cs[None, :], mask=m2,
                    other=0.0).to(tl.float32) * gate
        ms = tl.sum(v * v, axis=1) / G
        acc += v * tl.rsqrt(ms + eps)[:, None]
    wv = tl.load(w + cs, mask=cg < G, other=0.0).to(tl.float32)
    orow = n.to(tl.int64) * T + ts
    tl.store(out + orow[:, None] * E + cs[None, :], acc * wv[None, :], mask=m2)


@functools.lru_cache(maxsize=None)
def _kernel(fn, on_cuda: bool):
    """``triton.jit(fn)``, made on first use (so ``TRITON_INTERPRET=1`` set by then applies)."""
    if triton is None:
        raise RuntimeError("the fused kernels need Triton (pip install triton)")
    if not on_cuda and not _INTERPRET:
        raise ValueError("the fused kernels run on CUDA tensors, or on CPU tensors under Triton's "
                         "interpreter (set TRITON_INTERPRET=1 before Python starts)")
    return triton.jit(fn)


def _check_last_dim(name: str, t: torch.Tensor) -> None:
    if t.stride(-1) != 1:
        raise ValueError(f"{name} needs a unit stride in its last dimension, got strides {t.stride()}")


def scan_conv_silu(src: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                   out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Fused gather + causal depthwise conv1d + SiLU: (N, T, C), (D, L) -> (D*N, L, C) ``out_dtype``
    (float32 arithmetic). ``src`` may be a strided view (a column slice of the projection output)."""
    c, k = src.shape[2], weight.shape[-1]
    if weight.shape != (c, 1, k) or bias.shape != (c,):
        raise ValueError(f"conv weight {tuple(weight.shape)} / bias {tuple(bias.shape)} do not fit {c} channels")
    _check_last_dim("src", src)
    return _scan_conv_silu_op(src, idx, weight, bias, out_dtype)


@torch.library.custom_op("vfilib::scan_conv_silu", mutates_args=())
def _scan_conv_silu_op(src: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                       out_dtype: torch.dtype) -> torch.Tensor:
    n, _, c = src.shape
    nd, seqlen = idx.shape
    out = torch.empty(nd * n, seqlen, c, device=src.device, dtype=out_dtype)
    block_l, block_c = 64, min(64, triton.next_power_of_2(c))
    grid = (triton.cdiv(seqlen, block_l), triton.cdiv(c, block_c), nd * n)
    _kernel(_scan_conv_silu_kernel, src.is_cuda)[grid](
        src, idx.contiguous(), weight.contiguous(), bias.contiguous(), out, n, seqlen, c,
        src.stride(0), src.stride(1), K=weight.shape[-1], BLOCK_L=block_l, BLOCK_C=block_c)
    return out


@_scan_conv_silu_op.register_fake
def _(src, idx, weight, bias, out_dtype):
    return src.new_empty(idx.shape[0] * src.shape[0], idx.shape[1], src.shape[2], dtype=out_dtype)


def merge_gated_rmsnorm(y: torch.Tensor, inv: torch.Tensor, z: torch.Tensor, weight: torch.Tensor,
                        eps: float, group_size: int) -> torch.Tensor:
    """Fused inverse gather + gated group RMSNorm + sum over directions: y (D*N, L, E), inv (D, T),
    z (N, T, E) (a strided view is fine) -> (N, T, E) float32."""
    n, t, e = z.shape
    nd = inv.shape[0]
    if y.shape != (nd * n, t, e) or e % group_size:
        raise ValueError(f"y {tuple(y.shape)} / z {tuple(z.shape)} / group {group_size} do not fit {nd} directions")
    _check_last_dim("y", y)
    _check_last_dim("z", z)
    return _merge_gated_rmsnorm_op(y, inv, z, weight, eps, group_size)


@torch.library.custom_op("vfilib::merge_gated_rmsnorm", mutates_args=())
def _merge_gated_rmsnorm_op(y: torch.Tensor, inv: torch.Tensor, z: torch.Tensor, weight: torch.Tensor,
                            eps: float, group_size: int) -> torch.Tensor:
    n, t, e = z.shape
    nd = inv.shape[0]
    out = torch.empty(n, t, e, device=z.device, dtype=torch.float32)
    block_g = triton.next_power_of_2(group_size)
    block_t = max(1, min(32, 4096 // block_g))
    grid = (triton.cdiv(t, block_t), e // group_size, n)
    _kernel(_merge_gated_rmsnorm_kernel, z.is_cuda)[grid](
        y, inv.contiguous(), z, weight.contiguous(), out, n, t, e, y.stride(0), y.stride(1),
        z.stride(0), z.stride(1), eps, D=nd, G=group_size, BLOCK_T=block_t, BLOCK_G=block_g)
    return out


@_merge_gated_rmsnorm_op.register_fake
def _(y, inv, z, weight, eps, group_size):
    return z.new_empty(z.shape, dtype=torch.float32)
