"""The N ablation (issue 29): N-frame runs against the 2-frame run of the same budget, from the same weights.

    ckpts = run_ablation((2, 4), "small", steps=600, data="live", init="weights/vfilib.pt", settings={...})

Every arm (grid rows ``exp_n2``, ``exp_n4``, ``exp_n6`` of :data:`vfilib.config.NFRAME_EXPERIMENTS`)
resumes ``init`` (the 2-frame weights; an N-frame model's context mixer starts fresh with its gate at
zero, so every arm starts as the same model) and trains the same steps on the same batches (the frame
bank draws the 2-frame batch's triplets whatever N). Without ``init`` a 2-frame base run of
``base_steps`` is made first and every arm starts from it. A finished arm (same config hash and steps
in its run folder) is not run again.
"""
from __future__ import annotations

from pathlib import Path

from .experiments import experiment_config, finished
from .loop import train


def run_ablation(frames=(2, 4), preset: str = "tiny", steps: int = 30, data: str = "embedded", init: str | None = None,
                 settings: dict | None = None, runs_dir: str | Path = "runs", results_csv: str | Path | None = None,
                 base_steps: int = 0) -> dict[int, Path]:
    """Train (or find) one run per N in ``frames``; returns {N: its last.pt}."""
    settings = dict(settings or {})
    common = dict(out_dir=str(runs_dir), results_csv=str(results_csv) if results_csv else None, **settings)
    if init is None:
        base = experiment_config("exp_n2", preset, steps=base_steps or steps, data=data, exp_name=f"exp_n_base_{preset}",
                                 **common)
        init = str(finished(base) or _train(base))
    out = {}
    for n in frames:
        cfg = experiment_config(f"exp_n{n}", preset, steps=steps, data=data, resume=init, **common)
        out[n] = finished(cfg) or _train(cfg)
    return out


def _train(cfg) -> Path:
    print(f"[nframe] {cfg.exp_name} (config {cfg.config_hash()}) ...", flush=True)
    train(cfg)
    return cfg.run_dir / "last.pt"
