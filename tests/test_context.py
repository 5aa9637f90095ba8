"""N-frame context (issue 29): a 4-frame model with its gate at zero is the 2-frame model; the context matters
once the gate opens; shapes, errors and checkpoints."""
import numpy as np
import pytest
import torch

from conftest import live_heads
from vfilib.config import ModelConfig, preset
from vfilib.eval.interpolators import Interpolator, ModelInterpolator
from vfilib.models import build_model
from vfilib.models.weights import checkpoint as ckpt
from vfilib.models.vfi.context import as_context, time_order, with_context


def _window(cache, clip="bikes", start=40, n=4, crop=(96, 128)):
    """n consecutive real frames of an embedded clip, centre-cropped: list of (1, 3, h, w)."""
    from vfilib.data.io import load_frames
    from vfilib.data.prepare import frame_name

    frames = load_frames([cache / "frames" / clip / frame_name(start + k, ".png") for k in range(n)])
    h, w = frames[0].shape[-2:]
    y, x = (h - crop[0]) // 2, (w - crop[1]) // 2
    return [f[None, :, y:y + crop[0], x:x + crop[1]] for f in frames]


@torch.no_grad()
def test_shipped_weights_zero_gate_equals_two_frame_model(embedded_cache):
    """The shipped 2-frame weights load into a 4-frame model (only temporal.* fresh); on a real
    window its output equals the 2-frame model's to 1e-6 (the context frames are real, not repeats)."""
    if not ckpt.SHIPPED.is_file():
        pytest.skip("no shipped weights in this checkout")
    cache, _ = embedded_cache
    two = ckpt.load_model(None)
    state = ckpt.read(ckpt.SHIPPED)
    four, fresh = with_context(state["model"], ckpt.model_config_of(state, ckpt.SHIPPED), 4)
    four.eval()
    assert fresh and all(k.startswith("temporal.") for k in fresh)
    assert not four.temporal.gate.any()
    prev, i0, i1, nxt = _window(cache)
    ctx = torch.stack([prev[0], nxt[0]])[None]                    # (1, 2, 3, h, w)
    for t in (0.5, 0.25):
        ref = two(i0, i1, t)
        out = four(i0, i1, t, context=ctx)
        assert (out - ref).abs().max().item() <= 1e-6
    four.temporal.gate.fill_(1.0)                                 # open: now the neighbours change the frame
    assert (four(i0, i1, 0.5, context=ctx) - ref).abs().max().item() > 1e-4


@pytest.mark.parametrize("flow,frames", [("off", 4), ("feature", 4), ("feature", 6)])
@torch.no_grad()
def test_zero_gate_parity_and_open_gate_effect(flow, frames):
    torch.manual_seed(0)
    cfg = preset("tiny", flow=flow)
    two = live_heads(build_model(cfg)).eval()
    many, fresh = with_context(two.state_dict(), cfg, frames)
    many.eval()
    x = torch.rand(2, frames, 3, 24, 40)                           # B = 2, sizes padded inside
    k = frames // 2
    i0, i1, ctx = x[:, k - 1], x[:, k], torch.cat([x[:, :k - 1], x[:, k + 1:]], 1)
    ref = two(i0, i1, 0.3)
    assert (many(i0, i1, 0.3, context=ctx) - ref).abs().max().item() <= 1e-6
    many.temporal.gate.fill_(1.0)
    a = many(i0, i1, 0.3, context=ctx)
    b = many(i0, i1, 0.3, context=(ctx[:, :k - 1], ctx[:, k - 1:]))       # (before, after): the same window
    assert torch.equal(a, b) and not torch.equal(a, ref)
    f_two, f_many = two.features(i0, i1)[3], many.features(i0, i1, context=ctx)[3]      # the pair's 1/8 maps
    assert ((f_many - f_two).norm() / f_two.norm()).item() > 1e-2
    # None means: no neighbours, I0 repeated before and I1 after
    rep = torch.cat([i0[:, None].expand(-1, k - 1, -1, -1, -1), i1[:, None].expand(-1, k - 1, -1, -1, -1)], 1)
    assert torch.equal(many(i0, i1, 0.3), many(i0, i1, 0.3, context=rep))


