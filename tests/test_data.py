import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fixtures import png, snu_tree, vimeo_tree
from vfilib.data import datasets as D
from vfilib.data.curriculum import MixedSampler, crop_at, gap_at
from vfilib.data.clips import ClipWindows
from vfilib.data.prepare import prepare
from vfilib.data.shots import (CutDetector, assign_splits, balanced_motion, color_hist, detect_cuts,
                               detect_duplicates, shots_from_cuts, thumbnail)
from vfilib.data.io import ImageError, load_frames, read_image, rgb_to_bgr
from vfilib.data.transforms import Augment


def value(x: torch.Tensor) -> int:
    return round(float(x.mean()) * 255)


# ------------------------------------------------------------------ real layouts
def test_vimeo_triplets(tmp_path):
    ds = D.vimeo_triplets(vimeo_tree(tmp_path), "test")
    assert len(ds) == 3
    s = ds[1]
    assert (value(s["I0"]), value(s["gt"]), value(s["I1"])) == (11, 12, 13)
    assert s["t"] == 0.5 and s["name"] == "00001/0002"
    assert s["I0"].shape == (3, 8, 12) and s["I0"].dtype == torch.float32


def test_vimeo_septuplets_random_t_is_consistent_and_reproducible(tmp_path):
    root = vimeo_tree(tmp_path, frames=7)
    ds = D.VimeoSeptuplets(root, "train", seed=3)
    seen = set()
    for i in range(len(ds)):
        for epoch in range(20):
            ds.set_epoch(epoch)
            s = ds[i]
            a, k, b = (value(s[key]) - 10 * i for key in ("I0", "gt", "I1"))
            assert 1 <= a < k < b <= 7
            assert s["t"] == pytest.approx((k - a) / (b - a))
            seen.add(s["t"])
    assert len(seen) > 3
    ds.set_epoch(5)
    again = D.VimeoSeptuplets(root, "train", seed=3)
    again.set_epoch(5)
    assert [ds.indices(i) for i in range(3)] == [again.indices(i) for i in range(3)]
    fixed = D.VimeoSeptuplets(root, "test", fixed=True)
    assert [value(fixed[0][k]) for k in ("I0", "gt", "I1")] == [1, 4, 7]


def test_ucf101(tmp_path):
    for n in range(4):
        for f, v in (("frame_00.png", 1), ("frame_01_gt.png", 2), ("frame_02.png", 3)):
            png(tmp_path / f"{n:03d}" / f, v + 10 * n)
    ds = D.ucf101(tmp_path)
    assert len(ds) == 4
    assert [value(ds[2][k]) for k in ("I0", "gt", "I1")] == [21, 22, 23]


