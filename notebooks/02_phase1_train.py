# %% [markdown]
# # 02 · Train one configuration
# One row of an ablation grid (`experiment`, see `vfilib.config`), any phase (`phase`, `resume` from an
# earlier phase's checkpoint), any switch or run size in `settings` (fields of `TrainConfig` or
# `ModelConfig`). The grids of notebooks 03, 05 and 06 run this notebook through papermill. The run
# writes `runs/<exp_name>/` (checkpoints, TensorBoard, metrics.csv) and one row of
# `results/phase<phase>.csv` with its config hash, data, steps, crop and validation set.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "cpu"
experiment = "exp1c"          # a grid row: exp1a ... exp1i, exp2a ... exp2e, exp3a ... exp3d
preset = "tiny"
phase = 1
steps = 60                    # optimizer steps (0: epochs from settings)
data = "embedded"             # embedded | film | live | vimeo | x4k | mixed (None: as the experiment says)
resume = None                 # Phase 2/3: the checkpoint this run starts from
settings = {}                 # e.g. {"crop": 48, "batch_size": 4, "use_ecab": False}

# %%
import pandas as pd
import torch
from IPython.display import display

from vfilib.core.paths import repo_path
from vfilib.models.weights.checkpoint import load_model
from vfilib.reports import figures as viz
from vfilib.reports.figures import save_figure
from vfilib.train import train
from vfilib.train.data import build_sources
from vfilib.train.experiments import experiment_config

results_dir, runs_dir = repo_path(results_dir), repo_path(runs_dir)
cfg = experiment_config(experiment, preset, steps=steps, data=data, phase=phase, resume=resume, out_dir=str(runs_dir),
                        results_csv=str(results_dir / f"phase{phase}.csv"), **settings)
print(experiment, "| config", cfg.config_hash())
display(pd.Series(cfg.model.to_dict(), name="model config").to_frame().T)

# %%
summary = train(cfg)
display(pd.Series(summary, name=cfg.exp_name).to_frame())

# %% [markdown]
# ## Predictions on validation samples

# %%
model = load_model(summary["checkpoint"]) if summary["checkpoint"] else None
if model is not None:
    _, val = build_sources(cfg, torch.device("cpu"))
    samples = []
    for s in val.samples[:3]:
        with torch.no_grad():
            kw = {"scale": cfg.scale} if cfg.scale != 1 else {}
            pred = model(s.i0[None], s.i1[None], s.t, **kw)[0]
        samples.append({"I0": s.i0, "I1": s.i1, "gt": s.gt, "pred": pred, "name": s.name})
    fig = viz.prediction_figure(samples, f"{cfg.exp_name}: validation samples after {summary['steps']} steps")
    fig.savefig(cfg.run_dir / "samples.png", dpi=100, bbox_inches="tight")     # every run: in its folder
    if experiment in ("exp1c", "exp2c", "exp3d"):                               # the main ones: in results/
        save_figure(fig, f"02_{cfg.exp_name}_samples", results_dir)
