"""Loaders for the real benchmark and training layouts (``../shared/DESIGN.md`` section 3).

Every dataset yields dicts ``{"I0", "I1", "gt": (3, H, W) RGB float in [0, 1], "t": float,
"name": str}``; built with ``frames`` = N > 2 (N-frame context, :mod:`vfilib.data.window`) also
``"context": (N-2, 3, H, W)``, the window's other frames in time order (repeats where a neighbour is missing). Each class has one job: turn its layout into a list of :class:`Sample` (three paths
and a timestep), checked up front so a missing file is reported before any work starts.
Training sets that draw a random timestep (Vimeo septuplets, X-TRAIN) draw it from a generator
seeded by (seed, epoch, index), so a run is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch.utils.data import Dataset

from ..core.paths import require_dir
from ..core.seeding import py_rng
from .io import load_frames
from .window import context_of, in_shot, window_indices


@dataclass(frozen=True)
class Sample:
    i0: Path
    gt: Path
    i1: Path
    t: float
    name: str
    context: tuple[Path, ...] = ()       # N-frame windows: the N-2 other frames in time order


def check_exist(paths: Sequence[Path], source: str | Path) -> None:
    """FileNotFoundError naming how many listed files are missing, and the first few."""
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        first = "\n  ".join(str(p) for p in missing[:5])
        raise FileNotFoundError(f"{source}: {len(missing)} of {len(paths)} listed files are missing, e.g.\n  {first}")


def read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"list file {path} not found")
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


class TripletDataset(Dataset):
    """A fixed list of samples. ``transform(dict, index) -> dict`` is applied last (augmentation)."""

    def __init__(self, samples: list[Sample], resize: tuple[int, int] | None = None,
                 transform: Callable | None = None, source: str | Path = ""):
        check_exist([p for s in samples for p in (s.i0, s.gt, s.i1, *s.context)], source)
        self.samples, self.resize, self.transform = samples, resize, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        s = self.samples[i]
        i0, gt, i1, *ctx = load_frames([s.i0, s.gt, s.i1, *s.context], self.resize)
        item = {"I0": i0, "I1": i1, "gt": gt, "t": float(s.t), "name": s.name}
        if ctx:
            item["context"] = torch.stack(ctx)
        return self.transform(item, i) if self.transform else item


def numbered_context(p0: Path, p1: Path, frames: int, exists: Callable[[int], bool] | None = None) -> tuple[Path, ...]:
    """Context frames of a pair of numbered files (``.../00012.png``, ``.../00016.png``) at the pair's
    spacing, in the same folder and numbering; a number with no file (or ``exists`` False) repeats the
    nearest frame of the window (:func:`vfilib.data.window.window_indices`)."""
    if frames == 2:
        return ()
    n0, n1 = int(p0.stem), int(p1.stem)
    path = lambda n: p0.with_name(f"{n:0{len(p0.stem)}d}{p0.suffix}")        # noqa: E731
    ok = lambda n: n >= 0 and (exists(n) if exists else path(n).is_file())    # noqa: E731
    return tuple(path(n) for n in context_of(window_indices(n0, n1, frames, ok)))

VIMEO_LAYOUT = """  <root>/tri_trainlist.txt, tri_testlist.txt     (lines like 00001/0389)
  <root>/sequences/00001/0389/im1.png im2.png im3.png
  (septuplets: sep_trainlist.txt, sep_testlist.txt and im1.png ... im7.png)"""


def vimeo_triplets(root, split: str = "test", **kw) -> TripletDataset:
    """Vimeo90K triplets: im1, im3 -> im2 at t = 0.5 (3,782 test triplets, 448x256)."""
    root = require_dir(root, "Vimeo90K triplet", VIMEO_LAYOUT)
    lst = root / f"tri_{split}list.txt"
    samples = [Sample(root / "sequences" / d / "im1.png", root / "sequences" / d / "im2.png",
                      root / "sequences" / d / "im3.png", 0.5, d) for d in read_list(lst)]
    return TripletDataset(samples, source=lst, **kw)


class VimeoSeptuplets(Dataset):
    """Vimeo90K septuplets. ``fixed=True``: im1, im7 -> im4 (t = 0.5). Otherwise a random
    i < k < j with t = (k - i) / (j - i), drawn from (seed, epoch, index). ``frames`` = N > 2: with the
    window's context from the septuplet at the pair's spacing (repeats past im1 / im7)."""

    def __init__(self, root, split: str = "train", fixed: bool = False, transform=None, seed: int = 0,
                 frames: int = 2):
        root = require_dir(root, "Vimeo90K septuplet", VIMEO_LAYOUT)
        lst = root / f"sep_{split}list.txt"
        self.dirs = [root / "sequences" / d for d in read_list(lst)]
        check_exist([d / f"im{k}.png" for d in self.dirs for k in range(1, 8)], lst)
        self.fixed, self.transform, self.seed, self.epoch, self.frames = fixed, transform, seed, 0, frames

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dirs)

    def indices(self, i: int) -> tuple[int, int, int]:
        a, k, b = (0, 3, 6) if self.fixed else draw_triplet(7, self.seed, self.epoch, i)
        return a + 1, k + 1, b + 1                      # im1 ... im7

    def __getitem__(self, i: int) -> dict:
        a, k, b = self.indices(i)
        d = self.dirs[i]
        ctx = context_of(window_indices(a, b, self.frames, in_shot(1, 8))) if self.frames > 2 else []
        item = triplet_item([d / f"im{j}.png" for j in (a, k, b, *ctx)], a, k, b, f"{d.parent.name}/{d.name}")
        return self.transform(item, i) if self.transform else item


def vimeo_septuplet_test(root, frames: int = 2, **kw) -> TripletDataset:
    """Vimeo90K septuplet test, the multi-frame protocol (FLAVR, ST-MFNet): im3, im5 -> im4 at t = 0.5,
    with im1 and im7 as the 4-frame window's context (``frames`` = 4; 6: im1 and im7 repeated outward)."""
    root = require_dir(root, "Vimeo90K septuplet", VIMEO_LAYOUT)
    lst = root / "sep_testlist.txt"
    samples = []
    for d in read_list(lst):
        seq = root / "sequences" / d
        ctx = context_of(window_indices(3, 5, frames, in_shot(1, 8))) if frames > 2 else []
        samples.append(Sample(seq / "im3.png", seq / "im4.png", seq / "im5.png", 0.5, d,
                              tuple(seq / f"im{j}.png" for j in ctx)))
    return TripletDataset(samples, source=lst, **kw)


