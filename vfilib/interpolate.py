"""Interpolate a video, a frame folder or two images: ``vfilib interpolate IN [-o OUT] ...``.

    vfilib interpolate clip.mp4 --factor 2                  # -> clip_2x_50fps.mp4 beside it
    vfilib interpolate clip.mp4 --fps 60 -o clip_60.mp4     # any output rate (24 -> 60, VFR in)
    vfilib interpolate clip.mp4 --fps 60 --start 10 --duration 3 -o preview.mp4
    vfilib interpolate frames/ --in_fps 24 --factor 4 -o out_frames/
    vfilib interpolate a.png b.png --times 0.25 0.5 0.75 -o mids/
    vfilib interpolate anime.mp4 --dedup --fps 24          # drop repeated frames (on twos), re-time, fill in
    vfilib interpolate camcorder.dv --fps 60               # interlaced 50i: a frame per field, then 60p

(``python -m vfilib.interpolate`` is the same command.)

Which model runs: the shipped vfilib weights (``weights/vfilib.pt``, its card is
``weights/MODEL_CARD.md``) when this checkout has them: any t, and 1/4, 3/8, ... of 4x and 8x by
halving (midpoints of midpoints), which it does better than asking for t directly. Otherwise RIFE
HDv3 for 2x, 4x, 8x (it predicts t = 0.5 only and reaches 1/4, 3/8, ... by halving) and Practical-RIFE
v3.9 for other rates (e.g. 25 -> 60 fps: any t). ``--model`` picks another, ``--checkpoint`` runs a
training checkpoint.

Timing comes from the input's timestamps: output frame times are the input's (``--factor k``: k
frames per input interval) or a regular grid at ``--fps`` from the first frame; a variable-rate clip
keeps its duration, and the last frame keeps its interval, so the output lasts as long as the
input. Audio and subtitle streams are copied unchanged; 10-bit input gives 10-bit output where the
codec allows; colour tags, a phone clip's rotation and non-square pixels are kept (frames written
as images come upright). Interlaced video (DV, 50i/60i broadcast) is deinterlaced field by field
first: 25i becomes 50 frames/s, and ``--fps 60`` or ``--factor`` work from there. Across a scene
cut nothing is interpolated: the nearer real frame is repeated.

The output is written to a temporary file beside the target and renamed only when complete: an
error or Ctrl-C leaves no partial file and never touches an older one (``--overwrite`` to replace it).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import threading
import time
import uuid
import queue
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from .config import AMP_MODES, SSM_DTYPES, RuntimeConfig, amp_dtype
from .core.io import atomic_write
from .core.paths import user_cache_dir
from .data.io import IMAGE_SUFFIXES, ImageError, read_image, write_image
from .data.shots import CUT_RULE, CutDetector, FrameSignature, pair_signals
from .data.video import DEINTERLACE, StreamInfo, TimedFrame, VideoError, VideoReader, VideoWriter
from .eval.interpolators import Interpolator, bisection_path

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}
MAX_RATIO = 64            # output frames per input frame, at most (--fps 1000000 is a typo, not a request)


class UsageError(ValueError):
    """A flag or input the command cannot use; printed as one line."""


# ----------------------------------------------------------------------------- timing
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


def output_times(times: list[Fraction], factor: int | None = None, fps: float | Fraction | None = None,
                 last_interval: Fraction | None = None) -> list[tuple[int, Fraction, Fraction]]:
    """(i, t, T) for every output frame of input frames at ``times``: between input i and i+1 at t. The
    last frame keeps the interval before it (or ``last_interval``), so the output lasts as long as the input."""
    fps = Fraction(fps).limit_denominator(1_000_000) if fps else None
    ends = list(times[1:]) + [times[-1] + (last_interval or (times[-1] - times[-2] if len(times) > 1 else 1 / (fps or 25)))]
    return [(i, t, T) for i, (a, b) in enumerate(zip(times, ends))
            for t, T in interval_outputs(a, b, times[0], factor, fps)]


def is_dyadic(t: Fraction, max_depth: int = 6) -> bool:
    return t.denominator & (t.denominator - 1) == 0 and t.denominator <= 2 ** max_depth


def rate_label(rate: Fraction) -> str:
    return f"{float(rate):.2f}".rstrip("0").rstrip(".") + "fps"


# ----------------------------------------------------------------------------- inputs
class FolderReader:
    """Frames of a folder of images (sorted by name) at ``fps``."""

    start = end = None                   # no preview window (VideoReader's, in stream time)

    def __init__(self, path: Path, fps: Fraction):
        self.path = path
        self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise UsageError(f"{path}: no image frames ({', '.join(sorted(IMAGE_SUFFIXES))})")
        first = read_image(self.files[0])
        self.info = StreamInfo(first.shape[1], first.shape[0], fps, len(self.files),
                               Fraction(len(self.files)) / fps)

    def __iter__(self) -> Iterator[TimedFrame]:
        shape = None
        for i, f in enumerate(self.files):
            img = read_image(f)                      # float RGB in [0, 1]; bad files named
            if shape is not None and img.shape != shape:
                raise ImageError(f"{f}: frame size {img.shape[1]}x{img.shape[0]} differs from the first "
                                 f"frame's {shape[1]}x{shape[0]}")
            shape = img.shape
            yield TimedFrame(i, Fraction(i) / self.info.fps, (img * 255 + 0.5).astype(np.uint8))

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------- outputs
class AtomicOutput:
    """A target written under a unique temporary name beside it, renamed only by :meth:`commit`."""

    def __init__(self, path: Path, overwrite: bool, folder: bool):
        self.path, self.folder = path, folder
        if path.exists() and not overwrite:
            raise UsageError(f"{path} exists; pass --overwrite to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:8]
        self.tmp = path.with_name(f".{path.name}.{tag}.partial" + ("" if folder else path.suffix))
        if folder:
            self.tmp.mkdir()

    def commit(self) -> Path:
        if self.folder and self.path.exists():
            old = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(self.path, old)
            os.replace(self.tmp, self.path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp.exists():
            self.tmp.unlink()


class FolderWriter:
    """Numbered PNGs, turned upright by the source's display rotation (images have no such tag)."""

    def __init__(self, folder: Path, rotation: int = 0):
        self.folder, self.count, self.turns = folder, 0, rotation // 90

    def write(self, image: np.ndarray, time: Fraction) -> None:
        image = np.rot90(image, self.turns)
        scale = 65535.0 if image.dtype == np.uint16 else 255.0
        write_image(self.folder / f"{self.count:06d}.png", image.astype(np.float32) / scale)
        self.count += 1

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


