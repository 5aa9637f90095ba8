# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Train one configuration (Phase 1; Phase 2/3 with `phase`, `resume`)
# Every ablation switch and the run size are parameters (papermill sets them for the grids of 03, 05
# and 06). The run writes `runs/<exp_name>/` (checkpoints, TensorBoard, metrics.csv) and one row of
# `results/phase<phase>.csv`.

# %% tags=["parameters"]
results_dir = "results"
profile = "cpu"
experiment = "exp1c"          # a grid row (vfilib.config: PHASE1/2/3_EXPERIMENTS)
phase = 1
resume = None                 # Phase 2/3: the checkpoint to start from (weights only)
freeze_backbone = 0           # epochs with the backbone frozen after resuming
distill_weight = None         # None: as the experiment says (Exp-2e: 0.01)
train_scale = 1.0             # flow models: working scale in training (< 1 trains the full-res head)
curriculum = None
exp_name = ""                 # default: <experiment>_<preset>
preset = "tiny"
backbone_mode = None          # None: as the experiment says; else overrides it
mamba_version = None
scan = None
use_ecab = None
attn_gate = None
use_mhc = None
window_size = None
data = "embedded"             # embedded | film | vimeo | x4k | mixed
data_path = None
x4k_path = None
steps = 60
epochs = 1
crop = 48
batch_size = 4
amp = "off"
perceptual_weight = 0.01
val_samples = 8
val_crop = 0
seed = 0
runs_dir = "runs"

# %%
import pandas as pd
import torch
from IPython.display import display

from vfilib.config import experiment as get_experiment, preset as get_preset
import dataclasses

from vfilib.train import TrainConfig, train
from vfilib.train.trainer import build_datasets
from vfilib.workbook import save_figure
from vfilib import viz

switches = dict(backbone_mode=backbone_mode, mamba_version=mamba_version, scan=scan, use_ecab=use_ecab,
                attn_gate=attn_gate, use_mhc=use_mhc, window_size=window_size)
exp = get_experiment(experiment)
model_cfg = get_preset(preset, **{**exp.overrides, **{k: v for k, v in switches.items() if v is not None}})
train_kw = {k: v for k, v in exp.train.items() if k in {f.name for f in dataclasses.fields(TrainConfig)}}
train_kw.update({k: v for k, v in dict(distill_weight=distill_weight, curriculum=curriculum).items() if v is not None})
exp_data = train_kw.pop("data", None)
if exp_data and data == "embedded":
    print(f"{exp.id} asks for data={exp_data}; this run trains on the embedded clips instead (the row says so)")
    train_kw.pop("mixed_ratio", None)
elif exp_data:
    data = exp_data
train_kw.pop("max_steps", None)
cfg = TrainConfig(exp_name=exp_name or f"{experiment}_{preset}", phase=phase, model=model_cfg, data=data,
                  data_path=data_path, x4k_path=x4k_path, max_steps=steps, epochs=epochs, crop=crop, batch_size=batch_size, amp=amp,
                  perceptual_weight=perceptual_weight, val_samples=val_samples, val_crop=val_crop, seed=seed,
                  out_dir=runs_dir, num_workers=2, results_csv=f"{results_dir}/phase{phase}.csv",
                  val_every=max(steps // 2, 1) if steps else 1000, resume=resume, freeze_backbone=freeze_backbone,
                  scale=train_scale, **train_kw)
print(exp.id, "-", exp.title)
display(pd.Series(model_cfg.to_dict(), name="model config").to_frame())

# %%
summary = train(cfg)
display(pd.Series(summary, name=cfg.exp_name).to_frame())

# %% [markdown]
# ## Sample predictions on the validation split

# %%
from vfilib.train.checkpoint import load_model
model = load_model(summary["checkpoint"]) if summary["checkpoint"] else None
_, val_set = build_datasets(cfg)
samples = []
if model is not None:
    for i in range(min(3, len(val_set))):
        s = val_set[i]
        with torch.no_grad():
            pred = model(s["I0"][None], s["I1"][None], s["t"])[0]
        samples.append({**s, "pred": pred})
    fig = viz.prediction_figure(samples, f"{cfg.exp_name}: validation samples after {summary['steps']} steps")
    fig.savefig(cfg.run_dir / "samples.png", dpi=100, bbox_inches="tight")     # every run: in its folder
    if experiment in ("exp1c", "exp2c", "exp3d"):                               # the main ones: thesis figures
        save_figure(fig, f"02_{cfg.exp_name}_samples", results_dir, dpi=100)
