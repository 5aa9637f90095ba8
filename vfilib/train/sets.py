"""The training sets: adding one is an entry in :data:`TRAINING_SETS` (and its loader in ``vfilib/data/``).

A :class:`TrainingSet` is either read through a DataLoader (``datasets(cfg, aug) -> (train set,
validation set)``) or decoded into the GPU frame bank (``bank(cfg, device) -> (train bank, val bank,
prepared folder)``, :mod:`vfilib.data.bank`); :func:`vfilib.train.data.build_sources` turns either into
batches. ``label`` says in result rows what a run was trained on. ``TrainConfig.data`` and the
``--data`` flag take the names of this registry.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from torch.utils.data import ConcatDataset, Dataset

from ..core.paths import DataPaths
from ..data.clips import ClipWindows
from ..data.curriculum import crop_at, gap_at
from ..data.datasets import VimeoSeptuplets, X4KTrain
from ..data.transforms import Augment


class TrainSet(ConcatDataset):
    """One or two datasets sharing one augmentation, with the Phase-3 curriculum (crop size and
    X-TRAIN gap grow with the epoch)."""

    def __init__(self, parts: list[Dataset], aug: Augment, x4k: X4KTrain | None = None,
                 curriculum_T: int = 0):
        super().__init__(parts)
        self.parts, self.aug, self.x4k, self.curriculum_T = parts, aug, x4k, curriculum_T

    def set_epoch(self, epoch: int) -> None:
        for d in (*self.parts, self.aug):
            if hasattr(d, "set_epoch"):
                d.set_epoch(epoch)
        if self.curriculum_T:
            progress = min(1.0, epoch / self.curriculum_T)
            self.aug.set_crop(crop_at(progress))
            if self.x4k is not None:
                self.x4k.set_gap(2, max(2, gap_at(progress)))


def _prepared(cfg, field: str) -> Path:
    cache = Path(cfg.embedded_path or getattr(DataPaths(), field))
    if not (cache / "manifest.json").is_file():
        raise FileNotFoundError(f"data={cfg.data}: {cache}/manifest.json is missing; run "
                                f"`python -m vfilib.data.prepare {field}` first")
    return cache


def _embedded(cfg, aug, field="embedded"):
    cache, n = _prepared(cfg, field), cfg.model.context_frames
    return (TrainSet([ClipWindows(cache, "train", window=cfg.window, stride=2, transform=aug, seed=cfg.seed, frames=n)], aug),
            ClipWindows(cache, "val", window=3, stride=2, fixed=True, frames=n))


def _vimeo(cfg, aug):
    n = cfg.model.context_frames
    return (TrainSet([VimeoSeptuplets(cfg.data_path or DataPaths().vimeo, "train", transform=aug, seed=cfg.seed,
                                      frames=n)], aug),
            VimeoSeptuplets(cfg.data_path or DataPaths().vimeo, "test", fixed=True, frames=n))


def _x4k_train(cfg, aug) -> X4KTrain:
    return X4KTrain(cfg.x4k_path or DataPaths().x4k, transform=aug, seed=cfg.seed, context=cfg.model.context_frames,
                    steps=cfg.x4k_steps, n_frames=cfg.x4k_n_frames)


def _x4k(cfg, aug):
    x = _x4k_train(cfg, aug)
    return (TrainSet([x], aug, x, cfg.curriculum_T if cfg.curriculum else 0),
            ClipWindows(_prepared(cfg, "embedded"), "val", 3, 2, fixed=True, frames=cfg.model.context_frames))


def _mixed(cfg, aug):
    x, n = _x4k_train(cfg, aug), cfg.model.context_frames
    vimeo = VimeoSeptuplets(cfg.data_path or DataPaths().vimeo, "train", transform=aug, seed=cfg.seed, frames=n)
    return (TrainSet([vimeo, x], aug, x, cfg.curriculum_T if cfg.curriculum else 0),
            VimeoSeptuplets(cfg.data_path or DataPaths().vimeo, "test", fixed=True, frames=n))


def _live_banks(cfg, device):
    """The live set's train shots in a frame bank on ``device``, its val shots in one on the CPU."""
    from ..data.bank import FrameBank
    from ..data.sources import fetch

    cache = _prepared(cfg, "live")
    videos = {}
    for name in json.loads((cache / "manifest.json").read_text())["clips"]:
        try:
            videos[name] = fetch(name)
        except Exception as e:  # noqa: BLE001 - a source this machine cannot fetch is skipped, named
            print(f"[data] live: {name} unavailable ({str(e)[:120]}); skipped")
    bank = FrameBank.from_set(cache, videos, "train", window=cfg.window, device=device)
    print(f"[data] live train bank: {bank.describe()}")
    return bank, FrameBank.from_set(cache, videos, "val", window=3, device="cpu"), cache


@dataclass(frozen=True)
class TrainingSet:
    """One training set: ``datasets`` (through a DataLoader) or ``bank`` (the GPU frame bank)."""

    name: str
    label: str                         # what a run was trained on, in result rows
    datasets: Callable | None = None   # (cfg, aug) -> (train set, validation set)
    bank: Callable | None = None       # (cfg, device) -> (train FrameBank, val FrameBank, prepared folder)
    val: str = ""                      # how its validation samples are described (default: "<label>, val split")

    @property
    def val_label(self) -> str:
        return self.val or f"{self.label}, val split"


TRAINING_SETS: dict[str, TrainingSet] = {s.name: s for s in [
    TrainingSet("embedded", "embedded clips (not Vimeo90K)", _embedded),
    TrainingSet("film", "Big Buck Bunny film (not Vimeo90K)", lambda cfg, aug: _embedded(cfg, aug, "film")),
    TrainingSet("live", "live-action clips (held-out shots)", bank=_live_banks, val="live-action val shots"),
    TrainingSet("vimeo", "Vimeo90K septuplet", _vimeo),
    TrainingSet("x4k", "X4K1000FPS X-TRAIN", _x4k),
    TrainingSet("mixed", "Vimeo90K + X4K", _mixed),
]}
