"""N-frame windows in the real-layout loaders (fixture trees in a temp dir), the augmentation, the
validation set and the benchmark harness."""
import json

import pytest
import torch

from fixtures import png, vimeo_tree
from vfilib.data import datasets as D
from vfilib.data.clips import ClipWindows
from vfilib.data.transforms import Augment


def _value(x):
    """The constant value (0-255) of a fixture frame: (..., 3, H, W) -> (...)."""
    return torch.round(x[..., 0, 0, 0] * 255).long()


def test_vimeo_septuplet_multi_frame_protocol(tmp_path):
    root = vimeo_tree(tmp_path / "vimeo", frames=7)          # im k of sequence n holds 10 n + k
    two = D.vimeo_septuplet_test(root)
    four = D.vimeo_septuplet_test(root, frames=4)
    six = D.vimeo_septuplet_test(root, frames=6)
    s2, s4, s6 = two[1], four[1], six[1]
    assert "context" not in s2 and [_value(s2[k]).item() for k in ("I0", "gt", "I1")] == [13, 14, 15]
    assert _value(s4["context"]).tolist() == [11, 17]                   # im1 before im3, im7 after im5
    assert _value(s6["context"]).tolist() == [11, 11, 17, 17]           # past the septuplet: nearest repeated


def test_vimeo_training_windows_carry_context(tmp_path):
    root = vimeo_tree(tmp_path / "vimeo", frames=7)
    ds = D.VimeoSeptuplets(root, "train", frames=4, seed=3)
    for i in range(len(ds)):
        a, k, b = ds.indices(i)
        ctx = _value(ds[i]["context"]).tolist()
        base = 10 * i
        assert ctx == [base + (a - (b - a) if a - (b - a) >= 1 else a), base + (b + (b - a) if b + (b - a) <= 7 else b)]


def _numbered(folder, numbers):
    for n in numbers:
        png(folder / f"{n:05d}.png", n)


def test_snu_film_context_from_the_sequence_folder(tmp_path):
    root = tmp_path / "snu"
    _numbered(root / "test" / "GOPRO_test" / "s0", range(0, 41))
    _numbered(root / "test" / "YouTube_test" / "s1", range(0, 9))       # a short sequence: its ends repeat
    for level in D.SNU_LEVELS:
        lines = ["data/SNU-FILM/test/GOPRO_test/s0/00016.png data/SNU-FILM/test/GOPRO_test/s0/00020.png "
                 "data/SNU-FILM/test/GOPRO_test/s0/00024.png",
                 "data/SNU-FILM/test/YouTube_test/s1/00002.png data/SNU-FILM/test/YouTube_test/s1/00004.png "
                 "data/SNU-FILM/test/YouTube_test/s1/00006.png"]
        (root / f"test-{level}.txt").write_text("\n".join(lines) + "\n")
    ds = D.snu_film(root, "hard", frames=6)
    assert _value(ds[0]["context"]).tolist() == [0, 8, 32, 40]           # gap 8: 16 - 16, 16 - 8, 24 + 8, 24 + 16
    assert _value(ds[1]["context"]).tolist() == [2, 2, 6, 6]             # gap 4: -2 and 10 missing, repeats
    assert "context" not in D.snu_film(root, "hard")[0]


def _prepared_set(root, shots, n):
    """A prepared set in the SNU layout: one clip 'c' of n frames (frame i holds i), shots given."""
    _numbered(root / "frames" / "c", range(n))
    manifest = {"clips": {"c": {"ext": ".png", "duplicates": [], "frames": n}},
                "shots": [{"clip": "c", "start": a, "end": b, "split": sp} for a, b, sp in shots]}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_prepared_set_context_never_crosses_a_cut(tmp_path):
    root = _prepared_set(tmp_path / "set", [(0, 12, "test"), (12, 30, "test")], 30)
    for level in D.SNU_LEVELS:
        (root / f"test-{level}.txt").write_text("frames/c/00008.png frames/c/00009.png frames/c/00010.png\n"
                                                "frames/c/00014.png frames/c/00016.png frames/c/00018.png\n")
    ds = D.snu_film(root, "easy", frames=4)
    assert _value(ds[0]["context"]).tolist() == [6, 10]      # 12 is the next shot's first frame: I1 repeated
    assert _value(ds[1]["context"]).tolist() == [14, 22]     # 10 is the last shot's: I0 repeated


