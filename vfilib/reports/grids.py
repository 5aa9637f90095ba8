"""An ablation grid's tables and figures: each variant against the main row, with its interval.

For a grid whose files are named ``<table>`` (``phase1``: cpu profile, SMOKE; ``phase1_h200``, ...):

* ``results/<table>_stats.csv``: every variant - main, overall and per level: mean difference of test
  PSNR (and SSIM), the 95 % paired-bootstrap interval, whether it excludes 0 (:mod:`vfilib.eval.stats`);
* ``results/tables/<table>_ablations.tex``: per row: title, parameters, seeds, test PSNR / SSIM (mean
  over seeds, +- their spread), the difference to the main row with its interval, ``*`` when the interval
  excludes 0; the caption says budget, seeds, test set, profile and provenance;
* ``results/figures/<NN>_<table>_ablations.png`` / ``.pdf``: the differences as points with interval
  bars around them, one panel per level, a line at 0 (no bars rising from an arbitrary offset).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd

from ..core.paths import repo_path
from ..core.tables import write_table
from .figures import save_figure
from .tables import latex_table


def row_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per experiment: title, parameters, seeds, test PSNR / SSIM mean and spread over seeds,
    training samples and seconds (GPU seconds: the row's share of its GPU)."""
    g = rows.groupby("experiment", sort=False)
    out = g.agg(what=("what", "first"), params_M=("params_M", "first"), seeds=("seed", "nunique"),
                samples=("samples", "first"), test_psnr=("test_psnr", "mean"), test_psnr_sd=("test_psnr", "std"),
                test_ssim=("test_ssim", "mean"), val_psnr=("val_psnr", "mean"),
                train_seconds=("train_seconds", "mean"), gpu_seconds=("gpu_seconds", "mean"))
    return out.reset_index()


def stars(stats: pd.DataFrame, level: str = "all", metric: str = "psnr") -> pd.DataFrame:
    """``diff [lo, hi]`` text per variant at one level, ``*`` when the interval excludes 0."""
    s = stats[(stats["level"] == level) & (stats["metric"] == metric)]
    fmt = "{:+.3f} [{:+.3f}, {:+.3f}]{}" if metric == "psnr" else "{:+.4f} [{:+.4f}, {:+.4f}]{}"
    text = [fmt.format(d, lo, hi, "*" if sig else "") for d, lo, hi, sig in zip(s["diff"], s["lo"], s["hi"], s["significant"])]
    return pd.DataFrame({"experiment": s["variant"].to_numpy(), f"d_{metric}": text})


def latex_frame(rows: pd.DataFrame, stats: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """The LaTeX table's body: one line per experiment (the baseline's difference column empty)."""
    summ = row_summary(rows).merge(stars(stats), on="experiment", how="left")
    summ = summ.merge(stars(stats, metric="ssim"), on="experiment", how="left")
    summ[["d_psnr", "d_ssim"]] = summ[["d_psnr", "d_ssim"]].astype(object).fillna("")
    psnr = [f"{m:.3f}" + (f" ± {sd:.3f}" if sd == sd else "") for m, sd in zip(summ["test_psnr"], summ["test_psnr_sd"])]
    return pd.DataFrame({"row": summ["experiment"], "what": summ["what"], "params (M)": summ["params_M"].map("{:.2f}".format),
                         "seeds": summ["seeds"], "test PSNR (dB)": psnr, "SSIM": summ["test_ssim"].map("{:.4f}".format),
                         f"PSNR - {baseline} [95% CI]": summ["d_psnr"], f"SSIM - {baseline} [95% CI]": summ["d_ssim"]})


def save_grid_report(result, stats: pd.DataFrame, baseline: str, prefix: str, title: str, smoke: bool = False) -> list[Path]:
    """Write the grid's stats CSV, LaTeX table and difference figure (names in the module doc)."""
    spec, rows = result.spec, result.rows
    results = repo_path(spec.results_dir)
    prov = rows[[c for c in ("commit", "device", "profile") if c in rows]].drop_duplicates()
    stats = stats.assign(**{c: " / ".join(map(str, prov[c].dropna().unique())) for c in prov})
    paths = [write_table(stats, results / f"{spec.table}_stats.csv")]
    budget = (f"{int(rows['samples'].max()):,} training samples a row" if "samples" in rows and rows["samples"].notna().any()
              else "")
    test = str(rows["test_set"].dropna().iloc[0]) if "test_set" in rows and rows["test_set"].notna().any() else "no test set"
    caption = (f"{title}: test scores (mean over seeds) and the difference to {baseline} with its 95 % paired-bootstrap "
               f"interval over test triplets and seeds; * marks an interval that excludes 0.")
    paths.append(latex_table(latex_frame(rows, stats, baseline), f"{spec.table}_ablations", caption, results, rows=rows,
                             smoke=smoke, float_format="{:.3f}", profile=spec.profile, seeds=spec.seeds, budget=budget,
                             test=test))
    fig = difference_figure({title: stats}, f"{title}\n{budget}, {spec.seeds} seed(s); test: {test}", baseline, smoke)
    return paths + save_figure(fig, f"{prefix}_{spec.table}_ablations", results, vector=True)


def difference_figure(stats: dict[str, pd.DataFrame], title: str, baseline: str, smoke: bool = False,
                      metric: str = "psnr") -> plt.Figure:
    """Variant - baseline per level (one panel each, overall first): a point at the mean difference and a
    bar over its interval, filled where the interval excludes 0. Several grids (e.g. two budgets) side by
    side, keyed by their label."""
    first = next(iter(stats.values()))
    levels = list(dict.fromkeys(first["level"]))
    variants = list(dict.fromkeys(v for s in stats.values() for v in s["variant"]))
    fig, axes = plt.subplots(1, len(levels), figsize=(3.4 * len(levels) + 2.5, 0.42 * len(variants) + 1.8),
                             sharey=True, squeeze=False)
    offsets = np.linspace(-0.18, 0.18, len(stats)) if len(stats) > 1 else [0.0]
    for ax, level in zip(axes[0], levels):
        for (label, s), dy, color in zip(stats.items(), offsets, plt.cm.tab10.colors):
            s = s[(s["level"] == level) & (s["metric"] == metric)].set_index("variant").reindex(variants)
            y = np.arange(len(variants)) + dy
            ax.hlines(y, s["lo"], s["hi"], color=color, lw=2, label=label if len(stats) > 1 else None)
            sig = s["significant"].fillna(False).astype(bool).to_numpy()
            ax.plot(s["diff"][sig], y[sig], "o", color=color)
            ax.plot(s["diff"][~sig], y[~sig], "o", mfc="white", color=color)
        ax.axvline(0, color="k", lw=0.8)
        n = int(first.loc[first["level"] == level, "triplets"].iloc[0])
        ax.set_title(f"{level} ({n} triplets)", fontsize=9)
        ax.set_xlabel(f"{metric.upper()} - {baseline}" + (" (dB)" if metric == "psnr" else ""))
        ax.grid(True, axis="x", alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(4))
    axes[0][0].set_yticks(range(len(variants)), variants)
    axes[0][0].invert_yaxis()
    if len(stats) > 1:
        axes[0][-1].legend(fontsize=8, loc="lower right")
    note = "\nSMOKE RUN (cpu profile): far too short to rank the variants" if smoke else ""
    fig.suptitle(f"{title}\nfilled: the 95 % interval excludes 0{note}", fontsize=9)
    fig.tight_layout()
    return fig
