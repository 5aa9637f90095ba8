"""Shots, cuts and repeated frames, found from the pixels; whole shots assigned to splits.

Every rule here is used twice: offline, on a whole clip (:func:`detect_cuts`, :func:`detect_duplicates`,
data preparation), and streaming, one frame pair at a time (:class:`CutDetector`, the video tool). Both
read the same signals (:func:`pair_signals`) and the same thresholds (:data:`CUT_RULE`).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np


SPLIT_PATTERN = ("train", "test", "train", "val")


@dataclass(frozen=True)
class CutRule:
    """A cut: the thumbnail difference stands ``ratio`` x above its neighbourhood's median and above
    ``min_diff`` (0-255 scale), and the colour histogram changes by more than ``min_hist``.
    A repeat: the difference is below ``dup_abs`` or ``dup_rel`` x the neighbourhood's median."""

    ratio: float = 2.5
    min_diff: float = 12.0
    min_hist: float = 0.15
    dup_abs: float = 0.1
    dup_rel: float = 0.1
    radius: int = 5            # neighbourhood: this many pairs on each side (offline) / before (streaming)


CUT_RULE = CutRule()


@dataclass
class Shot:
    clip: str
    start: int   # first frame
    end: int     # one past the last frame
    split: str = ""

    def __len__(self) -> int:
        return self.end - self.start


# ----------------------------------------------------------------------------- signals
def thumbnail(frame: np.ndarray, width: int = 64) -> np.ndarray:
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    h = max(1, round(width * gray.shape[0] / gray.shape[1]))
    return cv2.resize(gray, (width, h), interpolation=cv2.INTER_AREA).astype(np.float32)


def color_hist(frame: np.ndarray) -> np.ndarray:
    h = cv2.calcHist([frame], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3).ravel()
    return h / max(h.sum(), 1)


@dataclass
class FrameSignature:
    thumb: np.ndarray
    hist: np.ndarray

    @classmethod
    def of(cls, frame: np.ndarray) -> "FrameSignature":
        return cls(thumbnail(frame), color_hist(frame))


def pair_signals(a: FrameSignature, b: FrameSignature) -> tuple[float, float]:
    """(mean |thumbnail difference| on the 0-255 scale, colour-histogram distance in [0, 1])."""
    return float(np.abs(b.thumb - a.thumb).mean()), float(0.5 * np.abs(b.hist - a.hist).sum())


# ----------------------------------------------------------------------------- offline rules
def _local_median(x: np.ndarray, i: int, radius: int) -> float:
    nb = np.concatenate([x[max(0, i - radius):i], x[i + 1:i + 1 + radius]])
    return float(np.median(nb)) if nb.size else float(x[i])


def is_cut(diff: float, hist: float, neighbourhood: float, rule: CutRule = CUT_RULE) -> bool:
    return diff > max(rule.min_diff, rule.ratio * neighbourhood) and hist > rule.min_hist


def is_repeat(diff: float, neighbourhood: float, rule: CutRule = CUT_RULE) -> bool:
    return diff < max(rule.dup_abs, rule.dup_rel * neighbourhood)


def detect_cuts(diff: np.ndarray, hist: np.ndarray, rule: CutRule = CUT_RULE) -> list[int]:
    """Frames that start a new shot (``diff[i]``, ``hist[i]``: signals of the pair (i, i+1))."""
    return [i + 1 for i in range(len(diff)) if is_cut(diff[i], hist[i], _local_median(diff, i, rule.radius), rule)]


def detect_duplicates(diff: np.ndarray, rule: CutRule = CUT_RULE) -> list[int]:
    """Indices i where frame i+1 repeats frame i (pulldown, holds)."""
    return [i for i in range(len(diff)) if is_repeat(diff[i], _local_median(diff, i, rule.radius), rule)]


@dataclass
class CutDetector:
    """The offline cut rule, streaming: the neighbourhood is the median of the last ``rule.radius * 2``
    pair differences (only the past is known)."""

    rule: CutRule = CUT_RULE
    _prev: FrameSignature | None = None
    _history: deque = field(default_factory=lambda: deque(maxlen=2 * CUT_RULE.radius))

    def __call__(self, frame: np.ndarray) -> bool:
        """True when ``frame`` starts a new shot (never for the first frame)."""
        return self.step(FrameSignature.of(frame))

    def step(self, sig: FrameSignature) -> bool:
        """:meth:`__call__` on a frame's signature made elsewhere (ahead, in another thread)."""
        prev, self._prev = self._prev, sig
        if prev is None:
            return False
        d, h = pair_signals(prev, sig)
        neighbourhood = float(np.median(self._history)) if self._history else 0.0
        cut = bool(self._history) and is_cut(d, h, neighbourhood, self.rule)
        if cut:
            self._history.clear()
        else:
            self._history.append(d)
        return cut

    def reset(self) -> None:
        self._prev = None
        self._history.clear()


# ----------------------------------------------------------------------------- shots and splits
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


def clean_windows(shot: Shot, gap: int, stride: int, dups: set[int]) -> list[int]:
    """Starts i of windows [i, i + gap] inside the shot that contain no repeated pair."""
    return [i for i in range(shot.start, shot.end - gap, stride)
            if not any(j in dups for j in range(i, i + gap))]


def balanced_motion(diff: np.ndarray, start: int, gap: int, min_ratio: float = 0.25) -> bool:
    """Whether the middle frame of [start, start + gap] lies between its ends: the motion before it and
    after it (sums of consecutive thumbnail differences) are within ``min_ratio`` of each other. A
    middle frame that repeats an end frame (a hold inside the window) is no interpolation target."""
    half = gap // 2
    left, right = float(np.sum(diff[start:start + half])), float(np.sum(diff[start + half:start + gap]))
    return min(left, right) >= min_ratio * max(left, right)


def pick_evenly(items: list, k: int) -> list:
    """At most ``k`` items, evenly spaced (deterministic)."""
    if len(items) <= k:
        return list(items)
    return [items[round(j)] for j in np.linspace(0, len(items) - 1, k)]
