"""Tables and the figure of the N-frame study (notebook 10): per-level PSNR of each method and window,
and where the context helps (the N-frame gain binned by motion and by its non-linearity)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .tables import LEVEL_ORDER


def level_table(per: pd.DataFrame) -> pd.DataFrame:
    """Per-sample rows (:func:`vfilib.eval.context_gain.per_sample`) -> PSNR per method (rows) and level
    (columns, in the benchmark's order) with the mean, SSIM and the window N of each method."""
    psnr = per.pivot_table(index="method", columns="split", values="psnr", aggfunc="mean", sort=False)
    psnr = psnr[[c for c in LEVEL_ORDER if c in psnr] + [c for c in psnr if c not in LEVEL_ORDER]]
    psnr["mean"] = psnr.mean(axis=1)
    g = per.groupby("method", sort=False)
    psnr["ssim"], psnr["frames"], psnr["n"] = g["ssim"].mean(), g["frames"].max(), g.size()
    return psnr.sort_values("mean", ascending=False)


def context_gain_figure(tables: list[pd.DataFrame], two: str, many: str, note: str = "") -> plt.Figure:
    """One panel per gain table (:func:`vfilib.eval.context_gain.gain_table`): mean PSNR gain of ``many``
    over ``two`` per bin, each bar labelled with its samples and the share of them that gained."""
    labels = {"motion": "motion |F_0->1| (px)", "nonlinearity": "non-linearity |F_0->t - t F_0->1| (px)"}
    fig, axes = plt.subplots(1, len(tables), figsize=(5.2 * len(tables), 3.6), squeeze=False)
    for ax, tab in zip(axes[0], tables):
        by = tab["by"].iloc[0]
        names = [f"{lo:.1f}-{hi:.1f}" for lo, hi in zip(tab["lo"], tab["hi"])]
        bars = ax.bar(names, tab["gain_db"], color=["tab:green" if g > 0 else "tab:red" for g in tab["gain_db"]])
        ax.bar_label(bars, labels=[f"n={n}, {100 * s:.0f}% up" for n, s in zip(tab["n"], tab["gained"])], fontsize=7)
        ax.axhline(0, color="k", lw=0.8)
        ax.margins(y=0.25)
        ax.set_xlabel(labels.get(by, by) + ", tertiles"), ax.set_ylabel("PSNR gain (dB)")
    fig.suptitle(f"{many} minus {two}, per sample" + (f"\n{note}" if note else ""), fontsize=10)
    fig.tight_layout()
    return fig
