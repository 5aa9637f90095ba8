"""The video tool (``vfilib interpolate``) as a small package; frames flow one way through it:

    options   the run's frozen options, made once by validating the command line
    timing    when output frames fall (output times per input interval, rate labels)
    reader    input frames: a video file (decoded in a thread) or a frame folder
    methods   which model runs: facts from the peer registry, loading, advice
    adapting  --adapt: a copy of the model fine-tuned on the input clip before interpolating
    engine    the model side: frames to tensors, batches, halving, N-frame windows, tensors to frames
    pipeline  the streaming loop: decode -> signatures/cuts -> windows -> engine -> writer, timed per stage
    encoder   the video encoder (sound, tags, bit depth kept)
    writer    outputs never half-written: temporaries renamed on success, encoding in a thread
    stats     what a run did and where its time went (``--stats``)
    cli       the command line (``python -m vfilib.interpolate`` is the same command)

From Python: ``interpolate_file(src, dst, interp, factor=2, quiet=True)`` takes the command's flags
by name and any :class:`~vfilib.eval.interpolators.Interpolator`.
"""
from __future__ import annotations

from pathlib import Path

from ..eval.interpolators import Interpolator
from .cli import main, options
from .pipeline import run_video
from .stats import Stats


def interpolate_file(src: Path, dst: Path | None, interp: Interpolator, **flags) -> tuple[Path, Stats]:
    """Interpolate a video file or frame folder ``src`` into ``dst`` (None: a name beside ``src``) with
    ``interp``; ``flags`` are the command's flags by name (``factor``, ``fps``, ``duration``, ``quiet``,
    ...), validated as the command line is. The device defaults to the CPU here."""
    flags.setdefault("device", "cpu")
    return run_video(options([src], output=dst, **flags), interp)


__all__ = ["interpolate_file", "main", "options", "run_video"]
