# %% [markdown]
# # 03 · The Phase-1 ablation grid (Exp-1a ... Exp-1i)
# Every row (experiment x seed) trains the same budget on the same data and is scored on the same held-out
# test triplets (`settings["test_samples"]` a level, centre crop `settings["test_crop"]`). Each variant is
# compared with the main configuration (Exp-1c): the mean difference in test PSNR with a 95 % interval from
# a paired bootstrap over triplets and seeds (`vfilib.eval.stats`). With `budget_scale` > 1 the `scaled` rows
# run again at that multiple of the budget: does the ranking hold?
#
# Rows run `jobs` at once (`rows_per_gpu` per GPU with `jobs = 0`); a finished row is not re-run; with
# `time_limit` the rows still running then save `last.pt` and stop, and running this notebook again resumes
# them. On a lent GPU the same grids run without the notebook: `python -m vfilib.grid run 03_phase1_ablations
# --profile h200 ...` (see `scripts/device_grid.sh`); their rows are merged here and this notebook, run
# with `skip_recorded = True`, makes the tables and figures from them.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
experiments = None            # None: every row of vfilib.config.PHASE1_EXPERIMENTS
preset = None
steps = None                  # optimizer steps a row ...
samples = None                # ... or (> 0) the budget in training samples a row
data = None
settings = None
seeds = None                  # seeds 0 .. seeds-1 of every row
budget_scale = None           # > 1: the `scaled` rows again at this multiple of the budget (tables "..._x4")
scaled = ["exp1a", "exp1b", "exp1c"]
force = False
jobs = None                   # rows at once: 1 in order in this process, N > 1 in N processes (GPUs round
                              # robin, else a share of the cores each), 0: rows_per_gpu per visible GPU
rows_per_gpu = None
time_limit = 0                # > 0: seconds for this run of the grid; rows still running save last.pt and stop
skip_recorded = None          # a row whose result and test scores are in results/ is done without its checkpoint
train = None                  # False: nothing trains here; tables from the rows in results/ (merged from a GPU)
smoke = None                  # the cpu profile's runs are far too short to rank anything

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "03_phase1_ablations")

# %%
from IPython.display import display

from vfilib.grid import grid_specs, run_grids
from vfilib.reports.grids import difference_figure, save_grid_report
from vfilib.reports.figures import save_figure

specs = grid_specs(1, experiments, preset=preset, steps=steps, samples=samples, data=data, settings=settings,
                   seeds=seeds, budget_scale=budget_scale, scaled=scaled, profile=profile, results_dir=results_dir,
                   runs_dir=runs_dir, force=force, jobs=jobs, rows_per_gpu=rows_per_gpu, time_limit=time_limit,
                   skip_recorded=skip_recorded, train=train)
results = run_grids(specs)
for result in results:
    display(result.rows[["experiment", "seed", "what", "params_M", "samples", "test_psnr", "test_ssim", "val_psnr",
                         "train_seconds", "gpu_seconds", "config_hash"]])

# %%
stats = {}
for result in results:
    label = f"{result.spec.table}: {result.rows['samples'].iloc[0]:,} samples a row"
    stats[label] = result.compare("exp1c")
    save_grid_report(result, stats[label], "exp1c", "03", f"Phase-1 ablations ({preset} preset, {profile} profile)",
                     smoke)
    display(stats[label][stats[label]["level"] == "all"])       # PSNR and SSIM
if len(results) > 1:          # the same rows at two budgets: do the order and the intervals hold?
    fig = difference_figure(stats, f"Phase-1 ablations at {budget_scale}x the budget", "exp1c", smoke)
    save_figure(fig, f"03_{specs[0].table}_budget", results_dir, vector=True)

# %% [markdown]
# ## Can an ablation show at this budget?
# How far each part of the main row (Exp-1c, seed 0) moves its output on a real pair when that part's
# parameters are zero (`vfilib.eval.reach`). A part whose reach is far below the differences between seeds
# cannot be ranked by ablating it at this budget.

# %%
import pandas as pd

from vfilib.core.paths import DataPaths
from vfilib.data.datasets import snu_film
from vfilib.eval.benchmark import centre_crop
from vfilib.eval.reach import part_reach
from vfilib.models.weights.checkpoint import load_model

main_run = specs[0].run_dir("exp1c", 0) / "last.pt"
if main_run.is_file():
    pair = snu_film(DataPaths().embedded, "hard")[0]
    i0, i1 = (centre_crop(pair[k][None], 256) for k in ("I0", "I1"))
    reach = part_reach(load_model(str(main_run)), i0, i1)
    display(pd.DataFrame([(k, n, r) for k, (n, r) in reach.items()],
                         columns=["part zeroed", "parameters", "max |output change|"]))
else:
    print(f"{main_run}: not on this machine (rows trained on a lent GPU keep their checkpoints there)")
