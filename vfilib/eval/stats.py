"""Paired comparisons of grid rows: the mean difference of a score with a bootstrap confidence interval.

Every row of an ablation grid (an experiment) is trained at S seeds and each seed's model is scored on
the same test triplets, so a row's scores form a matrix ``X`` of shape (S, T). A variant is compared
with the baseline (Exp-1c, Exp-2c) by the difference of their means over seeds and triplets, with a
percentile interval from a paired bootstrap:

* the triplets are drawn with replacement, the same draw for both rows (paired: a hard triplet is
  hard for both), within each level when levels are given (the test set's level mix is its design);
* each row's seeds are drawn with replacement, independently (a variant's seed 0 has nothing to do
  with the baseline's seed 0).

A replicate's mean of ``X`` over drawn seeds and triplets is ``w @ X @ c / (S T)`` with ``w`` and
``c`` the draw counts (multinomial), so B replicates are two matrix products per block: no loop over
replicates.

Few seeds: a mean of S seeds drawn with replacement varies less than a mean of S new seeds (by
(S - 1) / S), so each row's seed deviations are scaled by sqrt(S / (S - 1)) before the draws. Even
so, 3 seeds give only 10 distinct draws: when seed-to-seed spread dominates the triplets' spread, a
95 % interval covers the true difference about 89 % of the time (93 % with 5 seeds; tests/test_stats.py
simulates both); where the triplets dominate it covers at the nominal rate.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

BLOCK = 1000          # replicates per block (a block holds B x T draw counts)


def _counts(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """(size, n) multinomial draw counts: how often each of n items is drawn in n draws with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)


def _triplet_counts(rng: np.random.Generator, strata: np.ndarray, size: int) -> np.ndarray:
    """(size, T) draw counts of the triplets, drawn with replacement within each stratum (level)."""
    out = np.zeros((size, len(strata)))
    for s in np.unique(strata):
        cols = np.flatnonzero(strata == s)
        out[:, cols] = _counts(rng, len(cols), size)
    return out


def _rescaled(x: np.ndarray) -> np.ndarray:
    """Seeds' deviations from their mean scaled by sqrt(S / (S - 1)), so that a mean of S seeds drawn with
    replacement varies as much as a mean of S new seeds would (the plain bootstrap's (S - 1) / S bias)."""
    s = len(x)
    return x if s < 2 else x.mean(0) + (x - x.mean(0)) * np.sqrt(s / (s - 1))


def bootstrap_diff(variant: np.ndarray, baseline: np.ndarray, strata: np.ndarray | None = None, n_boot: int = 10000,
                   conf: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``variant`` minus mean of ``baseline`` and its ``conf`` percentile interval.

    ``variant`` (S_v, T) and ``baseline`` (S_b, T): scores per seed (rows) and triplet (columns, the same
    triplets in the same order in both); ``strata`` (T,): each triplet's level (draws stay within a level).
    Returns (difference, low, high)."""
    v, b = np.atleast_2d(np.asarray(variant, float)), np.atleast_2d(np.asarray(baseline, float))
    if v.shape[1] != b.shape[1]:
        raise ValueError(f"variant and baseline must be scored on the same triplets: {v.shape[1]} vs {b.shape[1]} columns")
    if not (np.isfinite(v).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite (a NaN or inf score: a diverged or unscored run)")
    if not 0 < conf < 1:
        raise ValueError(f"conf must lie in (0, 1), got {conf}")
    v, b = _rescaled(v), _rescaled(b)
    t = v.shape[1]
    strata = np.zeros(t, int) if strata is None else np.asarray(strata)
    rng = np.random.default_rng(seed)
    reps = []
    for start in range(0, n_boot, BLOCK):
        size = min(BLOCK, n_boot - start)
        c = _triplet_counts(rng, strata, size)                                    # (B, T), shared: paired
        mv = _counts(rng, len(v), size) @ v / len(v)                              # (B, T) seed-resampled means
        mb = _counts(rng, len(b), size) @ b / len(b)
        reps.append(((mv - mb) * c).sum(1) / t)
    reps = np.concatenate(reps)
    alpha = (1 - conf) / 2
    lo, hi = np.quantile(reps, [alpha, 1 - alpha])
    return float(v.mean() - b.mean()), float(lo), float(hi)


def score_matrix(scores: pd.DataFrame, metric: str = "psnr") -> tuple[np.ndarray, list, np.ndarray]:
    """One row's scores as (S, T) seeds x triplets, the seeds and the triplets' levels; every seed must
    hold a score for every triplet."""
    wide = scores.pivot_table(index="seed", columns="triplet", values=metric, aggfunc="mean")
    if wide.isna().any().any():
        missing = wide.isna().sum(axis=1)
        raise ValueError(f"seeds {list(missing[missing > 0].index)} lack scores on some triplets: rows are compared "
                         "on the same triplets only")
    levels = scores.drop_duplicates("triplet").set_index("triplet")["level"].reindex(wide.columns).to_numpy()
    return wide.to_numpy(), list(wide.index), levels


def compare(scores: pd.DataFrame, baseline: str, metric: str = "psnr", by: str = "experiment", n_boot: int = 10000,
            conf: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Every row of ``scores[by]`` against ``baseline``: overall (levels as strata) and per level.

    ``scores``: one line per (row, seed, triplet) with columns ``by``, seed, triplet, level and ``metric``.
    Returns one line per (variant, level): means, ``diff`` = variant - baseline, ``lo``/``hi`` (the
    ``conf`` interval), ``significant`` (the interval excludes 0), the triplet and seed counts."""
    if baseline not in set(scores[by]):
        raise ValueError(f"baseline {baseline!r} has no scores; rows with scores: {sorted(set(scores[by]))}")
    base, base_seeds, base_levels = score_matrix(scores[scores[by] == baseline], metric)
    base_trips = sorted(set(scores.loc[scores[by] == baseline, "triplet"]))
    out = []
    for name in dict.fromkeys(scores[by]):
        if name == baseline:
            continue
        part = scores[scores[by] == name]
        if sorted(set(part["triplet"])) != base_trips:
            raise ValueError(f"{name} and {baseline} were scored on different triplets; re-score them on one test set")
        var, var_seeds, _ = score_matrix(part, metric)
        for level in ["all", *dict.fromkeys(base_levels)]:
            cols = slice(None) if level == "all" else base_levels == level
            diff, lo, hi = bootstrap_diff(var[:, cols], base[:, cols], base_levels[cols], n_boot, conf, seed)
            out.append({"variant": name, "baseline": baseline, "level": level, "metric": metric,
                        "triplets": int(np.size(base_levels[cols])), "seeds": len(var_seeds),
                        "seeds_baseline": len(base_seeds), "mean": var[:, cols].mean(),
                        "mean_baseline": base[:, cols].mean(), "diff": diff, "lo": lo, "hi": hi,
                        "conf": conf, "significant": bool(lo > 0 or hi < 0), "n_boot": n_boot})
    return pd.DataFrame(out)
