"""Fused Triton kernels (vfilib.models.runtime.kernels) against their PyTorch references.

On a CUDA machine the tests run compiled kernels. On CPU they run through Triton's interpreter,
which has to be switched on before Triton is imported: ``test_under_interpreter`` re-runs this file
in a subprocess with ``TRITON_INTERPRET=1``.
"""
import os
import re
import subprocess
import sys

import pytest
import torch

from conftest import live_heads
from vfilib.config import RuntimeConfig, preset
from vfilib.models import build_model
from vfilib.models.runtime import kernels as K
from vfilib.models.vfi.mamba import Mamba2Mixer
from vfilib.models.vfi.scan import indices_on, merge_index, scan_index

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"
DEVICE = "cuda" if torch.cuda.is_available() else ("cpu" if INTERPRET else None)
needs_kernels = pytest.mark.skipif(DEVICE is None or K.triton is None,
                                   reason="needs CUDA, or Triton's interpreter (see test_under_interpreter)")
CASES = [("interleaved", 5, 7, 1), ("sequential", 4, 6, 2), ("per_frame", 6, 5, 2), ("interleaved", 9, 16, 1)]


@pytest.mark.skipif(DEVICE is not None or K.triton is None, reason="runs the file itself only on CPU with Triton")
def test_under_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    summary = r.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 20 and "failed" not in summary and "error" not in summary, summary


@needs_kernels
@pytest.mark.parametrize("mode,h,w,n", CASES)
@pytest.mark.parametrize("channels", [40, 100])
def test_scan_conv_silu_matches_reference(mode, h, w, n, channels):
    idx = scan_index(mode, h, w).to(DEVICE)
    wide = torch.randn(n, idx.shape[1], channels + 30, device=DEVICE)
    src = wide[:, :, 7:7 + channels]                      # a strided column slice, as in the mixer
    weight, bias = torch.randn(channels, 1, 4, device=DEVICE), torch.randn(channels, device=DEVICE)
    out = K.scan_conv_silu(src, idx, weight, bias)
    ref = K.scan_conv_silu_ref(src, idx, weight, bias)
    assert out.shape == ref.shape == (4 * n, idx.shape[1], channels) and out.dtype == torch.float32
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


@needs_kernels
def test_scan_conv_silu_writes_bf16():
    """out_dtype=bf16: the float32 result rounded once to bf16 (the SSD input of ssm_dtype='autocast'),
    within one bf16 step of it (Triton's interpreter truncates where the GPU rounds to nearest)."""
    idx = scan_index("interleaved", 5, 7).to(DEVICE)
    src = torch.randn(1, idx.shape[1], 24, device=DEVICE, dtype=torch.bfloat16)
    weight, bias = torch.randn(24, 1, 4, device=DEVICE), torch.randn(24, device=DEVICE)
    out = K.scan_conv_silu(src, idx, weight, bias, torch.bfloat16)
    ref = K.scan_conv_silu_ref(src, idx, weight, bias)
    assert out.dtype == torch.bfloat16
    assert not torch.equal(out.float(), ref)                # really rounded
    torch.testing.assert_close(out.float(), ref, atol=1e-6, rtol=2 ** -7)


@needs_kernels
def test_scan_conv_silu_first_taps_are_causal():
    """Output position l only sees scan positions <= l: changing the last token in scan order
    changes only the last output row of that direction."""
    mode, h, w = "interleaved", 3, 4
    idx = scan_index(mode, h, w).to(DEVICE)
    src = torch.randn(1, 2 * h * w, 8, device=DEVICE)
    weight, bias = torch.randn(8, 1, 4, device=DEVICE), torch.randn(8, device=DEVICE)
    a = K.scan_conv_silu(src, idx, weight, bias)
    src2 = src.clone()
    src2[0, idx[0, -1]] += 1.0                             # last token of direction 0
    b = K.scan_conv_silu(src2, idx, weight, bias)
    assert torch.equal(a[0, :-1], b[0, :-1]) and not torch.equal(a[0, -1], b[0, -1])


