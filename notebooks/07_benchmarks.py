# %% [markdown]
# # 07 · Benchmarks: vfilib beside the peers
# Any protocol of `vfilib.eval.benchmark.BENCHMARKS` (embedded clips, the held-out live-action shots,
# Vimeo90K, UCF101, SNU-FILM, Middlebury, X-TEST). Rows go to `results/benchmarks.csv` with their
# protocol and provenance; levels in easy, medium, hard, extreme order; side-by-side crops.
# The vfilib models are the shipped weights (if this checkout has them) and the main run of each phase.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
bench = None
path = None                      # dataset root; None: environment variable / prepared folder
checkpoints = []                 # vfilib checkpoints (empty: the shipped model and the phases' main runs)
peers = None                  # None: every peer of vfilib.eval.peers.PEERS (the shipped model: below)
max_samples = None            # per split, evenly spaced (0: all)
lpips = None                     # None: no LPIPS; "alex" | "vgg"

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "07_benchmarks")

# %%
from pathlib import Path

from IPython.display import display

from vfilib.core.paths import repo_path
from vfilib.eval import benchmark as B
from vfilib.eval.peers import PEERS, from_checkpoint, make_peer
from vfilib.models.weights.checkpoint import SHIPPED
from vfilib.reports import figures as viz
from vfilib.reports.figures import save_figure
from vfilib.reports.tables import by_level, latex_table

results_dir, runs_dir = repo_path(results_dir), repo_path(runs_dir)
if not checkpoints:
    found = (sorted(runs_dir.glob(f"{exp}_*/last.pt"))[:1] for exp in ("exp1c", "exp2c", "exp3d"))
    checkpoints = [str(p[0]) for p in found if p]
peers = peers if peers is not None else [p for p in PEERS if p != "vfilib"]
interps = [make_peer(p) for p in peers] + ([make_peer("vfilib")] if SHIPPED.is_file() else [])
names = {}
for c in checkpoints:
    it = from_checkpoint(c)
    it.name = f"vfilib {Path(c).parent.name}"
    interps.append(it)
    names[it.name] = c
table = B.run(bench, interps, path, max_samples=max_samples or None, lpips=lpips,
              out=results_dir / "benchmarks.csv", checkpoints=names, progress=False)

# %%
b = B.BENCHMARKS[bench]
wide = by_level(table).sort_values("mean")
print(f"{b.data}: PSNR (dB), {int(table['n'].iloc[0])} samples per split; protocol: {b.protocol}")
display(wide.round(2))
display(by_level(table, "sec_per_frame").round(3))
latex_table(wide.reset_index(), f"bench_{bench}", f"PSNR (dB) on {b.data}, {int(table['n'].iloc[0])} samples per level.",
            results_dir, rows=table, profile=profile, smoke=profile == "cpu" and bool(checkpoints))

# %% [markdown]
# ## Side-by-side crops of the hardest region

# %%
ds = b.loader(path or b.default_root(), b.splits[-1])
kept = {it.name: B.evaluate(it, ds, b.protocol, max_samples=1, progress=False, keep=1)[1] for it in interps}
save_figure(viz.crops_figure(kept, note="SMOKE: 'vfilib exp*' are 30-step tiny runs; 'vfilib' is the shipped model"
                                  if profile == "cpu" and checkpoints else ""), f"07_{bench}_crops", results_dir)
