"""Test-time adaptation (vfilib.train.adapt) and its evaluation protocol (vfilib.train.adapt_eval)."""
import dataclasses

import cv2
import numpy as np
import pytest
import torch

from vfilib.config import preset
from vfilib.core.tables import read_table
from vfilib.eval.interpolators import Blend, ModelInterpolator, RecursiveT
from vfilib.eval.metrics import psnr
from vfilib.models import build_model
from vfilib.train import adapt as A
from vfilib.train import adapt_eval as E

from test_sources_bank import write_clip


def texture(size=200, seed=0):
    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(rng.uniform(0, 255, (size, size, 3)).astype(np.float32), (0, 0), 1.5)
    return cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX)


def moving(n, shift=(3, 1), s=32, seed=0, origin=50):
    """``n`` frames of a texture translating by ``shift`` (x, y) pixels a frame."""
    big = texture(size=max(200, origin + s + n * max(shift) + 1), seed=seed)
    return [big[origin + shift[1] * k:origin + shift[1] * k + s, origin + shift[0] * k:origin + shift[0] * k + s]
            .round().astype(np.uint8) for k in range(n)]


def as_t(f):
    return torch.from_numpy(f).permute(2, 0, 1).float()[None] / 255


def tiny_flow_model():
    """The tiny preset built as the shipped model is (feature warping, flow initialised from RIFE HDv3)."""
    from vfilib.train.phases import init_flow

    m = build_model(preset("tiny", flow="feature"))
    init_flow(m, "rife_hdv3")
    return ModelInterpolator(m.eval(), name="tiny")


SMALL = A.AdaptConfig(steps=8, lr=1e-4, batch_size=2, crop=32, warmup=2, eval_triplets=4, eval_crop=32)


# ----------------------------------------------------------------------------- triplets
def test_triplets_t_values_and_spans():
    any_t = A.clip_triplets(7, spans=(2, 4))
    assert {tr.t for tr in any_t} == {0.25, 0.5, 0.75}
    assert all(tr.t == (tr.gt - tr.i0) / (tr.i1 - tr.i0) and tr.i0 < tr.gt < tr.i1 for tr in any_t)
    assert sum(tr.i1 - tr.i0 == 2 for tr in any_t) == 5 and sum(tr.i1 - tr.i0 == 4 for tr in any_t) == 3 * 3
    middle = A.clip_triplets(7, spans=(2, 4), any_t=False)        # RIFE HDv3: (i, i+2) -> i+1 only
    assert [(tr.i0, tr.gt, tr.i1, tr.t) for tr in middle] == [(i, i + 1, i + 2, 0.5) for i in range(5)]


def test_triplets_never_cross_a_cut_or_a_repeat():
    trips = A.clip_triplets(20, cuts=[7, 12], repeats=[15], spans=(2, 4))
    shots = [range(0, 7), range(7, 12), range(12, 20)]
    assert trips and all(any(tr.i0 in s and tr.i1 in s for s in shots) for tr in trips)
    assert not [tr for tr in trips if tr.i0 <= 15 < tr.i1]          # frame 16 repeats 15: no window over it
    assert max(tr.i1 for tr in trips if tr.i0 >= 12) == 19


