"""Model configuration: dataclasses, presets and the ablation grids of the three phases.

One place for every architectural fact. A config is plain data: it round-trips through
``to_dict`` / ``from_dict`` so checkpoints can carry it, and ``replace`` derives variants.

Presets
    ``tiny``  CPU tests and smoke runs (~0.3 M parameters).
    ``small`` about the size of VFIMamba_S (15-17 M parameters).
    ``base``  a larger model for multi-GPU training.

Every ablation switch of seed 001 section 4.1.5 is a field of :class:`ModelConfig`; the grids are
:data:`PHASE1_EXPERIMENTS` (Exp-1a ... 1i), :data:`PHASE2_EXPERIMENTS` (2a ... 2e) and
:data:`PHASE3_EXPERIMENTS` (3a ... 3d).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

BACKBONE_MODES = ("hybrid", "mamba2_only", "gated_attn_only")
SCAN_MODES = ("interleaved", "sequential", "per_frame")
RESIDUAL_MODES = ("plain", "mhc", "mhc_lite")
SSM_IMPLS = ("auto", "torch", "official")
SSM_DTYPES = ("fp32", "autocast")
FUSED_MODES = ("auto", "off")
MAMBA_VERSIONS = (1, 2)
CHANNEL_ATTENTIONS = ("ecab", "cab")            # ModelConfig.use_ecab True / False
FLOW_MODES = ("off", "image", "feature", "flow_only")
# Each tuple above names the entries of a registry in vfilib.models.vfi (BACKBONES, SCANS, RESIDUALS,
# MIXERS, CHANNEL_ATTENTION, FLOWS); tests/test_registries.py checks they are the same sets.
AMP_MODES = ("off", "fp32", "bf16", "fp16")      # "off" and "fp32" both mean: no autocast


def amp_dtype(name: str):
    """The autocast dtype of an AMP mode name (None: plain fp32)."""
    import torch
    table = {"off": None, "fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
    if name not in table:
        raise ValueError(f"amp {name!r}: choose from {AMP_MODES}")
    return table[name]


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the VFI model.

    The network works on 5 scales: the CNN stem at 1/1, 1/2 and 1/4 (``dims[0:3]``) and LGS stages
    at 1/8 and 1/16 (``dims[3]``, ``dims[4]``, with ``depths`` blocks each); RefineNet decodes from
    1/16 back to 1/1 with ``refine_dims``. Inputs are padded to a multiple of :attr:`pad_multiple`
    internally and cropped back.
    """

    name: str = "custom"
    dims: tuple[int, ...] = (12, 16, 24, 32, 48)
    depths: tuple[int, ...] = (1, 1)          # LGS blocks at 1/8 and 1/16
    num_heads: tuple[int, ...] = (2, 2)       # attention heads of each LGS stage
    mlp_ratio: float = 2.0
    refine_dims: tuple[int, ...] = (12, 16, 24, 32, 48)  # RefineNet decoder width per scale

    # --- ablation switches (seed 001, 4.1.5) ---
    backbone_mode: str = "hybrid"       # Exp-1a/1b/1c
    mamba_version: int = 2              # Exp-1d
    scan: str = "interleaved"           # Exp-1e
    use_ecab: bool = True               # Exp-1f (False -> CAB)
    attn_gate: bool = True              # Exp-1g
    residual: str = "plain"             # Exp-1h: plain residuals | mhc | mhc_lite (n mixed streams)
    window_size: int = 8                # Exp-1i (7 | 8 | 14)

    # --- Phase 2/3: flow guidance (seed 001, 4.2-4.3) ---
    flow: str = "off"                   # off (Phase 1, Exp-2a) | image (2b) | feature (2c) | flow_only (2d)
    flow_channels: int = 90             # IFBlock width (90 = RIFE HDv3, so its weights can initialise it)
    hires_dims: int = 16                # full-resolution refinement head, used when scale < 1 (Phase 3)

    # --- N-frame context (issue 29; vfilib/models/context.py) ---
    context_frames: int = 2             # N = 2k frames I(-k+1) .. I0, I1 .. I(k); 2: the pair alone; 4, 6: a
                                        # gated temporal Mamba2 over the N frames' 1/8 tokens (gate zero at init)

    # --- Mamba2 (names as in mamba_ssm.Mamba2) ---
    d_state: int = 64
    d_conv: int = 4
    expand: int = 2
    headdim: int = 16
    ngroups: int = 1
    # --- Mamba1 (Exp-1d) ---
    mamba1_d_state: int = 16

    # --- mHC ---
    mhc_streams: int = 2
    mhc_sinkhorn_iters: int = 20

    def __post_init__(self) -> None:
        def bad(msg: str) -> None:
            raise ValueError(f"ModelConfig({self.name}): {msg}")

        if len(self.dims) != 5:
            bad(f"dims must have 5 entries (1/1, 1/2, 1/4, 1/8, 1/16), got {self.dims}")
        if len(self.depths) != 2 or len(self.num_heads) != 2:
            bad("depths and num_heads need one entry per LGS stage (2)")
        if len(self.refine_dims) != 5:
            bad(f"refine_dims must have 5 entries, got {self.refine_dims}")
        if self.backbone_mode not in BACKBONE_MODES:
            bad(f"backbone_mode {self.backbone_mode!r} not in {BACKBONE_MODES}")
        if self.scan not in SCAN_MODES:
            bad(f"scan {self.scan!r} not in {SCAN_MODES}")
        if self.residual not in RESIDUAL_MODES:
            bad(f"residual {self.residual!r} not in {RESIDUAL_MODES}")
        if self.mamba_version not in MAMBA_VERSIONS:
            bad(f"mamba_version must be 1 or 2, got {self.mamba_version}")
        if self.flow not in FLOW_MODES:
            bad(f"flow {self.flow!r} not in {FLOW_MODES}")
        if self.window_size < 1:
            bad("window_size must be positive")
        for d, h in zip(self.dims[3:], self.num_heads):
            if d % h:
                bad(f"LGS dim {d} is not divisible by its {h} heads")
            if (self.expand * d) % self.headdim:
                bad(f"headdim {self.headdim} must divide d_inner = expand*dim = {self.expand * d}")
        if self.residual != "plain" and not 2 <= self.mhc_streams <= 4:
            bad("mhc_streams must be 2..4")
        if self.context_frames < 2 or self.context_frames % 2 or self.context_frames > 8:
            bad(f"context_frames must be 2, 4, 6 or 8 (N = 2k frames around the interval), got {self.context_frames}")
        if self.context_frames > 2 and self.flow == "flow_only":
            bad("context_frames > 2 needs the backbone (flow_only has none)")

    @property
    def channel_attention(self) -> str:
        """The name of the LGS fusion's channel attention (Exp-1f), one of :data:`CHANNEL_ATTENTIONS`."""
        return "ecab" if self.use_ecab else "cab"

    @property
    def pad_multiple(self) -> int:
        """Input sizes are padded to this multiple (the backbone's coarsest scale is 1/16; the flow
        estimator's is 1/32)."""
        return 16 if self.flow == "off" else 32

    def replace(self, **changes: Any) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        d = {k: v for k, v in d.items() if k not in LEGACY_RUNTIME_FIELDS}
        if "use_mhc" in d:                                   # older checkpoints: use_mhc off | mhc | mhc_lite
            old = d.pop("use_mhc")
            d["residual"] = "plain" if old == "off" else old
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {sorted(unknown)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)


