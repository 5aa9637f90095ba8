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
# # 09 · X-TEST 8x at 2K and 4K, and a real video made smoother
# With X4K1000FPS present (`xtest_path`), the X-TEST protocol of the evaluation harness (8x: t = k/8,
# directly or by recursion) at 2K and 4K. Without it, the same 8x on the embedded 720p clip (Big Buck
# Bunny, frames 8 apart), with crops of texture detail, and a before/after video made with
# `python -m vfilib.interpolate`'s function. The table says which data each number comes from.

# %% tags=["parameters"]
results_dir = "results"
profile = "cpu"
preset = "tiny"
checkpoint = None                  # default: the Phase-3 main run, else the Phase-2 main run
runs_dir = "runs"
xtest_path = None                  # X4K1000FPS root; None: the embedded 720p clip
scale = 0.5                        # flow working scale (0.5 for 2K, 0.25 for 4K)
max_samples = 2
peers = ["blend", "rife_hdv3", "rife_v39"]    # v3.9 takes t directly; HDv3 bisects
video_frames = 9                   # input frames of the before/after video (embedded clip)

# %%
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from IPython.display import display

from vfilib import viz
from vfilib.data.embedded import Shot, clean_windows, load_manifest
from vfilib.data.io import load_frames
from vfilib.data.paths import DataPaths
from vfilib.eval import benchmark as B
from vfilib.eval.interpolators import from_checkpoint, make_peer
from vfilib.eval.metrics import psnr
from vfilib.eval.rife import RecursiveT
from vfilib.interpolate import FrameWriter, interpolate_video
from vfilib.results import append_rows, provenance
from vfilib.workbook import resume_point, save_figure

ckpt = checkpoint or resume_point(runs_dir, f"exp3d_{preset}") or resume_point(runs_dir, f"exp2c_{preset}")
ours = from_checkpoint(str(ckpt))
ours.name = f"vfilib {Path(ckpt).parent.name}"
methods = [make_peer(p) for p in peers]
methods = [m if m.supports_any_t else RecursiveT(m) for m in methods] + [ours]

# %%
if xtest_path:
    table = pd.concat([B.run(b, methods, xtest_path, max_samples=max_samples, out=f"{results_dir}/benchmarks.csv",
                             checkpoints={ours.name: str(ckpt)}, progress=False)      # flow scale: the protocol's
                       for b in ("xtest_2k", "xtest_4k")])
    display(table)
else:
    # the first 9 frames with no duplicated pair (the clip repeats a frame every 25): 0 and 8 in, 1..7 truth
    man = load_manifest(DataPaths().embedded)
    shot = next(Shot(**sh) for sh in man["shots"] if sh["clip"] == "bigbuckbunny")
    first = clean_windows(shot, 8, 1, set(man["clips"]["bigbuckbunny"]["duplicates"]))[0]
    frames = sorted((DataPaths().embedded / "frames" / "bigbuckbunny").glob("*.png"))[first:first + 9]
    clip = [f[None] for f in load_frames(frames)]
    rows, preds = [], {}
    for m in methods:
        outs = [m(clip[0], clip[8], torch.tensor([k / 8]), scale if m is ours else 1.0) for k in range(1, 8)]
        preds[m.name] = outs
        rows.append({"method": m.name, "data": f"embedded 720p clip (bigbuckbunny {first}-{first + 8}; not X-TEST)",
                     "protocol": "8x, t = k/8" + (" (recursive)" if isinstance(m, RecursiveT) else " (direct)"),
                     "scale": scale if m is ours else 1.0,
                     "psnr": float(np.mean([psnr(o, clip[k + 1]) for k, o in enumerate(outs)]))})
    table = pd.DataFrame(rows)
    display(table)
    append_rows(f"{results_dir}/xtest.csv", [{**r, **provenance()} for r in rows], key=["method", "data"])
    kept = {name: [{"I0": clip[0][0], "I1": clip[8][0], "gt": clip[4][0], "pred": o[3][0], "name": f"bigbuckbunny {first}|{first + 4}|{first + 8}"}]
            for name, o in preds.items()}
    fig = viz.crops_figure(kept)
    save_figure(fig, "09_8x_crops", results_dir)

# %% [markdown]
# ## Before / after: the embedded clip at 4x its frame rate

# %%
src = Path(runs_dir) / "09_before.mp4"
w = FrameWriter(src, 24)
for f in sorted((DataPaths().embedded / "frames" / "bigbuckbunny").glob("*.png"))[:video_frames]:
    w.write((load_frames([f])[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
w.close()
stats = interpolate_video(src, Path(runs_dir) / "09_after_4x.mp4", ours, factor=4, scale=scale, progress=False)
print(stats, "->", Path(runs_dir) / "09_after_4x.mp4")