def test_cuts_found_from_pixels_split_the_clip():
    frames = moving(8, seed=0) + [f // 2 + np.uint8([0, 0, 120]) for f in moving(8, seed=5, origin=120)]   # a cut at 8
    cuts, repeats = A.find_cuts(A.clip_tensor(frames))
    assert cuts == [8] and repeats == []
    seen = set()

    class Rec(Blend):
        supports_any_t = True

        def trainable(self):
            net = torch.nn.Conv2d(3, 3, 1)

            def forward(i0, i1, t):
                seen.update(t.tolist())
                return net(i0 * 0.5 + i1 * 0.5)
            return net, forward

    _, report = A.adapt(Rec(), frames, dataclasses.replace(SMALL, steps=2, eval_triplets=0), progress=False)
    assert report.cuts == [8] and report.triplets == 2 * (6 + 3 * 4)      # per shot: 6 windows of 2, 4 of 4
    assert seen <= {0.25, 0.5, 0.75}


def test_spread_runs_stay_within_the_budget():
    assert A.spread_runs(30, 100) == [range(30)]
    runs = A.spread_runs(1000, 45, run=9)
    assert len(runs) == 5 and all(len(r) == 9 for r in runs) and runs[0].start == 0 and runs[-1].stop == 1000
    assert all(a.stop <= b.start for a, b in zip(runs, runs[1:]))


def test_clip_tensor_takes_arrays_or_tensors_and_scales():
    frames = moving(4, s=32)
    x = A.clip_tensor([torch.from_numpy(f) for f in frames[:2]] + frames[2:], scale=0.5)
    assert x.shape == (4, 16, 16, 3) and x.dtype == torch.uint8
    assert torch.equal(A.clip_tensor(np.stack(frames)), torch.from_numpy(np.stack(frames)))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="at least 3 frames"):
        A.adapt(Blend(), moving(2), SMALL)
    with pytest.raises(ValueError, match="differ in shape"):
        A.adapt(Blend(), moving(3) + moving(1, s=16), SMALL)
    with pytest.raises(ValueError, match="uint8"):
        A.adapt(Blend(), [f.astype(np.float32) for f in moving(4)], SMALL)
    with pytest.raises(TypeError, match="no weights to adapt"):
        A.adapt(Blend(), moving(4), SMALL, progress=False)
    with pytest.raises(ValueError, match="steps > 0"):
        A.AdaptConfig(steps=0)


# ----------------------------------------------------------------------------- adaptation
def test_adaptation_leaves_the_caller_model_unchanged():
    it = ModelInterpolator(build_model(preset("tiny")).eval(), name="tiny")
    before = {k: v.clone() for k, v in it.model.state_dict().items()}
    new, report = A.adapt(it, moving(6), dataclasses.replace(SMALL, steps=2, lr=1e-2, eval_triplets=0), progress=False)
    assert all(torch.equal(before[k], v) for k, v in it.model.state_dict().items())
    assert new.model is not it.model and not new.model.training
    assert any(not torch.equal(before[k], v) for k, v in new.model.state_dict().items())
    assert report.steps == 2 and report.samples == 4 and report.triplets == 4 + 3 * 2


ANY_T = dataclasses.replace(SMALL, steps=20, lr=1e-5, crop=128, eval_crop=128)   # 128 px: their padding multiple
CASES = {"tiny": (32, dataclasses.replace(SMALL, spans=(2,))), "rife_hdv3": (32, SMALL),
         "rife_v39": (128, ANY_T), "rife_425": (128, ANY_T)}


@pytest.mark.parametrize("method", sorted(CASES))
def test_adaptation_lowers_the_error_on_held_out_frames(method):
    """A texture moving 3 px a frame: adapted on frames 0..9, scored on frames it never saw: 12 from 11
    and 13, and (models adapted on t = 1/4, 1/2, 3/4) 11, 12, 13 from 10 and 14. The tiny model's flow
    starts from RIFE HDv3's (t = 0.5 only), so it adapts on the middle frames; the any-t RIFEs at a
    learning rate of 1e-5 (at 1e-4 they get worse here)."""
    from vfilib.eval.peers import make_peer

    size, cfg = CASES[method]
    try:
        it = tiny_flow_model() if method == "tiny" else make_peer(method)
    except FileNotFoundError as e:
        pytest.skip(f"{method}: weights not fetched here (./setup.sh): {e}")
    frames = moving(15, s=size)
    targets = [(11, 12, 13, 0.5)] + ([(10, 10 + k, 14, k / 4) for k in (1, 2, 3)] if 4 in cfg.spans and it.supports_any_t else [])
    held = lambda m: np.mean([psnr(m(as_t(frames[a]), as_t(frames[b]), torch.tensor([t])).clamp(0, 1),  # noqa: E731
                                   as_t(frames[g])).item() for a, g, b, t in targets])
    before = held(it)
    new, report = A.adapt(it, frames[:10], cfg, progress=False)
    assert report.loss_after < report.loss_before
    assert held(new) > before + 0.3, (before, held(new))
    assert held(it) == pytest.approx(before, abs=1e-6)


