# %% [markdown]
# # 05 · The Phase-2 ablation grid (Exp-2a ... Exp-2e)
# Every row starts from the Phase-1 main checkpoint (`start_from`: Exp-1c, seed 0, trained first with the same
# settings and budget when it is not finished); Exp-2a evaluates it as is (no training step), Exp-2b ... 2e
# train, at `seeds` seeds each, and are scored on the same held-out test triplets. Each variant is compared
# with the main configuration (Exp-2c) with a 95 % paired-bootstrap interval over triplets and seeds.
# Exp-2e distils from RIFE HDv3's flows (FlowFormer++ has no offline weights). Grids, time limits, resuming
# and the lent GPU: as in notebook 03.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
experiments = None            # None: every row of vfilib.config.PHASE2_EXPERIMENTS
preset = None
steps = None
samples = None
data = None
settings = None
seeds = None
budget_scale = None
scaled = ["exp2b", "exp2c"]
start_from = "exp1c"          # the Phase-1 row (seed 0) every row starts from
force = False
jobs = None
rows_per_gpu = None
time_limit = 0
skip_recorded = None
train = None
smoke = None

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "05_phase2_ablations")

# %%
from IPython.display import display

from vfilib.grid import grid_specs, run_grids
from vfilib.reports.grids import difference_figure, save_grid_report
from vfilib.reports.figures import save_figure

specs = grid_specs(2, experiments, preset=preset, steps=steps, samples=samples, data=data, settings=settings,
                   seeds=seeds, budget_scale=budget_scale, scaled=scaled, profile=profile, results_dir=results_dir,
                   runs_dir=runs_dir, force=force, jobs=jobs, rows_per_gpu=rows_per_gpu, time_limit=time_limit,
                   skip_recorded=skip_recorded, start_from=start_from, train=train)
results = run_grids(specs)
for result in results:
    display(result.rows[["experiment", "seed", "what", "params_M", "evaluate_only", "samples", "test_psnr",
                         "test_ssim", "val_psnr", "train_seconds", "gpu_seconds", "config_hash"]])

# %%
stats = {}
for result in results:
    label = f"{result.spec.table}: {result.rows['samples'].max():,} samples a row"
    stats[label] = result.compare("exp2c")
    save_grid_report(result, stats[label], "exp2c", "05",
                     f"Phase-2 ablations ({preset} preset, {profile} profile; Exp-2a: no step)", smoke)
    display(stats[label][stats[label]["level"] == "all"])
if len(results) > 1:
    fig = difference_figure(stats, f"Phase-2 ablations at {budget_scale}x the budget", "exp2c", smoke)
    save_figure(fig, f"05_{specs[0].table}_budget", results_dir, vector=True)
