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
# # 05 · The Phase-2 ablation grid (Exp-2a ... Exp-2e)
# Exp-2b ... 2e each resume the Phase-1 main checkpoint and train through notebook 02 (finished runs
# skipped); Exp-2a is the Phase-1 main model itself (its row of `results/phase1.csv`). Exp-2e distils
# from RIFE HDv3 flows (not FlowFormer++, which has no offline weights).

# %% tags=["parameters"]
results_dir = "results"
profile = "cpu"
experiments = ["exp2b", "exp2c", "exp2d", "exp2e"]
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
force = False

# %%
from IPython.display import display

from vfilib.workbook import grid_figure, label_experiments, latex_table, phase1_grid, resume_point, save_figure

common = dict(preset=preset, steps=steps, epochs=epochs, crop=crop, batch_size=batch_size, amp=amp, perceptual_weight=perceptual_weight,
              val_samples=val_samples, val_crop=val_crop, runs_dir=runs_dir, profile=profile, data=data,
              data_path=data_path)
phase1 = resume_point(runs_dir, f"exp1c_{preset}")
if phase1 is None:
    phase1_grid(["exp1c"], common, results_dir)
    phase1 = resume_point(runs_dir, f"exp1c_{preset}")
table = phase1_grid(experiments, {**common, "phase": 2, "resume": str(phase1), "freeze_backbone": freeze_backbone},
                    results_dir, force)
table = label_experiments(table, preset, baseline=(f"{results_dir}/phase1.csv", "exp1c", "exp2a"))

# %%
display(table[["experiment", "what", "params_M", "val_psnr", "val_ssim", "steps", "data", "device", "commit"]])
latex_table(table[["experiment", "what", "params_M", "val_psnr", "val_ssim"]].rename(columns={
    "params_M": "params (M)", "val_psnr": "PSNR (dB)", "val_ssim": "SSIM"}), "phase2_ablations",
    f"Phase-2 ablations ({preset} preset, {steps} steps, data: {table['data'].iloc[-1]}).", results_dir)
fig = grid_figure(table, "exp2c", f"Phase-2 ablations: {preset} preset, {steps} steps, {table['data'].iloc[-1]}", steps)
save_figure(fig, "05_phase2_ablations", results_dir)