def test_recursive_base_is_adapted_and_rewrapped():
    inner = tiny_flow_model()
    inner.supports_any_t = False
    new, report = A.adapt(RecursiveT(inner), moving(5), dataclasses.replace(SMALL, steps=1, eval_triplets=0),
                          progress=False)
    assert isinstance(new, RecursiveT) and new.base is not inner and report.triplets_by_t == {"0.5": 3}


# ----------------------------------------------------------------------------- the protocol
def test_level_plan_targets_sit_between_inputs():
    from vfilib.data.shots import Shot

    shot, diff = Shot("c", 10, 40), np.ones(60)
    inputs, plan = E.level_plan(shot, 4, diff, {23}, targets=100)
    assert inputs == list(range(10, 40, 4))
    assert [m for _, m, _ in plan] == [12, 16, 20, 28, 32, 36]        # the window over the repeat at 23 is left out
    assert not {m for _, m, _ in plan} & set(inputs)
    assert E.level_plan(shot, 4, diff, set(), targets=2, max_inputs=3) == ([10, 14, 18], [(10, 12, 14), (14, 16, 18)])


def test_protocol_never_gives_adapt_a_target_frame(tmp_path, monkeypatch):
    """Every frame ``adapt`` receives is recorded (the clip's frame index is in its corner pixel); none
    is a frame the protocol scores."""
    from vfilib.data.prepare import prepare

    videos = {"a": write_clip(tmp_path / "a.mkv", n=60, cuts=(20,), size=(48, 64))}
    prepare(tmp_path / "cache", videos, store="eval", max_per_shot=4)
    scored, received = [], []       # per clip: the frames scored, then the frames adapt was given

    def recording_adapt(interp, frames, cfg, device="cpu", progress=True, breaks=()):
        received.append({int(f[0, 0, 0]) for f in frames})
        return interp, A.AdaptReport(interp.name, "cpu", len(frames), 0, {}, [], 0)

    real_samples = E.samples_of
    monkeypatch.setattr(E.A, "adapt", recording_adapt)
    monkeypatch.setattr(E, "samples_of", lambda frames, first, plan, crop, name: (
        scored.append({m for _, m, _ in plan}), real_samples(frames, first, plan, crop, name))[1])
    bench = E.AdaptBench(targets=3, crop=0)
    per, clips = E.run({"blend": Blend()}, bench, SMALL, cache=tmp_path / "cache", videos=videos, lpips=None,
                       progress=False)
    assert len(scored) == len(received) == len(bench.levels)
    assert all(s and r and not s & r for s, r in zip(scored, received)), list(zip(scored, received))
    assert all(max(s) < 20 and max(r) < 20 for s, r in zip(scored, received))     # the test shot, frames 0..19
    assert set(per["level"]) == set(bench.levels) and per["adapted"].any() and (~per["adapted"]).any()
    tag = {**E.settings(bench, SMALL), "size": "full", "commit": "abc1234", "device": "cpu", "date": "d"}
    out = tmp_path / "adapt.csv"
    first = per["level"].isin(["easy", "medium"])                  # two runs, split by level, add up
    E.write_tables(out, per[first], clips[clips["level"].isin(["easy", "medium"])], tag)
    assert "mean" not in set(read_table(out)["level"])           # no mean over levels before all four are in
    E.write_tables(out, per[~first], clips[~clips["level"].isin(["easy", "medium"])], tag)
    table = read_table(out)
    table = table[table["level"].isin(["easy", "medium", "hard", "extreme", "mean"])]
    assert len(table) == 2 * 5 and (table.loc[~table["adapted"], "psnr_gain"] == 0).all()
    mean = table[(table["level"] == "mean") & ~table["adapted"]].iloc[0]
    assert mean["psnr"] == pytest.approx(per[~per["adapted"]].groupby("level")["psnr"].mean().mean())
    assert mean["n"] == (~per["adapted"]).sum()
    assert {"commit", "device", "adapt", "protocol", "adapt_seconds_per_clip"} <= set(table.columns)
    assert len(read_table(tmp_path / "adapt_samples.csv")) == len(per)