class BackgroundWriter:
    """Encodes in a thread so the model never waits for the encoder; errors surface on the next call."""

    def __init__(self, sink, depth: int = 16):
        self.sink, self.q, self.error = sink, queue.Queue(depth), None
        self.thread = threading.Thread(target=self._run, daemon=True, name="vfilib-encode")
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.q.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self.sink.write(*item)
                except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                    self.error = e

    def write(self, image: np.ndarray, t: Fraction) -> None:
        if self.error is not None:
            raise self.error
        self.q.put((image, t))

    def close(self) -> None:
        self.q.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


# ----------------------------------------------------------------------------- the model side
@dataclass
class _Job:
    a: torch.Tensor
    b: torch.Tensor
    t: Fraction
    out: list = field(default_factory=list)     # filled with the result


T_MODES = ("auto", "halve", "direct")


class Engine:
    """Runs an interpolator on batches of (I0, I1, t) jobs. A dyadic t (1/4, 3/8, ...) is made by halving
    (t = 0.5 predictions, recursively) for models that predict t = 0.5 only, and with ``t_mode`` "auto"
    for those that do better that way (``prefers_halving``: the shipped vfilib model); "halve" does so for
    every model, "direct" never (any-t models only). Other t, and t = 0.5, go in batches."""

    def __init__(self, interp: Interpolator, device: torch.device, batch: int, scale: float, t_mode: str = "auto"):
        if t_mode not in T_MODES:
            raise UsageError(f"--t_mode {t_mode}: choose from {', '.join(T_MODES)}")
        self.interp, self.device, self.batch, self.scale, self.t_mode = interp, device, batch, scale, t_mode
        self.pending: list[_Job] = []
        self.memo: dict[tuple, tuple] = {}         # (id a, id b, t) -> (a, b, frame at t): the pair's midpoints

    def halves(self, t: Fraction) -> bool:
        if not self.interp.supports_any_t:
            return True
        wanted = self.t_mode == "halve" or (self.t_mode == "auto" and self.interp.prefers_halving)
        return wanted and t != Fraction(1, 2) and is_dyadic(t)

    def submit(self, a: torch.Tensor, b: torch.Tensor, t: Fraction) -> _Job:
        if not self.interp.supports_any_t and not is_dyadic(t):
            raise UsageError(f"{self.interp.name} predicts t = 0.5 only, and this output rate needs t = {t}; "
                             "use --model vfilib or --model rife_v39 (any t), or a --factor of 2, 4, 8")
        job = _Job(a, b, t)
        self.pending.append(job)
        if len(self.pending) >= self.batch:
            self.flush()
        return job

    def flush(self) -> None:
        jobs, self.pending = self.pending, []
        if not jobs:
            return
        half_t = Fraction(1, 2)
        direct = []
        for j in jobs:
            if self.halves(j.t):
                continue
            made = self._made(j, half_t) if j.t == half_t else None
            if made is not None:                  # halving made it already (the pair's earlier batch)
                j.out.append(made)
            else:
                direct.append(j)
        for j, o in zip(direct, self._call([j.a for j in direct], [j.b for j in direct], [float(j.t) for j in direct])):
            j.out.append(o)
            if j.t == half_t:
                self._keep(j, half_t, o)
        # halving, depth by depth: every pair's quarter points in one batch, then the eighths, ...; each
        # midpoint of a pair is made once, here or in an earlier batch of the same pair (with --batch 1
        # every job is a batch), so 4x costs 3 frames per pair and 8x 7, as directly
        halving = [j for j in jobs if self.halves(j.t)]
        paths = {id(j): bisection_path(j.t) for j in halving}
        for depth in range(max((len(p) for p in paths.values()), default=0)):
            wanted: dict[tuple, tuple] = {}
            for j in halving:
                path = paths[id(j)]
                if depth >= len(path) or self._made(j, path[depth][2]) is not None:
                    continue
                lo, hi, t = path[depth]
                wanted.setdefault((id(j.a), id(j.b), t), (j, t, j.a if lo == 0 else self._made(j, lo),
                                                          j.b if hi == 1 else self._made(j, hi)))
            todo = list(wanted.values())
            for (j, t, _, _), o in zip(todo, self._call([p[2] for p in todo], [p[3] for p in todo], [0.5] * len(todo))):
                self._keep(j, t, o)
        for j in halving:
            j.out.append(self._made(j, j.t))
        # pairs arrive in order: only the last job's pair can have more jobs in the next batch
        last = jobs[-1]
        self.memo = {k: v for k, v in self.memo.items() if v[0] is last.a and v[1] is last.b}

    def _call(self, a: list[torch.Tensor], b: list[torch.Tensor], t: list[float]) -> list[torch.Tensor]:
        """The model on the pairs (each (1, 3, H, W)) at ``t``, ``batch`` pairs per call; (1, 3, H, W) each."""
        outs = []
        for k in range(0, len(t), self.batch):
            y = self.interp(torch.cat(a[k:k + self.batch]), torch.cat(b[k:k + self.batch]),
                            torch.tensor(t[k:k + self.batch], device=self.device), self.scale)
            self._check(y)
            outs += [o[None] for o in y]
        return outs

    def _made(self, job: _Job, t: Fraction) -> torch.Tensor | None:
        """The frame at ``t`` of the job's pair if it was made already (the pair's tensors, not their
        ids, decide: a freed tensor's id can come back)."""
        hit = self.memo.get((id(job.a), id(job.b), t))
        return hit[2] if hit is not None and hit[0] is job.a and hit[1] is job.b else None

    def _keep(self, job: _Job, t: Fraction, frame: torch.Tensor) -> None:
        self.memo[(id(job.a), id(job.b), t)] = (job.a, job.b, frame)

    def _check(self, x: torch.Tensor) -> None:
        if not torch.isfinite(x.float().sum()):        # one reduction: NaN / inf anywhere make the sum so
            raise RuntimeError(f"{self.interp.name} produced non-finite pixels (NaN/inf); nothing was written "
                               "under the output name")


