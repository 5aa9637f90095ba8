"""Reading videos: frames as RGB uint8 arrays and the stream's facts, with errors that name the file.

PyAV (FFmpeg's libraries in a wheel) decodes; where PyAV is missing (the lent GPU machine), OpenCV
does. Both give the same frame count for the clips vfilib uses (checked when a prepared manifest is
read back on another machine: :func:`decode_frames` can insist on a count).
"""
from __future__ import annotations

import itertools
import queue
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np


class VideoError(ValueError):
    """A video that cannot be read, with the file and the problem named."""


def _av():
    try:
        import av
    except ImportError:
        return None
    return av


def decode_video(path: str | Path) -> Iterator[np.ndarray]:
    """RGB uint8 frames (H, W, 3) of a video file, in order."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: file not found")
    av = _av()
    if av is None:
        yield from _decode_cv2(path)
        return
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: no video stream")
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
    except av.error.FFmpegError as e:
        raise VideoError(f"{path}: cannot decode video ({e})") from e


def _decode_cv2(path: Path) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: cannot open video")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield np.ascontiguousarray(frame[..., ::-1])
    finally:
        cap.release()


def decode_frames(path: str | Path, frames: int | None = None) -> np.ndarray:
    """All frames as one (T, H, W, 3) uint8 array; ``frames``: the count it must have."""
    arr = np.stack(list(decode_video(path)))
    if frames is not None and len(arr) != frames:
        raise VideoError(f"{path}: decoded {len(arr)} frames, the manifest says {frames} "
                         "(another decoder or another file?)")
    return arr


def video_info(path: str | Path) -> dict:
    """fps, frame count (0 when the container does not say), width, height."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: file not found")
    av = _av()
    if av is None:
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise VideoError(f"{path}: cannot open video")
        info = {"fps": cap.get(cv2.CAP_PROP_FPS), "frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
                "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}
        cap.release()
        return info
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise VideoError(f"{path}: no video stream")
            s = c.streams.video[0]
            return {"fps": float(s.average_rate or s.guessed_rate or 0), "frames": s.frames,
                    "width": s.codec_context.width, "height": s.codec_context.height}
    except av.error.FFmpegError as e:
        raise VideoError(f"{path}: cannot read video ({e})") from e


# ----------------------------------------------------------------------------- streaming with timestamps


@dataclass
class StreamInfo:
    """What a video's first stream says: size, rate, timing, bit depth, colour tags and how a player
    shows it (turned, pixels stretched)."""

    width: int
    height: int
    fps: Fraction                       # average frame rate (nominal)
    frames: int                         # 0 when the container does not say
    duration: Fraction | None           # seconds, when known
    bit_depth: int = 8
    pix_fmt: str = "rgb24"
    color: dict = field(default_factory=dict)   # color_range, colorspace, color_primaries, color_trc (ints)
    has_audio: bool = False
    has_subtitles: bool = False
    rotation: int = 0                   # degrees a player turns the picture counterclockwise (0, 90, 180,
                                        # 270): a phone's portrait clip is stored landscape with 90 or 270
    pixel_aspect: Fraction | None = None  # sample aspect ratio when pixels are not square (DVD, DV, HDV)
    fields: str | None = None           # 'tff' / 'bff': interlaced, read a field at a time (fps is the field rate)


def first_frame(path: str | Path):
    """The first decoded frame of ``path``'s video (it carries the stream's display matrix and
    interlacing flags), or None when it does not decode (the decoding loop reports that)."""
    import av

    try:
        with av.open(str(path)) as c:
            return next(c.decode(video=0), None)
    except av.error.FFmpegError:
        return None


def display_rotation(frame) -> int:
    """How far a player turns the picture counterclockwise, from a decoded frame's display matrix:
    0, 90, 180 or 270. ``np.rot90(image, rotation // 90)`` is the picture as shown."""
    angle = getattr(frame, "rotation", 0) or 0
    return int(round(angle / 90)) % 4 * 90


#: FFmpeg's AVFieldOrder: which field is shown first (TT, BT: top; BB, TB: bottom)
FIELD_PARITY = {2: "tff", 5: "tff", 3: "bff", 4: "bff"}
DEINTERLACE = ("auto", "on", "off")


def field_parity(stream, frame, mode: str = "auto") -> str | None:
    """'tff' / 'bff' when the video is to be deinterlaced, else None. ``auto``: when the stream says
    its fields are ordered or its first frame is flagged interlaced; ``on``: always (untagged
    interlaced footage; field order from the stream, else bottom first as DV); ``off``: never."""
    if mode not in DEINTERLACE:
        raise ValueError(f"deinterlace must be one of {DEINTERLACE}, not {mode!r}")
    order = getattr(stream.codec_context, "field_order", 0) or 0
    if mode == "off" or (mode == "auto" and order not in FIELD_PARITY
                         and not (frame is not None and frame.interlaced_frame)):
        return None
    return FIELD_PARITY.get(order, "bff")


@dataclass
class TimedFrame:
    index: int
    time: Fraction                      # presentation time in seconds (from the stream's timestamps)
    image: np.ndarray                   # (H, W, 3) RGB uint8, or uint16 for >8-bit sources
    duration: Fraction | None = None    # how long the stream shows it, when the stream says


_END = object()


class VideoReader:
    """Frames of a video file with their presentation times, decoded in a background thread.

    ``start`` / ``duration`` (seconds) select a part (a quick preview). 10-bit and deeper sources
    come as uint16 RGB, 8-bit as uint8. Interlaced video (``deinterlace``, see :func:`field_parity`)
    comes a field at a time, each made a whole frame by FFmpeg's bwdif: 25i gives 50 frames/s, each
    at its field's time. Errors name the file; a corrupt frame mid-stream raises
    :class:`VideoError` with its index."""

    def __init__(self, path: str | Path, start: float = 0.0, duration: float | None = None, prefetch: int = 8,
                 deinterlace: str = "auto"):
        import av

        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: file not found")
        try:
            self.container = av.open(str(self.path))
        except av.error.FFmpegError as e:
            raise VideoError(f"{self.path}: not a readable video ({e})") from None
        if not self.container.streams.video:
            self.container.close()
            raise VideoError(f"{self.path}: no video stream")
        self.stream = s = self.container.streams.video[0]
        s.thread_type = "AUTO"
        cc = s.codec_context
        depth = 8
        try:
            depth = max(c.bits for c in av.VideoFormat(cc.pix_fmt).components)
        except Exception:  # noqa: BLE001 - unknown formats read as 8-bit
            pass
        rate = Fraction(s.average_rate or s.guessed_rate or 0)
        dur = Fraction((s.start_time or 0) + s.duration) * s.time_base if s.duration else (   # end time
            Fraction(self.container.duration, 1_000_000) if self.container.duration else None)
        self.info = StreamInfo(cc.width, cc.height, rate, s.frames or 0, dur, depth, cc.pix_fmt or "",
                               {k: getattr(cc, k, None) for k in ("color_range", "colorspace", "color_primaries", "color_trc")},
                               bool(self.container.streams.audio), bool(self.container.streams.subtitles),
                               pixel_aspect=s.sample_aspect_ratio or cc.sample_aspect_ratio)
        first = first_frame(self.path)
        self.info.rotation = display_rotation(first)
        self.info.fields = field_parity(s, first, deinterlace)
        if self.info.fields:                                     # each field becomes a frame
            self.info.fps, self.info.frames = 2 * rate, 2 * self.info.frames
        # --start counts from the file's first timestamp (as ffmpeg's -ss and players do): an MPEG
        # program stream, for one, starts at 0.54 s
        tb = s.time_base
        self.origin = (Fraction(self.container.start_time, 1_000_000) if self.container.start_time is not None
                       else Fraction(s.start_time or 0) * tb)
        start = Fraction(start).limit_denominator(1_000_000)
        self.start = self.origin + start if start else None              # window, in stream time
        self.end = ((self.start or self.origin) + Fraction(duration).limit_denominator(1_000_000)
                    if duration else None)
        self.prefetch = prefetch
        self.first_time: Fraction | None = None
        self.decode_s = 0.0                 # seconds the decoding thread spent decoding and converting

    def __iter__(self):
        q: queue.Queue = queue.Queue(self.prefetch)
        stop = threading.Event()

        def work():
            try:
                for item in self._timed(self._decode()):
                    while not stop.is_set():
                        try:
                            q.put(item, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                q.put(_END)
            except BaseException as e:  # noqa: BLE001 - handed to the consumer
                q.put(e)

        t = threading.Thread(target=work, daemon=True, name="vfilib-decode")
        t.start()
        try:
            while True:
                item = q.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()

    def _timed(self, items):
        """``items``, adding the time spent making each one to ``decode_s``."""
        items = iter(items)
        while True:
            t = time.perf_counter()
            item = next(items, _END)
            self.decode_s += time.perf_counter() - t
            if item is _END:
                return
            yield item

    def _seeked(self):
        """Decoded frames from a key frame at or before ``start``. Containers without an index (MPEG
        program streams) seek by bytes and can land past the target: then seek again, earlier."""
        s, margin = self.stream, Fraction(0)
        while True:
            target = max(self.start - margin, self.origin)
            self.container.seek(int(target / s.time_base), stream=s, backward=True)
            frames = self.container.decode(s)
            first = next(frames, None)
            if first is None or first.pts is None or Fraction(first.pts) * s.time_base <= self.start \
                    or target <= self.origin:
                return itertools.chain([first] if first is not None else [], frames)
            margin = max(Fraction(1), 2 * margin)

    def _decode(self):
        import av

        s, fmt = self.stream, ("rgb48le" if self.info.bit_depth > 8 else "rgb24")
        index, last = 0, None
        try:
            frames = self._seeked() if self.start is not None else self.container.decode(s)
            for frame in (self._fields(frames) if self.info.fields else frames):
                if frame.pts is None:
                    t = (last + 1 / self.info.fps) if last is not None and self.info.fps else Fraction(0)
                else:
                    t = Fraction(frame.pts) * (frame.time_base or s.time_base)
                if self.start is not None and t < self.start:
                    continue
                if self.end is not None and t >= self.end:
                    break
                last = t
                if self.first_time is None:
                    self.first_time = t
                dur = Fraction(frame.duration) * (frame.time_base or s.time_base) if frame.duration else None
                yield TimedFrame(index, t, frame.to_ndarray(format=fmt), dur)
                index += 1
        except av.error.FFmpegError as e:
            raise VideoError(f"{self.path}: cannot decode frame {index} ({e})") from None

    def _fields(self, frames):
        """Each field of interlaced frames as a whole frame at its own time (bwdif, one frame per field)."""
        import av

        graph = av.filter.Graph()
        chain = [graph.add_buffer(template=self.stream),
                 graph.add("bwdif", f"mode=send_field:parity={self.info.fields}:deint=all"),
                 graph.add("buffersink")]
        for a, b in zip(chain, chain[1:]):
            a.link_to(b)
        graph.configure()
        for frame in itertools.chain(frames, [None]):           # None flushes the last fields
            graph.push(frame)
            while True:
                try:
                    yield graph.pull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    break

    def close(self) -> None:
        self.container.close()
