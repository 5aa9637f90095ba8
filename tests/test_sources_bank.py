"""Registered sources (pinned downloads), sets prepared from videos, and the GPU frame bank (on CPU here)."""
import zipfile

import av
import cv2
import numpy as np
import pytest
import torch

from vfilib.data import sources
from vfilib.data.bank import FrameBank, check_alignment
from vfilib.data.prepare import LEVEL_GAPS, load_manifest, prepare
from vfilib.data.video import VideoError, decode_frames


def write_clip(path, n=90, cuts=(30, 61), size=(48, 64)):
    """A lossless clip (FFV1): frame i of a shot is its texture moved i pixels right; the red channel's
    corner pixel holds i, so a test can tell which frame it got."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = size[1], size[0], "bgr0"
        for i in range(n):
            if i == 0 or i in cuts:
                noise = rng.integers(0, 256, (size[0], size[1] * 3, 3)).astype(np.float32)
                base = cv2.GaussianBlur(noise, (9, 9), 3).astype(np.uint8)
                k = sum(i >= c for c in cuts)
                tint = np.array([(0, 0, 120), (120, 0, 0), (0, 120, 0)][k % 3], np.uint8)   # each shot its colour
            f = np.ascontiguousarray(np.roll(base, i, axis=1)[:, :size[1]] // 2 + tint)
            f[0, 0] = (i, 0, 0)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def clip_set(tmp_path_factory):
    d = tmp_path_factory.mktemp("set")
    videos = {"a": write_clip(d / "a.mkv"), "b": write_clip(d / "b.mkv", n=70, cuts=(35,))}
    return d / "cache", videos, prepare(d / "cache", videos, store="eval", max_per_shot=4)


def test_fetch_refuses_an_archive_with_another_checksum(tmp_path, monkeypatch):
    arch = tmp_path / "archives" / "pkg-1.0-py3-none-any.whl"
    arch.parent.mkdir()
    with zipfile.ZipFile(arch, "w") as z:
        z.writestr("pkg/clip.mp4", b"not really a video")
    good = sources.Archive("pypi-wheel", "pkg==1.0", arch.name, sources.sha256_file(arch))
    monkeypatch.setitem(sources.SOURCES, "t", sources.VideoSource("t", good, "pkg/clip.mp4", "", "test", "none"))
    assert sources.fetch("t", tmp_path).read_bytes() == b"not really a video"
    bad = sources.Archive("pypi-wheel", "pkg==1.0", arch.name, "0" * 64)
    monkeypatch.setitem(sources.SOURCES, "u", sources.VideoSource("u", bad, "pkg/clip.mp4", "", "test", "none"))
    with pytest.raises(sources.SourceError, match=r"pkg-1.0-py3-none-any.whl: sha256 .* does not match"):
        sources.fetch("u", tmp_path)


def test_eval_store_keeps_only_listed_frames_and_whole_shots(clip_set):
    cache, _, m = clip_set
    assert m["clips"]["a"]["cuts"] == [30, 61] and m["clips"]["b"]["cuts"] == [35]
    listed = set()
    for split in ("val", "test"):
        for level in LEVEL_GAPS:
            for line in (cache / f"{split}-{level}.txt").read_text().split():
                listed.add(line)
                clip, idx = line.split("/")[1], int(line.split("/")[2][:5])
                shot = next(s for s in m["shots"] if s["clip"] == clip and s["start"] <= idx < s["end"])
                assert shot["split"] == split                       # no frame of a list outside its split
    stored = {f"frames/{p.parent.name}/{p.name}" for p in (cache / "frames").rglob("*.png")}
    context = set()                     # and the frames of each listed triplet's 4-frame window, in its shot
    for split in ("val", "test"):
        for level in LEVEL_GAPS:
            for line in (cache / f"{split}-{level}.txt").read_text().splitlines():
                (clip, a), _, (_, b) = [(p.split("/")[1], int(p.split("/")[2][:5])) for p in line.split()]
                shot = next(s for s in m["shots"] if s["clip"] == clip and s["start"] <= a < s["end"])
                for j in (a - (b - a), b + (b - a)):
                    if shot["start"] <= j < shot["end"]:
                        context.add(f"frames/{clip}/{j:05d}.png")
    assert context - listed, "no context frame outside the triplets: the test shows nothing"
    assert stored == listed | context and stored


def test_bank_batches_repeat_exactly_and_stay_inside_a_window(clip_set):
    cache, videos, m = clip_set
    bank = FrameBank.from_set(cache, videos, "train", window=5)
    again = FrameBank.from_set(cache, videos, "train", window=5)
    a, b, c = bank.batch(7, 6, 32, seed=3, augment=False), again.batch(7, 6, 32, seed=3, augment=False), \
        bank.batch(8, 6, 32, seed=3, augment=False)
    assert all(torch.equal(a[k], b[k]) for k in a) and not torch.equal(a["I0"], c["I0"])
    full = bank.batch(7, 6, 64, seed=3, augment=False)     # crop = frame width, padded below: corner kept
    i0, gt, i1 = (torch.round(x[:, 0, 0, 0] * 255).long() for x in (full["I0"], full["gt"], full["I1"]))
    for a_, g_, b_, t in zip(i0.tolist(), gt.tolist(), i1.tolist(), full["t"].tolist()):
        assert 2 <= b_ - a_ <= 4 and a_ < g_ < b_ and abs(t - (g_ - a_) / (b_ - a_)) < 1e-6


def test_bank_draws_every_sample_from_one_shot(clip_set):
    cache, videos, m = clip_set
    bank = FrameBank.from_set(cache, videos, "train", window=5)
    train = [(s["clip"], s["start"], s["end"]) for s in m["shots"] if s["split"] == "train"]
    assert {(c, s) for c, s in zip(bank.clips, bank.starts)} == {(c, s) for c, s, _ in train}
    for w in bank.windows:
        assert w.start + bank.window <= bank.frames[w.shot].shape[0]


def test_alignment_check_catches_a_shifted_decode(clip_set):
    cache, videos, m = clip_set
    frames = decode_frames(videos["a"])
    check_alignment(frames, m["clips"]["a"], "a")
    with pytest.raises(ValueError, match="do not line up"):
        check_alignment(frames[1:], m["clips"]["a"], "a")


def test_unreadable_video_is_named(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(VideoError, match="broken.mp4"):
        decode_frames(bad)


def _corner(x):
    """The frame index a clip frame carries in its red corner pixel: (..., 3, H, W) -> (...)."""
    return torch.round(x[..., 0, 0, 0] * 255).long()


def test_bank_context_at_the_pairs_spacing_inside_the_shot(clip_set):
    """4- and 6-frame batches: the same triplets as the 2-frame batch; the context frames lie at the pair's
    spacing inside the pair's shot, repeating the nearest frame where the shot ends; dropout cuts a side."""
    from vfilib.data.window import in_shot, window_indices

    cache, videos, m = clip_set
    bank = FrameBank.from_set(cache, videos, "train", window=5)
    train = [(s["start"], s["end"]) for s in m["shots"] if s["split"] == "train"]
    two = bank.batch(11, 24, 64, seed=1, augment=False)
    at_end = 0
    for n in (4, 6):
        b = bank.batch(11, 24, 64, seed=1, augment=False, context=n)
        assert all(torch.equal(two[k], b[k]) for k in ("I0", "gt", "I1", "t")) and b["context"].shape[1] == n - 2
        for s in range(24):
            i0, i1, ctx = _corner(b["I0"][s]).item(), _corner(b["I1"][s]).item(), _corner(b["context"][s]).tolist()
            want = [window_indices(i0, i1, n, in_shot(a, e)) for a, e in train if a <= i0 and i1 < e]
            assert [w[:n // 2 - 1] + w[n // 2 + 1:] for w in want].count(ctx) >= 1, (i0, i1, ctx)
            at_end += any(j in (i0, i1) for j in ctx)
    assert at_end, "no sample met a shot end: the repeats were not exercised"
    cut = bank.batch(11, 24, 64, seed=1, augment=False, context=4, context_dropout=1.0)
    assert torch.equal(_corner(cut["context"][:, 0]), _corner(cut["I0"]))
    assert torch.equal(_corner(cut["context"][:, 1]), _corner(cut["I1"]))


def test_augmentation_reverses_the_whole_window():
    from vfilib.data.bank import augment_batch

    x = torch.arange(5.0).view(1, 5, 1, 1, 1).expand(2, 5, 3, 4, 4).clone()     # frame f holds f
    t = torch.tensor([0.25, 0.25])
    out, tt = augment_batch(x, t, [[0.9, 0.9, 0.9, 0.1, 0.0], [0.9, 0.9, 0.9, 0.9, 0.0]])   # time reversal, none
    assert out[0, :, 0, 0, 0].tolist() == [4, 3, 2, 1, 0] and tt[0].item() == 0.75
    assert out[1, :, 0, 0, 0].tolist() == [0, 1, 2, 3, 4] and tt[1].item() == 0.25


def test_sequence_reads_whole_shots_of_an_eval_store_from_the_video(clip_set):
    """The live set stores only benchmark frames: whole-sequence evaluation decodes the shot's frames."""
    from vfilib.data.shots import Shot
    from vfilib.eval.sequence import shot_frames

    cache, _, m = clip_set
    shot = next(Shot(**s) for s in m["shots"] if s["clip"] == "a" and s["start"] == 30)
    frames = shot_frames(cache, shot, 9)
    assert [int(_corner(f).item()) for f in frames] == list(range(30, 39))