@needs_kernels
@pytest.mark.parametrize("mode,h,w,n", CASES)
@pytest.mark.parametrize("groups", [1, 2])
def test_merge_gated_rmsnorm_matches_reference(mode, h, w, n, groups):
    inv = merge_index(mode, h, w).to(DEVICE)
    e = 48
    t = inv.shape[1]
    y = torch.randn(4 * n, t, e, device=DEVICE)
    z = torch.randn(n, t, e + 20, device=DEVICE)[:, :, 10:10 + e]
    weight = torch.randn(e, device=DEVICE)
    out = K.merge_gated_rmsnorm(y, inv, z, weight, 1e-5, e // groups)
    ref = K.merge_gated_rmsnorm_ref(y, inv, z, weight, 1e-5, e // groups)
    torch.testing.assert_close(out, ref, atol=2e-5, rtol=1e-5)


@needs_kernels
def test_kernels_reject_bad_shapes():
    idx = scan_index("interleaved", 2, 2).to(DEVICE)
    with pytest.raises(ValueError, match="do not fit"):
        K.scan_conv_silu(torch.randn(1, 8, 6, device=DEVICE), idx, torch.randn(5, 1, 4, device=DEVICE),
                         torch.randn(5, device=DEVICE))
    with pytest.raises(ValueError, match="do not fit"):
        K.merge_gated_rmsnorm(torch.randn(3, 8, 6, device=DEVICE), idx, torch.randn(1, 8, 6, device=DEVICE),
                              torch.randn(6, device=DEVICE), 1e-5, 6)


@needs_kernels
@pytest.mark.parametrize("mode", ["interleaved", "per_frame"])
def test_mixer_fused_path_equals_plain_path(mode):
    h, w = 6, 8
    mixer = Mamba2Mixer(32, d_state=16, headdim=16, chunk_size=16).to(DEVICE).eval()
    pool = torch.randn(1 if mode != "per_frame" else 2, (2 if mode != "per_frame" else 1) * h * w, 32, device=DEVICE)
    idx, inv = indices_on(mode, h, w, torch.device(DEVICE))
    with torch.no_grad():
        assert K.use_fused(pool, mixer.fused)
        fused = mixer.forward_scanned(pool, idx, inv)
        mixer.apply_runtime(RuntimeConfig(fused="off"))
        assert not K.use_fused(pool, mixer.fused)
        plain = mixer.forward_scanned(pool, idx, inv)
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=1e-4)


@needs_kernels
def test_fused_path_only_without_autograd():
    x = torch.randn(2, 3, device=DEVICE, requires_grad=True)
    assert not K.use_fused(x)                              # training: the differentiable plain path
    with torch.no_grad():
        assert K.use_fused(x)
    assert not K.use_fused(torch.randn(2, 3, device=DEVICE, dtype=torch.float64))
    with pytest.raises(ValueError, match="choose from"):
        K.use_fused(x, "fast")
    with pytest.raises(ValueError, match="fused 'fast' not in"):
        RuntimeConfig(fused="fast")


@needs_kernels
def test_whole_model_fused_equals_plain():
    cfg = preset("tiny")
    model = live_heads(build_model(cfg)).to(DEVICE).eval()
    i0, i1 = torch.rand(2, 1, 3, 32, 48, device=DEVICE)
    with torch.no_grad():
        fused = model(i0, i1, 0.3)
        plain = model.set_runtime(RuntimeConfig(fused="off"))(i0, i1, 0.3)
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device)")
def test_bf16_autocast_fused_close_to_plain():
    """Under bf16 autocast the fused kernels compute the conv in float32 from bf16 tokens, the plain
    path in bf16: measured against the fp32 output, the fused path is no less accurate than the plain one."""
    model = live_heads(build_model(preset("small"))).cuda().eval()
    i0, i1 = torch.rand(2, 1, 3, 64, 96, device="cuda")
    with torch.no_grad():
        ref = model.set_runtime(RuntimeConfig(fused="off"))(i0, i1, 0.5).float()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            plain = model(i0, i1, 0.5).float()
            fused = model.set_runtime(RuntimeConfig())(i0, i1, 0.5).float()
    e_fused, e_plain = (fused - ref).abs().max().item(), (plain - ref).abs().max().item()
    print(f"\nbf16 error vs fp32: fused {e_fused:.2e}, plain {e_plain:.2e}")
    assert e_fused <= 2 * e_plain + 1e-4


def test_core_dtype_follows_ssm_dtype():
    """The SSD input dtype: float32 by default; the activations' half dtype only with
    ssm_dtype='autocast' on the official kernels; the pure-PyTorch path always float32."""
    t16 = torch.zeros(2, 3, dtype=torch.bfloat16)
    assert Mamba2Mixer(32, headdim=16).core_dtype(t16) == torch.float32
    assert Mamba2Mixer(32, headdim=16, ssm_dtype="autocast", impl="torch").core_dtype(t16) == torch.float32
    assert Mamba2Mixer(32, headdim=16, ssm_dtype="autocast").core_dtype(t16.double()) == torch.float64
    with pytest.raises(ValueError, match="ssm_dtype"):
        Mamba2Mixer(32, headdim=16, ssm_dtype="bf16")
    with pytest.raises(ValueError, match="ssm_dtype"):
        RuntimeConfig(ssm_dtype="half")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device)")
@pytest.mark.parametrize("fused", ["auto", "off"])
def test_ssm_dtype_autocast_close_to_fp32_core(fused):
    """ssm_dtype='autocast' (bf16 x, B, C into the official SSD): measured against the fp32 model, a bf16
    run with bf16 SSD inputs is at most about as far off as a bf16 run with an fp32 SSD core."""
    torch.manual_seed(0)
    model = live_heads(build_model(preset("small"))).cuda().eval()
    i0, i1 = torch.rand(2, 1, 3, 64, 96, device="cuda")
    with torch.no_grad():
        ref = model.set_runtime(RuntimeConfig(fused=fused))(i0, i1, 0.5).float()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            core32 = model(i0, i1, 0.5).float()
            mixer = next(m for m in model.set_runtime(RuntimeConfig(ssm_dtype="autocast", fused=fused)).modules()
                         if isinstance(m, Mamba2Mixer))
            assert mixer.core_dtype(torch.zeros(1, device="cuda", dtype=torch.bfloat16)) == torch.bfloat16
            core16 = model(i0, i1, 0.5).float()
    e16, e32 = (core16 - ref).abs().max().item(), (core32 - ref).abs().max().item()
    print(f"\nbf16 model, fused={fused}: error vs fp32 with bf16 SSD inputs {e16:.2e}, with an fp32 core {e32:.2e}")
    assert e16 <= 2 * e32 + 1e-4
