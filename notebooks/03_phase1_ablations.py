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
# # 03 · The Phase-1 ablation grid (Exp-1a ... Exp-1i)
# Runs notebook 02 once per experiment through papermill (executed copies in `runs/notebooks/`),
# skipping experiments already in `results/phase1.csv` with the same run size, then tabulates and
# plots them. The `data` column says where every number comes from.

# %% tags=["parameters"]
results_dir = "results"
profile = "cpu"
experiments = ["exp1a", "exp1b", "exp1c", "exp1d", "exp1e", "exp1e_seq", "exp1f", "exp1g", "exp1h",
               "exp1h_lite", "exp1i_w7", "exp1i_w14"]
preset = "tiny"
data = "embedded"             # embedded | film | vimeo | x4k | mixed
steps = 60
epochs = 1
crop = 48
batch_size = 4
amp = "off"
perceptual_weight = 0.01
val_samples = 8
val_crop = 0
force = False
runs_dir = "runs"

# %%
from IPython.display import display

from vfilib.workbook import grid_figure, label_experiments, latex_table, phase1_grid, save_figure

params = dict(preset=preset, data=data, steps=steps, epochs=epochs, crop=crop, batch_size=batch_size, amp=amp,
              perceptual_weight=perceptual_weight, val_samples=val_samples, val_crop=val_crop, profile=profile,
              runs_dir=runs_dir)
table = phase1_grid(experiments, params, results_dir, force)

# %%
table = label_experiments(table, preset)
cols = ["experiment", "what", "params_M", "val_psnr", "val_ssim", "steps", "data", "device", "commit"]
display(table[cols])
print("Rows from the embedded clips are for development and relative comparison only; rows whose data "
      "column says Vimeo90K come from the real benchmark.")
latex_table(table[["experiment", "what", "params_M", "val_psnr", "val_ssim"]].rename(columns={
    "params_M": "params (M)", "val_psnr": "PSNR (dB)", "val_ssim": "SSIM"}), "phase1_ablations",
    f"Phase-1 ablations ({preset} preset, {steps} steps, data: {table['data'].iloc[0]}).", results_dir)

# %%
fig = grid_figure(table, "exp1c", f"Phase-1 ablations: {preset} preset, {steps} steps, {table['data'].iloc[0]}", steps)
save_figure(fig, "03_phase1_ablations", results_dir)
