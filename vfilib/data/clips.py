"""Training and validation samples from a prepared frame set (:mod:`vfilib.data.prepare`)."""
from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from ..core.seeding import py_rng
from .io import load_frames
from .prepare import frame_name, load_manifest
from .shots import Shot, clean_windows


class ClipWindows(Dataset):
    """Windows of ``window`` frames inside the shots of one split (no repeated frame inside), every
    ``stride`` frames. ``fixed``: first, middle, last frame (t = 0.5). Otherwise random i < k < j in
    the window with t = (k - i) / (j - i), drawn from (seed, epoch, index) like Vimeo septuplets."""

    def __init__(self, cache: str | Path, split: str = "train", window: int = 7, stride: int = 3,
                 fixed: bool = False, transform=None, seed: int = 0, clips: list[str] | None = None):
        self.cache = Path(cache)
        manifest = load_manifest(self.cache)
        if not manifest.get("shots"):
            raise FileNotFoundError(f"no prepared frames in {self.cache}: run `python -m vfilib.data.prepare` first")
        if manifest.get("store") == "eval" and split == "train":
            raise ValueError(f"{self.cache} stores only the frames of its val/test lists; train on it with "
                             "the GPU frame bank (vfilib.data.bank) instead")
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
        rng = py_rng(self.seed, self.epoch, index, "window")
        a, b = sorted(rng.sample(range(w), 2))
        while b - a < 2:
            a, b = sorted(rng.sample(range(w), 2))
        return a, rng.randint(a + 1, b - 1), b

    def __getitem__(self, index: int) -> dict:
        clip, start = self.windows[index]
        a, k, b = self.indices(index)
        paths = [self.cache / "frames" / clip / frame_name(start + j, self.ext[clip]) for j in (a, k, b)]
        i0, gt, i1 = load_frames(paths)
        item = {"I0": i0, "I1": i1, "gt": gt, "t": (k - a) / (b - a), "name": f"{clip}/{start + a}-{start + b}"}
        return self.transform(item, index) if self.transform else item
