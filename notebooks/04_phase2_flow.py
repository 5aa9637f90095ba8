# %% [markdown]
# # 04 · Phase 2: flow guidance
# Trains the main Phase-2 model (Exp-2c, feature-level warping) from the Phase-1 main checkpoint (each
# trained through notebook 02 unless finished), then shows what the flow estimator sees on a hard pair
# of the embedded benchmark: both intermediate flows, the blend mask and the frame, and how the output
# moves with t. The flow estimator starts from RIFE HDv3's weights.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
preset = None
steps = None
data = None
settings = None
level = "hard"                # embedded benchmark level of the example pair

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "04_phase2_flow")

# %%
import torch

from vfilib.core.paths import DataPaths
from vfilib.data.datasets import snu_film
from vfilib.models.weights.checkpoint import load_model
from vfilib.reports import figures as viz
from vfilib.reports.figures import save_figure
from vfilib.grid import GridSpec, main_checkpoint

grid = GridSpec(("exp1c",), phase=1, preset=preset, steps=steps, data=data, settings=settings, profile=profile,
                results_dir=results_dir, runs_dir=runs_dir)
phase1 = main_checkpoint(grid, "exp1c")
phase2 = main_checkpoint(GridSpec(("exp2c",), phase=2, preset=preset, steps=steps, data=data, settings=settings,
                                  resume=phase1, profile=profile, results_dir=results_dir, runs_dir=runs_dir), "exp2c")
print("Phase 1:", phase1, "\nPhase 2:", phase2)

# %% [markdown]
# ## Flows and mask on a hard pair

# %%
model = load_model(phase2)
s = snu_film(DataPaths().embedded, level)[0]
i0, i1 = s["I0"][None], s["I1"][None]
with torch.no_grad():
    pred, aux = model(i0, i1, 0.5, return_aux=True)
save_figure(viz.flow_figure(i0, i1, pred, aux, f"Exp-2c ({preset}): {s['name']}, t = 0.5"), "04_flow_and_mask", results_dir)

# %% [markdown]
# ## The output moves continuously with t

# %%
ts = [0.125, 0.25, 0.5, 0.75, 0.875]
with torch.no_grad():
    outs = [model(i0, i1, t) for t in ts]
save_figure(viz.t_sweep_figure(outs, ts, f"Exp-2c ({preset}) at several t on {s['name']}"), "04_t_sweep", results_dir)