UCF_LAYOUT = "  <root>/<dir>/frame_00.png, frame_01_gt.png, frame_02.png   (379 dirs, 256x256)"


def ucf101(root, **kw) -> TripletDataset:
    """UCF101 (DVF split): frame_00, frame_02 -> frame_01_gt at t = 0.5."""
    root = require_dir(root, "UCF101", UCF_LAYOUT)
    dirs = sorted(d for d in root.iterdir() if d.is_dir())
    if not dirs:
        raise FileNotFoundError(f"UCF101: no sample folders in {root}. Expected layout:\n{UCF_LAYOUT}")
    samples = [Sample(d / "frame_00.png", d / "frame_01_gt.png", d / "frame_02.png", 0.5, d.name) for d in dirs]
    return TripletDataset(samples, source=root, **kw)


SNU_LEVELS = ("easy", "medium", "hard", "extreme")
SNU_LAYOUT = """  <root>/test-easy.txt, test-medium.txt, test-hard.txt, test-extreme.txt
      each line: <I0 path> <GT path> <I1 path>, e.g. data/SNU-FILM/test/GOPRO_test/.../00001.png
  <root>/test/GOPRO_test/..., <root>/test/YouTube_test/...   (the listed paths, under any prefix)"""


def resolve_listed(path: str, root: Path) -> Path:
    """A path from a list file, found under ``root`` even when the list's prefix differs.

    Tries the path as written (absolute, or relative to root), then drops leading components one at
    a time (``data/SNU-FILM/test/x.png`` -> ``SNU-FILM/test/x.png`` -> ``test/x.png``)."""
    p = Path(path)
    if p.is_absolute() and p.is_file():
        return p
    parts = p.parts[1:] if p.is_absolute() else p.parts
    for i in range(len(parts)):
        cand = root.joinpath(*parts[i:])
        if cand.is_file():
            return cand
    return root.joinpath(*parts)           # reported as missing by check_exist


def snu_film(root, level: str = "hard", frames: int = 2, **kw) -> TripletDataset:
    """SNU-FILM, one level: I0 GT I1 per line (gaps 2/4/8/16 frames; mostly 1280x720). ``frames`` = N > 2:
    each sample also holds its N-frame window's context, the sequence's frames at the pair's spacing
    (SNU-FILM's folders hold whole sequences; in a prepared set, lists in this layout, the frames of
    the pair's shot only)."""
    if level not in SNU_LEVELS:
        raise ValueError(f"SNU-FILM level must be one of {SNU_LEVELS}, got {level!r}")
    root = require_dir(root, "SNU-FILM", SNU_LAYOUT)
    lst = root / f"test-{level}.txt"
    shots = prepared_shots(root)
    samples = []
    for n, line in enumerate(read_list(lst)):
        fields = line.split()
        if len(fields) != 3:
            raise ValueError(f"{lst}, line {n + 1}: expected 3 paths (I0 GT I1), got {len(fields)}")
        p0, pg, p1 = (resolve_listed(f, root) for f in fields)
        ctx = numbered_context(p0, p1, frames, shot_of(shots, p0.parent.name, int(p0.stem)) if shots else None)
        samples.append(Sample(p0, pg, p1, 0.5, f"{level}/{n:04d}", ctx))
    return TripletDataset(samples, source=lst, **kw)


