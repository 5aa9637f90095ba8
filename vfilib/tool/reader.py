"""Where input frames come from: a video file (:class:`vfilib.data.video.VideoReader`, decoded in a
thread) or a folder of images at ``--in_fps``; and whether the input stopped before it said it would.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from time import perf_counter
from typing import Iterator

import numpy as np

from ..data.io import IMAGE_SUFFIXES, ImageError, read_pixels
from ..data.video import StreamInfo, TimedFrame, VideoReader
from .options import Options, UsageError
from .timing import as_rate


class FolderReader:
    """Frames of a folder of images (sorted by name) at ``fps``, 8- or 16-bit as the first image."""

    start = end = None                   # no preview window (VideoReader's, in stream time)

    def __init__(self, path: Path, fps: Fraction):
        self.path = path
        self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise UsageError(f"{path}: no image frames ({', '.join(sorted(IMAGE_SUFFIXES))})")
        first = read_pixels(self.files[0])
        self.dtype = first.dtype
        self.info = StreamInfo(first.shape[1], first.shape[0], fps, len(self.files),
                               Fraction(len(self.files)) / fps, bit_depth=8 * first.dtype.itemsize)
        self.decode_s = 0.0

    def __iter__(self) -> Iterator[TimedFrame]:
        shape = None
        for i, f in enumerate(self.files):
            t = perf_counter()
            img = _as_depth(read_pixels(f), self.dtype)        # bad files named
            self.decode_s += perf_counter() - t
            if shape is not None and img.shape != shape:
                raise ImageError(f"{f}: frame size {img.shape[1]}x{img.shape[0]} differs from the first "
                                 f"frame's {shape[1]}x{shape[0]}")
            shape = img.shape
            yield TimedFrame(i, Fraction(i) / self.info.fps, img)

    def close(self) -> None:
        pass


def _as_depth(img: np.ndarray, dtype) -> np.ndarray:
    """8-bit levels as 16-bit (x 257) or the reverse (rounded), so every frame has the first one's depth."""
    if img.dtype == dtype:
        return img
    if dtype == np.uint16:
        return img.astype(np.uint16) * 257
    return ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)


def open_reader(opts: Options):
    """The reader of the run's input: a frame folder (its rate from ``--in_fps``) or a video file."""
    src = opts.inputs[0]
    if src.is_dir():
        if not opts.in_fps:
            raise UsageError(f"{src} is a frame folder: give its rate with --in_fps")
        return FolderReader(src, as_rate(opts.in_fps))
    return VideoReader(src, opts.start, opts.duration, deinterlace=opts.deinterlace)


def ended_early(reader, frames_read: int, end: Fraction) -> str | None:
    """Why the input looks cut short (a truncated download or copy), or None: the frames read end
    (at ``end``, stream time) well before the stream's own end or the asked window's end."""
    info = reader.info
    if isinstance(reader, FolderReader) or info.duration is None:
        return None
    origin = reader.start if reader.start is not None else reader.origin
    want = min(info.duration, reader.end) if reader.end is not None else info.duration
    gap = 1 / info.fps if info.fps else Fraction(1, 25)
    if end >= want - max(2 * gap, (want - origin) / 50):
        return None
    whole = reader.start is None and reader.end is None and info.frames
    said = f"{info.frames} frames, {float(want - origin):.2f} s" if whole else f"{float(want - origin):.2f} s"
    return (f"{reader.path}: the input ended early: {frames_read} frames read ({float(end - origin):.2f} s), "
            f"the stream says {said}; the file may be cut short (an interrupted download or copy). "
            "The output covers the frames read")


def frame_count(reader) -> int | None:
    """About how many frames ``reader`` yields: a folder's files, else its window's (or the stream's)
    length times its rate; None when the stream says neither."""
    if isinstance(reader, FolderReader):
        return len(reader.files)
    info = reader.info
    start = reader.start if reader.start is not None else reader.origin
    ends = [e for e in (reader.end, info.duration) if e is not None]
    if not ends or not info.fps:
        return info.frames or None
    return max(1, round(float((min(ends) - start) * info.fps)))
