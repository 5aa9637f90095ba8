"""The run's options: made once, by validating the command line, then passed down unchanged.

:func:`validate` turns argparse's namespace into an :class:`Options` (frozen) or raises
:class:`UsageError` naming the flag and the problem; defaults that depend on the machine (device,
batch) or on the request (the model) are settled here, so that nothing downstream guesses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.io import IMAGE_SUFFIXES
from ..eval.peers import PEERS
from ..models.weights.checkpoint import SHIPPED
from .encoder import PRESETS, Encoding
from .timing import MAX_RATIO, needs_any_t

VIDEO_SUFFIXES = (".avi", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg", ".ts", ".webm")
T_MODES = ("auto", "halve", "direct")
SHIPPED_MODEL = "vfilib"        # the peer entry of this repository's shipped weights
HALVING_DEFAULT = "rife_hdv3"   # without shipped weights: the better peer on real footage, t = 1/2 (halving)
ANY_T_DEFAULT = "rife_v39"      # ... and for outputs that need other t (e.g. 25 -> 60 fps)


class UsageError(ValueError):
    """A flag or input the command cannot use; printed as one line (exit status 2)."""


@dataclass(frozen=True)
class ModelOptions:
    """Which method runs and how: ``name`` a peer of the registry (None with ``checkpoint``)."""

    name: str | None
    checkpoint: Path | None
    device: torch.device
    batch: int                 # frame pairs per model call
    scale: float               # the model's working scale (flow at 1/scale)
    t_mode: str                # auto | halve | direct: how dyadic t are made
    amp: str
    tile: int
    graph: bool
    compile: bool
    ssm_dtype: str

    @property
    def label(self) -> str:
        return f"checkpoint {self.checkpoint}" if self.checkpoint else self.name


@dataclass(frozen=True)
class AdaptOptions:
    """``--adapt``: fine-tune a copy of the model on the input clip first (:mod:`vfilib.train.adapt`): at
    most ``steps`` optimizer steps (0: no limit) and ``seconds`` of training (0: no limit), on at most
    ``frames`` frames read in runs of consecutive frames spread over the clip (or its window)."""

    steps: int = 100
    seconds: float = 0.0
    frames: int = 48


@dataclass(frozen=True)
class Options:
    """One run of the tool. ``mode``: video (a video file or a frame folder in) or pair (two images);
    ``output`` None: a name beside the input, made when the output rate is known; ``folder``: the
    output is a folder of PNGs."""

    inputs: tuple[Path, ...]
    mode: str
    output: Path | None
    folder: bool
    overwrite: bool
    factor: int | None
    fps: float | None
    times: tuple[float, ...]
    in_fps: float | None
    start: float
    duration: float | None
    dedup: bool
    cuts: bool
    deinterlace: str
    progress: bool
    stats: Path | None
    model: ModelOptions
    encoding: Encoding
    adapt: AdaptOptions | None = None        # None: the model as loaded


def default_model(any_t: bool = False) -> str:
    """The shipped vfilib model when this checkout has its weights; else RIFE HDv3, or Practical-RIFE
    v3.9 when the output needs timesteps other than 1/2, 1/4, 3/8, ... (``any_t``)."""
    if SHIPPED.is_file():
        return SHIPPED_MODEL
    return ANY_T_DEFAULT if any_t else HALVING_DEFAULT


def _finite(v) -> bool:
    return v is not None and math.isfinite(v)


def validate(ns) -> Options:
    """Check every flag of argparse's namespace ``ns``; the options of the run."""
    mode = _check_mode(ns)
    _check_numbers(ns)
    model = _model_options(ns, mode)
    adapt = _adapt_options(ns, mode, model)
    if ns.codec:
        import av
        if ns.codec not in av.codecs_available:
            raise UsageError(f"--codec {ns.codec}: not in this PyAV build")
    if ns.start and (mode != "video" or not ns.inputs[0].is_file()):
        raise UsageError("--start / --duration apply to video files")
    times = tuple(ns.times or (0.5,)) if mode == "pair" else ()
    factor = ns.factor if ns.factor is not None or ns.fps is not None or mode == "pair" else 2
    output, folder = _output(ns, mode)
    return Options(tuple(ns.inputs), mode, output, folder, ns.overwrite, factor, ns.fps, times, ns.in_fps,
                   ns.start, ns.duration, ns.dedup, not ns.no_cuts, ns.deinterlace, not ns.quiet, ns.stats,
                   model, Encoding(ns.codec, ns.crf, ns.preset, ns.threads), adapt)


def _check_mode(ns) -> str:
    """video | pair, from the inputs and the flags that go with each."""
    for p in ns.inputs:
        if not p.exists():
            raise UsageError(f"{p}: no such file or folder")
    if len(ns.inputs) == 2:
        if ns.factor or ns.fps:
            raise UsageError("two images take --times, not --factor / --fps")
        if ns.times and any(not (_finite(t) and 0 < t < 1) for t in ns.times):
            raise UsageError(f"--times must lie strictly between 0 and 1, got {ns.times}")
        return "pair"
    if len(ns.inputs) != 1:
        raise UsageError(f"give one video / frame folder, or two images (got {len(ns.inputs)} inputs)")
    if ns.inputs[0].suffix.lower() in IMAGE_SUFFIXES and ns.inputs[0].is_file():
        raise UsageError(f"{ns.inputs[0]}: one image; give two images to make frames between them "
                         "(a.png b.png --times 0.5), or a folder of frames with --in_fps")
    if ns.inputs[0].is_dir() and not ns.in_fps:
        raise UsageError(f"{ns.inputs[0]} is a frame folder: give its rate with --in_fps")
    if ns.times:
        raise UsageError("--times is for two images")
    if ns.factor is not None and ns.fps is not None:
        raise UsageError("give --factor or --fps, not both")
    if ns.factor is not None and not 2 <= ns.factor <= MAX_RATIO:
        raise UsageError(f"--factor must be an integer from 2 to {MAX_RATIO}, got {ns.factor}")
    if ns.fps is not None and not (_finite(ns.fps) and 0 < ns.fps <= 1000):
        raise UsageError(f"--fps must be a number in (0, 1000], got {ns.fps}")
    return "video"