def load_method(model: str | None, checkpoint: str | None, device: torch.device, amp: str = "fp32", tile: int = 0,
                graph: bool = False, compile: bool = False, ssm_dtype: str = "fp32") -> Interpolator:
    """The interpolator the command runs (see :func:`default_model`)."""
    from .eval.peers import PEERS, from_checkpoint, make_peer
    from .models.weights.checkpoint import CheckpointError

    model = model or default_model()
    vfilib_model = checkpoint is not None or model == "vfilib"
    if not vfilib_model and (graph or compile or ssm_dtype != "fp32" or tile):
        raise UsageError("--graph, --compile, --ssm_dtype and --tile apply to vfilib models, not to "
                         f"--model {model}")
    if (graph or compile) and device.type != "cuda":
        raise UsageError(f"--graph / --compile need a CUDA --device, got {device}")
    if not vfilib_model:
        if model not in PEERS:
            raise UsageError(f"--model {model}: choose from {sorted(PEERS)}")
        return make_peer(model, device)
    try:
        it = from_checkpoint(checkpoint, device, amp_dtype(amp), graph=graph,
                             runtime=RuntimeConfig(ssm_dtype=ssm_dtype))
    except CheckpointError as e:
        raise UsageError(str(e)) from None
    it.tile = tile
    if compile:
        cache = user_cache_dir() / "torchinductor"
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache))     # compiled graphs persist across runs
        os.environ.setdefault("TRITON_CACHE_DIR", str(user_cache_dir() / "triton"))
        it.model = torch.compile(it.model, dynamic=False)
    return it