#: Fields that older checkpoints carried in the architecture config; they are run-time settings now
#: (:class:`RuntimeConfig`) and are dropped when such a config is read.
LEGACY_RUNTIME_FIELDS = ("ssm_impl", "ssm_dtype", "chunk_size")


@dataclass(frozen=True)
class RuntimeConfig:
    """How a model runs: settings that change speed (and float rounding), never the weights.

    ``ssm_impl``: the SSD / selective scan of ``mamba_ssm`` (official, CUDA), vfilib's pure-PyTorch
    one (torch), or official where it imports (auto). ``ssm_dtype``: ``autocast`` keeps the SSD inputs
    x, B, C in the activations' dtype (bf16 under bf16 autocast) on the official kernels; dt, A, D and
    the chunk states stay fp32 (PSNR change: ``python -m vfilib.eval --ssm_dtype``). ``chunk_size``:
    the SSD chunk (0: 256 on the official kernels, 64 on the pure-PyTorch SSD). ``fused``: the fused
    Triton kernels around the SSD for inference on CUDA (auto) or the plain path (off)."""

    ssm_impl: str = "auto"
    ssm_dtype: str = "fp32"
    chunk_size: int = 0
    fused: str = "auto"

    def __post_init__(self) -> None:
        for name, allowed in (("ssm_impl", SSM_IMPLS), ("ssm_dtype", SSM_DTYPES), ("fused", FUSED_MODES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"RuntimeConfig: {name} {getattr(self, name)!r} not in {allowed}")
        if self.chunk_size < 0:
            raise ValueError(f"RuntimeConfig: chunk_size must be >= 0, got {self.chunk_size}")

    def replace(self, **changes: Any) -> "RuntimeConfig":
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(name="tiny", hires_dims=8),     # flow_channels 90: RIFE HDv3 initialises it
    "small": ModelConfig(
        name="small",
        dims=(16, 32, 64, 128, 256),
        depths=(4, 7),
        num_heads=(4, 8),
        refine_dims=(16, 32, 64, 96, 128),
        d_state=64,
        headdim=32,
    ),
    "base": ModelConfig(
        name="base",
        dims=(24, 48, 96, 192, 384),
        depths=(6, 12),
        num_heads=(6, 12),
        refine_dims=(24, 48, 96, 128, 192),
        d_state=128,
        headdim=64,
    ),
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    """A preset config, optionally with fields replaced: ``preset("small", residual="mhc")``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    cfg = PRESETS[name]
    return cfg.replace(**overrides) if overrides else cfg


@dataclass(frozen=True)
class Experiment:
    """One row of an ablation grid: an id, what it tests, and the config fields it changes."""

    id: str
    title: str
    overrides: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)      # TrainConfig fields it changes


#: Phase-1 ablation grid, seed 001 section 4.1.5. Exp-1c is the main configuration.
PHASE1_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("exp1a", "Mamba2 only (no attention)", {"backbone_mode": "mamba2_only"}),
    Experiment("exp1b", "Gated window attention only (no SSM)", {"backbone_mode": "gated_attn_only"}),
    Experiment("exp1c", "Hybrid LGS block (main)", {}),
    Experiment("exp1d", "Mamba1 instead of Mamba2", {"mamba_version": 1}),
    Experiment("exp1e", "Per-frame flip SS2D instead of interleaved scan", {"scan": "per_frame"}),
    Experiment("exp1e_seq", "Sequential cross-frame scan", {"scan": "sequential"}),
    Experiment("exp1f", "CAB instead of ECAB", {"use_ecab": False}),
    Experiment("exp1g", "Attention without output gate", {"attn_gate": False}),
    Experiment("exp1h", "mHC residual mixing", {"residual": "mhc"}),
    Experiment("exp1h_lite", "mHC-lite residual mixing", {"residual": "mhc_lite"}),
    Experiment("exp1i_w7", "Window 7x7", {"window_size": 7}),
    Experiment("exp1i_w14", "Window 14x14", {"window_size": 14}),
)


#: Phase-2 grid, seed 001 section 4.2.3 (all resume the Phase-1 main model; Exp-2a is that model as is).
#: Exp-2e distils from RIFE HDv3's flows (no FlowFormer++ weights exist offline).
PHASE2_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("exp2a", "Phase-1 model, no flow (evaluated as is)", {"flow": "off"}, {"evaluate_only": True}),
    Experiment("exp2b", "Image-level warping + backbone + RefineNet", {"flow": "image"}),
    Experiment("exp2c", "Feature-level warping (main)", {"flow": "feature"}),
    Experiment("exp2d", "Flow only, no backbone features", {"flow": "flow_only"}),
    Experiment("exp2e", "Feature warping + flow distillation from RIFE HDv3", {"flow": "feature"},
               {"distill_weight": 0.01}),
)

#: Phase-3 grid, seed 001 section 4.3.3 (all resume the Phase-2 main model).
PHASE3_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("exp3a", "Phase-2 model at 4K, no fine-tuning", {"flow": "feature"}, {"evaluate_only": True}),
    Experiment("exp3b", "X4K fine-tuning only", {"flow": "feature"}, {"data": "x4k"}),
    Experiment("exp3c", "Mixed Vimeo + X4K (2:1)", {"flow": "feature"}, {"data": "mixed", "mixed_ratio": "2:1"}),
    Experiment("exp3d", "Curriculum: crop 256->512, gap grows (main)", {"flow": "feature"},
               {"data": "mixed", "curriculum": True}),
)

#: The N ablation (issue 29, notebook 10): the same budget from the same weights; only the window changes.
NFRAME_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("exp_n2", "2-frame pair (the N ablation's baseline)", {"flow": "feature", "context_frames": 2}),
    Experiment("exp_n4", "4-frame window: gated temporal Mamba2 at 1/8", {"flow": "feature", "context_frames": 4}),
    Experiment("exp_n6", "6-frame window: gated temporal Mamba2 at 1/8", {"flow": "feature", "context_frames": 6}),
)

ALL_EXPERIMENTS = PHASE1_EXPERIMENTS + PHASE2_EXPERIMENTS + PHASE3_EXPERIMENTS + NFRAME_EXPERIMENTS
#: The rows of each phase's grid (notebooks 03, 05, 06 run all of them unless given a subset).
PHASE_EXPERIMENTS = {1: PHASE1_EXPERIMENTS, 2: PHASE2_EXPERIMENTS, 3: PHASE3_EXPERIMENTS}


def experiment(exp_id: str) -> Experiment:
    for e in ALL_EXPERIMENTS:
        if e.id == exp_id:
            return e
    raise ValueError(f"unknown experiment {exp_id!r}; known: {[e.id for e in ALL_EXPERIMENTS]}")
