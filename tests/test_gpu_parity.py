"""Parity of vfilib's pure-PyTorch scans with the official mamba_ssm kernels (GPU only).

Run on the device: ``python -m pytest tests/test_gpu_parity.py -s`` prints the measured errors.
"""
import os

# True fp32 inside the official Triton kernels (their tl.dot defaults to TF32 on Hopper); must be set
# before the first kernel compiles. Run with TRITON_F32_DEFAULT=tf32 to see the TF32 deviations.
os.environ.setdefault("TRITON_F32_DEFAULT", "ieee")

import pytest  # noqa: E402
import torch  # noqa: E402

from conftest import cuda_only, live_heads, official_only  # noqa: E402
from vfilib.config import RuntimeConfig, preset  # noqa: E402
from vfilib.models import build_model
from vfilib.models.vfi import mamba as M  # noqa: E402

# sequences of the real model: 4 scan directions x B=1 pair, tokens of two 64x64 maps
LENGTH = 2 * 64 * 64


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.fixture
def exact_fp32():
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _compare(ours, theirs, u):
    u1 = u.clone().requires_grad_()
    u2 = u.clone().requires_grad_()
    y1, y2 = ours(u1), theirs(u2)
    g = torch.randn_like(y1)
    y1.backward(g)
    y2.backward(g)
    errs = {"out": rel_err(y1, y2), "d_input": rel_err(u1.grad, u2.grad)}
    p2 = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        errs[f"d_{name}"] = rel_err(p.grad, p2[name].grad)
    return errs


