"""Phase-3 curriculum and dataset mixing.

* :class:`MixedSampler` draws indices of a ``ConcatDataset([a, b])`` so that a and b appear at a
  ratio (e.g. Vimeo:X4K = 2:1), reshuffled per epoch, sharded over distributed ranks itself (so it
  replaces, and behaves like, ``DistributedSampler``: every rank gets the same number of indices).
* :func:`crop_at` and :func:`gap_at` give the crop size (256 -> 384 -> 512) and the maximum
  temporal gap at a point of training (``progress`` in [0, 1], or epoch / curriculum_T).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch.distributed as dist
from torch.utils.data import Sampler

from ..core.seeding import py_rng


def _ratio(r: str | Sequence[float]) -> tuple[float, float]:
    if isinstance(r, str):
        a, b = r.split(":")
        r = (float(a), float(b))
    a, b = r
    if a < 0 or b < 0 or a + b == 0:
        raise ValueError(f"bad mixing ratio {r}")
    return float(a), float(b)


class MixedSampler(Sampler[int]):
    """Indices into ConcatDataset([a, b]) with a:b = ``ratio``; ``num_samples`` per epoch in total."""

    def __init__(self, len_a: int, len_b: int, ratio="2:1", num_samples: int | None = None, seed: int = 0,
                 num_replicas: int | None = None, rank: int | None = None):
        self.len_a, self.len_b = len_a, len_b
        self.ratio = _ratio(ratio)
        self.total = num_samples or (len_a + len_b)
        if num_replicas is None:
            num_replicas = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        if rank is None:
            rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        self.num_replicas, self.rank, self.seed, self.epoch = num_replicas, rank, seed, 0
        self.per_rank = math.ceil(self.total / num_replicas)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _draw(self) -> list[int]:
        rng = py_rng(self.seed, self.epoch, "mix")
        pa = self.ratio[0] / sum(self.ratio)
        n_a = round(self.per_rank * self.num_replicas * pa) if self.len_b else self.per_rank * self.num_replicas
        n_a = n_a if self.len_a else 0
        n_b = self.per_rank * self.num_replicas - n_a
        cyc = lambda n, length, off: [off + i % length for i in rng.sample(range(max(n, length)), n)] if length else []  # noqa: E731
        idx = cyc(n_a, self.len_a, 0) + cyc(n_b, self.len_b, self.len_a)
        rng.shuffle(idx)
        return idx

    def __iter__(self):
        return iter(self._draw()[self.rank::self.num_replicas])

    def __len__(self) -> int:
        return self.per_rank


def crop_at(progress: float, sizes: Sequence[int] = (256, 384, 512)) -> int:
    """Crop size for training progress in [0, 1]: equal thirds 256 -> 384 -> 512."""
    p = min(max(progress, 0.0), 1.0)
    return sizes[min(int(p * len(sizes)), len(sizes) - 1)]


def gap_at(progress: float, min_gap: int = 2, max_gap: int = 32) -> int:
    """Largest temporal gap at training progress in [0, 1]: grows linearly from min_gap to max_gap."""
    p = min(max(progress, 0.0), 1.0)
    return int(round(min_gap + p * (max_gap - min_gap)))