def default_model(any_t: bool = False) -> str:
    """``vfilib`` when this checkout ships weights; else RIFE HDv3 (the better peer on real footage),
    or Practical-RIFE v3.9 when the output needs timesteps other than 1/2, 1/4, 3/8, ... (any_t)."""
    from .models.weights.checkpoint import SHIPPED

    if SHIPPED.is_file():
        return "vfilib"
    return "rife_v39" if any_t else "rife_hdv3"


def needs_any_t(factor: int | None, fps: float | None, times: list[float] | None) -> bool:
    """Whether the requested outputs include a t that bisection cannot reach."""
    if times:
        return any(not is_dyadic(Fraction(t).limit_denominator(1000)) for t in times)
    if fps is not None:
        return True                       # a free output rate: t depends on the input's timestamps
    return bool(factor) and factor & (factor - 1) != 0


# ----------------------------------------------------------------------------- the loop
@dataclass
class Stats:
    frames_in: int = 0
    frames_out: int = 0
    interpolated: int = 0
    dropped_repeats: int = 0
    cuts: list = field(default_factory=list)
    fields: str | None = None           # 'tff' / 'bff': interlaced input, read a field at a time (in_fps: fields/s)
    in_fps: float = 0.0
    out_fps: float = 0.0
    duration_in: float = 0.0
    duration_out: float = 0.0
    seconds: float = 0.0
    first_frame_s: float = 0.0          # the first frame written (a real one), from the start of decoding
    first_interp_s: float = 0.0         # the first interpolated frame written (model warm-up and compile in it)
    load_s: float = 0.0                 # loading the model, before decoding starts


def _to_tensor(img: np.ndarray, device) -> torch.Tensor:
    """(H, W, 3) uint8 / uint16 -> (1, 3, H, W) float in [0, 1] on ``device``; 8-bit frames travel as
    bytes and become floats there (a quarter of the host-to-device copy)."""
    if img.dtype == np.uint8:
        return torch.from_numpy(img).to(device).permute(2, 0, 1)[None].float().div_(255.0)
    return torch.from_numpy(img.astype(np.float32) / 65535.0).to(device).permute(2, 0, 1)[None]


def _to_image(x: torch.Tensor, deep: bool) -> np.ndarray:
    """(1, 3, H, W) float -> (H, W, 3) uint8 / uint16, rounded on the frame's device (8-bit frames come
    back to the host as bytes)."""
    y = (x[0].float().clamp(0, 1) * (65535 if deep else 255) + 0.5).permute(1, 2, 0)
    if deep:
        return y.cpu().numpy().astype(np.uint16)
    return y.to(torch.uint8).cpu().numpy()


def _u8(img: np.ndarray) -> np.ndarray:
    return img if img.dtype == np.uint8 else (img >> 8).astype(np.uint8)


def _signed(frames, ahead: int = 4):
    """``(frame, FrameSignature)`` pairs; the signatures (thumbnail, colour histogram: the cut and
    repeat signals) are made ``ahead`` frames early in a worker thread (OpenCV releases the GIL), off
    the thread that feeds the model."""
    with ThreadPoolExecutor(1, thread_name_prefix="vfilib-signature") as pool:
        pending: deque = deque()
        for frame in frames:
            pending.append((frame, pool.submit(FrameSignature.of, _u8(frame.image))))
            if len(pending) > ahead:
                first, sig = pending.popleft()
                yield first, sig.result()
        while pending:
            first, sig = pending.popleft()
            yield first, sig.result()


