# %% [markdown]
# # 09 · 8x interpolation (X-TEST's protocol) and a real video made smoother
# With X4K1000FPS (`xtest_path`): the X-TEST 8x protocol at 2K and 4K. Without it: the same protocol on
# 9-frame windows of the embedded test shots (`embedded_8x`). Then a before/after video made with the
# video tool. The table says which data each number comes from.

# %% tags=["parameters"]
results_dir = "results"
runs_dir = "runs"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
preset = None
checkpoint = None                  # None: the Phase-3 main run, else the Phase-2 main run, else the shipped model
xtest_path = None                  # X4K1000FPS root; None: the embedded clips
scale = None                  # flow working scale of the vfilib model (0.5 for 2K, 0.25 for 4K)
max_samples = 7                    # per split (one 8x window is 7 targets)
peers = None                  # None: frame blend and every peer with published weights (HDv3 bisects)
video_frames = None           # input frames of the before/after video

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "09_xtest_4k")

# %%
from pathlib import Path

import pandas as pd
from IPython.display import display

from vfilib.core.paths import DataPaths, repo_path
from vfilib.eval import benchmark as B
from vfilib.eval.interpolators import RecursiveT
from vfilib.eval.peers import PEERS, from_checkpoint, make_peer
from vfilib.interpolate import interpolate_file
from vfilib.reports import figures as viz
from vfilib.reports.figures import save_figure
from vfilib.reports.tables import latex_table

results_dir, runs_dir = repo_path(results_dir), repo_path(runs_dir)
found = [p for p in (runs_dir / f"exp3d_{preset}_s0" / "last.pt", runs_dir / f"exp2c_{preset}_s0" / "last.pt") if p.is_file()]
ckpt = checkpoint or (str(found[0]) if found else None)       # None: the shipped weights
ours = from_checkpoint(ckpt)
ours.name = f"vfilib {Path(ckpt).parent.name}" if ckpt else "vfilib"
halving = RecursiveT(ours)                                     # the same model, 1/8 ... 7/8 by halving (as the video tool)
peers = peers if peers is not None else ["blend"] + [p.name for p in PEERS.values() if p.weights]
methods = [make_peer(p) for p in peers] + [ours, halving]

# %%
benches = ("xtest_2k", "xtest_4k") if xtest_path else ("embedded_8x",)
rows = []
for name in benches:
    t = B.run(name, methods, xtest_path, max_samples=max_samples, out=results_dir / "benchmarks.csv",
              checkpoints={ours.name: str(ckpt), halving.name: str(ckpt)}, progress=False,
              protocol_overrides={"flow_scale": scale})
    rows.append(t)
table = pd.concat(rows)
display(table[["bench", "split", "method", "n", "psnr", "ssim", "sec_per_frame", "data"]].round(3))
latex_table(table[["split", "method", "psnr", "ssim"]], "xtest_8x",
            "8x interpolation, t = k/8 (RIFE HDv3 and (recursive) rows by halving, the others with t directly).",
            results_dir, rows=table, smoke=profile == "cpu", profile=profile)
b = B.BENCHMARKS[benches[0]]
ds = b.loader(xtest_path or b.default_root(), b.splits[0])
kept = {m.name: B.evaluate(m, ds, b.protocol, max_samples=4, progress=False, keep=4)[1][3:] for m in methods}
save_figure(viz.crops_figure(kept, note="SMOKE: the vfilib models here are 30-step tiny runs" if profile == "cpu" else ""), "09_8x_crops", results_dir)

# %% [markdown]
# ## Before / after: a real clip at 4x its frame rate (the video tool's code path)

# %%
src = DataPaths().downloads / "videos" / "bigbuckbunny.mp4"
out = runs_dir / "09_after_4x.mp4"
path, stats = interpolate_file(src, out, ours, factor=4, scale=scale, duration=video_frames / 25, overwrite=True,
                               quiet=True)
print(stats, "->", path)
