"""Checkpoints that carry their config, written atomically (temporary file, then rename)."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from ..results import atomic_write


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(path: str | Path, state: dict) -> Path:
    """torch.save ``state`` to ``path`` atomically: an interrupted write leaves the old file intact."""
    return atomic_write(path, lambda f: torch.save(state, f), mode="wb")


def load(path: str | Path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # truncated or not a checkpoint
        raise ValueError(f"{path}: not a readable checkpoint ({e})") from e


#: ModelConfig fields a loaded checkpoint may be rebuilt with: they change speed, not the weights.
WEIGHT_FREE_FIELDS = ("chunk_size", "ssm_impl", "ssm_dtype")


def load_model(path: str | Path, map_location="cpu", **overrides):
    """A model rebuilt from a checkpoint's own config, with its weights (EMA weights if present).
    ``overrides``: config fields that change no weight (:data:`WEIGHT_FREE_FIELDS`)."""
    from ..config import ModelConfig
    from ..models import build_model

    bad = sorted(set(overrides) - set(WEIGHT_FREE_FIELDS))
    if bad:
        raise ValueError(f"{path}: cannot override {bad} when loading (they change the weights); "
                         f"allowed: {list(WEIGHT_FREE_FIELDS)}")
    ck = load(path, map_location)
    model = build_model(ModelConfig.from_dict({**ck["model_config"], **overrides}))
    model.load_state_dict(ck.get("ema") or ck["model"])
    return model.eval()