def test_collect_runs_keeps_spread_consecutive_runs_and_marks_breaks():
    frames = (np.full((4, 6, 3), i, np.uint8) for i in range(100))
    kept, breaks = A.collect_runs(frames, 100, max_frames=20, run=5)
    ids = [int(f[0, 0, 0]) for f in kept]
    assert len(ids) == 20 and ids[:5] == [0, 1, 2, 3, 4] and ids[-1] == 99
    assert breaks == [5, 10, 15] and all(ids[b] != ids[b - 1] + 1 for b in breaks)
    kept, breaks = A.collect_runs(iter([np.zeros((4, 6, 3), np.uint8)] * 50), None, max_frames=10)
    assert len(kept) == 10 and breaks == []
    kept, _ = A.collect_runs(iter([np.zeros((100, 100, 3), np.uint8)] * 50), None, max_frames=48, max_bytes=30_000 * 5)
    assert len(kept) == 5                                      # the memory budget, not max_frames
    kept, _ = A.collect_runs(iter([np.full((4, 6, 3), 257 * 200, np.uint16)] * 5), None)
    assert kept[0].dtype == np.uint8 and (kept[0] == 200).all()   # a deep source's frames as 8 bits


# ----------------------------------------------------------------------------- the video tool: --adapt
def tiny_interp():
    return ModelInterpolator(build_model(preset("tiny")).eval(), name="tiny")


def test_the_tool_adapts_on_the_runs_window_then_runs_the_copy(tmp_path, monkeypatch):
    """``--adapt`` reads the run's window (--start / --duration) once more and gives adapt_stream its frames
    and limits; the copy it returns is compiled (where asked) and runs every interval; --stats keeps its report."""
    from test_interpolate import make_clip
    from vfilib.data.video import VideoReader
    from vfilib.tool import adapting, interpolate_file, pipeline

    class Adapted(Blend):
        calls = 0

        def __call__(self, i0, i1, t, scale=1.0):
            Adapted.calls += 1
            return super().__call__(i0, i1, t, scale)

    seen = {}

    def fake_adapt_stream(interp, frames, n_frames, cfg, device, progress, max_frames):
        seen.update(interp=interp, frames=[f.copy() for f in frames], n=n_frames, cfg=cfg, max_frames=max_frames)
        return Adapted(), A.AdaptReport("tiny", str(device), len(seen["frames"]), 3, {"0.5": 3}, [], 0, steps=7)

    real_compiled = pipeline.compiled
    monkeypatch.setattr(adapting, "adapt_stream", fake_adapt_stream)
    monkeypatch.setattr(pipeline, "compiled", lambda interp, m: seen.setdefault("compiled", real_compiled(interp, m)))
    src = make_clip(tmp_path / "c.mp4", n=20)                       # 25 fps: the window 0.2 .. 0.6 s is frames 5..14
    it = tiny_interp()
    _, stats = interpolate_file(src, tmp_path / "o.mp4", it, start=0.2, duration=0.4, adapt=True, adapt_steps=7,
                                adapt_seconds=30, adapt_frames=5, quiet=True)
    window = [f.image for f in VideoReader(src, 0.2, 0.4)]
    assert seen["interp"] is it and seen["n"] == len(window) == len(seen["frames"]) == 10
    assert all(np.array_equal(a, b) for a, b in zip(seen["frames"], window))
    cfg = seen["cfg"]
    assert (cfg.steps, cfg.seconds, cfg.scale, cfg.amp, seen["max_frames"]) == (7, 30, 1.0, "fp32", 5)
    assert isinstance(seen["compiled"], Adapted) and Adapted.calls == stats.interpolated == 9
    assert stats.adapt["steps"] == 7 and stats.adapt["frames"] == 10 and stats.adapt["wall_seconds"] >= 0


