"""Where a run's batches and validation samples come from (the sets: :data:`vfilib.train.sets.TRAINING_SETS`).

Two kinds of batch source, both exact on resume (batch k is a function of the seed and k):

* :class:`LoaderBatches`: a ``Dataset`` through one ``DataLoader`` with persistent workers. Epoch e's
  order is a function of (seed, e) (``DistributedSampler`` / ``MixedSampler``: disjoint shards per
  rank); the epoch travels inside the index (:class:`EpochIndexed`), so the workers' copies of the
  dataset draw the same windows, crops and curriculum stage as a straight run. Resuming mid-epoch
  skips the first batches without loading them.
* :class:`BankBatches`: the GPU frame bank (:mod:`vfilib.data.bank`): no loader at all.

Validation is a list of samples grouped by level (:class:`Validation`); level-wise PSNR lets a run
be compared with a peer on every level of a benchmark.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from ..data.curriculum import MixedSampler
from ..data.datasets import collate
from ..data.transforms import Augment
from .config import TrainConfig
from .sets import TRAINING_SETS, TrainSet

DATA_LABELS = {name: entry.label for name, entry in TRAINING_SETS.items()}     # for result rows


def build_datasets(cfg: TrainConfig) -> tuple[Dataset, Dataset]:
    """Training and validation datasets of ``cfg.data`` (a set read through a DataLoader)."""
    entry = TRAINING_SETS[cfg.data]
    if entry.datasets is None:
        raise ValueError(f"data {cfg.data!r} is a frame bank, not datasets (see build_sources)")
    return entry.datasets(cfg, Augment(crop=cfg.crop, seed=cfg.seed))


# ----------------------------------------------------------------------------- batch sources
class EpochIndexed(Dataset):
    """Index ``epoch * n + i`` -> ``dataset[i]`` drawn with that epoch's randomness (works in workers)."""

    def __init__(self, dataset: Dataset):
        self.dataset, self.n, self._epoch = dataset, len(dataset), None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, j: int):
        epoch, i = divmod(j, self.n)
        if epoch != self._epoch and hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
            self._epoch = epoch
        return self.dataset[i]


class _EpochSampler(Sampler[int]):
    """Concatenated epochs of a per-epoch sampler from ``start`` on, indices tagged with their epoch."""

    def __init__(self, base: Sampler, n: int, per_epoch: int, start_epoch: int, skip: int):
        self.base, self.n, self.per_epoch, self.start_epoch, self.skip = base, n, per_epoch, start_epoch, skip

    def __iter__(self):
        epoch = self.start_epoch
        while True:
            self.base.set_epoch(epoch)
            order = list(self.base)[:self.per_epoch]
            for i in order[self.skip if epoch == self.start_epoch else 0:]:
                yield epoch * self.n + i
            epoch += 1


