"""Learning-rate schedule: linear warm-up, then cosine decay to a floor (seed 001, 4.1.3)."""
from __future__ import annotations

import math


def effective_warmup(warmup: int, total_steps: int) -> int:
    """2,000 warm-up steps for real runs; at most a tenth of a short run."""
    return max(1, min(warmup, total_steps // 10))


def lr_at(step: int, total_steps: int, base_lr: float = 2e-4, min_lr: float = 2e-5, warmup: int = 2000) -> float:
    """Learning rate for optimizer step ``step`` (0-based) of ``total_steps``."""
    w = effective_warmup(warmup, total_steps)
    if step < w:
        return base_lr * (step + 1) / w
    progress = min(1.0, (step - w) / max(1, total_steps - w))
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * progress))