def run(src, reader, sink, engine: Engine, factor: int | None, fps: Fraction | None, cuts: bool = True,
        dedup: bool = False, progress: bool = True, total: int | None = None) -> Stats:
    """Stream the reader's frames through the engine into ``sink`` (``write(image, time)``)."""
    stats = Stats()
    t0 = time.perf_counter()
    detector = CutDetector() if cuts else None
    out: deque = deque()                 # (time, image | job) in output order
    deep = reader.info.bit_depth > 8
    bar = tqdm(total=total, disable=not progress, unit="frame", desc=f"{Path(src).name}", dynamic_ncols=True)
    prev: TimedFrame | None = None
    prev_t = prev_sig = None
    recent: deque = deque(maxlen=2 * CUT_RULE.radius)
    origin = last_gap = None

    def drain(final: bool = False) -> None:
        if final:
            engine.flush()
        while out and (not isinstance(out[0][1], _Job) or out[0][1].out):
            when, item = out.popleft()
            img = _to_image(item.out[0], deep) if isinstance(item, _Job) else item
            sink.write(img, when)
            if stats.frames_out == 0:
                stats.first_frame_s = time.perf_counter() - t0
            if isinstance(item, _Job) and not stats.first_interp_s:
                stats.first_interp_s = time.perf_counter() - t0
            stats.frames_out += 1
            bar.update(1)
            if stats.frames_out % 10 == 0:
                bar.set_postfix(fps=f"{stats.frames_out / (time.perf_counter() - t0):.1f}")

    def emit(a: TimedFrame, a_t, b: TimedFrame | None, b_t, nxt: Fraction, is_cut: bool) -> None:
        for t, when in interval_outputs(a.time, nxt, origin, factor, fps):
            if t == 0 or b is None:
                out.append((when, a.image))
                drain()                  # a real frame goes out before its interval's frames are computed
            elif is_cut:
                out.append((when, a.image if t < Fraction(1, 2) else b.image))
            else:
                out.append((when, engine.submit(a_t, b_t, t)))
                stats.interpolated += 1
        drain()

    tail_end = None                      # where the last decoded frame (kept or dropped) stops showing
    for frame, sig in _signed(reader):
        tail_end = frame.time + frame.duration if frame.duration else None
        if prev is not None:
            d, _ = pair_signals(prev_sig, sig)
            if dedup and d < max(CUT_RULE.dup_abs, CUT_RULE.dup_rel * (float(np.median(recent)) if recent else 0)):
                stats.dropped_repeats += 1
                continue                          # a repeat: re-timed away, the interval grows
            recent.append(d)
        is_cut = detector.step(sig) if detector else False
        stats.frames_in += 1
        cur_t = _to_tensor(frame.image, engine.device)
        if prev is None:
            origin = frame.time
        else:
            last_gap = frame.time - prev.time
            if is_cut:
                stats.cuts.append(float(frame.time))
            emit(prev, prev_t, frame, cur_t, frame.time, is_cut)
        prev, prev_t, prev_sig = frame, cur_t, sig
    if prev is None:
        raise UsageError(f"{src}: no frames (check --start / --duration)")
    # the last frame keeps its interval: its coded duration, else the interval before it
    gap = prev.duration or last_gap or (1 / reader.info.fps if reader.info.fps else Fraction(1, 25))
    end = max(prev.time + gap, tail_end or prev.time)   # repeats dropped at the end extend the last frame
    emit(prev, prev_t, None, None, end, False)
    drain(final=True)
    bar.close()
    stats.seconds = time.perf_counter() - t0
    stats.duration_in = float(end - origin)
    stats.duration_out = stats.duration_in
    return stats