def prepared_shots(root: Path) -> dict[str, list[tuple[int, int]]] | None:
    """clip -> [(start, end)] of a prepared set's shots (its ``manifest.json``), or None for another folder."""
    import json

    path = Path(root) / "manifest.json"
    if not path.is_file():
        return None
    shots: dict[str, list[tuple[int, int]]] = {}
    for s in json.loads(path.read_text()).get("shots", []):
        shots.setdefault(s["clip"], []).append((s["start"], s["end"]))
    return shots


def shot_of(shots: dict[str, list[tuple[int, int]]], clip: str, index: int) -> Callable[[int], bool]:
    """``exists`` of the shot that holds frame ``index`` of ``clip`` (the frame alone if none does)."""
    for a, b in shots.get(clip, []):
        if a <= index < b:
            return in_shot(a, b)
    return in_shot(index, index + 1)


MIDDLEBURY_LAYOUT = """  <root>/other-data/<name>/frame10.png, frame11.png
  <root>/other-gt-interp/<name>/frame10i11.png   (12 sequences with ground truth)"""


def middlebury_other(root, **kw) -> TripletDataset:
    """Middlebury 'Other': frame10, frame11 -> frame10i11, for the sequences that have GT."""
    root = require_dir(root, "Middlebury", MIDDLEBURY_LAYOUT)
    gt_dir = require_dir(root / "other-gt-interp", "Middlebury ground truth", MIDDLEBURY_LAYOUT)
    names = sorted(d.name for d in gt_dir.iterdir() if d.is_dir())
    samples = [Sample(root / "other-data" / n / "frame10.png", gt_dir / n / "frame10i11.png",
                      root / "other-data" / n / "frame11.png", 0.5, n) for n in names]
    return TripletDataset(samples, source=root, **kw)


X4K_LAYOUT = """  <root>/train/<scene>/<clip>/0000.png ... 0064.png     (X-TRAIN, 65 frames, 768x768)
  <root>/test/Type1|Type2|Type3/<scene>/0000.png ... 0032.png   (X-TEST, 4096x2160)"""
XTEST_2K = (2048, 1080)


def x4k_test(root, resolution: str = "4k", frames: int = 2, **kw) -> TripletDataset:
    """X-TEST 8x: inputs 0000 and 0032, targets 0004 ... 0028 at t = k/8.
    ``resolution="2k"`` resizes inputs and targets to 2048x1080 with INTER_AREA. ``frames`` = N > 2:
    the window's context at the pair's spacing; X-TEST's scenes end at 0000 and 0032, so it is I0 and
    I1 repeated (an N-frame model sees what a 2-frame model sees there)."""
    if resolution not in ("4k", "2k"):
        raise ValueError(f"resolution must be '4k' or '2k', got {resolution!r}")
    root = require_dir(root, "X4K1000FPS", X4K_LAYOUT)
    test = require_dir(root / "test", "X-TEST", X4K_LAYOUT)
    scenes = sorted(s for typ in sorted(test.glob("Type*")) for s in typ.iterdir() if s.is_dir())
    if not scenes:
        raise FileNotFoundError(f"X-TEST: no scenes under {test}. Expected layout:\n{X4K_LAYOUT}")
    samples = [Sample(s / "0000.png", s / f"{4 * k:04d}.png", s / "0032.png", k / 8, f"{s.parent.name}/{s.name}/{k}",
                      numbered_context(s / "0000.png", s / "0032.png", frames))
               for s in scenes for k in range(1, 8)]
    return TripletDataset(samples, source=test, resize=XTEST_2K if resolution == "2k" else None, **kw)


