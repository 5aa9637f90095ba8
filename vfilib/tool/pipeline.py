"""The streaming loop. Frames flow one way:

    reader (decoding thread) -> signatures (a worker thread) -> repeats and cuts -> tensors on the device
    -> windows -> engine (the model, in batches) -> frames on the host -> writer (encoding thread) -> target

``--adapt`` first fine-tunes a copy of the model on the clip (:mod:`vfilib.tool.adapting`, a second
reader on the same window), before ``--compile`` and before the engine exists. The windows stage
(:class:`vfilib.data.window.StreamWindows`) hands each input interval to the engine with the N frames
around it for a model with context (``context_frames`` N > 2: the frames before I0 and after I1,
repeats at the clip's ends and at cuts), as soon as the frames after it are read; a 2-frame model
gets each pair as soon as its second frame is read. Output frames leave in time order: a real frame
is written as soon as its turn comes (before its interval's frames are computed), a made one when its
batch is done. Each stage's wall time is summed in a :class:`~vfilib.tool.stats.StageClock` (``--stats``).
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from time import perf_counter

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.io import read_pixels, write_image, write_pixels
from ..data.shots import CUT_RULE, CutDetector, FrameSignature, pair_signals
from ..data.video import TimedFrame
from ..data.window import Interval, StreamWindows, context_of
from ..eval.interpolators import Interpolator
from .adapting import adapt_to_clip
from .engine import Engine, Job, to_image, to_tensor
from .methods import compiled
from .options import Options, UsageError
from .reader import ended_early, open_reader
from .stats import StageClock, Stats, peak_memory_mb
from .timing import MAX_RATIO, as_rate, default_output, interval_outputs, output_rate
from .writer import AtomicOutput, BackgroundWriter, open_sink


@dataclass(frozen=True)
class Plan:
    """What the loop makes: output times (``factor`` k per input interval, or the grid at ``fps``),
    whether it drops repeated frames and keeps scene cuts; ``total`` output frames, when known."""

    factor: int | None
    fps: Fraction | None
    cuts: bool = True
    dedup: bool = False
    progress: bool = True
    total: int | None = None
    name: str = ""


def _u8(img: np.ndarray) -> np.ndarray:
    return img if img.dtype == np.uint8 else (img >> 8).astype(np.uint8)


def signed(frames, clock: StageClock, ahead: int = 4):
    """``(frame, FrameSignature)`` pairs; the signatures (thumbnail, colour histogram: the cut and
    repeat signals) are made ``ahead`` frames early in a worker thread (OpenCV releases the GIL), off
    the thread that feeds the model."""
    def sign(image):
        t = perf_counter()
        sig = FrameSignature.of(_u8(image))
        clock.add("signatures", perf_counter() - t)
        return sig

    def ready(item):
        with clock("wait_signatures"):
            return item[0], item[1].result()

    frames = iter(frames)
    with ThreadPoolExecutor(1, thread_name_prefix="vfilib-signature") as pool:
        pending: deque = deque()
        while True:
            with clock("wait_decode"):
                frame = next(frames, None)
            if frame is None:
                break
            pending.append((frame, pool.submit(sign, frame.image)))
            if len(pending) > ahead:
                yield ready(pending.popleft())
        while pending:
            yield ready(pending.popleft())


class Shots:
    """Calling it on signed frames yields ``(frame, is_cut)`` for the frames kept: repeats dropped with
    ``dedup`` (compared with the last kept frame), scene cuts found with ``cuts``."""

    def __init__(self, plan: Plan, stats: Stats, clock: StageClock):
        self.dedup, self.stats, self.clock = plan.dedup, stats, clock
        self.detector = CutDetector() if plan.cuts else None
        self.recent: deque = deque(maxlen=2 * CUT_RULE.radius)
        self.prev_sig = None
        self.decoded = 0
        self.tail_end: Fraction | None = None     # where the last decoded frame (kept or dropped) stops showing

    def __call__(self, pairs):
        for frame, sig in pairs:
            self.decoded += 1
            self.tail_end = frame.time + frame.duration if frame.duration else None
            with self.clock("cuts"):
                keep, is_cut = self._judge(sig)
            if keep:
                yield frame, is_cut

    def _judge(self, sig) -> tuple[bool, bool]:
        if self.prev_sig is not None:
            d, _ = pair_signals(self.prev_sig, sig)
            floor = CUT_RULE.dup_rel * (float(np.median(self.recent)) if self.recent else 0)
            if self.dedup and d < max(CUT_RULE.dup_abs, floor):
                self.stats.dropped_repeats += 1
                return False, False                   # a repeat: re-timed away, the interval grows
            self.recent.append(d)
        self.prev_sig = sig
        return True, self.detector.step(sig) if self.detector else False


class Pipeline:
    """Streams a reader's frames through the engine into ``sink`` (``write(image, when)``)."""

    def __init__(self, engine: Engine, sink, plan: Plan, deep: bool, clock: StageClock):
        self.engine, self.sink, self.plan, self.deep, self.clock = engine, sink, plan, deep, clock
        self.stats, self.out = Stats(), deque()       # (time, image | job) in output order
        self.origin: Fraction | None = None
        self.unshown = 0                               # frames written, not yet on the bar (see _written)

    def run(self, reader) -> Stats:
        self.t0 = perf_counter()
        # smoothing 0: the estimate of the time left is the average rate since the start, from the first pair on
        self.bar = tqdm(total=self.plan.total, disable=not self.plan.progress, unit="frame", desc=self.plan.name,
                        dynamic_ncols=True, smoothing=0)
        shots = Shots(self.plan, self.stats, self.clock)
        windows = StreamWindows(self.engine.interp.context_frames)     # 2: each pair as its second frame comes
        prev: TimedFrame | None = None
        prev_t = last_gap = None
        for frame, is_cut in shots(signed(reader, self.clock)):
            self.stats.frames_in += 1
            with self.clock("to_device"):
                cur_t = to_tensor(frame.image, self.engine.device)
            if prev is None:
                self.origin = frame.time
            else:
                last_gap = frame.time - prev.time
            for iv in windows.push((frame, cur_t), cut=is_cut):
                self.interval(iv)
            prev, prev_t = frame, cur_t
        for iv in windows.close():
            self.interval(iv)
        if prev is None:
            raise UsageError(f"{self.plan.name}: no frames (check --start / --duration)")
        # the last frame keeps its interval: its coded duration, else the interval before it
        gap = prev.duration or last_gap or (1 / reader.info.fps if reader.info.fps else Fraction(1, 25))
        end = max(prev.time + gap, shots.tail_end or prev.time)   # repeats dropped at the end extend the last frame
        self.emit(prev, prev_t, None, None, end, False)
        self.drain(final=True)
        return self._finish(reader, shots.decoded, end)

    def interval(self, iv: Interval) -> None:
        """The output frames between two kept frames: I0 and I1 of the interval's window, and the N-2
        frames around them for a model with context."""
        k = len(iv.window) // 2
        (a, a_t), (b, b_t) = iv.window[k - 1], iv.window[k]
        around = context_of(iv.window)
        if iv.cut:
            self.stats.cuts.append(float(b.time))
        self.emit(a, a_t, b, b_t, b.time, iv.cut, torch.cat([x for _, x in around])[None] if around else None)

    def emit(self, a: TimedFrame, a_t, b: TimedFrame | None, b_t, nxt: Fraction, is_cut: bool,
             context: torch.Tensor | None = None) -> None:
        """The output frames of the interval [a, nxt): real, repeated across a cut, or made (``context``:
        (1, N-2, 3, H, W), the window around the pair)."""
        for t, when in interval_outputs(a.time, nxt, self.origin, self.plan.factor, self.plan.fps):
            if t == 0 or b is None:
                self.out.append((when, a.image))
                self.drain()             # a real frame goes out before its interval's frames are computed
            elif is_cut:
                self.out.append((when, a.image if t < Fraction(1, 2) else b.image))
            else:
                self.out.append((when, self.engine.submit(a_t, b_t, t, context)))
                self.stats.interpolated += 1
        self.drain()

    def drain(self, final: bool = False) -> None:
        """Write the frames at the head of the output queue that are ready (all with ``final``)."""
        if final:
            self.engine.flush()
        while self.out and (not isinstance(self.out[0][1], Job) or self.out[0][1].out):
            when, item = self.out.popleft()
            made = isinstance(item, Job)
            if made:
                with self.clock("to_host"):
                    item = to_image(item.out[0], self.deep)
            self.sink.write(item, when)
            self._written(made)
        if final:
            self.bar.update(self.unshown)

    def _written(self, made: bool) -> None:
        s, now = self.stats, perf_counter() - self.t0
        if s.frames_out == 0:
            s.first_frame_s = now
        if made and not s.first_interp_s:
            s.first_interp_s = now
        s.frames_out += 1
        # the bar moves from the first made frame on: a real frame alone (instant) would promise a time
        # left of seconds while the first pair takes minutes on a CPU
        self.unshown += 1
        if s.first_interp_s:
            self.bar.update(self.unshown)
            self.unshown = 0
        if s.frames_out % 10 == 0:
            self.bar.set_postfix(fps=f"{s.frames_out / now:.1f}")

    def _finish(self, reader, decoded: int, end: Fraction) -> Stats:
        self.bar.close()
        s = self.stats
        s.seconds = perf_counter() - self.t0
        s.duration_in = s.duration_out = float(end - self.origin)
        s.ended_early = ended_early(reader, decoded, end)
        return s