def test_gate_learns_from_zero():
    """At initialisation the gate gets a gradient (the mixer's output), so training opens it."""
    cfg = preset("tiny", flow="feature", context_frames=4)
    model = live_heads(build_model(cfg))
    x = torch.rand(1, 4, 3, 32, 32)
    out = model(x[:, 1], x[:, 2], 0.5, context=x[:, [0, 3]])
    out.mean().backward()
    assert model.temporal.gate.grad.abs().sum() > 0


@torch.no_grad()
def test_context_at_reduced_scale():
    cfg = preset("tiny", flow="feature", context_frames=4)
    model = live_heads(build_model(cfg)).eval()
    model.temporal.gate.fill_(1.0)
    x = torch.rand(1, 4, 3, 64, 96)
    out = model(x[:, 1], x[:, 2], 0.5, scale=0.5, context=x[:, [0, 3]])
    assert out.shape == (1, 3, 64, 96) and torch.isfinite(out).all()


@pytest.mark.parametrize("bad,msg", [
    (lambda x: x[:, :1], r"\(B, N-2, 3, H, W\)"),
    (lambda x: x[..., :16], r"\(B, N-2, 3, H, W\)"),
    (lambda x: (x[:, :1], x[:, 1:], x[:, 1:]), "before, after"),
    (lambda x: (x[:, :1, 0], x[:, 1:]), "context before"),
])
def test_bad_context_is_a_clear_error(bad, msg):
    x = torch.rand(1, 2, 3, 32, 32)
    with pytest.raises(ValueError, match=msg):
        as_context(bad(x), x[:, 0], x[:, 0], 4)


def test_two_frame_model_refuses_context():
    model = build_model(preset("tiny"))
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match="takes no context"):
        model(x, x, 0.5, context=torch.rand(1, 2, 3, 32, 32))


def test_time_order():
    assert time_order(4) == [2, 0, 1, 3]                 # I-1, I0, I1, I2 from the batch order I0, I1, I-1, I2
    assert time_order(6) == [2, 3, 0, 1, 4, 5]


def test_config_field_checkpoint_and_old_configs(tmp_path):
    cfg = preset("tiny", context_frames=4)
    assert ModelConfig.from_dict(cfg.to_dict()).context_frames == 4
    old = {k: v for k, v in preset("tiny").to_dict().items() if k != "context_frames"}
    assert ModelConfig.from_dict(old).context_frames == 2                  # configs from before the field
    for bad in (3, 0, 10):
        with pytest.raises(ValueError, match="context_frames"):
            preset("tiny", context_frames=bad)
    with pytest.raises(ValueError, match="flow_only"):
        preset("tiny", flow="flow_only", context_frames=4)
    model = build_model(cfg)
    ckpt.save(tmp_path / "m.pt", {"model": model.state_dict(), "model_config": cfg.to_dict()})
    loaded = ckpt.load_model(tmp_path / "m.pt")
    assert loaded.cfg.context_frames == 4 and loaded.temporal is not None


def test_two_frame_hash_leaves_the_context_fields_out():
    """Runs hashed before the context fields existed keep their hash (finished grid rows are not re-run):
    a 2-frame run hashes as its dict without them; a 4-frame run's hash sees them."""
    import hashlib
    import json

    from vfilib.train.config import NOT_HASHED, TrainConfig

    base = TrainConfig(exp_name="x")
    d = {k: v for k, v in base.to_dict().items()
         if k not in NOT_HASHED and k not in ("context_dropout", "x4k_steps", "x4k_n_frames")}
    d["model"].pop("context_frames")
    old = hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]
    assert base.config_hash() == old
    assert base.config_hash() == TrainConfig(exp_name="x", context_dropout=0.9).config_hash()   # inert at N = 2
    four = TrainConfig(exp_name="x", model=preset("tiny", context_frames=4))
    assert four.config_hash() != base.config_hash()
    assert four.config_hash() != TrainConfig(exp_name="x", model=four.model, context_dropout=0.9).config_hash()


