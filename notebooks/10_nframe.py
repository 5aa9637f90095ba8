# %% [markdown]
# # 10 · N-frame context: does a window of 4 frames beat the pair?
# The model can take the frames around the interval (I-1, I0, I1, I2: `context_frames = 4`): a gated
# temporal Mamba2 mixes their 1/8 features into the pair's; warping stays from I0 and I1, and with the
# gate at zero it is the 2-frame model exactly (`vfilib.models.vfi.context`). Three parts:
# 1. the N ablation: 2 and 4 frames fine-tuned from the same weights for the same samples;
# 2. where the context helps: the per-sample gain by motion and by the non-linearity of the motion;
# 3. whole sequences (LDF-VFI's view): shots at x2 ... x16, per-frame quality and temporal consistency.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
preset = None
frames = None                 # the windows compared (N)
steps = None                  # optimizer steps of every arm (the same budget)
data = None                   # training data (live: the live-action shots, frame bank)
init = None                   # the 2-frame weights every arm starts from (None: a 2-frame base run first)
base_steps = None             # steps of that base run
settings = None               # TrainConfig / ModelConfig fields, e.g. {"crop": 48, "batch_size": 4}
bench = None                  # benchmark of part 2 (its N-frame form: context frames from the shots)
max_samples = None            # per level (0: all)
crop = None                   # centre crop for parts 2 and 3 (0: whole frames)
peers = None                  # 2-frame peers beside the arms (part 3)
seq_factors = None
seq_shots = None
seq_max_frames = None         # frames per shot (1 + a multiple of the largest factor)
halving = None                # also the arms by halving (t = 0.5 steps, each with its window), as the video tool
device = None                    # None: cuda where there is a GPU, else cpu

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "10_nframe")

# %%
import torch
from IPython.display import display

from vfilib.core.paths import repo_path
from vfilib.core.tables import append_rows, provenance
from vfilib.eval import sequence as seq
from vfilib.eval.context_gain import gain_table, per_sample
from vfilib.eval.interpolators import RecursiveT
from vfilib.eval.peers import from_checkpoint, make_peer
from vfilib.reports.figures import save_figure
from vfilib.reports.nframe import context_gain_figure, level_table
from vfilib.reports.tables import latex_table
from vfilib.train.nframe import run_ablation

results_dir, runs_dir = repo_path(results_dir), repo_path(runs_dir)
device = device or ("cuda" if torch.cuda.is_available() else "cpu")
init = str(repo_path(init)) if init else None
smoke = profile == "cpu"
ckpts = run_ablation(frames, preset, steps, data, init, {**settings, "device": device}, runs_dir,
                     results_dir / "nframe.csv", base_steps)
arms = {n: from_checkpoint(str(c), device) for n, c in ckpts.items()}
for n, it in arms.items():
    it.name = f"vfilib N={n}"
print({n: str(c) for n, c in ckpts.items()})

# %% [markdown]
# ## 1-2 · The N ablation per level, and where the context helps

# %%
per = per_sample(list(arms.values()), bench, max_samples=max_samples or None, crop=crop, device=device)
levels = level_table(per).reset_index().assign(bench=bench, crop=crop, steps=steps, data=per["data"].iloc[0],
                                               checkpoint=lambda d: d["method"].map({a.name: str(ckpts[n]) for n, a in arms.items()}),
                                               **provenance(device))
append_rows(results_dir / "nframe_levels.csv", levels.to_dict("records"), key=["method", "bench", "crop", "checkpoint"])
display(levels.round(3))
latex_table(levels[[c for c in levels if c not in ("commit", "device", "torch", "date", "profile", "data", "checkpoint")]],
            "nframe_levels", f"PSNR per level on {bench} (centre crop {crop or 'none'}), the arms fine-tuned for the "
            f"same samples from the same weights ({steps} steps each).", results_dir, rows=levels, smoke=smoke,
            profile=profile)
two, many = arms[min(frames)].name, arms[max(frames)].name
tables = [gain_table(per, two, many, by) for by in ("motion", "nonlinearity")]
display(*(t.round(3) for t in tables))
note = f"SMOKE: {steps}-step {preset} runs; the bars rank nothing" if smoke else ""
save_figure(context_gain_figure(tables, two, many, note), "10_context_gain", results_dir)

# %% [markdown]
# ## 3 · Whole sequences: every method, 2-frame and N-frame, at x2 ... x16

# %%
methods = [make_peer(p) for p in peers] + list(arms.values()) + ([RecursiveT(a) for a in arms.values()] if halving else [])
table = seq.run(methods, tuple(seq_factors), None if bench == "embedded" else repo_path(f"data/{bench}"),
                max_shots=seq_shots, max_frames=seq_max_frames, crop=crop, use_lpips=True, device=device,
                out=results_dir / "sequence.csv", progress=False)
cols = ["method", "frames", "factor", "psnr", "ssim", "lpips", "tOF", "tLP", "flicker", "E_warp", "E_warp_truth"]
display(table[[c for c in cols if c in table]].round(4))
latex_table(table[[c for c in cols if c in table]], "nframe_sequence",
            f"Whole shots subsampled x2 ... x{max(seq_factors)} and interpolated back ({seq_shots} shots of "
            f"{seq_max_frames} frames, crop {crop or 'none'}): per-frame scores and temporal consistency.",
            results_dir, rows=table, smoke=smoke, profile=profile)
