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
# # 04 · Phase 2: flow guidance
# Trains the main Phase-2 model (Exp-2c, feature-level warping) from the Phase-1 main checkpoint
# through notebook 02 (skipped if already in `results/phase2.csv`), then shows what the flow estimator
# sees: both intermediate flows, the blend mask and the frame, on a hard pair of the embedded
# benchmark, and how the output moves with t. The flow estimator starts from RIFE HDv3's weights
# where shapes match (the 90-channel presets); distillation (Exp-2e) uses RIFE HDv3 as the teacher
# because no FlowFormer++ weights exist offline.

# %% tags=["parameters"]
results_dir = "results"
profile = "cpu"
preset = "tiny"
epochs = 1                       # used when steps is 0
steps = 60
crop = 48
batch_size = 4
amp = "off"
perceptual_weight = 0.0
val_samples = 4
val_crop = 96
freeze_backbone = 0
data = "embedded"                 # embedded | film | vimeo (Vimeo90K septuplets at data_path)
data_path = None
runs_dir = "runs"
level = "hard"                 # embedded benchmark level of the example pair

# %%
import matplotlib.pyplot as plt
import torch

from vfilib import viz
from vfilib.data.datasets import snu_film
from vfilib.data.paths import DataPaths
from vfilib.train.checkpoint import load_model
from vfilib.workbook import phase1_grid, resume_point, save_figure

common = dict(preset=preset, steps=steps, epochs=epochs, crop=crop, batch_size=batch_size, amp=amp, perceptual_weight=perceptual_weight,
              val_samples=val_samples, val_crop=val_crop, runs_dir=runs_dir, profile=profile, data=data,
              data_path=data_path)
phase1 = resume_point(runs_dir, f"exp1c_{preset}")
if phase1 is None:                     # the Phase-1 main model first
    phase1_grid(["exp1c"], common, results_dir)
    phase1 = resume_point(runs_dir, f"exp1c_{preset}")
print("Phase-1 checkpoint:", phase1)
table = phase1_grid(["exp2c"], {**common, "phase": 2, "resume": str(phase1), "freeze_backbone": freeze_backbone},
                    results_dir)
table

# %% [markdown]
# ## Flows and mask on a hard pair

# %%
model = load_model(resume_point(runs_dir, f"exp2c_{preset}")).eval()
s = snu_film(DataPaths().embedded, level)[0]
i0, i1 = s["I0"][None], s["I1"][None]
with torch.no_grad():
    pred, aux = model(i0, i1, 0.5, return_aux=True)
fig = viz.flow_figure(i0, i1, pred, aux, f"Exp-2c ({preset}): {s['name']}, t = 0.5")
save_figure(fig, "04_flow_and_mask", results_dir)

# %% [markdown]
# ## The output moves continuously with t

# %%
ts = [0.125, 0.25, 0.5, 0.75, 0.875]
with torch.no_grad():
    outs = [model(i0, i1, t) for t in ts]
fig, axes = plt.subplots(1, len(ts), figsize=(3.2 * len(ts), 3.2 * i0.shape[-2] / i0.shape[-1] + 0.6), layout="constrained")
for ax, t, o in zip(axes, ts, outs):
    ax.imshow(viz._img(o[0])), ax.set_title(f"t = {t}"), ax.set_xticks([]), ax.set_yticks([])
fig.suptitle(f"Exp-2c ({preset}) at several t on {s['name']}")
save_figure(fig, "04_t_sweep", results_dir)
