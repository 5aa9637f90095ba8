"""``--adapt``: fine-tune a copy of the model on the input clip before interpolating it
(:func:`vfilib.train.adapt.adapt_stream`; the recipe and what it never sees are described there).

A second reader on the run's window (the same ``--start`` / ``--duration`` and deinterlacing) is read
once, up to the last frame it needs: runs of consecutive frames spread over the window (at most
``--adapt_frames``, and at most 1 GiB of them) give the training triplets, never across a scene cut
or a repeated frame. The copy trains for ``--adapt_steps`` steps and/or ``--adapt_seconds``, with a
progress bar, before ``--compile`` and CUDA-graph capture; the run then interpolates with it. Its cost
(seconds, device, steps) is printed and kept in ``--stats``. A clip with no usable triplet (a still,
or animation drawn on twos: every other frame repeats) is interpolated with the model as loaded,
with a warning.
"""
from __future__ import annotations

import sys
from dataclasses import asdict
from time import perf_counter

from ..eval.interpolators import Interpolator, RecursiveT
from ..train.adapt import AdaptConfig, adapt_stream
from .options import Options, UsageError, adaptable
from .reader import frame_count, open_reader

# seconds per adaptation step on a CPU (AdaptConfig's defaults: 4 crops of 256 px, fp32): train_seconds / steps of
# adapt(make_peer(name), the first 12 frames of data/downloads/videos/bikes.mp4 (640x272),
# AdaptConfig(steps=3, eval_triplets=0)) on one core (OMP_NUM_THREADS=1) of an AMD EPYC shared with other jobs
CPU_STEP_S = {"vfilib": 46.0, "rife_hdv3": 5.0, "rife_v39": 1.1, "rife_425": 1.8}
# the process's peak memory (GiB) of `vfilib interpolate bikes.mp4 --duration 1 --adapt --adapt_steps 2` on a CPU
# (1.8 without --adapt): training keeps the activations of 4 crops for the backward pass
CPU_PEAK_GIB = {"vfilib": 11.4}


def cpu_note(name: str | None, cfg: AdaptConfig) -> str:
    """What ``--adapt`` costs on a CPU, from :data:`CPU_STEP_S` where it has the model."""
    note = "--adapt on a CPU: each step trains on 4 crops of up to 256 px"
    if name in CPU_STEP_S:
        minutes = cfg.steps * CPU_STEP_S[name] / 60
        note += (f"; {name} took {CPU_STEP_S[name]:g} s a step on one core of an AMD EPYC, so {cfg.steps} steps "
                 f"take about {minutes:.0f} min" if minutes >= 1 else f" ({CPU_STEP_S[name]:g} s a step for {name})")
    if name in CPU_PEAK_GIB:
        note += f"; it needs about {CPU_PEAK_GIB[name]:g} GiB of memory"
    return note + "; --adapt_seconds caps the time (the bar shows the time left)"


def adapt_config(opts: Options) -> AdaptConfig:
    """The adaptation of a run: its limits, the model's working scale, bf16 autocast on a GPU."""
    a, m = opts.adapt, opts.model
    return AdaptConfig(steps=a.steps, seconds=a.seconds, scale=m.scale, amp="bf16" if m.device.type == "cuda" else "fp32")


def adapt_to_clip(opts: Options, interp: Interpolator, reader) -> tuple[Interpolator, dict]:
    """(a copy of ``interp`` adapted to the run's window, what happened for ``--stats``: the
    :class:`~vfilib.train.adapt.AdaptReport` and the wall seconds with reading, or why it was skipped).
    ``reader``: the run's reader (its window's length); the frames come from a second one."""
    base = interp.base if isinstance(interp, RecursiveT) else interp
    try:
        base.trainable()
    except TypeError:
        raise UsageError(f"--adapt: {interp.name} has no weights to adapt; these can: {', '.join(adaptable())} "
                         "(or --checkpoint)") from None
    cfg = adapt_config(opts)
    if opts.model.device.type == "cpu":
        print(f"[vfilib] {cpu_note(opts.model.name, cfg)}", file=sys.stderr)
    t0 = perf_counter()
    second = open_reader(opts)
    frames = iter(second)
    try:
        new, report = adapt_stream(interp, (f.image for f in frames), frame_count(reader), cfg, opts.model.device,
                                   opts.progress, max_frames=opts.adapt.frames)
    except ValueError as e:               # nothing to learn from: no 3 consecutive distinct frames of one shot
        print(f"vfilib interpolate: warning: --adapt skipped, interpolating with the model as loaded: {e}",
              file=sys.stderr)
        return interp, {"skipped": str(e), "wall_seconds": perf_counter() - t0}
    finally:
        frames.close()
        second.close()
    print(f"[vfilib] {report.summary()}", file=sys.stderr)
    return new, {**asdict(report), "wall_seconds": perf_counter() - t0}