def run_video(opts: Options, interp: Interpolator) -> tuple[Path, Stats]:
    """Interpolate a video file or frame folder (``opts.inputs[0]``) into ``opts.output`` (default: a
    name beside the input); the path written and the run's stats."""
    src = opts.inputs[0]
    if opts.model.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(opts.model.device)      # peak_mem_mb: this run's
    reader = open_reader(opts)
    try:
        info = reader.info
        in_rate = as_rate(opts.in_fps) if opts.in_fps else info.fps
        if not in_rate and opts.fps is None:
            raise UsageError(f"{src}: the video does not say its frame rate; give --fps")
        out_rate = output_rate(in_rate, opts.factor, opts.fps)
        if in_rate and out_rate / in_rate > MAX_RATIO:
            raise UsageError(f"--fps {float(out_rate):g} is {float(out_rate / in_rate):.0f} times the input's "
                             f"{float(in_rate):g} fps; at most {MAX_RATIO}x")
        target = AtomicOutput(Path(opts.output or default_output(src, opts.factor, out_rate)), opts.overwrite,
                              opts.folder)
        try:
            interp, adapted = adapt_to_clip(opts, interp, reader) if opts.adapt else (interp, None)
        except BaseException:
            target.abort()
            raise
        path, stats = _write(opts, reader, target, compiled(interp, opts.model), out_rate)
        stats.in_fps, stats.out_fps, stats.fields = float(in_rate or 0), float(out_rate), info.fields
        stats.adapt, stats.peak_mem_mb = adapted, peak_memory_mb(opts.model.device)
        return path, stats
    finally:
        reader.close()


