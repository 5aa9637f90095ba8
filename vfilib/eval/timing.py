"""Timing on CPU or GPU as the benchmarks do it (TimeTest): warm-up, synchronised calls, median.

Latency: ``warmup`` calls first (Triton JIT and cuDNN autotuning happen there), then ``iters`` timed
calls, each synchronised; mean and median in ms, and CUDA peak memory over the timed calls.
"""
from __future__ import annotations

import statistics
import time

import torch

from ..config import amp_dtype

RESOLUTIONS = {"256": (256, 256), "720p": (720, 1280), "1080p": (1080, 1920), "4k": (2160, 3840),
               "4k_dci": (2160, 4096)}
DTYPES = {name: amp_dtype(name) for name in ("fp32", "bf16", "fp16")}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_fn(fn, device: torch.device, warmup: int = 10, iters: int = 50, reset_peak: bool = True) -> dict[str, float]:
    """Run ``fn`` warmup + iters times; latency in ms (mean, median) and CUDA peak memory in GiB
    (allocated, since the warm-up ends; ``reset_peak=False``: since the caller last reset it)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    if device.type == "cuda" and reset_peak:
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(iters):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return {"mean_ms": statistics.fmean(times), "median_ms": statistics.median(times), "peak_gib": peak}
