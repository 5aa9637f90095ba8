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
    assert stored == listed and stored


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