def _write(opts: Options, reader, target: AtomicOutput, interp: Interpolator, out_rate: Fraction):
    """Run the pipeline into ``target``'s temporary and rename it into place; on any error or
    interruption remove the temporary and re-raise."""
    sink = None
    try:
        sink = open_sink(opts, target, reader.info, out_rate, (reader.start, reader.end))
        clock = StageClock()
        bg = BackgroundWriter(sink, clock)
        m = opts.model
        engine = Engine(interp, m.device, m.batch, m.scale, m.t_mode, clock)
        span = Fraction(opts.duration) if opts.duration else reader.info.duration
        plan = Plan(opts.factor, None if opts.factor else out_rate, opts.cuts, opts.dedup, opts.progress,
                    int(np.ceil(float(span * out_rate))) if span else None, opts.inputs[0].name)
        t0 = perf_counter()
        try:
            stats = Pipeline(engine, bg, plan, reader.info.bit_depth > 8, clock).run(reader)
        finally:
            with clock("wait_encode"):
                bg.close()
        with clock("finish"):
            sink.finish()
        clock.add("decode", reader.decode_s)
        encoder = {f"{k}_s": round(v, 4) for k, v in getattr(sink, "times", {}).items()}
        stats.stages = clock.report(perf_counter() - t0) | encoder
        return target.commit(), stats
    except BaseException:
        if sink is not None:
            sink.abort()
        target.abort()
        raise


def run_pair(opts: Options, interp: Interpolator) -> list[Path]:
    """The frames at ``opts.times`` between two images, as PNGs in the folder ``opts.output`` (default
    ``<a>_<b>_between`` beside them); 16-bit images give 16-bit frames."""
    a, b = opts.inputs
    i0, i1 = read_pixels(a), read_pixels(b)
    if i0.shape != i1.shape:
        raise UsageError(f"{a} and {b} differ in size: {i0.shape[1]}x{i0.shape[0]} vs {i1.shape[1]}x{i1.shape[0]}")
    deep = np.uint16 in (i0.dtype, i1.dtype)
    dst = Path(opts.output or a.with_name(f"{a.stem}_{b.stem}_between"))
    target = AtomicOutput(dst, opts.overwrite, folder=True)
    try:
        m = opts.model
        engine = Engine(compiled(interp, m), m.device, len(opts.times), m.scale, m.t_mode)
        ta, tb = (to_tensor(x, m.device) for x in (i0, i1))
        jobs = [engine.submit(ta, tb, Fraction(t).limit_denominator(1000)) for t in opts.times]
        engine.flush()
        names = []
        for t, j in zip(opts.times, jobs):
            name = target.tmp / f"{a.stem}_t{t:.3f}.png"
            if deep:
                write_pixels(name, to_image(j.out[0], deep=True))
            else:                        # 8-bit: rounded half to even, as write_image always did here
                write_image(name, j.out[0][0].float())
            names.append(dst / name.name)
        target.commit()
        return names
    except BaseException:
        target.abort()
        raise
