"""Training and validation samples from a prepared frame set (:mod:`vfilib.data.prepare`)."""
from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from .datasets import draw_triplet, triplet_item
from .prepare import frame_name, load_manifest
from .shots import Shot, clean_windows
from .window import context_of, in_shot, window_indices


class ClipWindows(Dataset):
    """Windows of ``window`` frames inside the shots of one split (no repeated frame inside), every
    ``stride`` frames. ``fixed``: first, middle, last frame (t = 0.5). Otherwise random i < k < j in
    the window with t = (k - i) / (j - i), drawn from (seed, epoch, index) like Vimeo septuplets.
    ``frames`` = N > 2: items also hold the N-frame window's context from the shot, at the pair's
    spacing (repeats where the shot ends)."""

    def __init__(self, cache: str | Path, split: str = "train", window: int = 7, stride: int = 3,
                 fixed: bool = False, transform=None, seed: int = 0, clips: list[str] | None = None,
                 frames: int = 2):
        self.cache = Path(cache)
        manifest = load_manifest(self.cache)
        if not manifest.get("shots"):
            raise FileNotFoundError(f"no prepared frames in {self.cache}: run `python -m vfilib.data.prepare` first")
        if manifest.get("store") == "eval" and split == "train":
            raise ValueError(f"{self.cache} stores only the frames of its val/test lists; train on it with "
                             "the GPU frame bank (vfilib.data.bank) instead")
        self.ext = {n: c["ext"] for n, c in manifest["clips"].items()}
        self.windows, self.bounds = [], []           # (clip, first frame), and the window's shot [start, end)
        for shot in (Shot(**s) for s in manifest["shots"]):
            if shot.split != split or (clips is not None and shot.clip not in clips):
                continue
            dups = set(manifest["clips"][shot.clip]["duplicates"])
            starts = clean_windows(shot, window - 1, stride, dups)
            self.windows += [(shot.clip, i) for i in starts]
            self.bounds += [(shot.start, shot.end)] * len(starts)
        if not self.windows:
            raise ValueError(f"no {window}-frame windows in split {split!r} of {self.cache}")
        self.window, self.fixed, self.transform, self.seed, self.epoch = window, fixed, transform, seed, 0
        self.frames = frames

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.windows)

    def indices(self, index: int) -> tuple[int, int, int]:
        w = self.window
        return (0, (w - 1) // 2, w - 1) if self.fixed else draw_triplet(w, self.seed, self.epoch, index)

    def __getitem__(self, index: int) -> dict:
        clip, start = self.windows[index]
        a, k, b = self.indices(index)
        ctx = context_of(window_indices(start + a, start + b, self.frames, in_shot(*self.bounds[index])))
        paths = [self.cache / "frames" / clip / frame_name(j, self.ext[clip]) for j in
                 (start + a, start + k, start + b, *(ctx if self.frames > 2 else []))]
        item = triplet_item(paths, a, k, b, f"{clip}/{start + a}-{start + b}")
        return self.transform(item, index) if self.transform else item


def multi_frame(cache: str | Path, split: str = "test", span: int = 8, max_windows: int = 2,
                clip: str | None = None):
    """8x-style samples from a prepared set (X-TEST's protocol on the embedded clips): windows of
    ``span`` + 1 frames inside one shot of ``split`` with no repeated frame; inputs the ends, targets
    frames 1 .. span - 1 at t = k / span. At most ``max_windows`` windows (evenly spaced)."""
    from .datasets import Sample, TripletDataset
    from .shots import pick_evenly

    cache = Path(cache)
    manifest = load_manifest(cache)
    starts = []
    for shot in (Shot(**s) for s in manifest.get("shots", [])):
        if shot.split == split and (clip is None or shot.clip == clip):
            dups = set(manifest["clips"][shot.clip]["duplicates"])
            starts += [(shot.clip, i) for i in clean_windows(shot, span, span, dups)]
    if not starts:
        raise ValueError(f"no {span + 1}-frame windows without repeats in split {split!r} of {cache}")
    path = lambda c, i: cache / "frames" / c / frame_name(i, manifest["clips"][c]["ext"])  # noqa: E731
    samples = [Sample(path(c, i), path(c, i + k), path(c, i + span), k / span, f"{c}/{i}+{k}/{span}")
               for c, i in pick_evenly(starts, max_windows) for k in range(1, span)]
    return TripletDataset(samples, source=cache)
