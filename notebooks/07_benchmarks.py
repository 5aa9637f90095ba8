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
# # 07 · Benchmarks: vfilib checkpoints beside the peers
# Every protocol of `vfilib.eval.benchmark.BENCHMARKS`; rows go to `results/benchmarks.csv` with their
# protocol parameters and provenance; one tidy table per benchmark and side-by-side crops.

# %% tags=["parameters"]
results_dir = "results"
profile = "cpu"
bench = "embedded"
path = None                      # dataset root; None: environment variable / embedded cache
checkpoints = []                 # vfilib checkpoints (empty: the main run of each phase found in runs_dir)
runs_dir = "runs"
peers = ["blend", "dis", "minterpolate", "rife_hdv3", "rife_v39", "rife_v39_refine"]
max_samples = 6                  # per split (0: all)
lpips = None                     # "alex" | "vgg"

# %%
from pathlib import Path

from IPython.display import display

from vfilib.eval import benchmark as B
from vfilib.eval.interpolators import from_checkpoint, make_peer
from vfilib.workbook import latex_table, save_figure
from vfilib import viz

if not checkpoints:
    # Phase 1 (Exp-1c), Phase 2 (Exp-2c), Phase 3 (Exp-3d): the first finished run of each
    found = (sorted(Path(runs_dir).glob(f"{exp}_*/best.pt"))[:1] for exp in ("exp1c", "exp2c", "exp3d"))
    checkpoints = [str(p[0]) for p in found if p]
interps = [make_peer(p) for p in peers]
names = {}
for c in checkpoints:
    it = from_checkpoint(c)
    it.name = f"vfilib {Path(c).parent.name}"
    interps.append(it)
    names[it.name] = c
table = B.run(bench, interps, path, max_samples=max_samples or None, lpips=lpips,
              out=f"{results_dir}/benchmarks.csv", checkpoints=names, progress=False)

# %%
b = B.BENCHMARKS[bench]
wide = table.pivot_table(index="method", columns="split", values="psnr")
wide["mean"] = wide.mean(axis=1)
wide = wide.sort_values("mean")
print(f"{b.data}: PSNR (dB), {int(table['n'].iloc[0])} samples per split; protocol: {B.BENCHMARKS[bench].protocol}")
display(wide.round(2))
display(table.pivot_table(index="method", columns="split", values="sec_per_frame").round(3)
        .rename(columns=lambda c: f"{c} s/frame"))
latex_table(wide.reset_index(), f"bench_{bench}", f"PSNR (dB) on {b.data}.", results_dir)

# %% [markdown]
# ## Side-by-side crops of the hardest region

# %%
ds = b.loader(path or b.default_root(), b.splits[-1])
kept = {it.name: B.evaluate(it, ds, b.protocol, max_samples=1, progress=False, keep=1)[1] for it in interps}
fig = viz.crops_figure(kept)
save_figure(fig, f"07_{bench}_crops", results_dir)