def interpolate_file(src: Path, dst: Path | None, interp: Interpolator, factor: int | None = None,
                     fps: float | None = None, in_fps: float | None = None, device="cpu", batch: int = 1,
                     scale: float = 1.0, cuts: bool = True, dedup: bool = False, start: float = 0.0,
                     duration: float | None = None, codec: str | None = None, crf: int = 18,
                     overwrite: bool = False, progress: bool = True, t_mode: str = "auto",
                     deinterlace: str = "auto") -> tuple[Path, Stats]:
    """Interpolate a video file or frame folder into ``dst`` (default: a name beside ``src``).
    Interlaced video is read a field at a time (``deinterlace``: auto | on | off), so 25i is 50 frames/s in."""
    src = Path(src)
    device = torch.device(device)
    if src.is_dir():
        if not in_fps:
            raise UsageError(f"{src} is a frame folder: give its rate with --in_fps")
        reader = FolderReader(src, Fraction(in_fps).limit_denominator(1_000_000))
    elif src.is_file():
        reader = VideoReader(src, start, duration, deinterlace=deinterlace)
    else:
        raise UsageError(f"{src}: no such video file or frame folder")
    info = reader.info
    in_rate = Fraction(in_fps).limit_denominator(1_000_000) if in_fps else info.fps
    if not in_rate and fps is None:
        raise UsageError(f"{src}: the video does not say its frame rate; give --fps")
    out_rate = in_rate * factor if factor else Fraction(fps).limit_denominator(1_000_000)
    if in_rate and out_rate / in_rate > MAX_RATIO:
        raise UsageError(f"--fps {float(out_rate):g} is {float(out_rate / in_rate):.0f} times the input's "
                         f"{float(in_rate):g} fps; at most {MAX_RATIO}x")
    if dst is None:
        tag = f"{factor}x_{rate_label(out_rate)}" if factor else rate_label(out_rate)
        dst = src.with_name(f"{src.stem}_{tag}" + ("" if src.is_dir() else ".mp4"))
    dst = Path(dst)
    folder = dst.suffix.lower() not in VIDEO_SUFFIXES
    target = AtomicOutput(dst, overwrite, folder)
    sink = None
    try:
        sink = FolderWriter(target.tmp, info.rotation) if folder else VideoWriter(
            target.tmp, info, out_rate, codec, crf, source=src if src.is_file() else None,
            window=(reader.start, reader.end))
        if start and not src.is_file():
            raise UsageError("--start / --duration apply to video files")
        bg = BackgroundWriter(sink)
        span = Fraction(duration) if duration else info.duration
        total = int(math.ceil(float(span * out_rate))) if span else None
        engine = Engine(interp, device, batch, scale, t_mode)
        try:
            stats = run(src, reader, bg, engine, factor, out_rate if not factor else None, cuts, dedup, progress, total)
        finally:
            bg.close()
        sink.finish()
        stats.in_fps, stats.out_fps, stats.fields = float(in_rate or 0), float(out_rate), info.fields
        return target.commit(), stats
    except BaseException:
        if sink is not None:
            sink.abort()
        target.abort()
        raise
    finally:
        reader.close()


def interpolate_pair(a: Path, b: Path, times: list[float], dst: Path, interp: Interpolator, device="cpu",
                     scale: float = 1.0, overwrite: bool = False, t_mode: str = "auto") -> list[Path]:
    """The frames at ``times`` between two images, as PNGs in the folder ``dst``."""
    i0, i1 = read_image(a), read_image(b)
    if i0.shape != i1.shape:
        raise UsageError(f"{a} and {b} differ in size: {i0.shape[1]}x{i0.shape[0]} vs {i1.shape[1]}x{i1.shape[0]}")
    target = AtomicOutput(Path(dst), overwrite, folder=True)
    try:
        engine = Engine(interp, torch.device(device), len(times), scale, t_mode)
        ta, tb = (torch.from_numpy(x).permute(2, 0, 1)[None].to(device) for x in (i0, i1))
        jobs = [engine.submit(ta, tb, Fraction(t).limit_denominator(1000)) for t in times]
        engine.flush()
        names = []
        for t, j in zip(times, jobs):
            name = target.tmp / f"{a.stem}_t{t:.3f}.png"
            write_image(name, j.out[0][0].permute(1, 2, 0).float().cpu().numpy())
            names.append(Path(dst) / name.name)
        target.commit()
        return names
    except BaseException:
        target.abort()
        raise


