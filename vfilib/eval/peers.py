"""The registry of methods that make a middle frame: adding a peer is one entry in :data:`PEERS`.

    make_peer("rife_hdv3", device="cuda")     # -> an Interpolator
    make_peer("vfilib")                       # the shipped vfilib model
"""
from __future__ import annotations

from typing import Callable

import torch

from ..config import RuntimeConfig

from .interpolators import Blend, DISFlow, Interpolator, Minterpolate, ModelInterpolator
from .rife import rife_425, rife_hdv3, rife_v39


def from_checkpoint(path=None, device="cpu", amp: torch.dtype | None = None, graph: bool = False,
                    runtime: RuntimeConfig | None = None) -> ModelInterpolator:
    """A vfilib model as an interpolator: a checkpoint, or the shipped weights when ``path`` is None.
    ``runtime``: how it runs (e.g. ``RuntimeConfig(ssm_dtype="autocast")``); the weights are the same."""
    from ..models.weights.checkpoint import load_model

    model = load_model(path, device, runtime)
    name = "vfilib" if path is None else f"vfilib:{model.cfg.name}"
    return ModelInterpolator(model, name=name, amp=amp, graph=graph)


PEERS: dict[str, Callable[..., Interpolator]] = {
    "blend": lambda device="cpu": Blend(),
    "dis": lambda device="cpu": DISFlow(),
    "minterpolate": lambda device="cpu": Minterpolate(),
    "rife_hdv3": lambda device="cpu": rife_hdv3(device),
    "rife_v39": lambda device="cpu": rife_v39(device),
    "rife_v39_refine": lambda device="cpu": rife_v39(device, refine=True),
    "rife_425": lambda device="cpu": rife_425(device),
    "vfilib": lambda device="cpu": from_checkpoint(None, device),
}


def make_peer(name: str, device="cpu") -> Interpolator:
    if name not in PEERS:
        raise ValueError(f"unknown method {name!r}; choose from {sorted(PEERS)}")
    return PEERS[name](device=device)
