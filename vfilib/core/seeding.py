"""Stable random streams: the same seed gives the same numbers in every process.

Python salts ``hash()`` of strings per process, so ``hash((seed, "aug"))`` differs between two runs
and between the ranks of one ``torchrun`` job. Every random stream of vfilib (data order,
augmentation, mixing, validation picks, GPU sampling) takes its seed from :func:`stable_seed`, a
hash of its parts that does not depend on the process.
"""
from __future__ import annotations

import hashlib
import random

import numpy as np


def stable_seed(*parts) -> int:
    """A 63-bit seed from any parts with a stable ``repr`` (ints, strings, tuples of them)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def py_rng(*parts) -> random.Random:
    return random.Random(stable_seed(*parts))


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch's global generators (code that does not take a stream), and switch
    torch's deterministic algorithms on or off (a process-wide setting: set both ways, so one run's
    choice never leaks into the next run of the same process)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    # (deterministic mode also fills every new empty tensor with NaN by default: a debugging aid that is
    # not needed for identical results and costs a write of each new tensor, so it stays off)
    torch.utils.deterministic.fill_uninitialized_memory = False
    if deterministic:
        torch.backends.cudnn.benchmark = False
