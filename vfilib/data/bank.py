"""Training batches straight from GPU memory: a prepared set's videos decoded once into a frame bank.

    bank = FrameBank.from_set("data/live", videos, split="train", device="cuda")
    batch = bank.batch(step=1234, size=32, crop=256, seed=0)    # I0, gt, I1 (B, 3, crop, crop) in [0, 1], t (B,)

Frames stay uint8 (T, H, W, 3) per shot on the device, at native resolution (crops of HD frames keep
real motion). Batch ``k`` is a pure function of (seed, k, rank): a run resumed at step k draws what
a straight run would have drawn, on any number of processes, with no data loader and no host work
beyond a few index draws. Augmentation runs on the device: random crop, horizontal / vertical flips,
90-degree rotation (square crops), channel-order reversal and time reversal (t -> 1 - t), as in the
reference recipes (RIFE / VFIMamba).

Windows are ``window`` consecutive frames of one shot with no repeated pair inside; a sample takes
i < k < j in the window (j - i >= 2) with t = (k - i) / (j - i), like Vimeo septuplets. With
``context`` = N > 2 the batch also holds the N-frame window's context (``"context"``: (B, N-2, 3, crop,
crop), frames of the shot at the pair's spacing, :mod:`vfilib.data.window`), cut per side with
probability ``context_dropout`` (nearest frame repeated); the triplets drawn are those of the 2-frame batch. Clips are
weighted by the square root of their number of windows, so a long, static clip (a talking face of
4,800 frames) does not drown the short, rich ones.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.seeding import stable_seed
from ..core.tensors import from_uint8
from .prepare import load_manifest
from .shots import Shot, clean_windows
from .video import decode_frames
from .window import cut_window, draw_cut, in_shot, window_indices


@dataclass
class _Window:
    shot: int     # index into bank.frames
    start: int    # first frame, relative to the shot


class FrameBank:
    """uint8 frames of the shots of one split, on ``device``; samples training triplets from them."""

    def __init__(self, shots: list[tuple[str, int, torch.Tensor]], repeats: dict[str, set[int]],
                 window: int = 7, device="cpu"):
        """``shots``: (clip, first frame index, (T, H, W, 3) uint8 tensor) per shot; ``repeats``: the
        repeated-pair indices of each clip (frame i+1 repeats frame i)."""
        self.device = torch.device(device)
        self.window = window
        self.clips = [c for c, _, _ in shots]
        self.starts = [s for _, s, _ in shots]
        self.frames = [f.to(self.device) for _, _, f in shots]
        self.windows: list[_Window] = []
        per_clip: dict[str, int] = {}
        for k, (clip, start, f) in enumerate(shots):
            shot = Shot(clip, start, start + f.shape[0])
            for i in clean_windows(shot, window - 1, 1, repeats.get(clip, set())):
                self.windows.append(_Window(k, i - start))
                per_clip[clip] = per_clip.get(clip, 0) + 1
        if not self.windows:
            raise ValueError(f"no {window}-frame windows without repeated frames in these shots")
        w = np.array([per_clip[self.clips[x.shot]] ** -0.5 for x in self.windows])
        self.weights = torch.as_tensor(w / w.sum(), dtype=torch.float64)
        self.clip_windows = per_clip

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_set(cls, cache: str | Path, videos: dict[str, Path], split: str = "train", window: int = 7,
                 device="cpu", clips: list[str] | None = None, workers: int = 8) -> "FrameBank":
        """Decode the shots of ``split`` of a prepared set (its manifest in ``cache``) from ``videos``
        (clip -> file). Clips without a video are skipped with a note; frame counts must match."""
        manifest = load_manifest(cache)
        if not manifest.get("shots"):
            raise FileNotFoundError(f"{cache}: no manifest.json with shots; run `python -m vfilib.data.prepare` first")
        wanted: dict[str, list[Shot]] = {}
        for s in (Shot(**d) for d in manifest["shots"]):
            if s.split == split and (clips is None or s.clip in clips):
                wanted.setdefault(s.clip, []).append(s)
        missing = sorted(c for c in wanted if c not in videos)
        if missing:
            print(f"[bank] {split}: no video for {missing} on this machine; using the others")
        todo = [c for c in wanted if c in videos]

        def load(clip: str):
            arr = decode_frames(videos[clip])
            check_alignment(arr, manifest["clips"][clip], videos[clip])
            return clip, [(s.start, torch.from_numpy(arr[s.start:s.end].copy())) for s in wanted[clip]
                          if s.end <= len(arr)]

        shots = []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for clip, parts in pool.map(load, todo):
                shots += [(clip, start, f) for start, f in parts]
        repeats = {c: set(manifest["clips"][c]["duplicates"]) for c in todo}
        return cls(shots, repeats, window, device)

    def __len__(self) -> int:
        return len(self.windows)

    def describe(self) -> str:
        n = sum(f.shape[0] for f in self.frames)
        gib = sum(f.numel() for f in self.frames) / 2**30
        return (f"{len(self.frames)} shots of {len(set(self.clips))} clips, {n} frames ({gib:.1f} GiB uint8), "
                f"{len(self.windows)} windows of {self.window}")

    # ------------------------------------------------------------------ sampling
    def frame(self, clip: str, index: int) -> torch.Tensor:
        """One frame by its clip and absolute index, (3, H, W) float in [0, 1]."""
        for k, (c, s) in enumerate(zip(self.clips, self.starts)):
            if c == clip and s <= index < s + self.frames[k].shape[0]:
                return from_uint8(self.frames[k][index - s].permute(2, 0, 1))
        raise KeyError(f"frame {index} of {clip} is not in this bank")

    def batch(self, step: int, size: int, crop: int, seed: int = 0, rank: int = 0, augment: bool = True,
              context: int = 2, context_dropout: float = 0.0) -> dict:
        """Training batch ``step``: I0, gt, I1 (size, 3, crop, crop) float in [0, 1] and t (size,);
        ``context`` = N > 2: also "context" (size, N-2, 3, crop, crop), the window's other frames in time order."""
        g = torch.Generator().manual_seed(stable_seed(seed, step, rank, "bank"))
        pick = torch.multinomial(self.weights, size, replacement=True, generator=g).tolist()
        u = torch.rand(size, 10, generator=g).tolist()
        cg = torch.Generator().manual_seed(stable_seed(seed, step, rank, "bank-context"))   # the triplets stay as at N = 2
        uc = torch.rand(size, 4, generator=cg).tolist()
        stacks, ts = [], []
        for n, wi in enumerate(pick):
            win = self.windows[wi]
            frames = self.frames[win.shot]
            _, h, w, _ = frames.shape
            a, b = self._ends(u[n][0], u[n][1])
            k = a + 1 + min(int(u[n][2] * (b - a - 1)), b - a - 2)
            ch, cw = min(crop, h), min(crop, w)
            y, x = int(u[n][3] * (h - ch + 1)), int(u[n][4] * (w - cw + 1))
            order = _window_order(win.start + a, win.start + k, win.start + b, frames.shape[0], context,
                                  context_dropout, uc[n])
            stack = frames.index_select(0, torch.tensor(order, device=frames.device))[:, y:y + ch, x:x + cw]
            if (ch, cw) != (crop, crop):
                stack = _pad_to(stack, crop)
            stacks.append(stack)                                           # (N + 1, ch, cw, 3), time order
            ts.append((k - a) / (b - a))
        x = from_uint8(torch.stack(stacks).permute(0, 1, 4, 2, 3))      # (B, N + 1 frames, 3, crop, crop)
        t = torch.tensor(ts, device=x.device, dtype=torch.float32)
        if augment:
            x, t = augment_batch(x, t, [r[5:10] for r in u])
        c = context // 2 - 1                                                # context frames on each side
        out = {"I0": x[:, c], "gt": x[:, c + 1], "I1": x[:, c + 2], "t": t}
        if context > 2:
            out["context"] = torch.cat([x[:, :c], x[:, c + 3:]], 1)
        return out

    def _ends(self, ua: float, ub: float) -> tuple[int, int]:
        """Two window positions a < b with b - a >= 2."""
        pairs = [(a, b) for a in range(self.window) for b in range(a + 2, self.window)]
        return pairs[min(int(ua * len(pairs)), len(pairs) - 1)]