def test_clip_windows_carry_context_inside_the_shot(tmp_path):
    root = _prepared_set(tmp_path / "set", [(0, 10, "train"), (10, 24, "train")], 24)
    ds = ClipWindows(root, "train", window=3, stride=1, fixed=True, frames=4)
    for i, (clip, start) in enumerate(ds.windows):
        item = ds[i]
        a, b = start, start + 2
        lo, hi = ds.bounds[i]
        want = [a - 2 if a - 2 >= lo else a, b + 2 if b + 2 < hi else b]
        assert _value(item["context"]).tolist() == want
    assert "context" not in ClipWindows(root, "train", window=3, stride=1, fixed=True)[0]


def test_augment_moves_context_with_the_pair():
    item = {k: torch.full((3, 8, 8), v / 255) for k, v in (("I0", 2), ("gt", 3), ("I1", 4))}
    item.update(context=torch.stack([torch.full((3, 8, 8), 1 / 255), torch.full((3, 8, 8), 5 / 255)]), t=0.25,
                name="x")
    seen = set()
    for index in range(40):
        out = Augment(crop=4, seed=1)(item, index)
        order = [_value(out["context"][0]).item()] + [_value(out[k]).item() for k in ("I0", "gt", "I1")] + \
            [_value(out["context"][1]).item()]
        assert order in ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
        assert (out["t"] == 0.75) == (order[0] == 5) and out["context"].shape == (2, 3, 4, 4)
        seen.add(order[0])
    assert seen == {1, 5}
    batch = D.collate([out, out])
    assert batch["context"].shape == (2, 2, 3, 4, 4)


def _x4k_tree(root, frames=65):
    for k in range(frames):
        png(root / "train" / "s0" / "c0" / f"{k:04d}.png", k * 3)           # frame k holds 3k (< 256)
    return root


def test_x4k_anchor_sampler_pairs_spacing_with_frame_count(tmp_path):
    """GS-Mamba's --x4k-steps 7 15 31 --x4k-n-frames 4 3 2: anchors step + 1 apart; the window's context
    only from the other anchors (the rest repeats); every pairing is drawn."""
    root = _x4k_tree(tmp_path / "x4k")
    ds = D.X4KTrain(root, seed=0, context=4, steps=(7, 15, 31), n_frames=(4, 3, 2))
    seen = set()
    for epoch in range(60):
        ds.set_epoch(epoch)
        a, k, b, ctx = ds.window(0)
        g = b - a
        assert g in (8, 16, 32) and a < k < b and 0 <= a and b <= 64
        if g == 32:
            assert ctx == [a, b]                                  # 2 anchors: no context, the pair repeated
        for j, end in zip(ctx, (a, b)):
            assert j == end or abs(j - end) == g                  # another anchor at the spacing, or a repeat
        seen.add(g)
        item = ds[0]
        assert _value(item["context"]).tolist() == [3 * j for j in ctx] and item["t"] == (k - a) / g
    assert seen == {8, 16, 32}
    with pytest.raises(ValueError, match="pair up"):
        D.X4KTrain(root, steps=(7, 15), n_frames=(4,))
    with pytest.raises(ValueError, match="does not fit"):
        D.X4KTrain(root, steps=(31,), n_frames=(4,))


def test_validation_from_lists_with_context(tmp_path):
    from vfilib.train.data import Validation

    root = _prepared_set(tmp_path / "set", [(0, 12, "val"), (12, 30, "val")], 30)
    for level in D.SNU_LEVELS:
        (root / f"val-{level}.txt").write_text("frames/c/00014.png frames/c/00016.png frames/c/00018.png\n")
    frame = lambda clip, i: torch.full((3, 4, 4), i / 255)       # noqa: E731
    val = Validation.from_lists(root, "val", frame, 4, "v", frames=6)
    assert _value(val.samples[0].context).tolist() == [14, 14, 22, 26]     # gap 4; 10 lies in the shot before
    assert Validation.from_lists(root, "val", frame, 4, "v").samples[0].context is None


