# %% [markdown]
# # 06 · Phase 3: high resolution, mixed data and the curriculum (Exp-3a ... Exp-3d)
# Each row resumes the Phase-2 main checkpoint (Exp-2c). Exp-3b/3c/3d ask for X4K1000FPS (and Vimeo90K
# for mixing); with `data = "embedded"` they train on the embedded clips and their rows say so.
# Exp-3a evaluates the Phase-2 model as is. `settings["scale"]` < 1 trains and validates the
# full-resolution head that 4K inference uses.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
experiments = None            # None: every row of vfilib.config.PHASE3_EXPERIMENTS
preset = None
steps = None
data = None                   # embedded | film | live | vimeo | x4k | mixed (x4k and mixed read VFILIB_X4K, VFILIB_VIMEO)
settings = None
force = False
jobs = None                   # rows at once: 1 in order, N > 1 in N processes (each on its own GPU where
                              # there are GPUs, else on its share of the cores), 0 one per GPU
smoke = None

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "06_phase3_curriculum")

# %%
from IPython.display import display

from vfilib.grid import GridSpec, main_checkpoint, run_grid
from vfilib.reports import figures as viz
from vfilib.reports.figures import grid_figure, save_figure
from vfilib.reports.tables import latex_table

base = {k: v for k, v in settings.items() if k != "scale"}
common = dict(preset=preset, steps=steps, data=data, profile=profile, results_dir=results_dir, runs_dir=runs_dir)
phase1 = main_checkpoint(GridSpec(("exp1c",), phase=1, settings=base, **common), "exp1c")
phase2 = main_checkpoint(GridSpec(("exp2c",), phase=2, settings=base, resume=phase1, **common), "exp2c")
grid = GridSpec(experiments, phase=3, settings=settings, resume=phase2, force=force, jobs=jobs, **common)
table = run_grid(grid).rows
display(table[["experiment", "what", "val_psnr", "val_ssim", "steps", "crop", "scale", "data", "validation"]])
latex_table(table[["experiment", "what", "crop", "scale", "val_psnr", "val_ssim"]].rename(columns={
    "val_psnr": "PSNR (dB)", "val_ssim": "SSIM"}), f"{grid.table}_ablations",
    f"Phase-3 ablations ({preset} preset, {steps} steps; crop = the crop actually trained at the end).", results_dir,
    rows=table, smoke=smoke, profile=profile)
fig = grid_figure(table, "exp3d", f"Phase-3 ablations: {preset} preset, {steps} steps, {table['data'].iloc[-1]}", smoke)
save_figure(fig, f"06_{grid.table}_ablations", results_dir, vector=True)

# %% [markdown]
# ## The curriculum (seed 001, 4.3.1): crop 256 -> 384 -> 512 and the X-TRAIN gap grow with progress

# %%
save_figure(viz.curriculum_figure(), "06_curriculum", results_dir, vector=True)