class LoaderBatches:
    """Batches of a Dataset: ``iterate(step)`` yields batch ``step``, ``step + 1``, ... on ``device``."""

    def __init__(self, dataset: Dataset, cfg: TrainConfig, device: torch.device, rank: int = 0, world: int = 1):
        self.dataset, self.cfg, self.device = dataset, cfg, device
        if cfg.data == "mixed" and isinstance(dataset, TrainSet) and len(dataset.parts) == 2:
            a, b = (len(p) for p in dataset.parts)
            self.sampler = MixedSampler(a, b, cfg.mixed_ratio, seed=cfg.seed, num_replicas=world, rank=rank)
        else:
            self.sampler = DistributedSampler(dataset, world, rank, shuffle=True, seed=cfg.seed, drop_last=True)
        self.steps_per_epoch = max(1, len(self.sampler) // cfg.batch_size)

    def iterate(self, step: int) -> Iterator[dict]:
        epoch, within = divmod(step, self.steps_per_epoch)
        sampler = _EpochSampler(self.sampler, len(self.dataset), self.steps_per_epoch * self.cfg.batch_size,
                                epoch, within * self.cfg.batch_size)
        loader = DataLoader(EpochIndexed(self.dataset), batch_size=self.cfg.batch_size, sampler=sampler,
                            num_workers=self.cfg.num_workers, collate_fn=collate, drop_last=True,
                            pin_memory=self.device.type == "cuda", persistent_workers=self.cfg.num_workers > 0)
        for batch in loader:
            yield {k: (v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


class BankBatches:
    """Batches drawn from a frame bank on the device (batch k = f(seed, k, rank))."""

    def __init__(self, bank, cfg: TrainConfig, rank: int = 0, world: int = 1):
        self.bank, self.cfg, self.rank = bank, cfg, rank
        self.steps_per_epoch = max(1, len(bank) // (cfg.batch_size * world))

    def iterate(self, step: int) -> Iterator[dict]:
        while True:
            yield self.bank.batch(step, self.cfg.batch_size, self.cfg.crop, self.cfg.seed, self.rank,
                                  context=self.cfg.model.context_frames, context_dropout=self.cfg.context_dropout)
            step += 1


# ----------------------------------------------------------------------------- validation
@dataclass
class ValSample:
    level: str
    i0: torch.Tensor      # (3, H, W) float in [0, 1]
    gt: torch.Tensor
    i1: torch.Tensor
    t: float
    name: str = ""
    context: torch.Tensor | None = None    # (N-2, 3, H, W): the N-frame window's other frames, time order


class Validation:
    """Validation samples grouped by level; ``describe()`` says what they are (for result rows)."""

    def __init__(self, samples: list[ValSample], label: str, crop: int = 0):
        if not samples:
            raise ValueError(f"validation set {label!r} is empty")
        self.samples, self.label, self.crop = samples, label, crop

    @property
    def levels(self) -> list[str]:
        return list(dict.fromkeys(s.level for s in self.samples))

    def describe(self) -> str:
        counts = {lv: sum(s.level == lv for s in self.samples) for lv in self.levels}
        crop = f", centre crop {self.crop}" if self.crop else ", full frames"
        return f"{self.label}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + crop

    @classmethod
    def from_dataset(cls, dataset: Dataset, max_samples: int, label: str, crop: int = 0) -> "Validation":
        out = []
        for i in range(min(max_samples, len(dataset))):
            s = dataset[i]
            out.append(ValSample("all", s["I0"], s["gt"], s["I1"], float(s["t"]), s.get("name", str(i)), s.get("context")))
        return cls(out, label, crop)

    @classmethod
    def from_lists(cls, cache: str | Path, split: str, frame: Callable[[str, int], torch.Tensor],
                   per_level: int, label: str, crop: int = 0, frames: int = 2) -> "Validation":
        """Triplets of ``<cache>/<split>-<level>.txt`` (at most ``per_level`` each, evenly spaced);
        ``frame(clip, index)`` gives a frame (e.g. from a frame bank, or read from the PNG); ``frames``
        = N > 2: with the N-frame window's context from the triplet's shot (the set's manifest)."""
        from ..data.datasets import prepared_shots, shot_of
        from ..data.prepare import LEVEL_GAPS
        from ..data.shots import pick_evenly
        from ..data.window import context_of, window_indices

        shots = prepared_shots(Path(cache)) or {}

        out = []
        for level in LEVEL_GAPS:
            path = Path(cache) / f"{split}-{level}.txt"
            lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()] if path.is_file() else []
            for trip in pick_evenly(lines, per_level):
                (clip, a), (_, m), (_, b) = ((p.split("/")[1], int(Path(p).stem)) for p in trip)
                ctx = context_of(window_indices(a, b, frames, shot_of(shots, clip, a))) if frames > 2 else []
                try:
                    i0, gt, i1, *c = (frame(clip, j) for j in (a, m, b, *ctx))
                except KeyError:
                    continue                      # a clip that this machine does not hold
                out.append(ValSample(level, i0, gt, i1, (m - a) / (b - a), f"{clip}/{a}-{b}",
                                     torch.stack(c) if c else None))
        return cls(out, label, crop)


@torch.no_grad()
def score_samples(model, val: Validation, device, amp_dtype=None, scale: float = 1.0,
                  round_uint8: bool = False) -> list[dict]:
    """PSNR / SSIM (matlab) of every sample: dicts with level, name, t, psnr, ssim. ``model``: a vfilib
    model or any :class:`vfilib.eval.interpolators.Interpolator` (a peer scored on the same samples);
    ``round_uint8``: the prediction is rounded to 8-bit levels first (what saving it as PNG does)."""
    from ..eval.benchmark import centre_crop
    from ..eval.interpolators import Interpolator
    from ..eval.metrics import psnr, quantize, ssim_matlab
    from ..eval.nframe import context_frames_of, narrow_context

    wants = context_frames_of(model)                     # N of an N-frame model (2: no context passed)
    if isinstance(model, Interpolator):
        interp = model
        model = torch.nn.Identity()
        fn = lambda a, b, t, **kw: interp(a, b, torch.tensor([t]), **kw)  # noqa: E731
    else:
        fn = model
    was_training = model.training
    model.eval()
    out = []
    for s in val.samples:
        i0, i1, gt = (centre_crop(x[None].to(device), val.crop) for x in (s.i0, s.i1, s.gt))
        ctx = narrow_context(s.context[None].to(device), wants) if s.context is not None and wants > 2 else None
        ctx = centre_crop(ctx, val.crop) if ctx is not None else None
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            kw = {"scale": scale} if scale != 1 else {}
            if ctx is not None:
                kw["context"] = ctx
            pred = fn(i0, i1, s.t, **kw).float().clamp(0, 1)
        pred = quantize(pred) if round_uint8 else pred
        out.append({"level": s.level, "name": s.name, "t": s.t, "psnr": psnr(pred, gt).item(),
                    "ssim": ssim_matlab(pred, gt).item()})
    model.train(was_training)
    return out


def validate(model, val: Validation, device, amp_dtype=None, scale: float = 1.0) -> dict[str, float]:
    """Mean PSNR / SSIM (matlab), overall and per level (keys ``psnr_<level>``) of :func:`score_samples`."""
    rows = score_samples(model, val, device, amp_dtype, scale)
    out = {"psnr": sum(r["psnr"] for r in rows) / len(rows), "ssim": sum(r["ssim"] for r in rows) / len(rows)}
    levels = list(dict.fromkeys(r["level"] for r in rows))
    if len(levels) > 1:
        out.update({f"psnr_{lv}": sum(r["psnr"] for r in rows if r["level"] == lv) / sum(r["level"] == lv for r in rows)
                    for lv in levels})
    return out


def build_sources(cfg: TrainConfig, device: torch.device, rank: int = 0, world: int = 1):
    """(batch source, Validation) of ``cfg.data``, as its entry in :data:`vfilib.train.sets.TRAINING_SETS` says."""
    entry = TRAINING_SETS[cfg.data]
    if entry.bank is not None:
        bank, val_bank, cache = entry.bank(cfg, device)
        val = Validation.from_lists(cache, "val", val_bank.frame, cfg.val_samples, entry.val_label, cfg.val_crop,
                                    cfg.model.context_frames)
        return BankBatches(bank, cfg, rank, world), val
    train_set, val_set = build_datasets(cfg)
    return (LoaderBatches(train_set, cfg, device, rank, world),
            Validation.from_dataset(val_set, cfg.val_samples, entry.val_label, cfg.val_crop))
