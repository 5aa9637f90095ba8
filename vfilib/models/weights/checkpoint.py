"""Checkpoints that say what they are, load without running code, and fail with the file named.

Two kinds of file:

* a **training checkpoint** (``runs/<exp>/last.pt``, ``best.pt``): model (and EMA) weights, optimizer,
  step, RNG states, the model config and the training config. Written atomically.
* the **shipped weights** (``weights/vfilib.pt``): the model weights only, fp16, with the model
  config, next to ``weights/card.json`` (provenance, scores, sha256) and ``weights/MODEL_CARD.md``.

Every load uses ``torch.load(weights_only=True)``: a file whose unpickling would run code is refused
(vfilib stores only tensors, numbers, strings, lists and dicts). Errors are :class:`CheckpointError`
naming the file and what is wrong with it (missing, truncated, a plain state dict, a RIFE ``.pkl``,
weights that do not fit the config, a full disk while writing).
"""
from __future__ import annotations

import errno
import json
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from ...config import ModelConfig, RuntimeConfig
from ...core.io import atomic_write, sha256_file
from ...core.paths import REPO_ROOT

FORMAT = "vfilib-checkpoint-2"
WEIGHTS_FORMAT = "vfilib-weights-1"
SHIPPED = REPO_ROOT / "weights" / "vfilib.pt"
SHIPPED_CARD = REPO_ROOT / "weights" / "card.json"


class CheckpointError(ValueError):
    """A checkpoint or weights file that cannot be used; the message names the file and the problem."""


def save(path: str | Path, payload: dict) -> Path:
    """torch.save ``payload`` atomically (an interrupted or failed write leaves the old file intact)."""
    try:
        return atomic_write(path, lambda f: torch.save(payload, f), mode="wb")
    except (OSError, RuntimeError) as e:
        if isinstance(e, OSError) and e.errno == errno.ENOSPC or "unexpected pos" in str(e) or "No space" in str(e):
            raise CheckpointError(f"{path}: could not write the checkpoint: the disk is full "
                                  "(the previous file, if any, is intact)") from e
        raise


def read(path: str | Path, map_location="cpu") -> dict:
    """The raw content of a vfilib file, loaded with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        called = re.search(r"GLOBAL ([\w.]+)", str(e))
        raise CheckpointError(f"{path}: refused: the file holds Python objects that would run code when "
                              "loaded" + (f" (it calls {called.group(1)})" if called else "")
                              + "; vfilib checkpoints hold only tensors and plain data. Nothing in it was run") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        if isinstance(e, RuntimeError) and "CUDA" in str(e) and not torch.cuda.is_available():
            raise CheckpointError(f"{path}: holds CUDA tensors and this machine has no GPU; "
                                  "load with map_location='cpu'") from None
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or another format): "
                              f"{str(e).splitlines()[0][:200]}") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a vfilib checkpoint")
    if "model_config" not in obj:
        hint = ("it looks like a RIFE flownet .pkl: published models run by name, "
                "`vfilib interpolate --model rife_hdv3` or `vfilib eval --peers rife_hdv3` (or rife_v39)"
                if any(str(k).startswith(("module.block", "block0.")) for k in obj) else
                "it looks like a plain state dict without the model config; vfilib checkpoints carry "
                "their config (save them with vfilib.models.weights.checkpoint)")
        raise CheckpointError(f"{path}: not a vfilib checkpoint ({hint})")
    return obj


def model_config_of(ck: dict, path: str | Path) -> ModelConfig:
    try:
        return ModelConfig.from_dict(ck["model_config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: its model config is not valid for this vfilib: {e}") from None


def load_weights(model: torch.nn.Module, state: dict, path: str | Path, allow_new: tuple[str, ...] = (),
                 allow_unused: tuple[str, ...] = ()) -> list[str]:
    """Load ``state`` strictly, except parameters under the prefixes ``allow_new`` (modules that the new
    model adds) which may be missing, and under ``allow_unused`` (modules it drops) which are left out.
    Returns the names that start fresh; any other mismatch is a :class:`CheckpointError` that lists it."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own and not k.startswith(allow_unused)]
    fresh = [k for k in missing if k.startswith(allow_new)]
    bad_missing = [k for k in missing if k not in fresh]
    shape = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
             if k in state and state[k].shape != own[k].shape]
    if bad_missing or unexpected or shape:
        parts = []
        if shape:
            parts.append(f"{len(shape)} shape mismatches (first: {shape[:3]})")
        if bad_missing:
            parts.append(f"{len(bad_missing)} missing (first: {bad_missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first: {unexpected[:3]})")
        raise CheckpointError(f"{path}: the weights do not fit the model config: " + "; ".join(parts))
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items() if k in own}, strict=False)
    return fresh


