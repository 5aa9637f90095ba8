"""What a run did and where its time went: :class:`Stats` (``--stats FILE`` writes it as JSON).

:class:`StageClock` sums wall seconds per stage of the pipeline. Each stage runs in one thread:

==================  ==============  ==========================================================
key                 thread          what
==================  ==============  ==========================================================
decode_s            decoder         demuxing, decoding, deinterlacing, conversion to RGB arrays
wait_decode_s       main            waiting for the next decoded frame
signatures_s        signatures      thumbnails and colour histograms (cut and repeat signals)
wait_signatures_s   main            waiting for a frame's signature
cuts_s              main            repeat and scene-cut decisions
to_device_s         main            frame -> tensor on the device (host-to-device copy)
model_s             main            the model's calls, with the finite check that waits for them
to_host_s           main            tensor -> frame on the host (device-to-host copy, rounding)
wait_encode_s       main            blocked on the encoder's full queue
encode_s            encoder         writing frames: ``convert_s`` (RGB -> YUV), ``codec_s``
                                    (the encoder), ``mux_s`` (into the file); PNGs for a folder
finish_s            main            flushing the encoder, copying sound and subtitles, closing
==================  ==============  ==========================================================

The main thread's stages and waits add up to about its whole run (``seconds``); ``other_s`` is
the rest (timing, progress bar, bookkeeping). The decoder, signature and encoder threads run beside
it: a stage is the bottleneck when the main thread waits for it (``wait_*``).
"""
from __future__ import annotations

import contextlib
import sys
import threading
from dataclasses import dataclass, field
from time import perf_counter

import torch

STAGES = ("decode", "wait_decode", "signatures", "wait_signatures", "cuts", "to_device", "model", "to_host",
          "wait_encode", "encode", "finish")
MAIN_THREAD = ("wait_decode", "wait_signatures", "cuts", "to_device", "model", "to_host", "wait_encode", "finish")


class StageClock:
    """Wall seconds per stage, summed over a run; safe to add to from several threads.

        with clock("model"):
            y = interp(a, b, t)
    """

    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextlib.contextmanager
    def __call__(self, stage: str):
        t = perf_counter()
        try:
            yield
        finally:
            self.add(stage, perf_counter() - t)

    def report(self, total: float) -> dict[str, float]:
        """``<stage>_s`` for every stage, and ``other_s``: the main thread's time outside its stages."""
        out = {f"{k}_s": round(v, 4) for k, v in self.seconds.items()}
        out["other_s"] = round(max(total - sum(self.seconds[k] for k in MAIN_THREAD), 0.0), 4)
        return out


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory in MiB: on CUDA the tensors allocated on ``device`` since the run's start
    (``torch.cuda.max_memory_allocated``; the run resets it), on a CPU the process's peak resident set
    (``ru_maxrss``: since the process started, so a fresh process per measurement)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    try:
        import resource
    except ImportError:                  # Windows
        return 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2 ** 20 if sys.platform == "darwin" else 1024)


def profile(stages: dict[str, float], frames_out: int, seconds: float) -> str:
    """The per-stage profile of one run as a table: seconds, ms per output frame and share of the run
    (threads beside the main one can overlap it: their shares are of the same wall time)."""
    lines = [f"    {'stage':18s} {'seconds':>8s} {'ms/frame':>9s} {'share':>6s}"]
    for key, sec in stages.items():
        lines.append(f"    {key[:-2]:18s} {sec:8.2f} {1e3 * sec / max(frames_out, 1):9.1f} "
                     f"{100 * sec / max(seconds, 1e-9):5.0f}%")
    return "\n".join(lines)


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
    ended_early: str | None = None      # the input stopped before its stream said it would (a cut-short file)
    stages: dict = field(default_factory=dict)   # seconds per pipeline stage (StageClock.report)
    adapt: dict | None = None           # --adapt: its report (vfilib.train.adapt.AdaptReport) and wall seconds,
                                        # or why it was skipped
    peak_mem_mb: float = 0.0            # peak_memory_mb: CUDA allocations of the run, or the process's peak RSS