def test_the_tool_adapts_a_checkpoint_end_to_end(tmp_path, capsys):
    """The command line with a tiny vfilib checkpoint: two real steps on the clip's 18 triplets (any t: spans of
    2 and 4 in 8 frames), the cost printed, the report in the --stats file."""
    import json

    from test_interpolate import make_clip, probe
    from vfilib.models.weights.checkpoint import save
    from vfilib.tool import main

    model = build_model(preset("tiny"))
    save(tmp_path / "m.pt", {"model_config": model.cfg.to_dict(), "model": model.state_dict()})
    src = make_clip(tmp_path / "c.mp4", n=8)
    code = main([str(src), "--checkpoint", str(tmp_path / "m.pt"), "--adapt", "--adapt_steps", "2", "--quiet",
                 "-o", str(tmp_path / "o.mp4"), "--stats", str(tmp_path / "s.json")])
    assert code == 0 and len(probe(tmp_path / "o.mp4")[0]) == 16
    report = json.loads((tmp_path / "s.json").read_text())["adapt"]
    assert (report["steps"], report["samples"], report["frames"], report["triplets"]) == (2, 8, 8, 6 + 4 * 3)
    assert report["device"] == "cpu" and report["seconds"] > 0 and report["psnr_after"] is not None
    err = capsys.readouterr().err
    assert "--adapt on a CPU" in err and "adapted vfilib:tiny on 8 frames" in err and "2 steps" in err


def test_a_clip_on_twos_is_interpolated_unadapted_with_a_warning(tmp_path, capsys):
    """Animation drawn on twos: every frame repeats, so no window of 3 distinct frames exists; the run goes on
    with the model as loaded, and says so."""
    from test_interpolate import make_clip
    from vfilib.tool import interpolate_file

    src = make_clip(tmp_path / "twos.mp4", n=5, repeat=2)
    it = tiny_interp()
    before = {k: v.clone() for k, v in it.model.state_dict().items()}
    _, stats = interpolate_file(src, tmp_path / "o.mp4", it, adapt=True, adapt_steps=2, quiet=True)
    assert stats.frames_out == 20 and "no training triplets" in stats.adapt["skipped"]
    assert "--adapt skipped, interpolating with the model as loaded" in capsys.readouterr().err
    assert all(torch.equal(before[k], v) for k, v in it.model.state_dict().items())


def test_adapt_needs_weights_and_a_clip(tmp_path):
    from test_interpolate import make_clip
    from vfilib.data.io import write_image
    from vfilib.tool import interpolate_file, options
    from vfilib.tool.options import UsageError

    src = make_clip(tmp_path / "c.mp4", n=4)
    with pytest.raises(UsageError, match="blend has no weights to adapt; these can: .*rife_425"):
        interpolate_file(src, tmp_path / "o.mp4", Blend(), adapt=True, quiet=True)
    assert not (tmp_path / "o.mp4").exists() and not list(tmp_path.glob(".o.mp4*"))     # no temporary left
    for name in ("a.png", "b.png"):
        write_image(tmp_path / name, np.zeros((8, 8, 3), np.float32))
    with pytest.raises(UsageError, match="two images have no frames to learn from"):
        options([tmp_path / "a.png", tmp_path / "b.png"], adapt=True)


def test_the_registry_says_which_methods_adapt():
    """A peer's ``adapts`` flag (what --adapt accepts before loading anything) matches its interpolator."""
    from vfilib.eval.peers import PEERS, make_peer

    for name, peer in PEERS.items():
        try:
            it = make_peer(name)
        except FileNotFoundError:
            continue                                    # weights not fetched here
        try:
            it.trainable()
            has_weights = True
        except TypeError:
            has_weights = False
        assert peer.adapts == has_weights, name
