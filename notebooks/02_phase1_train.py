# %% [markdown]
# # 02 · Train one configuration
# One row of an ablation grid (`experiment` at `seed`, see `vfilib.config`), any phase (`phase`, `resume` from
# an earlier phase's checkpoint), any switch or run size in `settings` (fields of `TrainConfig` or
# `ModelConfig`), the budget in optimizer `steps` or training `samples`. The config is made exactly as the
# grids of notebooks 03, 05 and 06 make their rows (`vfilib.grid.GridSpec.row_config`), so a run made here is
# a finished row there. The run writes `runs/<exp>_<preset>_s<seed>/` (checkpoints, TensorBoard,
# metrics.csv, test_scores.csv) and one row of `results/phase<phase>.csv` (other profiles:
# `phase<phase>_<profile>.csv`) with its config hash, seed, data, budget, validation and test scores.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
experiment = "exp1c"          # a grid row: exp1a ... exp1i, exp2a ... exp2e, exp3a ... exp3d
seed = 0
preset = None
phase = 1
steps = None                  # optimizer steps (0: epochs from settings)
samples = 0                   # > 0: the budget in training samples instead (steps: samples / batch_size)
data = None                   # embedded | film | live | vimeo | x4k | mixed (None: as the experiment says)
resume = None                 # None: from scratch; Phase 2/3: the checkpoint this run starts from
settings = None               # e.g. {"crop": 48, "batch_size": 4, "use_ecab": False, "test_samples": 4}

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "02_phase1_train")

# %%
import pandas as pd
import torch
from IPython.display import display

from vfilib.grid import GridSpec
from vfilib.grid.runner import run_row
from vfilib.models.weights.checkpoint import load_model
from vfilib.reports import figures as viz
from vfilib.reports.figures import save_figure
from vfilib.train.data import build_sources

spec = GridSpec((experiment,), phase=phase, preset=preset, steps=steps, samples=samples, data=data, settings=settings,
                resume=resume, profile=profile, results_dir=results_dir, runs_dir=runs_dir)
cfg = spec.row_config(experiment, seed)
print(cfg.exp_name, "| config", cfg.config_hash())
display(pd.Series(cfg.model.to_dict(), name="model config").to_frame().T)

# %%
summary = run_row(spec, experiment, seed)
display(pd.Series(summary, name=cfg.exp_name).to_frame())

# %% [markdown]
# ## Predictions on validation samples

# %%
model = load_model(summary["checkpoint"]) if summary["checkpoint"] else None
if model is not None:
    _, val = build_sources(cfg, torch.device("cpu"))
    shown = []
    for s in val.samples[:3]:
        with torch.no_grad():
            kw = {"scale": cfg.scale} if cfg.scale != 1 else {}
            pred = model(s.i0[None], s.i1[None], s.t, **kw)[0]
        shown.append({"I0": s.i0, "I1": s.i1, "gt": s.gt, "pred": pred, "name": s.name})
    fig = viz.prediction_figure(shown, f"{cfg.exp_name}: validation samples after {summary['steps']} steps")
    fig.savefig(cfg.run_dir / "samples.png", dpi=100, bbox_inches="tight")     # every run: in its folder
    if experiment in ("exp1c", "exp2c", "exp3d"):                               # the main ones: in results/
        save_figure(fig, f"02_{experiment}_{preset}_samples", results_dir)