@official_only
# (64, 128, 64) is the base preset's d_state: on a cold H200 Triton needs about 13 minutes to compile its
# IEEE-fp32 autotune variants (scripts/device_parity_d128.sh); seconds once cached in $TRITON_CACHE_DIR.
@pytest.mark.parametrize("d_model,d_state,headdim", [(128, 64, 32), (256, 64, 32), (64, 128, 64)])
def test_mamba2_torch_path_matches_official_module(exact_fp32, d_model, d_state, headdim):
    from mamba_ssm import Mamba2
    ours = M.Mamba2Mixer(d_model, d_state=d_state, headdim=headdim, chunk_size=256, impl="torch").cuda()
    theirs = Mamba2(d_model, d_state=d_state, headdim=headdim, chunk_size=256, use_mem_eff_path=False).cuda()
    missing = theirs.load_state_dict(ours.state_dict(), strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys
    errs = _compare(ours, theirs, torch.randn(4, LENGTH, d_model, device="cuda"))
    print(f"\nMamba2 d_model={d_model} d_state={d_state} headdim={headdim} L={LENGTH}: "
          + " ".join(f"{k}={v:.2e}" for k, v in errs.items()))
    assert max(errs.values()) < 2e-3, errs


@official_only
def test_mamba2_official_impl_matches_torch_impl(exact_fp32):
    a = M.Mamba2Mixer(128, d_state=64, headdim=32, impl="torch").cuda()
    b = M.Mamba2Mixer(128, d_state=64, headdim=32, impl="official").cuda()
    b.load_state_dict(a.state_dict())
    errs = _compare(a, b, torch.randn(4, LENGTH + 37, 128, device="cuda"))   # not a multiple of the chunk
    print("\nMamba2Mixer torch vs official, L=%d: " % (LENGTH + 37) + " ".join(f"{k}={v:.2e}" for k, v in errs.items()))
    assert max(errs.values()) < 2e-3, errs


@official_only
@pytest.mark.skipif(not (torch.cuda.is_available() and (M.official_kernels() or {}).get("selective_scan")),
                    reason="mamba_ssm's CUDA extension (Mamba1) not built here")
def test_mamba1_reference_matches_official_module(exact_fp32):
    from mamba_ssm import Mamba
    ours = M.Mamba1Mixer(64, d_state=16, impl="torch").cuda()
    theirs = Mamba(64, d_state=16, use_fast_path=False).cuda()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    errs = _compare(ours, theirs, torch.randn(2, 2 * 16 * 16, 64, device="cuda"))
    print("\nMamba1 L=512: " + " ".join(f"{k}={v:.2e}" for k, v in errs.items()))
    assert max(errs.values()) < 2e-3, errs


@official_only
def test_model_picks_official_kernels_on_cuda(monkeypatch):
    calls = {"ssd": 0}
    real = M.official_kernels()

    def counting(*a, **k):
        calls["ssd"] += 1
        return real["ssd"](*a, **k)

    monkeypatch.setattr(M, "official_kernels", lambda: {**real, "ssd": counting})
    model = build_model(preset("small")).cuda()
    i0 = torch.rand(1, 3, 256, 256, device="cuda")
    out = model(i0, i0.flip(-1))
    assert out.shape == i0.shape
    assert calls["ssd"] == sum(preset("small").depths)


@official_only
def test_whole_model_same_output_on_both_paths(exact_fp32):
    torch.manual_seed(0)
    model = live_heads(build_model(preset("small"))).cuda().eval()
    with torch.no_grad():
        i0, i1 = torch.rand(2, 1, 3, 128, 192, device="cuda")
        y_off = model(i0, i1)
        y_torch = model.set_runtime(RuntimeConfig(ssm_impl="torch"))(i0, i1)   # fused merge after the torch SSD
    err = rel_err(y_torch, y_off)
    print(f"\nsmall model official vs torch SSD: rel err {err:.2e}")
    assert err < 2e-3


@cuda_only
def test_torch_path_runs_on_cuda_without_mamba_ssm():
    model = build_model(preset("tiny"), RuntimeConfig(ssm_impl="torch")).cuda()
    i0 = torch.rand(1, 3, 61, 97, device="cuda")
    assert model(i0, i0).shape == i0.shape


@cuda_only
@pytest.mark.parametrize("flow", ["off", "feature"])
def test_cuda_graph_replay_matches_eager(flow):
    from vfilib.config import preset
    from vfilib.models import build_model
    from vfilib.models.runtime.graph import GraphedForward

    model = live_heads(build_model(preset("tiny", flow=flow))).cuda().eval()
    i0, i1 = torch.rand(1, 3, 72, 120, device="cuda"), torch.rand(1, 3, 72, 120, device="cuda")
    runner = GraphedForward(model, i0, i1, 0.5)
    a, b = torch.rand_like(i0), torch.rand_like(i1)
    with torch.no_grad():
        want = model(a, b, 0.5)
    got = runner(a, b).clone()
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()
    with torch.no_grad():
        want = model(a, b, 0.25)
    assert torch.allclose(runner(a, b, t=0.25), want, atol=1e-5)                 # t is an input too


@official_only
def test_four_frame_model_same_output_on_both_paths_and_gradients_flow(exact_fp32):
    """The N-frame context mixer (4 frames' tokens interleaved) on the official SSD and fused kernels
    (inference) against the pure-PyTorch path; a training step's gradient reaches the gate on CUDA."""
    torch.manual_seed(0)
    model = live_heads(build_model(preset("small", flow="feature", context_frames=4))).cuda()
    with torch.no_grad():
        model.temporal.gate.fill_(0.5)
    x = torch.rand(1, 4, 3, 128, 192, device="cuda")
    args = (x[:, 1], x[:, 2], 0.5)
    with torch.no_grad():
        y_off = model.eval()(*args, context=x[:, [0, 3]])
        y_torch = model.set_runtime(RuntimeConfig(ssm_impl="torch"))(*args, context=x[:, [0, 3]])
    err = rel_err(y_torch, y_off)
    print(f"\n4-frame small model official vs torch SSD: rel err {err:.2e}")
    assert err < 2e-3
    model.set_runtime(RuntimeConfig()).train()
    model(*args, context=x[:, [0, 3]]).mean().backward()
    assert torch.isfinite(model.temporal.gate.grad).all() and model.temporal.gate.grad.abs().sum() > 0
