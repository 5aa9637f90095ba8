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
# # 06 · Phase 3: high resolution, mixed data and the curriculum (Exp-3a ... Exp-3d)
# Each run resumes the Phase-2 main checkpoint (Exp-2c). Exp-3b/3c/3d need X4K1000FPS (and Vimeo90K
# for mixing): without them (`x4k_path` unset) they train on the embedded clips and their rows say
# so. Exp-3a is the Phase-2 model as is (its row of `results/phase2.csv`). `train_scale` < 1 also
# trains the full-resolution head that 4K inference uses.

# %% tags=["parameters"]
results_dir = "results"
profile = "cpu"
experiments = ["exp3b", "exp3c", "exp3d"]
preset = "tiny"
epochs = 1                       # used when steps is 0
steps = 60
crop = 48
batch_size = 4
amp = "off"
perceptual_weight = 0.0
val_samples = 4
val_crop = 96
train_scale = 0.5
data = "embedded"                 # "mixed" for the real runs (with data_path and x4k_path)
data_path = None
x4k_path = None
runs_dir = "runs"
force = False

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from vfilib.data.curriculum import crop_at, gap_at
from vfilib.workbook import grid_figure, label_experiments, latex_table, phase1_grid, resume_point, save_figure

common = dict(preset=preset, steps=steps, epochs=epochs, crop=crop, batch_size=batch_size, amp=amp, perceptual_weight=perceptual_weight,
              val_samples=val_samples, val_crop=val_crop, runs_dir=runs_dir, profile=profile, data=data,
              data_path=data_path, x4k_path=x4k_path)
phase2 = resume_point(runs_dir, f"exp2c_{preset}")
if phase2 is None:
    raise FileNotFoundError(f"no Phase-2 main checkpoint in {runs_dir}/exp2c_{preset}: run notebook 04 first")
table = phase1_grid(experiments, {**common, "phase": 3, "resume": str(phase2), "train_scale": train_scale},
                    results_dir, force)
table = label_experiments(table, preset, baseline=(f"{results_dir}/phase2.csv", "exp2c", "exp3a"))
display(table[["experiment", "what", "val_psnr", "val_ssim", "steps", "data", "device", "commit"]])
latex_table(table[["experiment", "what", "val_psnr", "val_ssim"]].rename(columns={"val_psnr": "PSNR (dB)",
            "val_ssim": "SSIM"}), "phase3_ablations", f"Phase-3 ablations ({preset}, {steps} steps).", results_dir)
fig = grid_figure(table, "exp3d", f"Phase-3 ablations: {preset} preset, {steps} steps, {table['data'].iloc[-1]}", steps)
save_figure(fig, "06_phase3_ablations", results_dir)

# %% [markdown]
# ## The curriculum (seed 001, 4.3.1): crop 256 -> 384 -> 512 and the X-TRAIN gap grow with progress

# %%
p = np.linspace(0, 1, 201)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(p * 100, [crop_at(x) for x in p], label="crop size (px)")
ax2 = ax.twinx()
ax2.plot(p * 100, [gap_at(x) for x in p], color="tab:orange", label="max frame gap")
ax.set_xlabel("training progress (% of curriculum_T epochs)"), ax.set_ylabel("crop (px)"), ax2.set_ylabel("max gap")
fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
ax.set_title("Phase-3 curriculum")
fig.tight_layout()
save_figure(fig, "06_curriculum", results_dir)
