"""The command line: ``vfilib interpolate`` (``python -m vfilib.interpolate``): flags, messages, exit status.

Exit status: 0 done, 1 an input or the disk failed (the message names it), 2 a usage error (one
line), 130 interrupted (Ctrl-C or SIGTERM: nothing written, an older output untouched).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from ..config import AMP_MODES, SSM_DTYPES
from ..core.io import atomic_write
from ..data.io import ImageError
from ..data.video import DEINTERLACE, VideoError
from ..eval.peers import PEERS
from .encoder import PRESETS
from .methods import cpu_advice, load_method, times_help
from .options import T_MODES, AdaptOptions, Options, UsageError, adaptable, default_model, validate
from .pipeline import run_pair, run_video
from .stats import Stats
from .timing import needs_any_t


DESCRIPTION = """Interpolate a video, a frame folder or two images: ``vfilib interpolate IN [-o OUT] ...``.

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
HDv3 for 2x, 4x, 8x and Practical-RIFE v3.9 for other rates (e.g. 25 -> 60 fps). ``--model`` picks
another, ``--checkpoint`` runs a training checkpoint. Models that predict t = 1/2 only (RIFE HDv3
among them) make 2x, 4x, 8x by halving but refuse ``--fps 60`` or ``--factor 3``: the end of this
help lists which model makes which times. On a CPU a model takes from a fraction of a second to
several seconds per frame; the progress bar estimates the time left from the first pair on, and
the tool says once which faster model exists and what it costs in quality.

Timing comes from the input's timestamps: output frame times are the input's (``--factor k``: k
frames per input interval) or a regular grid at ``--fps`` from the first frame; a variable-rate clip
keeps its duration, and the last frame keeps its interval, so the output lasts as long as the
input. Audio and subtitle streams are copied unchanged; 10-bit input gives 10-bit output where the
codec allows; colour tags, a phone clip's rotation and non-square pixels are kept (frames written
as images come upright). Interlaced video (DV, 50i/60i broadcast) is deinterlaced field by field
first: 25i becomes 50 frames/s, and ``--fps 60`` or ``--factor`` work from there. Across a scene
cut nothing is interpolated: the nearer real frame is repeated.

The output is written to a temporary file beside the target and renamed only when complete: an
error, Ctrl-C or SIGTERM leaves no partial file and never touches an older one (``--overwrite`` to
replace it); a partial file of a run killed outright is removed by the next run on the same target.
"""


class _Parser(argparse.ArgumentParser):
    def format_help(self) -> str:
        """The models' times are asked of the registry only when the help is shown."""
        return super().format_help() + f"\nwhich models make which times: {times_help()}\n"


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="vfilib interpolate", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", type=Path, help="a video file, a folder of frames, or two images")
    ap.add_argument("-o", "--output", help="a video file (.mp4, .mkv, ...) or a folder for PNG frames, written with "
                    "a trailing / (default: <input>_<factor>x_<fps>fps.mp4 beside the input)")
    ap.add_argument("--factor", type=int, help="frames per input interval (2, 4, 8, ...); default 2")
    ap.add_argument("--fps", type=float, help="target frame rate instead of --factor (e.g. 60; needs a model that "
                    "makes any t, see below)")
    ap.add_argument("--times", type=float, nargs="+", help="two-image mode: the t values to make (default 0.5)")
    ap.add_argument("--in_fps", type=float, help="rate of a frame folder (a video's own is read from it)")
    ap.add_argument("--model", choices=list(PEERS), default=None, help=_model_help())
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
    _encoder_flags(ap)
    ap.add_argument("--overwrite", action="store_true", help="replace an existing output")
    _runtime_flags(ap)
    _adapt_flags(ap)
    ap.add_argument("--stats", type=Path, help="also write the run's summary (frames, times, fps, seconds per "
                    "pipeline stage) to this JSON file")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def _model_help() -> str:
    default = default_model()
    return (f"the method (default here: {default}" + (
        ", the shipped weights, any t" if default == "vfilib" else
        f" for 2x/4x/8x, {default_model(True)} for other rates; no shipped vfilib weights in this checkout")
        + "); which make which times: see the end of this help")


