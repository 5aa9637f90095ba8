import pytest
import torch

from vfilib.config import PHASE1_EXPERIMENTS, ModelConfig, preset
from vfilib.models import build_model
from vfilib.models.vfi.init import matvlm_init_mamba2
from vfilib.models.vfi.mamba import Mamba2Mixer


def _frames(h=61, w=97, b=1):
    return torch.rand(b, 3, h, w), torch.rand(b, 3, h, w)


@pytest.mark.parametrize("mode", ["hybrid", "mamba2_only", "gated_attn_only"])
def test_forward_backward_odd_size(mode):
    model = build_model(preset("tiny", backbone_mode=mode))
    i0, i1 = _frames()
    out = model(i0, i1, t=0.5)
    assert out.shape == i0.shape
    assert out.min() >= 0 and out.max() <= 1
    out.square().mean().backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # the zero-initialised head passes no gradient to the backbone at step 0; after one nudge it must
    with torch.no_grad():
        model.refine.head.weight.normal_(0, 1e-2)
    model.zero_grad()
    model(i0, i1, 0.5).square().mean().backward()
    assert sum(p.grad.abs().sum() for p in model.backbone.parameters()) > 0


@pytest.mark.parametrize("exp", PHASE1_EXPERIMENTS, ids=lambda e: e.id)
def test_every_ablation_variant_runs(exp):
    model = build_model(preset("tiny", **exp.overrides))
    with torch.no_grad():
        model.refine.head.weight.normal_(0, 1e-2)
    i0, i1 = _frames(21, 27, b=2)
    out = model(i0, i1, torch.tensor([0.25, 0.75]))
    assert out.shape == i0.shape and torch.isfinite(out).all()


def test_initial_output_is_time_weighted_blend():
    model = build_model(preset("tiny"))
    i0, i1 = _frames(16, 24)
    for t in (0.0, 0.3, 1.0):
        assert torch.allclose(model(i0, i1, t), (1 - t) * i0 + t * i1, atol=1e-3)


def test_timestep_changes_output_continuously():
    model = build_model(preset("tiny"))
    with torch.no_grad():
        model.refine.head.weight.normal_(0, 1e-2)
    i0, i1 = _frames(16, 16)
    outs = [model(i0, i1, t) for t in (0.5, 0.5 + 1e-4, 0.9)]
    assert (outs[0] - outs[1]).abs().max() < 1e-2
    assert (outs[0] - outs[2]).abs().max() > 1e-2


@pytest.mark.parametrize("bad,msg", [
    (lambda: (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 17), 0.5), "differ in shape"),
    (lambda: (torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16), 0.5), "3 \\(RGB\\) channels"),
    (lambda: (torch.rand(1, 4, 16, 16), torch.rand(1, 4, 16, 16), 0.5), "3 \\(RGB\\) channels"),
    (lambda: (torch.rand(3, 16, 16), torch.rand(3, 16, 16), 0.5), "\\(B, 3, H, W\\)"),
    (lambda: (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), 1.5), "t must lie in \\[0, 1\\]"),
    (lambda: (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), -0.1), "t must lie in \\[0, 1\\]"),
    (lambda: (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), float("nan")), "t must lie"),
    (lambda: (torch.randint(0, 255, (1, 3, 8, 8)), torch.randint(0, 255, (1, 3, 8, 8)), 0.5), "float tensor"),
])
def test_bad_input_is_a_clear_error(bad, msg):
    model = build_model(preset("tiny"))
    with pytest.raises(ValueError, match=msg):
        model(*bad())


def test_config_round_trip_and_validation():
    cfg = preset("small", residual="mhc_lite", window_size=7)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="backbone_mode"):
        preset("tiny", backbone_mode="nope")
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_small_preset_is_vfimamba_s_sized():
    n = sum(p.numel() for p in build_model(preset("small")).parameters())
    assert 15e6 <= n <= 17e6


def test_matvlm_copies_v_k_q_into_x_b_c():
    """Every hybrid block of the tiny model: attention V/K/Q rows land in the mixer's x/B/C rows, the
    rest of ``in_proj`` (z, dt, surplus rows) keeps its initialisation."""
    model = build_model(preset("tiny"))
    blocks = {n: m for n, m in model.named_modules() if getattr(m, "ssm", None) is not None and m.attn is not None}
    assert blocks
    for name, m in blocks.items():
        mixer, attn = m.ssm.mixer, m.attn
        assert isinstance(mixer, Mamba2Mixer)
        before = mixer.in_proj.weight.clone()
        report = matvlm_init_mamba2(mixer, attn)
        dim = attn.dim
        wq, wk, wv = attn.qkv.weight.split(dim)
        rows = mixer.split_in_proj()
        w = mixer.in_proj.weight
        for tgt, src in (("x", wv), ("B", wk), ("C", wq)):
            n = report[tgt][0]
            assert n == min(rows[tgt].stop - rows[tgt].start, dim)
            assert torch.equal(w[rows[tgt].start: rows[tgt].start + n], src[:n])
            assert torch.equal(w[rows[tgt].start + n: rows[tgt].stop], before[rows[tgt].start + n: rows[tgt].stop])
        for untouched in ("z", "dt"):
            assert torch.equal(w[rows[untouched]], before[rows[untouched]])


@pytest.mark.parametrize("overrides,call", [({}, {}), ({"flow": "feature"}, {"scale": 0.5, "tile": 32})])
def test_inference_traces_to_one_graph(overrides, call):
    """torch.compile sees the whole forward as one graph: no data-dependent checks while compiling,
    scan indices as constants, the fused kernels and the official SSD as custom ops."""
    model = build_model(preset("tiny", **overrides)).eval()
    i0, i1 = torch.rand(2, 1, 3, 64, 96)
    with torch.no_grad():
        ex = torch._dynamo.explain(model)(i0, i1, 0.5, **call)
    assert ex.graph_count == 1 and ex.graph_break_count == 0, [str(b.reason)[:120] for b in ex.break_reasons]