class X4KTrain(Dataset):
    """X-TRAIN clips of 65 frames. Each item: a gap g in [min_gap, max_gap], a start i, I1 = i + g,
    and a target k in (i, i + g) with t = (k - i) / g; drawn from (seed, epoch, index).

    ``context`` = N > 2: with the N-frame window's context (frames at the pair's spacing, repeats past
    the clip). ``steps`` / ``n_frames`` (GS-Mamba's TEMPO-style ``--x4k-steps 7 15 31 --x4k-n-frames 4 3 2``):
    instead of a gap, one (step, count) pair per item: ``count`` anchors ``step + 1`` frames apart, the
    target inside one of their intervals, the window's context only from the other anchors (the rest
    repeats): wide spacing with few frames, narrow spacing with more."""

    def __init__(self, root, min_gap: int = 2, max_gap: int = 32, transform=None, seed: int = 0, frames: int = 65,
                 context: int = 2, steps: tuple[int, ...] = (), n_frames: tuple[int, ...] = ()):
        root = require_dir(root, "X4K1000FPS", X4K_LAYOUT)
        train = require_dir(root / "train", "X-TRAIN", X4K_LAYOUT)
        self.clips = sorted(c for s in sorted(train.iterdir()) if s.is_dir() for c in sorted(s.iterdir()) if c.is_dir())
        if not self.clips:
            raise FileNotFoundError(f"X-TRAIN: no clips under {train}. Expected layout:\n{X4K_LAYOUT}")
        check_exist([c / f"{i:04d}.png" for c in self.clips for i in (0, frames - 1)], train)
        self.frames, self.transform, self.seed, self.epoch = frames, transform, seed, 0
        self.context, self.anchors = context, check_anchors(steps, n_frames, frames)
        self.set_gap(min_gap, max_gap)

    def set_gap(self, min_gap: int, max_gap: int) -> None:
        if not 2 <= min_gap <= max_gap <= self.frames - 1:
            raise ValueError(f"gaps must satisfy 2 <= min_gap <= max_gap <= {self.frames - 1}")
        self.min_gap, self.max_gap = min_gap, max_gap

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def indices(self, i: int) -> tuple[int, int, int]:
        return self.window(i)[:3]

    def window(self, i: int) -> tuple[int, int, int, list[int]]:
        """(I0, target, I1, context frame indices) of item ``i``."""
        rng = py_rng(self.seed, self.epoch, i, "triplet")
        if self.anchors:
            step, count = self.anchors[rng.randrange(len(self.anchors))]
            g = step + 1
            first = rng.randint(0, self.frames - 1 - (count - 1) * g)
            a = first + g * rng.randrange(count - 1)
            exists = lambda j: first <= j <= first + (count - 1) * g and (j - first) % g == 0   # noqa: E731
        else:
            g = rng.randint(self.min_gap, self.max_gap)
            a = rng.randint(0, self.frames - 1 - g)
            exists = in_shot(0, self.frames)
        k = rng.randint(a + 1, a + g - 1)
        ctx = context_of(window_indices(a, a + g, self.context, exists)) if self.context > 2 else []
        return a, k, a + g, ctx

    def __getitem__(self, i: int) -> dict:
        a, k, b, ctx = self.window(i)
        c = self.clips[i]
        item = triplet_item([c / f"{j:04d}.png" for j in (a, k, b, *ctx)], a, k, b, f"{c.parent.name}/{c.name}")
        return self.transform(item, i) if self.transform else item


def check_anchors(steps, counts, frames: int = 65) -> list[tuple[int, int]]:
    """GS-Mamba's paired ``--x4k-steps`` / ``--x4k-n-frames`` as (step, count) pairs, checked."""
    steps, counts = tuple(steps or ()), tuple(counts or ())
    if len(steps) != len(counts):
        raise ValueError(f"x4k_steps {steps} and x4k_n_frames {counts} must pair up (same length)")
    for st, n in zip(steps, counts):
        if st < 1 or n < 2 or (n - 1) * (st + 1) > frames - 1:
            raise ValueError(f"x4k step {st} with {n} frames does not fit a {frames}-frame clip "
                             f"(needs step >= 1, frames >= 2, (frames - 1) * (step + 1) <= {frames - 1})")
    return list(zip(steps, counts))


def draw_triplet(window: int, *seed_parts) -> tuple[int, int, int]:
    """Positions a < k < b in a window of ``window`` frames (b - a >= 2), drawn from the seed parts
    (seed, epoch, index): the same sample on every run, process and worker. t = (k - a) / (b - a)."""
    rng = py_rng(*seed_parts, "triplet")
    a, b = sorted(rng.sample(range(window), 2))
    while b - a < 2:
        a, b = sorted(rng.sample(range(window), 2))
    return a, rng.randint(a + 1, b - 1), b


def triplet_item(paths: list[Path], a: int, k: int, b: int, name: str) -> dict:
    """A training sample: frames a, k, b (files ``paths[:3]``) as I0, gt, I1 and t = (k - a) / (b - a);
    further paths are the N-frame window's context (time order), as ``"context"`` (N-2, 3, H, W)."""
    i0, gt, i1, *ctx = load_frames(paths)
    item = {"I0": i0, "I1": i1, "gt": gt, "t": (k - a) / (b - a), "name": name}
    if ctx:
        item["context"] = torch.stack(ctx)
    return item


def collate(items: list[dict]) -> dict:
    """Stack a list of samples: images (B, 3, H, W), context (B, N-2, 3, H, W) if any, t (B,), names list."""
    out = {k: torch.stack([it[k] for it in items]) for k in ("I0", "I1", "gt", "context") if k in items[0]}
    out["t"] = torch.tensor([it["t"] for it in items], dtype=torch.float32)
    out["name"] = [it["name"] for it in items]
    return out
