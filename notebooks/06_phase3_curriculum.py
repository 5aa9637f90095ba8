# %% [markdown]
# # 06 · Phase 3: high resolution, mixed data and the curriculum (Exp-3a ... Exp-3d)
# Each row resumes the Phase-2 main checkpoint (Exp-2c). Exp-3b/3c/3d ask for X4K1000FPS (and Vimeo90K
# for mixing); with `data = "embedded"` they train on the embedded clips and their rows say so.
# Exp-3a evaluates the Phase-2 model as is. `settings["scale"]` < 1 trains and validates the
# full-resolution head that 4K inference uses.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "cpu"
experiments = ["exp3a", "exp3b", "exp3c", "exp3d"]
preset = "tiny"
steps = 60
data = "embedded"             # None: as each experiment says (x4k / mixed, with VFILIB_X4K and VFILIB_VIMEO)
settings = {"scale": 0.5}
force = False
jobs = 1                      # rows at once: 1 in order, N > 1 in N processes (each on its own GPU where
                              # there are GPUs, else on its share of the cores), 0 one per GPU
smoke = True

# %%
from IPython.display import display

from vfilib.reports import figures as viz
from vfilib.reports.figures import grid_figure, save_figure
from vfilib.reports.tables import label_experiments, latex_table
from vfilib.workbook import main_checkpoint, run_grid

base = {k: v for k, v in settings.items() if k != "scale"}
phase1 = main_checkpoint("exp1c", preset, 1, steps, data, base, None, results_dir, runs_dir, profile)
phase2 = main_checkpoint("exp2c", preset, 2, steps, data, base, phase1, results_dir, runs_dir, profile)
table = label_experiments(run_grid(experiments, preset, 3, steps, data, settings, phase2, results_dir, runs_dir,
                                   force, profile, jobs), preset)
display(table[["experiment", "what", "val_psnr", "val_ssim", "steps", "crop", "scale", "data", "validation"]])
latex_table(table[["experiment", "what", "crop", "scale", "val_psnr", "val_ssim"]].rename(columns={
    "val_psnr": "PSNR (dB)", "val_ssim": "SSIM"}), "phase3_ablations",
    f"Phase-3 ablations ({preset} preset, {steps} steps; crop = the crop actually trained at the end).", results_dir,
    rows=table, smoke=smoke, profile=profile)
fig = grid_figure(table, "exp3d", f"Phase-3 ablations: {preset} preset, {steps} steps, {table['data'].iloc[-1]}", smoke)
save_figure(fig, "06_phase3_ablations", results_dir, vector=True)

# %% [markdown]
# ## The curriculum (seed 001, 4.3.1): crop 256 -> 384 -> 512 and the X-TRAIN gap grow with progress

# %%
save_figure(viz.curriculum_figure(), "06_curriculum", results_dir, vector=True)
