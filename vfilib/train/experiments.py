"""A grid row turned into a run: one function for the command line, notebook 02 and the grid runner.

    cfg = experiment_config("exp2c", preset="tiny", phase=2, steps=40, crop=48, resume=".../best.pt")
    finished(cfg)      # the run's last.pt when it holds this exact config (hash) at its final step, else None

Committed ``results/`` never decide what runs: a row counts as done only when its run folder holds a
checkpoint made with the same config hash and step count.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..config import ModelConfig, experiment, preset as get_preset
from ..models.weights import checkpoint as ckpt
from .config import TrainConfig

TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
MODEL_FIELDS = {f.name for f in dataclasses.fields(ModelConfig)}


def experiment_config(exp_id: str, preset: str = "tiny", steps: int | None = None, data: str | None = None,
                      **params: Any) -> TrainConfig:
    """The TrainConfig of grid row ``exp_id`` on ``preset``: the experiment's model switches and training
    changes, then ``params`` (TrainConfig or ModelConfig fields; None = as the experiment says).

    An experiment that asks for other data (Phase 3: X4K, mixed) trains on ``data`` instead when one is
    given explicitly (the CPU profile's embedded clips); the result row names the data it used."""
    exp = experiment(exp_id)
    params = {k: v for k, v in params.items() if v is not None}
    unknown = set(params) - TRAIN_FIELDS - MODEL_FIELDS
    if unknown:
        raise ValueError(f"{exp_id}: unknown settings {sorted(unknown)}")
    model = get_preset(preset, **{**exp.overrides, **{k: v for k, v in params.items() if k in MODEL_FIELDS}})
    train = dict(exp.train)
    if data is not None:
        train.pop("data", None)
        train.pop("mixed_ratio", None)
        train["data"] = data
    if steps is not None and not train.get("evaluate_only"):
        train["max_steps"] = steps
    train.update({k: v for k, v in params.items() if k in TRAIN_FIELDS})
    train.setdefault("exp_name", f"{exp_id}_{preset}")
    return TrainConfig(model=model, **train)


def finished(cfg: TrainConfig) -> Path | None:
    """``run_dir/last.pt`` if it was made by this exact config (hash) and reached its final step."""
    path = cfg.run_dir / "last.pt"
    if not path.is_file():
        return None
    try:
        ck = ckpt.read(path)
    except ckpt.CheckpointError:
        return None
    if ck.get("config_hash") != cfg.config_hash():
        return None
    want = 0 if cfg.evaluate_only else cfg.max_steps
    return path if not want or ck["state"]["step"] >= want else None
