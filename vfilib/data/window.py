"""Windows of N frames around an interval, never across a cut: one rule for training, the benchmarks,
the whole-sequence evaluation and the video tool.

For the pair (i0, i1), gap g = i1 - i0, the window of N = 2k frames is

    i0 - (k-1) g, ..., i0 - g,  i0, i1,  i1 + g, ..., i1 + (k-1) g

(context frames at the pair's own spacing). A frame that does not exist, outside the shot (a clip end,
a scene cut) or missing from a folder, repeats the nearest frame of the window that does: the frames
before I0 fall back towards I0, those after I1 towards I1. Training drops context the same way
(:func:`cut_window`: context dropout), so one model serves every position in a clip.

:class:`StreamWindows` is the streaming form for the video tool: frames arrive one at a time with
their cut flags; each interval's window comes out as soon as the frames after it are known.

Indices may be :class:`fractions.Fraction` times too: when a method halves an interval (1/2, then 1/4,
...), the window of a sub-interval (lo, hi) is ``window_indices(lo, hi, N, made.__contains__)`` over the
frames made so far plus the real window (keys -k+1 .. k), e.g. (0, 1/2) -> [0, 0, 1/2, 1] at N = 4.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


def window_indices(i0: int, i1: int, frames: int, exists: Callable[[int], bool]) -> list[int]:
    """The N = ``frames`` indices of the window around (i0, i1) in time order, a missing one (``exists``
    False) replaced by the nearest existing frame of the window on its side. I0 and I1 must exist."""
    if frames < 2 or frames % 2:
        raise ValueError(f"a window has N = 2k frames (2, 4, 6, ...), got {frames}")
    if i1 <= i0:
        raise ValueError(f"the pair must be in time order with a gap, got ({i0}, {i1})")
    g, k = i1 - i0, frames // 2
    before, after = [i0], [i1]
    for m in range(1, k):
        before.append(i0 - m * g if exists(i0 - m * g) and before[-1] == i0 - (m - 1) * g else before[-1])
        after.append(i1 + m * g if exists(i1 + m * g) and after[-1] == i1 + (m - 1) * g else after[-1])
    return before[::-1] + after


def in_shot(start: int, end: int) -> Callable[[int], bool]:
    """``exists`` for a shot of frames [start, end)."""
    return lambda i: start <= i < end


def context_of(window: list) -> list:
    """The N-2 context entries of a window (time order: before I0, then after I1)."""
    k = len(window) // 2
    return list(window[:k - 1]) + list(window[k + 1:])


def cut_window(window: list, keep_before: int, keep_after: int) -> list:
    """Context dropout: keep the ``keep_before`` frames nearest before I0 and ``keep_after`` after I1;
    the rest repeat the nearest kept frame (as at a clip end)."""
    k = len(window) // 2
    before, after = list(window[:k][::-1]), list(window[k:])     # each starts at I0 / I1, going outwards
    before = [before[min(m, keep_before)] for m in range(k)]
    after = [after[min(m, keep_after)] for m in range(k)]
    return before[::-1] + after


def draw_cut(u_drop: float, u_keep: float, frames: int, p: float) -> int:
    """How many context frames one side keeps under context dropout of probability ``p``: all k-1,
    or (with probability p) 0 .. k-2 of them, uniformly."""
    k = frames // 2
    if u_drop >= p or k < 2:
        return k - 1
    return min(int(u_keep * (k - 1)), k - 2)


@dataclass
class Interval:
    """The interval between stream frames ``index`` and ``index + 1``: its window (N frames, repeats at
    shot ends; ``window[k-1]``, ``window[k]`` are I0 and I1), their stream indices, and whether a cut
    lies between I0 and I1 (then the window's two halves come from different shots)."""

    index: int
    window: list
    indices: list[int]
    cut: bool


@dataclass
class StreamWindows:
    """Windows of the intervals of a frame stream, never across a cut, with bounded memory.

    ``push(frame, cut)`` takes the next frame (``cut``: it starts a new shot) and returns the intervals
    whose windows became known: interval i needs frames i + 1 .. i + k, or the end of its shot.
    ``close()`` returns the rest at the end of the stream. Frames are kept only while a coming window
    needs them (N frames plus the ones not yet complete)."""

    frames: int = 4
    _buf: dict[int, Any] = field(default_factory=dict)
    _shot: dict[int, int] = field(default_factory=dict)
    _next: int = 0           # the next stream index to arrive
    _emit: int = 0           # the next interval to return

    def __post_init__(self) -> None:
        if self.frames < 2 or self.frames % 2:
            raise ValueError(f"a window has N = 2k frames (2, 4, 6, ...), got {self.frames}")

    def push(self, frame, cut: bool = False) -> list[Interval]:
        j = self._next
        self._shot[j] = self._shot.get(j - 1, 0) + (1 if cut and j > 0 else 0)
        self._buf[j] = frame
        self._next += 1
        return self._ready(final=False)

    def close(self) -> list[Interval]:
        return self._ready(final=True)

    def _ready(self, final: bool) -> list[Interval]:
        k, out, last = self.frames // 2, [], self._next - 1
        while self._emit + 1 <= last:
            i = self._emit
            shot_end = self._shot[last] != self._shot[i + 1]       # a later frame began another shot
            if not (final or shot_end or i + k <= last):
                break
            out.append(self._interval(i))
            self._emit += 1
        keep_from = self._emit - (k - 1)
        for j in [j for j in self._buf if j < keep_from]:
            del self._buf[j], self._shot[j]
        return out

    def _interval(self, i: int) -> Interval:
        k = self.frames // 2
        s0, s1 = self._shot[i], self._shot[i + 1]
        known = lambda j, s: j in self._buf and self._shot[j] == s        # noqa: E731
        before = window_indices(i, i + 1, self.frames, lambda j: known(j, s0))[:k]
        after = window_indices(i, i + 1, self.frames, lambda j: known(j, s1))[k:]
        idx = before + after
        return Interval(i, [self._buf[j] for j in idx], idx, s0 != s1)
