"""Benchmarks (TimeTest and more): latency and peak memory vs resolution.

    python -m vfilib.bench speed --presets small --res 256 720p 1080p 4k --dtypes fp32 bf16
    python -m vfilib.bench profile --preset small --res 720p      # top kernels (torch.profiler)
    python -m vfilib.bench profile --preset small --res 720p --by module   # GPU time per model part
    python -m vfilib.bench video --models vfilib rife_hdv3 --extra --graph --amp bf16   # the video tool, x2 1080p

Latency: warm-up calls first (Triton JIT and cuDNN autotuning happen there), then N timed calls,
each synchronised; mean and median reported. Peak memory: ``torch.cuda.max_memory_allocated``
over the timed calls (CUDA only). Rows go to ``results/speed_gpu.csv`` (GPU) or ``results/speed.csv``
(CPU) with provenance.
"""
from __future__ import annotations

from .cli import main

__all__ = ["main"]
