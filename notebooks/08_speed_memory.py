# %% [markdown]
# # 08 · Speed and memory vs resolution
# Latency (warm-up, synchronised, median of `iters`) and peak memory of the presets and ablation
# variants on the device that runs this notebook; rows go to `results/speed.csv` with the device,
# dtype, execution mode and commit. Tables compare only rows of one device, dtype and execution mode;
# VFIMamba's latency (measured separately, `vfilib/reports/reference.csv`) is the reference line.

# %% tags=["parameters"]
results_dir = "results"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
presets = None
variants = None               # Phase-1 experiment ids of the first preset, e.g. ["exp1a", "exp1b"]
resolutions = None
dtypes = None
iters = None
grid = None                   # CUDA: also the fp32/bf16 x eager/compiled grid of presets[0] (+ 4K, flow at 0.25)

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "08_speed_memory")

# %%
import pandas as pd
from IPython.display import display

from vfilib import bench
from vfilib.core.paths import repo_path
from vfilib.reports import figures as viz
from vfilib.reports.figures import save_figure
from vfilib.reports.tables import latex_table
from vfilib.summary import preset_table

results_dir = repo_path(results_dir)
out = str(results_dir / "speed.csv")
argv = ["speed", "--presets", *presets, "--res", *resolutions, "--dtypes", *dtypes, "--iters", str(iters),
        "--warmup", str(max(1, iters // 3)), "--out", out]
bench.main(argv + (["--variants", *variants] if variants else []))
if grid:   # bf16 cells run the SSD on bf16 inputs; each compiled cell compiles once (about a minute)
    common = ["speed", "--presets", presets[0], "--exec", "eager", "compiled+graph", "--iters", str(iters), "--out", out]
    bench.main(common + ["--res", *resolutions, "--dtypes", "fp32"])
    bench.main(common + ["--res", *resolutions, "--dtypes", "bf16", "--ssm_dtype", "autocast"])
    bench.main(common + ["--res", "4k", "--dtypes", "bf16", "--ssm_dtype", "autocast", "--flow", "feature", "--scale", "0.25"])

# %%
speed = pd.read_csv(out, dtype={"res": str})
speed["kernels"] = speed["kernels"].fillna("plain")
for (device, dtype, exe), rows in speed[speed["mode"] == "infer"].groupby(["device", "dtype", "exec"]):
    print(f"{device} | {dtype} | {exe}: median ms per frame pair (batch 1)")
    display(rows.pivot_table(index=["model", "kernels"], columns="res", values="median_ms").round(1))
save_figure(viz.speed_figure(speed), "08_latency_vs_resolution", results_dir, vector=True)

# %% [markdown]
# ## The GPU grid: resolution x {fp32, bf16} x {eager, compiled}
# Measured only on a CUDA device (`grid=True`, the gpu profile); shown when `speed.csv` holds such rows.

# %%
gpu = speed[speed["device"].str.contains("H100|H200", regex=True)]
if gpu.empty:
    print("no GPU rows in results/speed.csv yet: run this notebook with grid=True on a GPU "
          "(python -m vfilib.workbook run --profile gpu --only 08_speed_memory)")
else:
    device = gpu["device"].iloc[-1]
    table = viz.speed_grid(gpu, model=presets[0], device=device.split()[-2] if " " in device else device)
    display(table.dropna(how="all").round(2))
    ratios = viz.vs_reference(gpu, device=device.split()[-2] if " " in device else device)
    if len(ratios):
        display(ratios.round(2))
        latex_table(ratios, "speed_vs_vfimamba", "Latency of vfilib beside VFIMamba\\_S (ratio < 1: faster).",
                    results_dir, rows=gpu)

# %% [markdown]
# ## Parameters per preset

# %%
sizes = preset_table().reset_index()
display(sizes.round(3))
latex_table(sizes[["model", "dims", "depths", "total (M)"]], "model_sizes", "Parameters of the presets.", results_dir)
