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
# # 08 · Speed and memory vs resolution
# Latency (warm-up, synchronised, median of N) and peak memory of the presets and ablation variants
# on whatever device runs this notebook, beside the VFIMamba figures measured elsewhere (one H100,
# fp32). Rows go to `results/speed.csv` with the device and commit; GPU rows from the lent H100 are
# added by `python -m vfilib.bench speed` there.

# %% tags=["parameters"]
results_dir = "results"
profile = "cpu"
presets = ["tiny", "small"]
variants = []                    # Phase-1 experiment ids of the first preset, e.g. ["exp1a", "exp1b"]
resolutions = ["256"]
dtypes = ["fp32"]
iters = 3

# %%
import pandas as pd
from IPython.display import display

from vfilib import bench, viz
from vfilib.summary import preset_table
from vfilib.workbook import latex_table, save_figure

argv = ["speed", "--presets", *presets, "--res", *resolutions, "--dtypes", *dtypes, "--iters", str(iters),
        "--warmup", str(max(1, iters // 3)), "--out", f"{results_dir}/speed.csv"]
bench.main(argv + (["--variants", *variants] if variants else []))

# %%
speed = pd.read_csv(f"{results_dir}/speed.csv", dtype={"res": str})
speed["kernels"] = speed["kernels"].fillna("plain")     # "fused": the SSM branch's Triton kernels (CUDA inference)
display(speed.pivot_table(index=["device", "model", "dtype", "exec", "kernels"], columns="res", values="median_ms").round(1))
shown = (speed["kernels"] == "plain") & ~speed["device"].str.contains("H100") | (
    (speed["kernels"] == "fused") & speed["exec"].isin(["eager", "compiled+graph"]))
fig = viz.speed_figure(speed[shown])
save_figure(fig, "08_latency_vs_resolution", results_dir)

# %% [markdown]
# ## The grid: resolution x {fp32, bf16} x {eager, compiled}
# "compiled" is `torch.compile` replayed as a CUDA graph (`compiled+graph`); bf16 cells run the SSD on
# bf16 inputs (`ssm_dtype="autocast"`; PSNR change in `precision.csv`). NaN: not measured (a GiB cell
# is also NaN where the row's peak was measured before graph pools were counted).

# %%
grid = viz.speed_grid(speed)
display(grid.round(2))
if grid.notna().any().any():
    short = pd.DataFrame({
        "input": grid.index,
        "fp32 eager ms": grid[("fp32", "eager", "ms")].to_numpy(),
        "fp32 compiled ms": grid[("fp32", "compiled+graph", "ms")].to_numpy(),
        "bf16 eager ms": grid[("bf16", "eager", "ms")].to_numpy(),
        "bf16 compiled ms": grid[("bf16", "compiled+graph", "ms")].to_numpy(),
        "bf16 compiled GiB": grid[("bf16", "compiled+graph", "GiB")].to_numpy(),
        "x VFIMamba_S": grid[("bf16", "compiled+graph", "x VFIMamba_S")].to_numpy()})
    latex_table(short, "speed_grid", "vfilib small on one H100, batch 1: latency (median) and peak memory; "
                "compiled = torch.compile + CUDA graph; last column: bf16 compiled over VFIMamba\\_S fp32.",
                results_dir)

# %% [markdown]
# ## Against VFIMamba_S on the same GPU kind (its figures measured elsewhere, fp32, batch 1)

# %%
ratios = viz.vs_reference(speed)
display(ratios.round(2))
if len(ratios):
    latex_table(ratios, "speed_vs_vfimamba", "Latency of vfilib beside VFIMamba\\_S on one H100 (ratio < 1: faster).",
                results_dir)

# %% [markdown]
# ## Parameters per preset

# %%
sizes = preset_table().reset_index()
display(sizes.round(3))
latex_table(sizes[["model", "dims", "depths", "total (M)"]], "model_sizes", "Parameters of the presets.", results_dir)
