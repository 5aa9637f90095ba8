"""What an ablation grid is: :class:`GridSpec`, and the one place a grid row's TrainConfig is made.

A grid's rows are its experiments times its seeds. Every row trains the same budget (``samples``, or
``steps``) on the same data, and a finished row is scored on the same test triplets
(``settings["test_samples"]``, ``settings["test_crop"]``: :mod:`vfilib.train.testset`). Run names carry
the seed (``exp1c_small_s2``) and the tag of a repeat at another budget (``exp1c_small_x4_s2``);
tables carry the profile: the cpu profile's SMOKE tables (``results/phase1.csv``) never share a file
with another profile's (``results/phase1_h200.csv``).
"""
from __future__ import annotations

import ast
import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..config import PHASE_EXPERIMENTS
from ..core.paths import REPO_ROOT, repo_path
from ..train.config import HELD_CONFIG, NOT_HASHED, TrainConfig
from ..train.experiments import experiment_config

NOTEBOOK_PHASE = {"03_phase1_ablations": 1, "05_phase2_ablations": 2, "06_phase3_curriculum": 3}
RESERVED = ("seed", "exp_name", "out_dir", "results_csv", "profile", "phase", "max_steps")


@dataclass(frozen=True)
class GridSpec:
    """One ablation grid: its rows, how each trains and is scored, where it runs and what it writes."""

    experiments: tuple[str, ...] | None     # None: every row of the phase (vfilib.config.PHASE_EXPERIMENTS)
    phase: int = 1
    preset: str = "tiny"
    steps: int | None = None          # optimizer steps a row (None: the experiment's own)
    samples: int = 0                  # > 0: the budget, training samples a row (steps = ceil(samples / batch)); wins over steps
    data: str | None = None           # None: as each experiment says
    settings: Mapping[str, Any] = field(default_factory=dict)    # TrainConfig / ModelConfig fields of every row
    resume: str | None = None         # the checkpoint every row starts from (a later phase)
    start_from: str = ""              # or: the previous phase's row (seed 0, same settings and budget), trained first if needed
    seeds: int = 1                    # seeds 0 .. seeds-1 of every row
    tag: str = ""                     # a repeat of some rows at another budget ("x4"): in run and table names
    profile: str = "cpu"
    results_dir: str = "results"
    runs_dir: str = "runs"
    force: bool = False               # re-run rows that are finished
    jobs: int = 1                     # rows at once: 1 in this process; N > 1 processes; 0: rows_per_gpu per visible GPU
    rows_per_gpu: int = 1             # rows sharing one GPU (jobs=0)
    deadline: float = 0.0             # > 0: rows running at this time (seconds since the epoch) save last.pt and stop
    skip_recorded: bool = False       # a row with its result and test scores in results/ is done even without its checkpoint
    train: bool = True                # False: nothing trains; rows not recorded are named (tables from merged rows only)

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen)
        exps = self.experiments
        if exps is None:
            exps = [e.id for e in PHASE_EXPERIMENTS[self.phase]]
        set_("experiments", tuple([exps] if isinstance(exps, str) else exps))
        set_("settings", dict(self.settings or {}))      # a copy: the caller's dict may change, this grid does not
        bad = sorted(set(self.settings) & set(RESERVED))
        if bad:
            raise ValueError(f"grid settings {bad}: the grid sets these itself (seeds, names, budget: use its fields)")
        if not self.experiments:
            raise ValueError("a grid needs at least one experiment")
        for name, low in (("seeds", 1), ("rows_per_gpu", 1), ("jobs", 0), ("samples", 0)):
            if getattr(self, name) < low:
                raise ValueError(f"grid {name} must be at least {low}, got {getattr(self, name)}")

    # ------------------------------------------------------------------ names
    @property
    def table(self) -> str:
        """``phase1`` (cpu profile), ``phase1_h200``, ``phase1_h200_x4``: the stem of every file of the grid."""
        return f"phase{self.phase}" + ("" if self.profile == "cpu" else f"_{self.profile}") + (f"_{self.tag}" if self.tag else "")

    @property
    def table_path(self) -> Path:
        return repo_path(self.results_dir) / f"{self.table}.csv"

    def run_name(self, exp: str, seed: int) -> str:
        return f"{exp}_{self.preset}" + (f"_{self.tag}" if self.tag else "") + f"_s{seed}"

    def rows(self) -> list[tuple[str, int]]:
        return [(exp, seed) for exp in self.experiments for seed in range(self.seeds)]

    # ------------------------------------------------------------------ the one place a row's config is made
    def row_config(self, exp: str, seed: int = 0, **placement) -> TrainConfig:
        """Grid row (``exp``, ``seed``): the experiment's switches on the preset, the grid's settings, data,
        seed and budget. ``placement``: fields that do not change what the run computes (deadline,
        device_share, resume: a run continuing its own last.pt)."""
        bad = sorted(set(placement) - set(NOT_HASHED))
        if bad:
            raise ValueError(f"row_config: {bad} change what a run computes; put them in the grid's settings")
        cfg = experiment_config(exp, self.preset, steps=self.steps, data=self.data, phase=self.phase, resume=self.resume,
                                out_dir=str(repo_path(self.runs_dir)), results_csv=str(self.table_path), seed=seed,
                                profile=self.profile, exp_name=self.run_name(exp, seed), **self.settings)
        if self.samples and not cfg.evaluate_only:
            cfg = dataclasses.replace(cfg, max_steps=math.ceil(self.samples / cfg.batch_size))
        cfg = dataclasses.replace(cfg, exp_name=free_name(cfg))
        return dataclasses.replace(cfg, **placement) if placement else cfg

    def run_dir(self, exp: str, seed: int) -> Path:
        """The folder row (``exp``, ``seed``) trains in (see :func:`free_name`)."""
        return self.row_config(exp, seed).run_dir

    # ------------------------------------------------------------------ variants and transport
    def scaled(self, factor: int, experiments) -> "GridSpec":
        """The same grid for ``experiments`` only at ``factor`` times the budget (tag ``x<factor>``)."""
        if not self.samples and not self.steps:
            raise ValueError("budget_scale needs a budget (samples or steps) to scale")
        return dataclasses.replace(self, experiments=tuple(experiments), samples=self.samples * factor,
                                   steps=self.steps * factor if self.steps else self.steps, tag=f"x{factor}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "GridSpec":
        return cls(**json.loads(text))


def held_config(run_dir: Path) -> str | None:
    """The config hash of the run a folder holds (None: no run there). Folders from before the marker
    file say it through their last.pt."""
    marker, last = run_dir / HELD_CONFIG, run_dir / "last.pt"
    if marker.is_file():
        return marker.read_text().strip() or None
    return _checkpoint_hash(str(last), last.stat().st_mtime_ns) if last.is_file() else None


@lru_cache(maxsize=256)
def _checkpoint_hash(path: str, mtime_ns: int) -> str | None:
    """A checkpoint's config hash, read once per version of the file (row_config runs many times a grid)."""
    from ..models.weights import checkpoint as ckpt
    try:
        return ckpt.read(path).get("config_hash")
    except ckpt.CheckpointError:
        return None


def free_name(cfg: TrainConfig) -> str:
    """``cfg.exp_name``, or with the config hash appended when that folder holds a run of another config
    (notebook 06's Phase-1 base at its own crop beside notebook 03's row of the same experiment): a grid
    never trains over another grid's run. Stable: each config finds its own folder again."""
    held = held_config(cfg.run_dir)
    return cfg.exp_name if held in (None, cfg.config_hash()) else f"{cfg.exp_name}_{cfg.config_hash()[:8]}"


def deadline_after(seconds: float) -> float:
    """The deadline ``seconds`` from now (0: none)."""
    return time.time() + seconds if seconds else 0.0


def grid_specs(phase: int, experiments, preset: str = "tiny", steps: int | None = None, samples: int = 0,
               data: str | None = None, settings: dict | None = None, seeds: int = 1, budget_scale: int = 1,
               scaled=(), profile: str = "cpu", results_dir: str = "results", runs_dir: str = "runs",
               force: bool = False, jobs: int = 1, rows_per_gpu: int = 1, time_limit: float = 0.0,
               skip_recorded: bool = False, start_from: str = "", resume: str | None = None,
               train: bool = True) -> list[GridSpec]:
    """The grids of an ablation notebook (its parameters by name): the grid itself, then with
    ``budget_scale`` > 1 the ``scaled`` rows again at that multiple of the budget; one deadline for all."""
    spec = GridSpec(experiments, phase=phase, preset=preset, steps=steps, samples=samples, data=data,
                    settings=settings or {}, resume=resume, start_from=start_from, seeds=seeds, profile=profile,
                    results_dir=str(results_dir), runs_dir=str(runs_dir), force=force, jobs=jobs,
                    rows_per_gpu=rows_per_gpu, deadline=deadline_after(time_limit), skip_recorded=skip_recorded,
                    train=train)
    return [spec] + ([spec.scaled(budget_scale, scaled)] if budget_scale > 1 and scaled else [])


def notebook_parameters(name: str) -> dict:
    """The defaults of a notebook's parameters cell (literals only), read without running it."""
    src = (REPO_ROOT / "notebooks" / f"{name}.py").read_text()
    cell = src.split('tags=["parameters"]', 1)[1].split("# %%", 1)[0].split("\n", 1)[1]
    out = {}
    for node in ast.parse(cell).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out