def _window_order(a: int, k: int, b: int, length: int, frames: int, dropout: float, u: list[float]) -> list[int]:
    """Frame indices of one sample in time order: the window's frames before I0, I0, the target, I1,
    the frames after I1 (a shot of ``length`` frames; each side cut with probability ``dropout``)."""
    win = window_indices(a, b, frames, in_shot(0, length))
    if frames > 2 and dropout > 0:
        win = cut_window(win, draw_cut(u[0], u[1], frames, dropout), draw_cut(u[2], u[3], frames, dropout))
    half = frames // 2
    return win[:half] + [k] + win[half:]


def check_alignment(frames: np.ndarray, entry: dict, source, pairs: int = 64, tol: float = 0.5) -> None:
    """Check that frames decoded here are the frames the manifest was made from (another decoder may
    drop or add a frame): the consecutive-frame differences of the first ``pairs`` pairs must match
    the manifest's within ``tol`` (mean, 0-255 scale), and the count may differ only at the end."""
    from .shots import FrameSignature, pair_signals

    n = min(pairs, len(frames) - 1, len(entry["diff"]))
    sigs = [FrameSignature.of(f) for f in frames[:n + 1]]
    here = np.array([pair_signals(a, b)[0] for a, b in zip(sigs[:-1], sigs[1:])])
    err = float(np.abs(here - np.array(entry["diff"][:n])).mean()) if n else 0.0
    if err > tol:
        raise ValueError(f"{source}: the decoded frames do not line up with the prepared manifest "
                         f"(mean signal difference {err:.2f} over {n} pairs); prepare the set on this machine")
    if len(frames) != entry["frames"]:
        print(f"[bank] {source}: {len(frames)} frames decoded, the manifest has {entry['frames']}; "
              "shots past the end are left out")