class _ContextProbe:
    """A 4-frame 'method' whose output is the mean of the context frames it is given (None: I0)."""

    name, channel_order, supports_any_t, prefers_halving, context_frames = "probe", "RGB", True, False, 4

    def __call__(self, i0, i1, t, scale=1.0, context=None):
        self.seen = context
        return i0 if context is None else context.mean(1)


def test_harness_passes_the_narrowed_padded_context(tmp_path):
    from vfilib.eval.benchmark import Protocol, evaluate

    root = tmp_path / "snu"
    _numbered(root / "test" / "GOPRO_test" / "s0", range(0, 41))
    for level in D.SNU_LEVELS:
        (root / f"test-{level}.txt").write_text("test/GOPRO_test/s0/00016.png test/GOPRO_test/s0/00020.png "
                                                "test/GOPRO_test/s0/00024.png\n")
    ds = D.snu_film(root, "hard", frames=6)                      # the set holds 6-frame windows
    probe = _ContextProbe()
    per, _ = evaluate(probe, ds, Protocol(pad_multiple=16), progress=False)
    assert probe.seen.shape == (1, 2, 3, 16, 16)                 # narrowed to 4 frames, padded like the pair
    assert _value(probe.seen[0]).tolist() == [8, 32] and per["frames"].tolist() == [4]      # of 0, 8, 32, 40


class _Shift:
    """A 2-frame 'method' (I0 itself) and its N-frame twin that returns I1 when given context, so the
    'gain' of the N-frame one is known per sample."""

    channel_order, supports_any_t, prefers_halving = "RGB", True, False

    def __init__(self, name, frames):
        self.name, self.context_frames = name, frames

    def __call__(self, i0, i1, t, scale=1.0, context=None):
        return i1 if context is not None else i0


def test_per_sample_gain_and_level_tables(tmp_path, monkeypatch):
    from vfilib.eval import benchmark as B
    from vfilib.eval.context_gain import gain_table, per_sample
    from vfilib.reports.nframe import level_table

    root = tmp_path / "snu"
    _numbered(root / "test" / "GOPRO_test" / "s0", range(0, 41))
    for level in D.SNU_LEVELS:
        (root / f"test-{level}.txt").write_text("test/GOPRO_test/s0/00016.png test/GOPRO_test/s0/00018.png "
                                                "test/GOPRO_test/s0/00024.png\n"
                                                "test/GOPRO_test/s0/00008.png test/GOPRO_test/s0/00009.png "
                                                "test/GOPRO_test/s0/00010.png\n")
    monkeypatch.setenv("VFILIB_FIXTURE", str(root))
    monkeypatch.setitem(B.BENCHMARKS, "fixture", B.Benchmark("fixture", "fixture tree", D.SNU_LEVELS,
                        lambda r, s, frames=2: D.snu_film(r, s, frames), B.Protocol(), "VFILIB_FIXTURE",
                        "a SNU-FILM-style fixture tree", context=True))
    per = per_sample([_Shift("two", 2), _Shift("four", 4)], "fixture")
    assert len(per) == 2 * 4 * 2 and set(per["frames"]) == {2, 4} and {"motion", "nonlinearity"} <= set(per)
    # the gt (18, 9) lies nearer I0 (16, 8) for the first sample, halfway for the second: 'four' (I1) loses on the first
    d = per.pivot_table(index=["split", "name"], columns="method", values="psnr")
    gains = (d["four"] - d["two"]).groupby(level="name").mean()
    first, second = (gains[gains.index.str.endswith(k)] for k in ("0000", "0001"))
    assert (first < -5).all() and (second.abs() < 1e-9).all()        # |18 - 24| vs |18 - 16|; |9 - 10| vs |9 - 8|
    tab = gain_table(per, "two", "four", "motion", bins=2)
    assert tab["n"].sum() == 8 and abs((tab["gain_db"] * tab["n"]).sum() / 8 - gains.mean()) < 1e-9
    lv = level_table(per)
    assert list(lv.columns[:5]) == ["easy", "medium", "hard", "extreme", "mean"] and lv.loc["four", "frames"] == 4
