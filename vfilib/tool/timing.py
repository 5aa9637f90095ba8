"""When output frames fall: the times of the frames made in each input interval, and rate labels.

Times are exact fractions of a second. Output frame times are the input's (``factor`` k: k frames per
input interval, evenly spaced) or a regular grid at ``fps`` from the first frame; ``t`` is where an
output falls inside its interval, 0 at the earlier input frame.
"""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

MAX_RATIO = 64            # output frames per input frame, at most (--fps 1000000 is a typo, not a request)


def as_rate(x: float | Fraction) -> Fraction:
    """A frame rate as an exact fraction (29.97 -> 2997/100; 30000/1001 stays)."""
    return Fraction(x).limit_denominator(1_000_000)


def interval_outputs(tau: Fraction, nxt: Fraction, origin: Fraction, factor: int | None = None,
                     fps: Fraction | None = None) -> list[tuple[Fraction, Fraction]]:
    """(t, T) of the output frames inside the input interval [tau, nxt): T the output time, t = (T - tau) /
    (nxt - tau) in [0, 1). ``factor``: k frames evenly spaced; ``fps``: the grid origin + m / fps."""
    span = nxt - tau
    if span <= 0:
        return []
    if factor:
        return [(Fraction(j, factor), tau + span * Fraction(j, factor)) for j in range(factor)]
    first = math.ceil((tau - origin) * fps)
    last = math.ceil((nxt - origin) * fps)          # exclusive
    return [((origin + Fraction(m) / fps - tau) / span, origin + Fraction(m) / fps) for m in range(first, last)]


def is_dyadic(t: Fraction, max_depth: int = 6) -> bool:
    """Whether halving reaches ``t`` (1/2, 1/4, 3/8, ... down to 1/2^max_depth)."""
    return t.denominator & (t.denominator - 1) == 0 and t.denominator <= 2 ** max_depth


def needs_any_t(factor: int | None, fps: float | None, times: tuple[float, ...] | None) -> bool:
    """Whether the requested outputs include a t that halving cannot reach."""
    if times:
        return any(not is_dyadic(Fraction(t).limit_denominator(1000)) for t in times)
    if fps is not None:
        return True                       # a free output rate: t depends on the input's timestamps
    return bool(factor) and factor & (factor - 1) != 0


def rate_label(rate: Fraction) -> str:
    return f"{float(rate):.2f}".rstrip("0").rstrip(".") + "fps"


def output_rate(in_rate: Fraction | None, factor: int | None, fps: float | None) -> Fraction:
    """The output's nominal rate: the input's times ``factor``, or ``fps``."""
    return in_rate * factor if factor else as_rate(fps)


def default_output(src: Path, factor: int | None, rate: Fraction) -> Path:
    """``clip_2x_50fps.mp4`` (or ``clip_60fps.mp4``) beside a video; a folder beside a frame folder."""
    tag = f"{factor}x_{rate_label(rate)}" if factor else rate_label(rate)
    return src.with_name(f"{src.stem}_{tag}" + ("" if src.is_dir() else ".mp4"))
