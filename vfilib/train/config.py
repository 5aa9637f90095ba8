"""What a training run is: :class:`TrainConfig` (plain data, saved in every checkpoint).

The model's architecture is a :class:`vfilib.config.ModelConfig` inside it. ``config_hash`` names
the run's content (everything that changes its result, not where it is written or how it is
logged), so a finished grid row can be recognised by its checkpoint.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import AMP_MODES, ModelConfig, preset
from ..core.paths import runs_dir
from .sets import TRAINING_SETS

DATA_CHOICES = tuple(TRAINING_SETS)

#: TrainConfig fields that do not change what a run computes (bookkeeping, logging, placement).
NOT_HASHED = ("exp_name", "out_dir", "resume", "log_every", "val_every", "ckpt_every", "dry_run", "device",
              "results_csv", "progress", "num_workers", "stop_at", "time_limit", "deadline", "data_path", "x4k_path",
              "embedded_path", "reference", "test_samples", "test_crop", "device_share", "profile")
#: The file in a run's folder naming the config hash of the run it holds (written when the run starts).
HELD_CONFIG = "config_hash"
#: Fields of the N-frame context (issue 29), left out of the hash of a 2-frame run: runs hashed before
#: they existed keep their hash (and their finished grid rows).
CONTEXT_FIELDS = ("context_dropout",)
#: Fields added later, left out of the hash at these (default) values, for the same reason.
LATER_DEFAULTS = {"x4k_steps": (), "x4k_n_frames": ()}


@dataclass
class TrainConfig:
    exp_name: str = "debug"
    phase: int = 1                    # which grid the run belongs to (1, 2, 3); sets the cross-phase resume rules
    model: ModelConfig = field(default_factory=lambda: preset("tiny"))
    evaluate_only: bool = False       # Exp-2a / Exp-3a: the resumed model evaluated as is (no step)
    # optimisation
    batch_size: int = 4               # per process
    epochs: int = 1
    max_steps: int = 0                # > 0: train for this many optimizer steps (overrides epochs)
    stop_at: int = 0                  # > 0: stop this invocation at that step (schedule unchanged; resume later)
    time_limit: float = 0.0           # > 0: stop this invocation after that many seconds, saving last.pt
    deadline: float = 0.0             # > 0: stop this invocation at this time (seconds since the epoch), saving last.pt
    lr: float = 2e-4
    min_lr: float = 2e-5
    flow_lr_scale: float = 1.0        # the flow estimator's learning rate relative to lr (< 1 keeps a pretrained one close)
    weight_decay: float = 1e-4
    warmup_steps: int = 2000
    amp: str = "fp32"                 # fp32 | bf16 | fp16
    grad_clip: float = 1.0
    ema_decay: float = 0.0            # 0: no EMA
    perceptual_weight: float = 0.01
    scale: float = 1.0                # flow models: working scale in training and validation (< 1 trains the full-res head)
    distill_weight: float = 0.0       # > 0: end-point error to RIFE HDv3's flows (Exp-2e; needs a flow model)
    flow_init: str = "rife_hdv3"      # a new flow estimator starts from these weights ("" = random)
    # data
    data: str = "embedded"            # a name of vfilib.train.sets.TRAINING_SETS (embedded | film | live | ...)
    data_path: str | None = None      # Vimeo90K septuplet root
    x4k_path: str | None = None
    embedded_path: str | None = None  # prepared-set folder (default data/cache, data/film or data/live)
    crop: int = 256
    window: int = 7                   # frames per training window (t = (k - i) / (j - i) inside it)
    context_dropout: float = 0.25     # N-frame models: per side, the chance that the context is cut (nearest frame repeated)
    mixed_ratio: str = "2:1"
    x4k_steps: tuple[int, ...] = ()   # GS-Mamba's TEMPO-style X-TRAIN sampler: anchors step + 1 frames apart ...
    x4k_n_frames: tuple[int, ...] = ()  # ... this many of them, paired with x4k_steps (e.g. 7 15 31 with 4 3 2)
    curriculum: bool = False
    curriculum_T: int = 50            # epochs over which crop and gap grow
    val_samples: int = 16             # per level for level-wise validation sets
    val_crop: int = 0                 # > 0: centre-crop validation frames (fast CPU checks)
    reference: str = ""               # a peer scored once on the same validation samples (e.g. rife_hdv3)
    test_samples: int = 0             # > 0: a finished run is scored per triplet on this many test triplets a level
    test_crop: int = 0                # > 0: centre crop of the test triplets (0: full frames)
    num_workers: int = 2
    # bookkeeping
    out_dir: str = ""                 # "" -> <repo>/runs
    resume: str | None = None
    freeze_backbone: int = 0          # epochs with the backbone's learning rate at 0 after resuming (Phase 2)
    log_every: int = 10
    val_every: int = 200
    ckpt_every: int = 500
    max_bad_steps: int = 10
    seed: int = 0
    deterministic: bool | None = None  # bit-exact runs and resumes; None: on the CPU yes, on a GPU no (see README)
    dry_run: bool = False             # a few steps, no checkpoint kept
    device: str | None = None
    results_csv: str | None = None    # append a summary row here when training ends
    progress: bool = True
    device_share: int = 1             # runs training at once on this device (a row's GPU seconds: its seconds / this)
    profile: str = ""                 # the workbook profile that made the run (provenance of its rows)

    def __post_init__(self) -> None:
        def bad(msg):
            raise ValueError(f"TrainConfig({self.exp_name}): {msg}")

        if self.phase not in (1, 2, 3):
            bad(f"phase must be 1, 2 or 3, got {self.phase}")
        if self.amp == "off":
            self.amp = "fp32"
        if self.amp not in AMP_MODES:
            bad(f"amp {self.amp!r}: choose from {AMP_MODES}")
        if self.data not in DATA_CHOICES:
            bad(f"data {self.data!r}: choose from {DATA_CHOICES}")
        for name in ("batch_size", "epochs", "crop"):
            if getattr(self, name) < 1:
                bad(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_steps", "stop_at", "warmup_steps", "freeze_backbone", "val_samples", "val_crop", "test_samples",
                     "test_crop"):
            if getattr(self, name) < 0:
                bad(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("log_every", "val_every", "ckpt_every", "max_bad_steps", "device_share"):
            if getattr(self, name) < 1:
                bad(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.scale <= 1:
            bad(f"scale must lie in (0, 1], got {self.scale}")
        self.x4k_steps, self.x4k_n_frames = tuple(self.x4k_steps), tuple(self.x4k_n_frames)
        if len(self.x4k_steps) != len(self.x4k_n_frames):
            bad(f"x4k_steps {self.x4k_steps} and x4k_n_frames {self.x4k_n_frames} must pair up (same length)")
        if not 0 <= self.context_dropout <= 1:
            bad(f"context_dropout must lie in [0, 1], got {self.context_dropout}")
        if self.window < 3:
            bad(f"window must be at least 3 frames, got {self.window}")
        if self.lr <= 0 or self.min_lr < 0:
            bad("lr must be > 0 and min_lr >= 0")
        if self.distill_weight > 0 and self.model.flow == "off":
            bad("distill_weight > 0 needs a flow model (model.flow != 'off')")
        if self.scale != 1 and self.model.flow == "off":
            bad("scale < 1 needs a flow model (model.flow != 'off')")

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir or runs_dir()) / self.exp_name

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        d = dict(d)
        d["model"] = ModelConfig.from_dict(d["model"])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def config_hash(self) -> str:
        """12 hex digits naming what this run computes (model, data, recipe, seed)."""
        d = {k: v for k, v in self.to_dict().items() if k not in NOT_HASHED}
        d = {k: v for k, v in d.items() if not (k in LATER_DEFAULTS and tuple(v) == LATER_DEFAULTS[k])}
        if self.model.context_frames == 2:
            d = {k: v for k, v in d.items() if k not in CONTEXT_FIELDS}
            d["model"] = {k: v for k, v in d["model"].items() if k != "context_frames"}
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]
