"""The held-out test triplets a finished grid row is scored on, one line per triplet.

The test set is a fixed list: at most ``test_samples`` triplets per level of the data's test split
(evenly spaced over its list, as ``python -m vfilib.eval`` picks them), centre-cropped to
``test_crop``, the prediction rounded to 8 bits before the metrics (the live benchmark's protocol).
Every variant and seed of a grid is scored on the same triplets, so two rows can be compared triplet by
triplet (:mod:`vfilib.eval.stats`).

* prepared sets (embedded, film, live): ``<set>/test-<level>.txt`` (I0 GT I1 paths from the set's
  folder), the frames read from ``<set>/frames/`` (the live set stores exactly its val/test frames);
* vimeo (and mixed): Vimeo90K's triplet test list, one level ``test``.

A run's scores go to ``<run>/test_scores.csv`` and to the grid's per-triplet table beside its row
table (``results/phase1.csv`` -> ``results/phase1_test.csv``), keyed by run, config hash and triplet.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ..core.io import atomic_write
from ..core.paths import DataPaths
from ..core.tables import append_rows, provenance, read_table
from ..data.io import load_frames
from ..data.shots import pick_evenly
from .config import TrainConfig
from .data import Validation, ValSample, score_samples

PREPARED = {"embedded": "embedded", "film": "film", "live": "live"}      # data -> DataPaths field
LABELS = {"embedded": "embedded clips", "film": "Big Buck Bunny film", "live": "live-action", "vimeo": "Vimeo90K",
          "mixed": "Vimeo90K"}


def test_table(results_csv: str | Path) -> Path:
    """The per-triplet table beside a grid's row table: ``phase1.csv`` -> ``phase1_test.csv``."""
    p = Path(results_csv)
    return p.with_name(f"{p.stem}_test{p.suffix}")


def picked(root: str | Path, per_level: int) -> dict[str, list[list[str]]]:
    """level -> the test triplets (I0 GT I1 paths from ``root``) a grid scores: at most ``per_level`` of
    ``<root>/test-<level>.txt``, evenly spaced over it (``scripts/pack_device_data.py --test`` packs these)."""
    from ..data.prepare import LEVEL_GAPS

    root, out = Path(root), {}
    for level in LEVEL_GAPS:
        path = root / f"test-{level}.txt"
        if path.is_file():
            out[level] = pick_evenly([ln.split() for ln in path.read_text().splitlines() if ln.strip()], per_level)
    if not out:
        raise FileNotFoundError(f"test set: no {root}/test-<level>.txt; prepare the set first "
                                f"(`python -m vfilib.data.prepare {root.name}`)")
    return out


def _prepared_set(root: Path, per_level: int, crop: int, label: str) -> Validation:
    from ..eval.benchmark import centre_crop

    samples = []
    for level, trips in picked(root, per_level).items():
        for trip in trips:
            i0, gt, i1 = (centre_crop(x, crop) for x in load_frames([root / p for p in trip]))
            (clip, a), (_, m), (_, b) = ((p.split("/")[-2], int(Path(p).stem)) for p in trip)
            samples.append(ValSample(level, i0, gt, i1, (m - a) / (b - a), f"{clip}/{a}-{m}-{b}"))
    return Validation(samples, f"{label} test shots", crop)


def _vimeo_set(root, per_level: int, crop: int) -> Validation:
    from ..data.datasets import vimeo_triplets
    from ..eval.benchmark import centre_crop

    ds = vimeo_triplets(root or DataPaths().vimeo, "test")
    samples = []
    for i in pick_evenly(list(range(len(ds))), per_level):
        s = ds[i]
        samples.append(ValSample("test", *(centre_crop(s[k], crop) for k in ("I0", "gt", "I1")), float(s["t"]), s["name"]))
    return Validation(samples, "Vimeo90K triplet test", crop)


def test_set(cfg: TrainConfig) -> Validation:
    """The fixed test triplets of ``cfg.data`` (``cfg.test_samples`` a level, centre crop ``cfg.test_crop``)."""
    if cfg.test_samples < 1:
        raise ValueError(f"{cfg.exp_name}: test_samples is {cfg.test_samples}; give the triplets per level to score")
    if cfg.data in PREPARED:
        root = Path(cfg.embedded_path or getattr(DataPaths(), PREPARED[cfg.data]))
        return _prepared_set(root, cfg.test_samples, cfg.test_crop, LABELS[cfg.data])
    if cfg.data in ("vimeo", "mixed"):
        return _vimeo_set(cfg.data_path, cfg.test_samples, cfg.test_crop)
    raise ValueError(f"{cfg.exp_name}: data {cfg.data!r} has no test set here; score it with python -m vfilib.eval")


def score_run(cfg: TrainConfig, model: torch.nn.Module, device: torch.device, amp=None) -> dict:
    """Score ``model`` (the run's final weights) on the test set: ``<run>/test_scores.csv`` and the grid's
    per-triplet table; returns the means (``test_psnr``, ``test_ssim``) and the test set's description."""
    tests = test_set(cfg)
    rows = pd.DataFrame(score_samples(model, tests, device, amp, cfg.scale, round_uint8=True))
    rows = rows.rename(columns={"name": "triplet"})
    ident = {"exp_name": cfg.exp_name, "seed": cfg.seed, "config_hash": cfg.config_hash()}
    rows = pd.concat([pd.DataFrame([ident] * len(rows)), rows], axis=1)
    rows["test_set"] = tests.describe()
    for k, v in provenance(device, cfg.profile).items():
        rows[k] = v
    atomic_write(cfg.run_dir / "test_scores.csv", lambda f: rows.to_csv(f, index=False))
    if cfg.results_csv:
        append_rows(test_table(cfg.results_csv), rows.to_dict("records"), key=["exp_name", "config_hash", "triplet"])
    print(f"[train] {cfg.exp_name}: test PSNR {rows['psnr'].mean():.3f} dB on {tests.describe()}", flush=True)
    return {"test_psnr": rows["psnr"].mean(), "test_ssim": rows["ssim"].mean(), "test_set": tests.describe()}


def scored(cfg: TrainConfig) -> bool:
    """True when the run's ``test_scores.csv`` holds this config's scores on this test set."""
    old = read_table(cfg.run_dir / "test_scores.csv")
    if old.empty or "config_hash" not in old:
        return False
    return bool((old["config_hash"] == cfg.config_hash()).all() and (old["test_set"] == test_set(cfg).describe()).all())
