# %% [markdown]
# # 05 · The Phase-2 ablation grid (Exp-2a ... Exp-2e)
# Every row resumes the Phase-1 main checkpoint; Exp-2a evaluates it as is (no training step), Exp-2b ...
# 2e train. Exp-2e distils from RIFE HDv3's flows (FlowFormer++ has no offline weights).

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "cpu"
experiments = ["exp2a", "exp2b", "exp2c", "exp2d", "exp2e"]
preset = "tiny"
steps = 60
data = "embedded"
settings = {}
force = False
jobs = 1                      # rows at once: 1 in order, N > 1 in N processes (each on its own GPU where
                              # there are GPUs, else on its share of the cores), 0 one per GPU
smoke = True

# %%
from IPython.display import display

from vfilib.reports.figures import grid_figure, save_figure
from vfilib.reports.tables import label_experiments, latex_table
from vfilib.workbook import main_checkpoint, run_grid

phase1 = main_checkpoint("exp1c", preset, 1, steps, data, settings, None, results_dir, runs_dir, profile)
table = label_experiments(run_grid(experiments, preset, 2, steps, data, settings, phase1, results_dir, runs_dir,
                                   force, profile, jobs), preset)
display(table[["experiment", "what", "params_M", "val_psnr", "val_ssim", "steps", "evaluate_only", "data", "validation"]])
latex_table(table[["experiment", "what", "params_M", "val_psnr", "val_ssim"]].rename(columns={
    "params_M": "params (M)", "val_psnr": "PSNR (dB)", "val_ssim": "SSIM"}), "phase2_ablations",
    f"Phase-2 ablations ({preset} preset, {steps} steps; Exp-2a: no step).", results_dir, rows=table, smoke=smoke,
    profile=profile)
fig = grid_figure(table, "exp2c", f"Phase-2 ablations: {preset} preset, {steps} steps, {table['data'].iloc[-1]}", smoke)
save_figure(fig, "05_phase2_ablations", results_dir, vector=True)