def _check_numbers(ns) -> None:
    checks = [
        (ns.in_fps is None or (_finite(ns.in_fps) and 0 < ns.in_fps <= 1000),
         f"--in_fps must be a number in (0, 1000], got {ns.in_fps}"),
        (_finite(ns.scale) and 0 < ns.scale <= 1, f"--scale must lie in (0, 1], got {ns.scale}"),
        (ns.tile == 0 or ns.tile >= 64, f"--tile must be 0 (off) or at least 64, got {ns.tile}"),
        (0 <= ns.crf <= 51, f"--crf must lie in 0..51, got {ns.crf}"),
        (ns.preset in PRESETS, f"--preset {ns.preset}: choose from {', '.join(PRESETS)}"),
        (0 <= ns.threads <= 256, f"--threads must lie in 0 (the encoder's choice) .. 256, got {ns.threads}"),
        (_finite(ns.start) and ns.start >= 0, f"--start must be >= 0, got {ns.start}"),
        (ns.duration is None or (_finite(ns.duration) and ns.duration > 0), f"--duration must be > 0, got {ns.duration}"),
        (ns.batch is None or ns.batch >= 1, f"--batch must be at least 1, got {ns.batch}"),
        (ns.t_mode in T_MODES, f"--t_mode {ns.t_mode}: choose from {', '.join(T_MODES)}"),
    ]
    for ok, msg in checks:
        if not ok:
            raise UsageError(msg)


def _model_options(ns, mode: str) -> ModelOptions:
    if ns.checkpoint and not Path(ns.checkpoint).is_file():
        raise UsageError(f"--checkpoint {ns.checkpoint}: no such file")
    if ns.model and ns.checkpoint:
        raise UsageError("give --model or --checkpoint, not both")
    device = _device(ns.device)
    name = None if ns.checkpoint else ns.model or default_model(
        needs_any_t(ns.factor if mode == "video" else None, ns.fps, ns.times if mode == "pair" else None))
    batch = ns.batch or (8 if device.type == "cuda" else 1)
    return ModelOptions(name, Path(ns.checkpoint) if ns.checkpoint else None, device, batch, ns.scale, ns.t_mode,
                        ns.amp, ns.tile, ns.graph, ns.compile, ns.ssm_dtype)


def adaptable() -> list[str]:
    """The methods ``--adapt`` can fine-tune (those with weights): from the registry."""
    return [k for k, p in PEERS.items() if p.adapts]


def _adapt_options(ns, mode: str, model: ModelOptions) -> AdaptOptions | None:
    given = [f for f in ("adapt_steps", "adapt_seconds", "adapt_frames") if getattr(ns, f) is not None]
    if not ns.adapt:
        if given:
            raise UsageError(f"--{given[0]} goes with --adapt")
        return None
    if mode == "pair":
        raise UsageError("--adapt learns from a video or frame folder; two images have no frames to learn from")
    if model.name and not PEERS[model.name].adapts:
        raise UsageError(f"--adapt: --model {model.name} has no weights to adapt; these can: "
                         f"{', '.join(adaptable())} (or --checkpoint)")
    default = AdaptOptions()
    steps = default.steps if ns.adapt_steps is None else ns.adapt_steps
    seconds = default.seconds if ns.adapt_seconds is None else ns.adapt_seconds
    frames = default.frames if ns.adapt_frames is None else ns.adapt_frames
    if steps < 0 or not (_finite(seconds) and seconds >= 0) or (steps == 0 and seconds == 0):
        raise UsageError(f"--adapt_steps must be >= 0 and --adapt_seconds >= 0, not both 0 (no limit), got "
                         f"{steps} and {seconds:g}")
    if frames < 3:
        raise UsageError(f"--adapt_frames must be at least 3 (a triplet), got {frames}")
    return AdaptOptions(steps, seconds, frames)


def _device(name: str | None) -> torch.device:
    name = name or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"--device {name}: not a device name (cpu, cuda, cuda:0, ...)") from None
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise UsageError(f"--device {name}: no such CUDA GPU on this machine"
                         + ("" if torch.cuda.is_available() else " (torch sees none); use --device cpu"))
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"--device {name}: vfilib runs on cpu or cuda")
    return device


def _output(ns, mode: str) -> tuple[Path | None, bool]:
    """(output, is a folder). A video file by its extension; a folder by a trailing / or because it
    exists as one; two images always give a folder."""
    raw = ns.output
    if raw is None:
        return None, mode == "pair" or ns.inputs[0].is_dir()
    path = Path(raw)
    if mode == "pair" or raw.endswith(("/", "\\")) or path.is_dir():
        if path.suffix.lower() in VIDEO_SUFFIXES and mode == "pair":
            raise UsageError(f"-o {raw}: two images give a folder of PNGs, not a video")
        return path, True
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return path, False
    kind = f"unknown extension {path.suffix!r}" if path.suffix else "no extension"
    raise UsageError(f"-o {raw}: {kind}; give a video file ({', '.join(VIDEO_SUFFIXES)}) or a folder "
                     f"for PNG frames, with a trailing / ({path.name}/)")
