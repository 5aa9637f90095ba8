"""Encoding the output video: RGB frames with exact timestamps, the input's sound and tags kept.

:class:`VideoWriter` writes to a temporary name (the caller renames it when complete). It keeps the
source's bit depth where the codec allows (10-bit in: yuv420p10le out), its colour tags (range,
matrix, primaries, transfer), its display rotation (a phone's portrait clip) and its pixel aspect
ratio (DVD and DV pixels are not square), and copies audio and subtitle streams without re-encoding.

The encoder's preset trades speed for file size. x264 at CRF 18 on 100 frames of the 720p Big Buck
Bunny clip (2 cores; encoder CPU time per frame, size, PSNR against the source):

    medium (default)  49 ms  1.69 MB  40.7 dB
    faster            29 ms  1.56 MB  40.4 dB
    veryfast          19 ms  1.40 MB  39.7 dB     (smaller, but 1 dB lower: x264 spends fewer bits)
    superfast         12 ms  2.18 MB  40.2 dB     (+29 % size)
    ultrafast          9 ms  5.55 MB  39.9 dB     (3.3 x the size)

On a CPU the model takes seconds per frame and the encoder's share is small; on a GPU the encoder
can set the pace (``--stats`` says: ``encode_s``), and ``--preset superfast`` roughly quarters its
time for about a third more bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from time import perf_counter

import numpy as np

from ..data.video import StreamInfo, VideoError

#: x264 / x265 presets, fastest first (FFmpeg's names)
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
DEEP_CODECS = ("libx264", "libx265", "libsvtav1", "ffv1")      # encoders that take 10-bit 4:2:0


@dataclass(frozen=True)
class Encoding:
    """How the video encoder runs: ``codec`` (None: libx264, else h264 / mpeg4, the first in the
    build), ``crf`` quality (x264/x265: 0 lossless .. 51), ``preset`` (x264/x265: speed against file
    size, see the table above) and ``threads`` (0: the encoder's own choice, about 1.5 per core)."""

    codec: str | None = None
    crf: int = 18
    preset: str = "medium"
    threads: int = 0


class VideoWriter:
    """``write(image, when)`` RGB (H, W, 3) uint8 / uint16 frames at ``when`` seconds (stream time of
    the input); ``finish()`` flushes and copies the input's audio and subtitles; ``abort()`` closes."""

    TIME_BASE = Fraction(1, 90000)

    def __init__(self, tmp_path: Path, info: StreamInfo, rate: Fraction, encoding: Encoding = Encoding(),
                 source: Path | None = None, window: tuple[Fraction | None, Fraction | None] = (None, None)):
        import av

        self.av, self.path, self.info = av, Path(tmp_path), info
        self.times = {"convert": 0.0, "codec": 0.0, "mux": 0.0}     # seconds per step of write()
        self.container = av.open(str(self.path), mode="w")
        self.stream = self._video_stream(rate, encoding)
        self._tag()
        # a preview's window of the input (stream time, from VideoReader): audio and subtitles outside it
        # are left out, and every stream is shifted so that the window starts at 0
        self.source, self.window, self.shift = source, window, window[0] or Fraction(0)
        self.copies = self._copied_streams() if source is not None else {}
        self.count, self.last_pts = 0, -1

    def _video_stream(self, rate: Fraction, encoding: Encoding):
        av, deep = self.av, self.info.bit_depth > 8
        candidates = [encoding.codec] if encoding.codec else ["libx264", "h264", "mpeg4"]
        stream = None
        for name in candidates:
            try:
                stream = self.container.add_stream(name, rate=rate)
                break
            except (ValueError, av.error.FFmpegError, KeyError):
                continue
        if stream is None:
            raise VideoError(f"{self.path.name}: no usable video encoder ({', '.join(candidates)}) in this PyAV build")
        name = stream.codec_context.name
        self.pix_fmt = "yuv420p10le" if deep and name in DEEP_CODECS else "yuv420p"
        w, h = self.info.width, self.info.height
        stream.width, stream.height = w + w % 2, h + h % 2   # 4:2:0 needs even sizes
        stream.pix_fmt = self.pix_fmt
        stream.time_base = stream.codec_context.time_base = self.TIME_BASE
        if name in ("libx264", "libx265"):
            stream.options = {"crf": str(encoding.crf), "preset": encoding.preset}
        stream.codec_context.thread_count = encoding.threads
        return stream

    def _tag(self) -> None:
        """Colour tags, display rotation and pixel aspect of the source."""
        info, cc = self.info, self.stream.codec_context
        for k, v in info.color.items():
            if v:
                try:
                    setattr(cc, k, v)
                except (AttributeError, TypeError, ValueError):
                    pass
        if info.rotation:                                  # shown upright as the source is
            self.stream.set_display_rotation(info.rotation)
        if info.pixel_aspect and info.pixel_aspect != 1:   # and as wide
            cc.sample_aspect_ratio = info.pixel_aspect

    def _copied_streams(self) -> dict:
        av, copies = self.av, {}
        with av.open(str(self.source)) as src:
            for s in list(src.streams.audio) + list(src.streams.subtitles):
                try:
                    copies[s.index] = self.container.add_stream_from_template(s)
                except (ValueError, av.error.FFmpegError) as e:
                    print(f"[video] {self.source.name}: stream {s.index} ({s.type}) not copied: {e}")
        return copies

    def write(self, image: np.ndarray, when: Fraction) -> None:
        h, w = image.shape[:2]
        if h % 2 or w % 2:
            image = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        t0 = perf_counter()
        frame = self._converted(image)
        pts = max(int(round((when - self.shift) / self.TIME_BASE)), self.last_pts + 1)   # strictly increasing
        self.last_pts = pts
        frame.pts, frame.time_base = pts, self.TIME_BASE
        t1 = perf_counter()
        packets = self.stream.encode(frame)
        t2 = perf_counter()
        for packet in packets:
            self.container.mux(packet)
        self.times["convert"] += t1 - t0
        self.times["codec"] += t2 - t1
        self.times["mux"] += perf_counter() - t2
        self.count += 1

    def _converted(self, image: np.ndarray):
        """RGB (H, W, 3) uint8 / uint16 -> a frame in the encoder's pixel format and colour space."""
        fmt = "rgb48le" if image.dtype == np.uint16 else "rgb24"
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
        cs, rng = self.info.color.get("colorspace"), self.info.color.get("color_range")
        try:
            return frame.reformat(format=self.pix_fmt, dst_colorspace=cs or None, dst_color_range=rng or None)
        except (TypeError, ValueError):
            return frame.reformat(format=self.pix_fmt)

    def finish(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        if self.copies:
            self._copy_streams()
        self.container.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the file is removed anyway
            pass

    def _copy_streams(self) -> None:
        """Audio and subtitle packets of the input, unchanged; in preview mode those of the window, shifted."""
        with self.av.open(str(self.source)) as src:
            streams = [src.streams[i] for i in self.copies]
            for packet in src.demux(streams):
                if packet.dts is None or packet.size == 0:
                    continue
                tb = packet.time_base
                t = Fraction(packet.pts if packet.pts is not None else packet.dts) * tb
                lo, hi = self.window
                if (lo is not None and t < lo) or (hi is not None and t >= hi):
                    continue
                shift = int(round(self.shift / tb)) if tb else 0
                packet.pts = None if packet.pts is None else packet.pts - shift
                packet.dts = packet.dts - shift
                packet.stream = self.copies[packet.stream.index]
                self.container.mux(packet)