# ----------------------------------------------------------------------------- the video tool's windows
def _marked_folder(path, shots=((0, 6), (6, 12))):
    """A frame folder (lossless PNGs) whose frame i carries i in its corner pixel; a texture moving 3 px a
    frame, another one from frame 6 on (a scene cut)."""
    from test_adapt import moving
    from vfilib.data.io import write_pixels

    frames = moving(6, seed=0) + [f // 2 + np.uint8([0, 0, 120]) for f in moving(6, seed=5, origin=120)]
    for i, f in enumerate(frames):
        f = f.copy()
        f[0, 0] = i
        write_pixels(path / f"{i:03d}.png", f)
    return path


class WindowRecorder(Interpolator):
    """A 4-frame method that records the frames of each window it is given (by their corner marks, halves and
    quarters for midpoints it made) and returns the t-blend."""

    name, context_frames = "recorder", 4

    def __init__(self, halving: bool):
        self.prefers_halving, self.windows = halving, []

    def __call__(self, i0, i1, t, scale=1.0, context=None):
        mark = lambda x: round(x[0, 0, 0].item() * 255 * 4) / 4        # noqa: E731
        for b in range(len(i0)):
            self.windows.append([mark(context[b, 0]), mark(i0[b]), mark(i1[b]), mark(context[b, 1])])
        t = t.view(-1, 1, 1, 1)
        return (1 - t) * i0 + t * i1


def _expected_windows(halving: bool, shots=((0, 5), (6, 11))) -> list:
    """Each interval of a shot [s, e]: its neighbours inside the shot, the nearest frame repeated at the ends;
    halving (4x) adds the two half-steps' windows, made of the interval's own frames and its midpoint."""
    out = []
    for s, e in shots:
        for i in range(s, e):
            out += [[max(i - 1, s), i, i + 1, min(i + 2, e)]] * (1 if halving else 3)    # direct: t = 1/4, 1/2, 3/4
            if halving:
                out += [[i, i, i + 0.5, i + 1], [i, i + 0.5, i + 1, i + 1]]
    return sorted(out)


@pytest.mark.parametrize("halving", [False, True])
def test_the_tool_gives_a_context_model_each_intervals_window(tmp_path, halving):
    """Windows of the real frames around each interval, repeats at the clip's ends and at the cut, nothing
    across the cut (the interval over it repeats frames); 4x by halving: each half-step's own window."""
    from vfilib.tool import interpolate_file

    src = _marked_folder(tmp_path / "in")
    rec = WindowRecorder(halving)
    _, stats = interpolate_file(src, f"{tmp_path / 'out'}/", rec, in_fps=10, factor=4, batch=2, quiet=True)
    assert stats.cuts == [0.6] and stats.frames_out == 48
    assert [0, 0, 1, 2] in rec.windows and [3, 4, 5, 5] in rec.windows and [6, 6, 7, 8] in rec.windows
    assert not [w for w in rec.windows if w[1] < 6 <= w[2]]              # the cut's interval: no model call
    assert sorted(rec.windows) == _expected_windows(halving)


@torch.no_grad()
def _tiny_two_and_four(gate: float):
    torch.manual_seed(0)
    cfg = preset("tiny", flow="feature")
    two = live_heads(build_model(cfg)).eval()
    four, _ = with_context(two.state_dict(), cfg, 4)
    four.eval().temporal.gate.fill_(gate)
    return ModelInterpolator(two, name="two"), ModelInterpolator(four, name="four")


@pytest.mark.parametrize("factor", [2, 4])
def test_through_the_tool_a_zero_gate_4_frame_model_is_the_2_frame_model(tmp_path, factor):
    """The same frames out, byte for byte (4x: by halving, each half-step with its window); with the gate
    open the context changes them."""
    from test_interpolate import make_clip
    from vfilib.data.io import read_pixels
    from vfilib.tool import interpolate_file

    src = make_clip(tmp_path / "c.mp4", n=5)
    outs = {}
    for gate in (0.0, 1.0):
        two, four = _tiny_two_and_four(gate)
        for name, it in (("two", two), ("four", four)):
            path, _ = interpolate_file(src, f"{tmp_path / name}{gate}/", it, factor=factor, quiet=True)
            outs[name, gate] = [read_pixels(p) for p in sorted(path.glob("*.png"))]
    assert len(outs["two", 0.0]) == 5 * factor
    assert all(np.array_equal(a, b) for a, b in zip(outs["two", 0.0], outs["four", 0.0]))
    assert any(not np.array_equal(a, b) for a, b in zip(outs["two", 1.0], outs["four", 1.0]))