# ----------------------------------------------------------------------------- command line
def parser() -> argparse.ArgumentParser:
    from .eval.peers import PEERS

    default = default_model()
    ap = argparse.ArgumentParser(prog="vfilib interpolate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", type=Path, help="a video file, a folder of frames, or two images")
    ap.add_argument("-o", "--output", type=Path, help="video file (.mp4, .mkv, ...) or folder "
                                                      "(default: <input>_<factor>x_<fps>fps.mp4 beside the input)")
    ap.add_argument("--factor", type=int, help="frames per input interval (2, 4, 8, ...); default 2")
    ap.add_argument("--fps", type=float, help="target frame rate instead of --factor (e.g. 60)")
    ap.add_argument("--times", type=float, nargs="+", help="two-image mode: the t values to make (default 0.5)")
    ap.add_argument("--in_fps", type=float, help="rate of a frame folder (a video's own is read from it)")
    ap.add_argument("--model", choices=sorted(PEERS), default=None,
                    help=f"the method (default here: {default}"
                         + (", the shipped weights, any t; on a CPU rife_hdv3 is several times faster"
                            if default == "vfilib" else " for 2x/4x/8x, rife_v39 for other rates; no shipped "
                            "vfilib weights in this checkout") + ")")
    ap.add_argument("--checkpoint", help="a vfilib training checkpoint (runs/<exp>/best.pt) instead of --model")
    ap.add_argument("--start", type=float, default=0.0, help="seconds into the video to start (preview)")
    ap.add_argument("--duration", type=float, help="seconds of video to process (preview)")
    ap.add_argument("--dedup", action="store_true", help="drop repeated input frames (animation on twos, "
                                                          "pulldown) and re-time the rest")
    ap.add_argument("--no_cuts", action="store_true", help="interpolate across scene cuts too")
    ap.add_argument("--deinterlace", default="auto", choices=DEINTERLACE,
                    help="interlaced video (DV, broadcast 50i/60i) is read a field at a time, each made a whole "
                    "frame (FFmpeg's bwdif), so 25i is 50 frames/s before interpolating: auto (when the file says "
                    "it is interlaced), on (untagged footage), off")
    ap.add_argument("--codec", help="video encoder (default libx264; e.g. libx265, libsvtav1, ffv1)")
    ap.add_argument("--crf", type=int, default=18, help="quality for x264/x265, 0 (lossless) .. 51 (default 18)")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing output")
    ap.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: cuda when there is a GPU)")
    ap.add_argument("--batch", type=int, help="frame pairs per model call (default 8 on CUDA, 1 on CPU)")
    ap.add_argument("--t_mode", default="auto", choices=T_MODES,
                    help="how 1/4, 3/8, ... are made: auto (by halving for vfilib models, which do better that "
                    "way, and for RIFE HDv3, which predicts 1/2 only; directly for the others), halve, direct")
    ap.add_argument("--scale", type=float, default=1.0, help="vfilib/RIFE working scale: 0.5 for 2K, 0.25 for 4K")
    ap.add_argument("--tile", type=int, default=0, help="vfilib: full-resolution stage in tiles of this size")
    ap.add_argument("--amp", default="fp32", choices=[a for a in AMP_MODES if a != "off"])
    ap.add_argument("--graph", action="store_true", help="CUDA: capture the model per frame size, replay it")
    ap.add_argument("--compile", action="store_true", help="CUDA: torch.compile (cache kept in ~/.cache/vfilib)")
    ap.add_argument("--ssm_dtype", default="fp32", choices=SSM_DTYPES,
                    help="autocast: with --amp bf16 the SSD runs on bf16 inputs (faster)")
    ap.add_argument("--stats", type=Path, help="also write the run's summary (frames, times, fps) to this JSON file")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def check(args, ap: argparse.ArgumentParser) -> tuple[torch.device, str]:
    """Validate every flag; returns (device, mode) with mode video | pair."""
    def bad(msg):
        ap.error(msg)

    finite = lambda v: v is not None and math.isfinite(v)  # noqa: E731
    if len(args.inputs) == 2:
        mode = "pair"
        if args.factor or args.fps:
            bad("two images take --times, not --factor / --fps")
        args.times = args.times or [0.5]
        if any(not (finite(t) and 0 < t < 1) for t in args.times):
            bad(f"--times must lie strictly between 0 and 1, got {args.times}")
    elif len(args.inputs) == 1:
        mode = "video"
        if args.times:
            bad("--times is for two images")
        if args.factor is not None and args.fps is not None:
            bad("give --factor or --fps, not both")
        if args.factor is None and args.fps is None:
            args.factor = 2
        if args.factor is not None and not 2 <= args.factor <= MAX_RATIO:
            bad(f"--factor must be an integer from 2 to {MAX_RATIO}, got {args.factor}")
        if args.fps is not None and not (finite(args.fps) and 0 < args.fps <= 1000):
            bad(f"--fps must be a number in (0, 1000], got {args.fps}")
    else:
        bad(f"give one video / frame folder, or two images (got {len(args.inputs)} inputs)")
    for p in args.inputs:
        if not p.exists():
            bad(f"{p}: no such file or folder")
    if args.in_fps is not None and not (finite(args.in_fps) and 0 < args.in_fps <= 1000):
        bad(f"--in_fps must be a number in (0, 1000], got {args.in_fps}")
    if not (finite(args.scale) and 0 < args.scale <= 1):
        bad(f"--scale must lie in (0, 1], got {args.scale}")
    if args.tile < 0 or 0 < args.tile < 64:
        bad(f"--tile must be 0 (off) or at least 64, got {args.tile}")
    if not 0 <= args.crf <= 51:
        bad(f"--crf must lie in 0..51, got {args.crf}")
    if args.start < 0 or not finite(args.start):
        bad(f"--start must be >= 0, got {args.start}")
    if args.duration is not None and not (finite(args.duration) and args.duration > 0):
        bad(f"--duration must be > 0, got {args.duration}")
    if args.batch is not None and args.batch < 1:
        bad(f"--batch must be at least 1, got {args.batch}")
    if args.checkpoint and not Path(args.checkpoint).is_file():
        bad(f"--checkpoint {args.checkpoint}: no such file")
    if args.model and args.checkpoint:
        bad("give --model or --checkpoint, not both")
    name = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        bad(f"--device {name}: not a device name (cpu, cuda, cuda:0, ...)")
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        bad(f"--device {name}: no such CUDA GPU on this machine"
            + ("" if torch.cuda.is_available() else " (torch sees none); use --device cpu"))
    if device.type not in ("cpu", "cuda"):
        bad(f"--device {name}: vfilib runs on cpu or cuda")
    if args.codec:
        import av
        if args.codec not in av.codecs_available:
            bad(f"--codec {args.codec}: not in this PyAV build")
    args.batch = args.batch or (8 if device.type == "cuda" else 1)
    return device, mode