def load_model(path: str | Path | None = None, device="cpu", runtime: RuntimeConfig | None = None,
               check_sha256: bool = True):
    """A model rebuilt from a checkpoint's own config, with its weights (EMA weights if present), in
    eval mode on ``device``. ``path=None``: the shipped weights (sha256 checked against the card).
    ``runtime``: how it runs (SSD implementation and dtype, chunk size, fused kernels); no weight changes."""
    from .. import build_model

    path = Path(path) if path is not None else shipped_path()
    if path == SHIPPED and check_sha256:
        verify_shipped()
    ck = read(path, map_location="cpu")
    model = build_model(model_config_of(ck, path), runtime)
    load_weights(model, ck.get("ema") or ck["model"], path)
    return model.to(device).eval()


# ----------------------------------------------------------------------------- shipped weights
def shipped_path() -> Path:
    if not SHIPPED.is_file():
        raise CheckpointError(f"{SHIPPED}: no shipped vfilib weights in this checkout; pass a checkpoint "
                              "(--checkpoint runs/<exp>/best.pt) or a published model (--model rife_hdv3)")
    return SHIPPED


def shipped_card() -> dict:
    if not SHIPPED_CARD.is_file():
        raise CheckpointError(f"{SHIPPED_CARD}: the model card of the shipped weights is missing")
    return json.loads(SHIPPED_CARD.read_text())


def verify_shipped() -> str:
    """The sha256 of the shipped weights, checked against ``weights/card.json``."""
    want = shipped_card().get("sha256")
    got = sha256_file(shipped_path())
    if got != want:
        raise CheckpointError(f"{SHIPPED}: sha256 {got[:16]}... differs from the card's {str(want)[:16]}... "
                              "(a partial download, or weights replaced without their card)")
    return got


def export_weights(src: str | Path, dest: str | Path = SHIPPED, dtype=torch.float16, card: dict[str, Any] | None = None,
                   card_path: str | Path | None = None) -> dict:
    """Write a checkpoint's model (EMA if present) weights as ``dtype`` with its config to ``dest``,
    and the card (``card`` + sha256, size) as JSON beside it. Returns the card."""
    ck = read(src)
    state = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in (ck.get("ema") or ck["model"]).items()}
    # what it is stays with the weights: the training step, samples seen and the training config
    payload = {"format": WEIGHTS_FORMAT, "model_config": ck["model_config"], "model": state,
               **{k: ck[k] for k in ("state", "train_config") if k in ck}}
    dest = Path(dest)
    save(dest, payload)
    trained = {k: v for k, v in {**ck.get("state", {}), "data": ck.get("train_config", {}).get("data")}.items()
               if k in ("step", "samples", "data") and v is not None}
    full = {**trained, **(card or {}), "file": dest.name, "sha256": sha256_file(dest), "bytes": dest.stat().st_size,
            "dtype": str(dtype).replace("torch.", ""), "model_config": ck["model_config"]}
    atomic_write(Path(card_path) if card_path else dest.with_name("card.json"),
                 lambda f: json.dump(full, f, indent=1))
    return full