def _encoder_flags(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--codec", help="video encoder (default libx264; e.g. libx265, libsvtav1, ffv1)")
    ap.add_argument("--crf", type=int, default=18, help="quality for x264/x265, 0 (lossless) .. 51 (default 18)")
    ap.add_argument("--preset", default="medium", metavar="PRESET",
                    help=f"x264/x265 speed against size ({', '.join(PRESETS)}; default medium). Faster ones cost "
                    "bytes or quality at the same --crf: on 720p, superfast takes a quarter of medium's encoder "
                    "time for 29%% more bytes, ultrafast a sixth for 3.3x the bytes")
    ap.add_argument("--threads", type=int, default=0, help="encoder threads (default 0: the encoder's choice, "
                    "about 1.5 per core)")


def _runtime_flags(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: cuda when there is a GPU)")
    ap.add_argument("--batch", type=int, help="frame pairs per model call (default 8 on CUDA, 1 on CPU)")
    ap.add_argument("--t_mode", default="auto", choices=T_MODES,
                    help="how 1/4, 3/8, ... are made: auto (by halving for vfilib models, which do better that "
                    "way, and for models that predict 1/2 only; directly for the others), halve, direct")
    ap.add_argument("--scale", type=float, default=1.0, help="the model's working scale: 0.5 for 2K, 0.25 for 4K "
                    "(RIFE models: 1, 0.5 or 0.25; vfilib models: any in (0, 1])")
    ap.add_argument("--tile", type=int, default=0, help="vfilib: full-resolution stage in tiles of this size")
    ap.add_argument("--amp", default="fp32", choices=[a for a in AMP_MODES if a != "off"])
    ap.add_argument("--graph", action="store_true", help="CUDA: capture the model per frame size, replay it")
    ap.add_argument("--compile", action="store_true", help="CUDA: torch.compile (cache kept in ~/.cache/vfilib)")
    ap.add_argument("--ssm_dtype", default="fp32", choices=SSM_DTYPES,
                    help="autocast: with --amp bf16 the SSD runs on bf16 inputs (faster)")


def _adapt_flags(ap: argparse.ArgumentParser) -> None:
    d = AdaptOptions()
    ap.add_argument("--adapt", action="store_true", help="first fine-tune a copy of the model briefly on triplets "
                    "cut from this clip (its own motion, noise and blur; frames of one shot, never across a cut or "
                    f"a repeated frame): {', '.join(adaptable())} or --checkpoint. It costs training time before "
                    "the first frame: on a CPU many seconds per step (cap it with --adapt_seconds)")
    ap.add_argument("--adapt_steps", type=int, help=f"optimizer steps of --adapt (default {d.steps}; 0: until "
                    "--adapt_seconds)")
    ap.add_argument("--adapt_seconds", type=float, help="a time budget for --adapt's training, in seconds "
                    "(default: none; it stops at whichever limit comes first)")
    ap.add_argument("--adapt_frames", type=int, help=f"frames --adapt learns from, in runs of consecutive frames "
                    f"spread over the clip (default {d.frames})")


def options(inputs, **flags) -> Options:
    """The options of a run from Python: the command's defaults, ``flags`` by their names (``factor=2``,
    ``output="out.mp4"``, ``quiet=True``), validated as the command line is."""
    ns = parser().parse_args([str(p) for p in inputs])
    for k, v in flags.items():
        if not hasattr(ns, k):
            raise TypeError(f"unknown flag {k!r}")
        setattr(ns, k, str(v) if k == "output" and v is not None else v)
    return validate(ns)


@contextlib.contextmanager
def _sigterm_interrupts():
    """SIGTERM (a service manager, ``kill``, a cluster's time limit) stops the run as Ctrl-C does."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv=None) -> int:
    ap = parser()
    with _sigterm_interrupts():
        try:
            opts = validate(ap.parse_args(argv))
            return _run(opts)
        except UsageError as e:
            ap.error(str(e))
        except (VideoError, ImageError, RuntimeError, OSError) as e:
            print(f"vfilib interpolate: error: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nvfilib interpolate: interrupted; no output was written (an older file, if any, is untouched)",
                  file=sys.stderr)
            return 130


def _run(opts: Options) -> int:
    t_load = time.perf_counter()
    interp = load_method(opts.model)
    load_s = time.perf_counter() - t_load
    label = opts.model.label
    if opts.model.device.type == "cpu" and opts.model.name:
        advice = cpu_advice(opts.model.name, needs_any_t(opts.factor, opts.fps, opts.times))
        if advice:
            print(f"[vfilib] {advice}", file=sys.stderr)
    if opts.mode == "pair":
        names = run_pair(opts, interp)
        a, b = opts.inputs
        print(f"[vfilib] {label}: {len(names)} frame(s) between {a.name} and {b.name} -> {names[0].parent}")
        return 0
    path, s = run_video(opts, interp)
    s.load_s = load_s
    if s.ended_early:
        print(f"vfilib interpolate: warning: {s.ended_early}", file=sys.stderr)
    if opts.stats:
        atomic_write(opts.stats, lambda f: json.dump({"model": label, "device": str(opts.model.device),
                                                      "output": str(path), **asdict(s)}, f, indent=1))
    print(_summary(label, s, path))
    return 0


def _summary(label: str, s: Stats, path: Path) -> str:
    return (f"[vfilib] {label}: {s.frames_in} frames in ({s.in_fps:.3f} fps"
            + (f", interlaced ({s.fields}): a frame per field" if s.fields else "")
            + (f", {s.dropped_repeats} repeats dropped" if s.dropped_repeats else "")
            + f") -> {s.frames_out} frames out ({s.out_fps:.3f} fps), {s.interpolated} interpolated, "
            f"{len(s.cuts)} scene cut(s) kept; {s.duration_out:.2f} s of video in {s.seconds:.1f} s "
            f"({s.frames_out / max(s.seconds, 1e-9):.1f} output frames/s, first interpolated frame after "
            f"{s.first_interp_s:.2f} s) -> {path}")