@pytest.mark.parametrize("prefix", ["data/SNU-FILM/", "/home/someone/datasets/SNU-FILM/", ""])
def test_snu_film_resolves_list_prefixes(tmp_path, prefix):
    root = snu_tree(tmp_path / "SNU-FILM", list_prefix=prefix)
    for level, gap in (("easy", 2), ("hard", 8), ("extreme", 16)):
        ds = D.snu_film(root, level)
        assert len(ds) == 3
        s = ds[1]
        assert [value(s[k]) for k in ("I0", "gt", "I1")] == [1, min(255, 3 * gap // 2 + 1), min(255, 3 * gap + 1)]


def test_snu_film_missing_files_reported(tmp_path):
    root = snu_tree(tmp_path)
    (root / "test/GOPRO_test/seq1/00000.png").unlink()
    (root / "test/GOPRO_test/seq2/00000.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"test-easy.txt: 2 of 9 listed files are missing, e.g.\n.*seq1/00000.png"):
        D.snu_film(root, "easy")


def test_middlebury_only_sequences_with_gt(tmp_path):
    for name in ("Beanbags", "Dimetrodon", "NoGT"):
        png(tmp_path / "other-data" / name / "frame10.png", 1)
        png(tmp_path / "other-data" / name / "frame11.png", 3)
    for name in ("Beanbags", "Dimetrodon"):
        png(tmp_path / "other-gt-interp" / name / "frame10i11.png", 2)
    ds = D.middlebury_other(tmp_path)
    assert [s.name for s in ds.samples] == ["Beanbags", "Dimetrodon"]
    assert [value(ds[0][k]) for k in ("I0", "gt", "I1")] == [1, 2, 3]


def test_x4k_test_8x_protocol_and_2k_resize(tmp_path):
    scene = tmp_path / "test" / "Type1" / "TEST01_003_f0433"
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (2160, 4096, 3), dtype=np.uint8)
    for k in range(0, 33, 4):
        cv2.imwrite(str(scene / f"{k:04d}.png") if scene.mkdir(parents=True, exist_ok=True) is None else "", big)
    ds4 = D.x4k_test(tmp_path)
    assert len(ds4) == 7
    assert [s.t for s in ds4.samples] == [k / 8 for k in range(1, 8)]
    assert [s.gt.name for s in ds4.samples] == [f"{4 * k:04d}.png" for k in range(1, 8)]
    assert all(s.i0.name == "0000.png" and s.i1.name == "0032.png" for s in ds4.samples)
    ds2 = D.x4k_test(tmp_path, resolution="2k")
    s = ds2[0]
    assert s["I0"].shape == (3, 1080, 2048)
    ref = cv2.resize(big[..., ::-1].astype(np.float32) / 255, (2048, 1080), interpolation=cv2.INTER_AREA)
    assert torch.allclose(s["gt"], torch.from_numpy(ref).permute(2, 0, 1), atol=1e-6)


def test_x4k_train_gap_sampling(tmp_path):
    clip = tmp_path / "train" / "002" / "occ008.320_f2881"
    for k in range(65):
        png(clip / f"{k:04d}.png", k)
    ds = D.X4KTrain(tmp_path, min_gap=4, max_gap=16, seed=1)
    for epoch in range(30):
        ds.set_epoch(epoch)
        s = ds[0]
        a, k, b = value(s["I0"]), value(s["gt"]), value(s["I1"])
        assert 4 <= b - a <= 16 and a < k < b
        assert s["t"] == pytest.approx((k - a) / (b - a))
    with pytest.raises(ValueError):
        ds.set_gap(1, 70)


def test_missing_dataset_folder_names_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="tri_trainlist.txt"):
        D.vimeo_triplets(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no folder given"):
        D.snu_film(None)


# ------------------------------------------------------------------ bad images
def test_grayscale_is_converted(tmp_path):
    img = read_image(png(tmp_path / "g.png", 100, channels=1))
    assert img.shape == (8, 12, 3) and np.allclose(img, 100 / 255)


def test_sixteen_bit_is_scaled(tmp_path):
    img = read_image(png(tmp_path / "h.png", 65535 // 2, dtype=np.uint16))
    assert np.allclose(img, (65535 // 2) / 65535)


def test_alpha_opaque_dropped_transparent_rejected(tmp_path):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert read_image(png(tmp_path / "a.png", 255, channels=4)).shape == (8, 12, 3)
    assert any("alpha" in str(x.message) for x in w)
    rgba = np.full((4, 4, 4), 255, np.uint8)
    rgba[0, 0, 3] = 0
    cv2.imwrite(str(tmp_path / "t.png"), rgba)
    with pytest.raises(ImageError, match=r"t.png: has a transparent alpha"):
        read_image(tmp_path / "t.png")


def test_truncated_file_named(tmp_path):
    p = png(tmp_path / "x.png", 5, size=(64, 64))
    p.write_bytes(p.read_bytes()[:40])
    with pytest.raises(ImageError, match=r"x.png: unreadable or truncated"):
        read_image(p)


def test_mismatched_sizes_in_one_sample(tmp_path):
    a, b = png(tmp_path / "a.png", 1, size=(8, 8)), png(tmp_path / "b.png", 1, size=(8, 9))
    with pytest.raises(ImageError, match="differ in size"):
        load_frames([a, b])


def test_channel_order_is_rgb(tmp_path):
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 2] = 255                       # red, as OpenCV stores it
    cv2.imwrite(str(tmp_path / "r.png"), bgr)
    img = load_frames([tmp_path / "r.png"])[0]
    assert img[0].min() == 1 and img[1:].max() == 0
    assert torch.equal(rgb_to_bgr(rgb_to_bgr(img)), img) and rgb_to_bgr(img)[2].min() == 1


# ------------------------------------------------------------------ embedded data
def _synthetic_clip(n=60, cuts=(20, 41), dup_after=(9, 30)):
    rng = np.random.default_rng(0)
    frames, scene = [], None
    for i in range(n):
        if i == 0 or i in cuts:
            texture = cv2.GaussianBlur(rng.integers(0, 256, (48, 64, 3)).astype(np.float32), (9, 9), 3)
            scene = np.clip(0.5 * texture + rng.integers(0, 128, 3), 0, 255).astype(np.uint8)  # own colours
        frames.append(np.roll(scene, i, axis=1) if i - 1 not in dup_after else frames[-1].copy())
    return frames


def test_cut_and_duplicate_detection_on_known_sequence():
    frames = _synthetic_clip()
    th = [thumbnail(f) for f in frames]
    hs = [color_hist(f) for f in frames]
    diff = np.array([np.abs(th[i + 1] - th[i]).mean() for i in range(len(th) - 1)])
    hist = np.array([0.5 * np.abs(hs[i + 1] - hs[i]).sum() for i in range(len(hs) - 1)])
    assert detect_cuts(diff, hist) == [20, 41]
    assert detect_duplicates(diff) == [9, 30]
    streaming = CutDetector()                      # the video tool's detector: the same rule, frame by frame
    assert [i for i, f in enumerate(frames) if streaming(f)] == [20, 41]


def test_balanced_motion_rejects_a_held_middle_frame():
    steady = np.array([2.0, 2.0, 2.0, 2.0])
    hold = np.array([2.0, 0.0, 0.0, 2.0])          # the middle frame repeats its predecessors' content
    assert balanced_motion(steady, 0, 4) and not balanced_motion(np.array([0.0, 0.05, 3.0, 3.0]), 0, 4)
    assert balanced_motion(hold, 0, 4)             # symmetric holds keep the middle in between


def test_shots_split_whole():
    shots = assign_splits(shots_from_cuts("c", 100, [10, 30, 60, 61]) + shots_from_cuts("d", 50, []))
    assert [(s.start, s.end) for s in shots if s.clip == "c"] == [(0, 10), (10, 30), (30, 60), (61, 100)]
    assert {s.split for s in shots} == {"train", "val", "test"}


@pytest.fixture
def embedded(embedded_cache):
    return embedded_cache


def test_embedded_preparer_on_real_clips(embedded):
    cache, m = embedded
    print("\nembedded benchmark triplets per level:", m["benchmark"])
    assert m["clips"]["bikes"]["cuts"] == [30, 76, 137, 187, 242]          # DATA.md's inspection
    assert m["clips"]["bigbuckbunny"]["duplicates"] == [6, 31, 56, 81, 106]
    assert all(m["benchmark"][lv] > 0 for lv in ("easy", "medium", "hard", "extreme"))
    from vfilib.data.sources import fetch_group
    again = prepare(cache, fetch_group("embedded"))                          # idempotent
    assert again["clips"]["bikes"]["frames_sha256"] == m["clips"]["bikes"]["frames_sha256"]
    ds = D.snu_film(cache, "extreme")                                        # the real loader reads it
    assert len(ds) == m["benchmark"]["extreme"] and ds[0]["I0"].shape[0] == 3


def test_no_scene_leaks_across_splits(embedded):
    cache, m = embedded
    frame_split = {}
    for s in m["shots"]:
        for f in range(s["start"], s["end"]):
            frame_split[(s["clip"], f)] = s["split"]
    for level in ("easy", "medium", "hard", "extreme"):
        for line in (cache / f"test-{level}.txt").read_text().split("\n"):
            for p in line.split():
                clip, f = p.split("/")[1], int(Path(p).stem)
                assert frame_split[(clip, f)] == "test"
    for split in ("train", "val"):
        ds = ClipWindows(cache, split)
        for clip, start in ds.windows:
            assert {frame_split[(clip, start + j)] for j in range(ds.window)} == {split}


def test_clip_windows_random_t(embedded):
    cache, _ = embedded
    ds = ClipWindows(cache, "train", transform=Augment(crop=32, seed=0))
    s = ds[0]
    assert s["I0"].shape == (3, 32, 32) and 0 < s["t"] < 1


# ------------------------------------------------------------------ augmentation, curriculum
def _item():
    g = torch.Generator().manual_seed(0)
    return {"I0": torch.rand(3, 20, 30, generator=g), "gt": torch.rand(3, 20, 30, generator=g),
            "I1": torch.rand(3, 20, 30, generator=g), "t": 0.25, "name": "x"}


def test_augment_reproducible_and_consistent():
    item = _item()
    a, b = Augment(crop=16, seed=1), Augment(crop=16, seed=1)
    for i in range(10):
        x, y = a(item, i), b(item, i)
        assert all(torch.equal(x[k], y[k]) for k in ("I0", "gt", "I1")) and x["t"] == y["t"]
        assert x["I0"].shape == (3, 16, 16)
        assert x["t"] in (0.25, 0.75)


def test_temporal_reversal_swaps_and_flips_t():
    item = _item()
    aug = Augment(crop=None, flip=False, rot90=False, channel=False, reverse=True, seed=0)
    outs = [aug(item, i) for i in range(20)]
    rev = [o for o in outs if o["t"] == 0.75]
    assert rev and all(torch.equal(o["I0"], item["I1"]) and torch.equal(o["I1"], item["I0"]) for o in rev)


def test_augment_pads_small_frames():
    assert Augment(crop=64)(_item(), 0)["I0"].shape == (3, 64, 64)


def test_mixed_sampler_ratio_and_sharding():
    full = MixedSampler(100, 40, ratio="2:1", num_samples=300, seed=0, num_replicas=1, rank=0)
    idx = list(full)
    n_b = sum(i >= 100 for i in idx)
    assert len(idx) == 300 and n_b == 100
    shards = [list(MixedSampler(100, 40, "2:1", 300, seed=0, num_replicas=3, rank=r)) for r in range(3)]
    assert all(len(s) == 100 for s in shards)
    assert sorted(sum(shards, [])) == sorted(idx)
    full.set_epoch(1)
    assert list(full) != idx


def test_curriculum_schedules():
    assert [crop_at(p) for p in (0, 0.2, 0.4, 0.7, 1.0)] == [256, 256, 384, 512, 512]
    assert gap_at(0) == 2 and gap_at(1) == 32 and gap_at(0.5) == 17
