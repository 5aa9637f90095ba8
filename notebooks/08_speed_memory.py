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
grid = False                     # CUDA: also the fp32/bf16 x eager/compiled grid of presets[0] (+ 4K, flow at 0.25)

# %%
import pandas as pd
from IPython.display import display

from vfilib import bench, viz
from vfilib.summary import preset_table
from vfilib.workbook import latex_table, save_figure

argv = ["speed", "--presets", *presets, "--res", *resolutions, "--dtypes", *dtypes, "--iters", str(iters),
        "--warmup", str(max(1, iters // 3)), "--out", f"{results_dir}/speed.csv"]
bench.main(argv + (["--variants", *variants] if variants else []))
if grid:   # bf16 cells run the SSD on bf16 inputs; each compiled cell compiles once (about a minute)
    common = ["speed", "--presets", presets[0], "--compile", "eager", "compiled+graph", "--iters", str(iters),
              "--out", f"{results_dir}/speed.csv"]
    bench.main(common + ["--res", *resolutions, "--dtypes", "fp32"])
    bench.main(common + ["--res", *resolutions, "--dtypes", "bf16", "--ssm_dtype", "autocast"])
    bench.main(common + ["--res", "4k", "--dtypes", "bf16", "--ssm_dtype", "autocast", "--flow", "feature",
                         "--scale", "0.25"])

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
grid_model = presets[0] if grid else "small"      # the cpu profile shows the H100 rows measured for small
table = viz.speed_grid(speed, model=grid_model)
display(table.round(2))
if table.notna().any().any():
    short = pd.DataFrame({
        "input": table.index,
        "fp32 eager ms": table[("fp32", "eager", "ms")].to_numpy(),
        "fp32 compiled ms": table[("fp32", "compiled+graph", "ms")].to_numpy(),
        "bf16 eager ms": table[("bf16", "eager", "ms")].to_numpy(),
        "bf16 compiled ms": table[("bf16", "compiled+graph", "ms")].to_numpy(),
        "bf16 compiled GiB": table[("bf16", "compiled+graph", "GiB")].to_numpy(),
        "x VFIMamba_S": table[("bf16", "compiled+graph", "x VFIMamba_S")].to_numpy()})
    latex_table(short, "speed_grid", f"vfilib {grid_model} on one H100, batch 1: latency (median) and peak memory; "
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
