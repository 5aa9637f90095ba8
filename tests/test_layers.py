import math

import pytest
import torch
import torch.nn.functional as F

from vfilib.models.vfi.attention import GatedWindowAttention, window_partition, window_reverse
from vfilib.models.vfi.channel_attention import ECA, ChannelAttentionBlock, SqueezeExcite, eca_kernel_size
from vfilib.models.vfi.mhc import HyperConnection, birkhoff_convex, permutation_matrices, sinkhorn


def _pair(dim=8, heads=2, ws=4):
    gated = GatedWindowAttention(dim, heads, ws, gate=True)
    plain = GatedWindowAttention(dim, heads, ws, gate=False)
    plain.load_state_dict({k: v for k, v in gated.state_dict().items() if not k.startswith("gate.")})
    return gated, plain


def test_gate_fully_open_equals_plain_attention():
    gated, plain = _pair()
    with torch.no_grad():
        gated.gate.weight.zero_()
        gated.gate.bias.fill_(40.0)                     # sigmoid(40) == 1 in float32
    x = torch.randn(2, 8, 12, 8)
    assert torch.allclose(gated(x), plain(x), atol=1e-6)


def test_gate_scales_sdpa_output_before_projection():
    gated, plain = _pair()
    with torch.no_grad():
        gated.gate.weight.zero_()
        gated.gate.bias.zero_()                         # gate = 0.5 everywhere
    x = torch.randn(2, 8, 8, 8)
    b = plain.proj.bias
    expected = 0.5 * (plain(x) - b) + b                 # proj(0.5 y) = 0.5 W y + b
    assert torch.allclose(gated(x), expected, atol=1e-6)


def test_gate_is_head_and_channel_specific():
    gated, _ = _pair()
    assert gated.gate.out_features == gated.dim         # one gate value per head x head-channel


def test_padding_is_masked_and_cropped():
    """A 6x6 map with 4x4 windows: the bottom-right window has 2x2 real tokens; its output must be
    attention over those 4 tokens only."""
    attn = GatedWindowAttention(8, 2, 4, gate=True)
    x = torch.randn(1, 6, 6, 8)
    y = attn(x)
    assert y.shape == x.shape
    xc = x + attn.cpe(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    tok = xc[:, 4:6, 4:6].reshape(1, 4, 8)
    q, k, v = attn.qkv(tok).reshape(1, 4, 3, 2, 4).permute(2, 0, 3, 1, 4)
    o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(1, 4, 8)
    o = attn.proj(torch.sigmoid(attn.gate(tok)) * o)
    assert torch.allclose(y[:, 4:6, 4:6].reshape(1, 4, 8), o, atol=1e-5)


def test_window_partition_round_trip():
    x = torch.randn(2, 14, 21, 3)
    assert torch.equal(window_reverse(window_partition(x, 7), 7, 14, 21), x)


@pytest.mark.parametrize("c,k", [(16, 3), (32, 3), (64, 3), (128, 5), (256, 5)])
def test_eca_kernel_size(c, k):
    assert eca_kernel_size(c) == k


@pytest.mark.parametrize("kind,cls", [("ecab", ECA), ("cab", SqueezeExcite)])
def test_channel_attention_shapes(kind, cls):
    blk = ChannelAttentionBlock(16, kind)
    assert isinstance(blk.attn, cls)
    assert blk(torch.randn(2, 16, 5, 7)).shape == (2, 16, 5, 7)


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("scale,iters", [(1.0, 20), (3.0, 200)])   # peaked logits converge slower
def test_sinkhorn_is_doubly_stochastic(n, scale, iters):
    m = sinkhorn(torch.randn(5, n, n) * scale, iters=iters)
    assert (m >= 0).all()
    assert torch.allclose(m.sum(-1), torch.ones(5, n), atol=1e-3)
    assert torch.allclose(m.sum(-2), torch.ones(5, n), atol=1e-3)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_mhc_lite_is_exactly_doubly_stochastic(n):
    perms = permutation_matrices(n).double()
    assert perms.shape == (math.factorial(n), n, n)
    m = birkhoff_convex(torch.randn(3, perms.shape[0], dtype=torch.float64) * 4, perms)
    assert (m >= 0).all()
    assert (m.sum(-1) - 1).abs().max() < 1e-12
    assert (m.sum(-2) - 1).abs().max() < 1e-12


@pytest.mark.parametrize("mode", ["mhc", "mhc_lite"])
def test_hyper_connection_keeps_equal_streams_equal(mode):
    """Doubly stochastic mixing of identical streams returns them unchanged (zero layer)."""
    hc = HyperConnection(6, n=3, mode=mode)
    x = torch.randn(2, 4, 5, 6)
    streams = x.expand(3, *x.shape).contiguous()
    out = hc(streams, lambda h: torch.zeros_like(h))
    assert torch.allclose(out, streams, atol=1e-3 if mode == "mhc" else 1e-5)


def test_hyper_connection_adds_layer_output_to_every_stream():
    hc = HyperConnection(6, n=2, mode="mhc_lite")
    x = torch.randn(2, 3, 3, 6)
    streams = torch.stack([x, x])
    out = hc(streams, lambda h: torch.ones_like(h))      # post = 2*sigmoid(0) = 1 at init
    assert torch.allclose(out, streams + 1, atol=1e-5)