def main(argv=None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    device, mode = check(args, ap)
    if not args.model and not args.checkpoint:
        args.model = default_model(needs_any_t(args.factor, args.fps, args.times))
    try:
        t_load = time.perf_counter()
        interp = load_method(args.model, args.checkpoint, device, args.amp, args.tile, args.graph, args.compile,
                             args.ssm_dtype)
        load_s = time.perf_counter() - t_load
        if args.t_mode == "direct" and not interp.supports_any_t:
            raise UsageError(f"--t_mode direct: {interp.name} predicts t = 0.5 only (use auto or halve)")
        label = "checkpoint " + args.checkpoint if args.checkpoint else args.model
        if mode == "pair":
            a, b = args.inputs
            dst = args.output or a.with_name(f"{a.stem}_{b.stem}_between")
            names = interpolate_pair(a, b, args.times, dst, interp, device, args.scale, args.overwrite, args.t_mode)
            print(f"[vfilib] {label}: {len(names)} frame(s) between {a.name} and {b.name} -> {dst}")
            return 0
        path, s = interpolate_file(args.inputs[0], args.output, interp, args.factor, args.fps, args.in_fps, device,
                                   args.batch, args.scale, not args.no_cuts, args.dedup, args.start, args.duration,
                                   args.codec, args.crf, args.overwrite, not args.quiet, args.t_mode,
                                   args.deinterlace)
        s.load_s = load_s
        if args.stats:
            atomic_write(args.stats, lambda f: json.dump({"model": label, "device": str(device), "output": str(path),
                                                          **asdict(s)}, f, indent=1))
    except UsageError as e:
        ap.error(str(e))
    except (VideoError, ImageError, RuntimeError, OSError) as e:
        print(f"vfilib interpolate: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nvfilib interpolate: interrupted; no output was written (an older file, if any, is untouched)",
              file=sys.stderr)
        return 130
    print(f"[vfilib] {label}: {s.frames_in} frames in ({s.in_fps:.3f} fps"
          + (f", interlaced ({s.fields}): a frame per field" if s.fields else "")
          + (f", {s.dropped_repeats} repeats dropped" if s.dropped_repeats else "")
          + f") -> {s.frames_out} frames out ({s.out_fps:.3f} fps), {s.interpolated} interpolated, "
          f"{len(s.cuts)} scene cut(s) kept; {s.duration_out:.2f} s of video in {s.seconds:.1f} s "
          f"({s.frames_out / max(s.seconds, 1e-9):.1f} output frames/s, first interpolated frame after {s.first_interp_s:.2f} s) "
          f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
