"""Pure-PyTorch state-space scans: Mamba2's chunked SSD and Mamba1's selective scan.

These are the CPU twins of the official ``mamba_ssm`` kernels (``mamba_chunk_scan_combined``
and ``selective_scan_fn``); they take the same arguments in the same layouts so a mixer can switch
paths without touching its parameters. ``*_sequential`` functions are the plain recurrences the
fast versions are tested against.

Mamba2 (SSD) recurrence per head h, with a scalar decay per step:
    s_t = exp(dt_t * A_h) * s_{t-1} + dt_t * B_t x_t^T        s: (P, N)
    y_t = s_t C_t + D_h * x_t
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange, repeat


def _segsum(a: torch.Tensor) -> torch.Tensor:
    """Stable segment sums. a: (..., T) -> (..., T, T) with out[i, j] = a[j+1] + ... + a[i]
    for i >= j and -inf above the diagonal (so exp() gives the causal decay matrix)."""
    t = a.shape[-1]
    a = repeat(a, "... t -> ... t e", e=t)                       # a[..., i, j] = a_i
    below = torch.tril(torch.ones(t, t, dtype=torch.bool, device=a.device), diagonal=-1)
    a = a.masked_fill(~below, 0)
    out = torch.cumsum(a, dim=-2)
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool, device=a.device))
    return out.masked_fill(~causal, float("-inf"))


def _prepare_dt(dt: torch.Tensor, dt_bias: torch.Tensor | None, dt_softplus: bool) -> torch.Tensor:
    if dt_bias is not None:
        dt = dt + dt_bias
    return F.softplus(dt) if dt_softplus else dt


def _chunked(x, dt, A, B, C, chunk_size: int):
    """The scan's inputs cut into chunks: x*dt, B, C as (b, c, s, h, .) with the groups repeated to the
    heads, and dt*A as (b, h, c, s); the tail padded with zero dt (no decay and no input, so earlier
    outputs are unchanged)."""
    l, h, g = x.shape[1], x.shape[2], B.shape[2]
    pad = (-l) % chunk_size
    if pad:
        x = F.pad(x, (0, 0, 0, 0, 0, pad))
        dt = F.pad(dt, (0, 0, 0, pad))
        B = F.pad(B, (0, 0, 0, 0, 0, pad))
        C = F.pad(C, (0, 0, 0, 0, 0, pad))
    B = repeat(B, "b l g n -> b l (g r) n", r=h // g)
    C = repeat(C, "b l g n -> b l (g r) n", r=h // g)
    xc, Bc, Cc = (rearrange(t, "b (c s) h d -> b c s h d", s=chunk_size) for t in (x * dt[..., None], B, C))
    return xc, Bc, Cc, rearrange(dt * A, "b (c s) h -> b h c s", s=chunk_size)


def _chunk_scan(xc, Bc, Cc, a):
    """The SSD of chunked inputs: (outputs from inside each chunk, from the states carried into it)."""
    a_cum = torch.cumsum(a, dim=-1)                                      # (b, h, c, s)
    # 1. within each chunk (quadratic, attention-like form)
    decay = torch.exp(_segsum(a))                                        # (b, h, c, s, s)
    y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", Cc, Bc, decay, xc)
    # 2. state at the end of each chunk from its own inputs
    decay_to_end = torch.exp(a_cum[..., -1:] - a_cum)                    # (b, h, c, s)
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", Bc, decay_to_end, xc)
    # 3. carry states across chunks (a short recurrence written as one matrix product)
    states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)
    chunk_decay = torch.exp(_segsum(F.pad(a_cum[..., -1], (1, 0))))     # (b, h, c+1, c+1)
    states = torch.einsum("bhzc,bchpn->bzhpn", chunk_decay, states)[:, :-1]
    # 4. contribution of the carried state to each position
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", Cc, states, torch.exp(a_cum))
    return y_diag, y_off


def ssd_chunked(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    chunk_size: int = 64,
    D: torch.Tensor | None = None,
    dt_bias: torch.Tensor | None = None,
    dt_softplus: bool = False,
) -> torch.Tensor:
    """Chunked SSD scan, vectorised over chunks; any sequence length.

    x: (b, l, h, p)   dt: (b, l, h)   A: (h,)   B, C: (b, l, g, n) with g dividing h
    D: (h,) or None. Returns y: (b, l, h, p) in x's dtype (computed in float32 or float64).
    Same contract as ``mamba_ssm.ops.triton.ssd_combined.mamba_chunk_scan_combined``.
    """
    b, l, h, p = x.shape
    g = B.shape[2]
    if h % g:
        raise ValueError(f"ngroups {g} must divide nheads {h}")
    out_dtype = x.dtype
    cdt = torch.float64 if x.dtype == torch.float64 else torch.float32
    x, dt, A, B, C = (t.to(cdt) for t in (x, dt, A, B, C))
    dt = _prepare_dt(dt, None if dt_bias is None else dt_bias.to(cdt), dt_softplus)

    xc, Bc, Cc, a = _chunked(x, dt, A, B, C, chunk_size)
    y_diag, y_off = _chunk_scan(xc, Bc, Cc, a)
    y = rearrange(y_diag + y_off, "b c s h p -> b (c s) h p")[:, :l]
    if D is not None:
        y = y + x[:, :l] * D.to(cdt)[:, None]
    return y.to(out_dtype)


def ssd_sequential(x, dt, A, B, C, D=None, dt_bias=None, dt_softplus=False):
    """The SSD recurrence one step at a time (reference for tests). Same arguments as ssd_chunked."""
    b, l, h, p = x.shape
    g = B.shape[2]
    dt = _prepare_dt(dt, dt_bias, dt_softplus)
    B = repeat(B, "b l g n -> b l (g r) n", r=h // g)
    C = repeat(C, "b l g n -> b l (g r) n", r=h // g)
    s = x.new_zeros(b, h, p, B.shape[-1])
    ys = []
    for t in range(l):
        s = torch.exp(dt[:, t] * A)[..., None, None] * s + torch.einsum(
            "bh,bhp,bhn->bhpn", dt[:, t], x[:, t], B[:, t])
        ys.append(torch.einsum("bhpn,bhn->bhp", s, C[:, t]))
    y = torch.stack(ys, dim=1)
    if D is not None:
        y = y + x * D[:, None]
    return y


def selective_scan_ref(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Mamba1 selective scan, sequential (CPU twin of ``mamba_ssm``'s ``selective_scan_fn``).

    u, delta, z: (b, d, l)   A: (d, n)   B, C: (b, n, l)   D, delta_bias: (d,)
    Returns (b, d, l) in u's dtype; computed in float32 (or float64 for float64 input).

        h_t = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t
        y_t = <h_t, C_t> + D * u_t ;  y_t *= silu(z_t) if z is given
    """
    out_dtype = u.dtype
    cdt = torch.float64 if u.dtype == torch.float64 else torch.float32
    u, delta, A, B, C = (t.to(cdt) for t in (u, delta, A, B, C))
    delta = _prepare_dt(delta, None if delta_bias is None else delta_bias.to(cdt)[:, None], delta_softplus)
    dA = torch.exp(torch.einsum("bdl,dn->bldn", delta, A))              # (b, l, d, n)
    dBu = torch.einsum("bdl,bnl,bdl->bldn", delta, B, u)
    h = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for t in range(u.shape[2]):
        h = dA[:, t] * h + dBu[:, t]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, :, t]))
    y = torch.stack(ys, dim=2)
    if D is not None:
        y = y + u * D.to(cdt)[:, None]
    if z is not None:
        y = y * F.silu(z.to(cdt))
    return y.to(out_dtype)
