# %% [markdown]
# # 03 · The Phase-1 ablation grid (Exp-1a ... Exp-1i)
# Runs notebook 02 once per experiment (executed copies in `runs/notebooks/`). A row whose run folder
# already holds a checkpoint of the same config (hash) and length is not re-run; `force=True` re-runs
# it. The table and the chart show each variant against the main configuration (Exp-1c).

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "cpu"
experiments = None              # None: every row of vfilib.config.PHASE1_EXPERIMENTS
preset = "tiny"
steps = 60
data = "embedded"
settings = {}
force = False
jobs = 1                      # rows at once: 1 in order, N > 1 in N processes (each on its own GPU where
                              # there are GPUs, else on its share of the cores), 0 one per GPU
smoke = True                  # the cpu profile's runs are far too short to rank anything

# %%
from IPython.display import display

from vfilib.config import PHASE1_EXPERIMENTS
from vfilib.reports.figures import grid_figure, save_figure
from vfilib.reports.tables import label_experiments, latex_table
from vfilib.workbook import run_grid

experiments = experiments or [e.id for e in PHASE1_EXPERIMENTS]
table = label_experiments(run_grid(experiments, preset, 1, steps, data, settings, None, results_dir, runs_dir,
                                   force, profile, jobs), preset)
cols = ["experiment", "what", "params_M", "val_psnr", "val_ssim", "steps", "crop", "data", "validation", "config_hash"]
display(table[cols])

# %%
latex_table(table[["experiment", "what", "params_M", "val_psnr", "val_ssim"]].rename(columns={
    "params_M": "params (M)", "val_psnr": "PSNR (dB)", "val_ssim": "SSIM"}), "phase1_ablations",
    f"Phase-1 ablations ({preset} preset, {steps} steps).", results_dir, rows=table, smoke=smoke, profile=profile)
fig = grid_figure(table, "exp1c", f"Phase-1 ablations: {preset} preset, {steps} steps, {table['data'].iloc[0]}", smoke)
save_figure(fig, "03_phase1_ablations", results_dir, vector=True)