def _pad_to(tri: torch.Tensor, crop: int) -> torch.Tensor:
    """(3, h, w, 3) uint8 -> (3, crop, crop, 3), reflect-padding frames smaller than the crop."""
    x = tri.permute(0, 3, 1, 2).float()
    ph, pw = crop - x.shape[-2], crop - x.shape[-1]
    mode = "reflect" if ph < x.shape[-2] and pw < x.shape[-1] else "replicate"
    x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode=mode)
    return x.round().to(torch.uint8).permute(0, 2, 3, 1)


def augment_batch(x: torch.Tensor, t: torch.Tensor, u: list[list[float]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample augmentation on the device. x (B, F frames in time order, C, H, W), t (B,), u: 5 uniforms
    per sample (horizontal flip, vertical flip, channel reversal, time reversal, rotation by 90 degrees k
    times; rotation only for square crops). Time reversal reverses the frames and maps t -> 1 - t."""
    out, reverse = [], []
    for n, (hf, vf, ch, rev, rot) in enumerate(u):
        s = x[n]
        if hf < 0.5:
            s = s.flip(-1)
        if vf < 0.5:
            s = s.flip(-2)
        k = min(int(rot * 4), 3)
        if k and s.shape[-1] == s.shape[-2]:
            s = torch.rot90(s, k, dims=(-2, -1))
        if ch < 0.5:
            s = s.flip(-3)
        if rev < 0.5:
            s = s.flip(0)
        out.append(s)
        reverse.append(rev < 0.5)
    t = torch.where(torch.tensor(reverse, device=t.device), 1 - t, t)
    return torch.stack(out), t
