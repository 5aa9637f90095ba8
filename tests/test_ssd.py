import pytest
import torch
import torch.nn.functional as F

from vfilib.models.vfi import ssd
from vfilib.models.vfi.mamba import Mamba1Mixer, Mamba2Mixer


def _ssd_inputs(b=2, l=37, h=4, p=3, g=2, n=5):
    x = torch.randn(b, l, h, p, dtype=torch.float64)
    dt = torch.randn(b, l, h, dtype=torch.float64)
    A = -torch.rand(h, dtype=torch.float64) * 4 - 0.1
    B = torch.randn(b, l, g, n, dtype=torch.float64)
    C = torch.randn(b, l, g, n, dtype=torch.float64)
    D = torch.randn(h, dtype=torch.float64)
    dt_bias = torch.randn(h, dtype=torch.float64)
    return x, dt, A, B, C, D, dt_bias


@pytest.mark.parametrize("length,chunk", [(1, 8), (37, 8), (37, 16), (64, 16), (100, 32), (5, 64)])
def test_chunked_ssd_equals_recurrence(length, chunk):
    x, dt, A, B, C, D, dt_bias = _ssd_inputs(l=length)
    y = ssd.ssd_chunked(x, dt, A, B, C, chunk_size=chunk, D=D, dt_bias=dt_bias, dt_softplus=True)
    ref = ssd.ssd_sequential(x, dt, A, B, C, D=D, dt_bias=dt_bias, dt_softplus=True)
    assert y.shape == ref.shape == x.shape
    assert (y - ref).abs().max().item() < 1e-6


def test_chunked_ssd_gradients_match_recurrence():
    args = [t.requires_grad_() for t in _ssd_inputs(l=21)]
    x, dt, A, B, C, D, dt_bias = args
    y = ssd.ssd_chunked(x, dt, A, B, C, chunk_size=8, D=D, dt_bias=dt_bias, dt_softplus=True)
    g1 = torch.autograd.grad(y.square().sum(), args)
    y = ssd.ssd_sequential(x, dt, A, B, C, D=D, dt_bias=dt_bias, dt_softplus=True)
    g2 = torch.autograd.grad(y.square().sum(), args)
    for a, b in zip(g1, g2):
        assert (a - b).abs().max().item() < 1e-6


def test_selective_scan_ref_equals_closed_form():
    """y_t = sum_{s<=t} exp(A * sum_{k=s+1..t} delta_k) delta_s B_s u_s . C_t + D u_t, gated by silu(z)."""
    b, d, n, l = 2, 3, 4, 9
    u, delta, z = (torch.randn(b, d, l, dtype=torch.float64) for _ in range(3))
    A = -torch.rand(d, n, dtype=torch.float64) - 0.1
    B, C = torch.randn(b, n, l, dtype=torch.float64), torch.randn(b, n, l, dtype=torch.float64)
    D, bias = torch.randn(d, dtype=torch.float64), torch.randn(d, dtype=torch.float64)
    y = ssd.selective_scan_ref(u, delta, A, B, C, D, z=z, delta_bias=bias, delta_softplus=True)
    dl = F.softplus(delta + bias[:, None])
    ref = torch.zeros(b, d, l, dtype=torch.float64)
    for t in range(l):
        for s in range(t + 1):
            decay = torch.exp(A[None] * dl[:, :, s + 1:t + 1].sum(-1)[..., None])       # (b, d, n)
            ref[:, :, t] += (decay * (dl[:, :, s, None] * B[:, None, :, s] * u[:, :, s, None])
                             * C[:, None, :, t]).sum(-1)
        ref[:, :, t] += D * u[:, :, t]
    ref = ref * F.silu(z)
    assert (y - ref).abs().max().item() < 1e-9


@pytest.mark.parametrize("length", [7, 45])
def test_mamba2_mixer_chunking_does_not_change_output(length, monkeypatch):
    m = Mamba2Mixer(8, d_state=6, headdim=4, chunk_size=16, impl="torch").double()
    u = torch.randn(2, length, 8, dtype=torch.float64)
    y = m(u)
    monkeypatch.setattr(ssd, "ssd_chunked", lambda x, dt, A, B, C, chunk_size, **kw: ssd.ssd_sequential(x, dt, A, B, C, **kw))
    assert (y - m(u)).abs().max().item() < 1e-9


def test_mixer_parameter_names_match_mamba_ssm():
    m2 = Mamba2Mixer(32, d_state=16, headdim=16)
    assert sorted(k for k, _ in m2.named_parameters()) == sorted(
        ["in_proj.weight", "conv1d.weight", "conv1d.bias", "dt_bias", "A_log", "D", "norm.weight", "out_proj.weight"])
    assert m2.in_proj.weight.shape == (2 * 64 + 2 * 16 + 4, 32)
    m1 = Mamba1Mixer(32)
    assert sorted(k for k, _ in m1.named_parameters()) == sorted(
        ["in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight", "dt_proj.bias",
         "A_log", "D", "out_proj.weight"])


def test_official_impl_on_cpu_is_a_clear_error():
    m = Mamba2Mixer(8, d_state=4, headdim=4, impl="official")
    with pytest.raises(RuntimeError, match="CUDA"):
        m(torch.randn(1, 5, 8))


def test_mixer_under_autocast_keeps_ssm_in_float32(monkeypatch):
    """Under bf16 autocast every input of the SSD core is float32 (only the projections run in bf16),
    and the output differs from the fp32 one by bf16 rounding of those projections."""
    m = Mamba2Mixer(16, d_state=8, headdim=8, chunk_size=8, impl="torch")
    seen = []
    real = ssd.ssd_chunked
    monkeypatch.setattr(ssd, "ssd_chunked", lambda *a, **k: seen.append({t.dtype for t in a} | {
        v.dtype for v in k.values() if torch.is_tensor(v)}) or real(*a, **k))
    u = torch.randn(2, 19, 16)
    ref = m(u)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = m(u)
    assert seen == [{torch.float32}, {torch.float32}]
    assert y.dtype == torch.bfloat16 and (y.float() - ref).abs().max() < 2e-2 * ref.abs().max()


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("mode", ["interleaved", "sequential", "per_frame"])
def test_forward_scanned_equals_scan_mixer_merge(version, mode):
    """The fused multi-direction path computes exactly merge(mixer(scan(x)))."""
    from vfilib.models.vfi import scan as S
    mixer = (Mamba2Mixer(8, d_state=6, headdim=4, chunk_size=8, impl="torch") if version == 2
             else Mamba1Mixer(8, d_state=4, impl="torch")).double()
    h, w = 3, 5
    x = torch.randn(4, h, w, 8, dtype=torch.float64)
    ref = S.merge(mixer(S.scan(x, mode)), h, w, mode)
    pool = mixer.forward_scanned(S.to_pool(x, mode), S.scan_index(mode, h, w), S.merge_index(mode, h, w))
    assert (S.from_pool(pool, h, w, mode) - ref).abs().max() < 1e-12
