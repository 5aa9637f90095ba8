"""The paired bootstrap against cases whose answer is known: simulated grids with a known true
difference and spread (coverage over repeats, interval width), identical rows, a large difference,
level strata, and the table that compares grid rows."""
import numpy as np
import pandas as pd
import pytest

from vfilib.eval.stats import bootstrap_diff, compare


def simulate(rng, seeds, triplets, delta, sd_triplet, sd_seed, sd_noise=0.05):
    """Scores (seeds, triplets) of a variant and the baseline on shared triplets: the variant is
    ``delta`` better on average, by a triplet-specific amount (sd ``sd_triplet``); each run (seed) of
    either row shifts all its scores (sd ``sd_seed``)."""
    difficulty = rng.normal(30, 3, triplets)
    effect = rng.normal(delta, sd_triplet, triplets)
    run = lambda: rng.normal(0, sd_seed, (seeds, 1)) + rng.normal(0, sd_noise, (seeds, triplets))  # noqa: E731
    return difficulty + effect + run(), difficulty + run()


def coverage(seeds, triplets, delta, sd_triplet, sd_seed, repeats=200, n_boot=1000):
    rng = np.random.default_rng(7)
    hits, widths = 0, []
    for r in range(repeats):
        v, b = simulate(rng, seeds, triplets, delta, sd_triplet, sd_seed, sd_noise=0.0 if seeds == 1 else 0.05)
        _, lo, hi = bootstrap_diff(v, b, n_boot=n_boot, seed=r)
        hits += lo <= delta <= hi
        widths.append(hi - lo)
    return hits / repeats, float(np.mean(widths))


def test_one_seed_covers_the_true_difference_at_the_nominal_rate_with_the_expected_width():
    """One seed: the interval is the bootstrap of a mean of T paired differences with sd 0.3 dB, so it
    should cover 0.1 dB about 95 % of the time and be about 2 x 1.96 x 0.3 / sqrt(T) wide."""
    cov, width = coverage(seeds=1, triplets=100, delta=0.1, sd_triplet=0.3, sd_seed=0.0)
    assert 0.90 <= cov <= 0.99, cov                     # 200 repeats: binomial sd 0.015 around 0.95
    expected = 2 * 1.96 * 0.3 / np.sqrt(100) * np.sqrt(99 / 100)
    assert abs(width - expected) / expected < 0.1, (width, expected)


def test_three_seeds_cover_no_difference_at_about_the_nominal_rate():
    """Two rows that differ by nothing (same distribution, independent seeds) at 3 seeds, triplet
    spread dominating: the 95 % interval covers 0 in about 95 % of grids."""
    cov, width = coverage(seeds=3, triplets=64, delta=0.0, sd_triplet=0.3, sd_seed=0.03)
    assert 0.90 <= cov <= 0.99, cov
    assert 0.1 < width < 0.3, width


def test_seed_dominated_spread_with_three_seeds_covers_less_as_documented():
    """The module says: when seed-to-seed spread dominates, 3 seeds cover about 89 %, 5 about 93 %."""
    cov3, w3 = coverage(seeds=3, triplets=64, delta=0.1, sd_triplet=0.3, sd_seed=0.1)
    cov5, w5 = coverage(seeds=5, triplets=64, delta=0.1, sd_triplet=0.3, sd_seed=0.1)
    assert 0.83 <= cov3 <= 0.95 and 0.87 <= cov5 <= 0.98, (cov3, cov5)
    assert w5 < w3                                      # more seeds, narrower interval


def test_identical_rows_give_zero_and_a_large_difference_excludes_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(30, 3, (1, 40))
    assert bootstrap_diff(x, x.copy()) == (0.0, 0.0, 0.0)           # one seed, same scores: nothing varies
    x3 = rng.normal(30, 3, (3, 40))
    diff, lo, hi = bootstrap_diff(x3, x3.copy())                    # same runs, seeds drawn independently
    assert diff == 0.0 and lo < 0 < hi and abs(lo + hi) < 0.5 * (hi - lo)
    v, b = simulate(rng, 3, 32, delta=1.0, sd_triplet=0.3, sd_seed=0.05)
    diff, lo, hi = bootstrap_diff(v, b)
    assert 0 < lo < diff < hi and abs(diff - 1.0) < 0.25
    diff, lo, hi = bootstrap_diff(b, v)                             # the other way round: below zero
    assert lo < diff < hi < 0


def test_levels_are_strata_the_mix_of_levels_never_varies():
    """The variant gains 1 dB on one level and loses 1 dB on the other, the same on every triplet:
    drawn within levels, every replicate has the same mean difference (0); drawn across, it varies."""
    v = np.array([[31.0, 31.0, 31.0, 29.0, 29.0, 29.0]])
    b = np.full((1, 6), 30.0)
    levels = np.array(["easy"] * 3 + ["hard"] * 3)
    assert bootstrap_diff(v, b, levels) == (0.0, 0.0, 0.0)
    _, lo, hi = bootstrap_diff(v, b)
    assert lo < -0.3 and hi > 0.3


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="same triplets"):
        bootstrap_diff(np.zeros((1, 3)), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="finite"):
        bootstrap_diff(np.array([[1.0, np.nan]]), np.zeros((1, 2)))


def scores_table(rng, rows: dict[str, float], seeds=3, per_level=20):
    out = []
    for exp, delta in rows.items():
        for seed in range(seeds):
            shift = rng.normal(0, 0.02)
            for level, base in (("easy", 35.0), ("hard", 28.0)):
                for k in range(per_level):
                    out.append({"experiment": exp, "seed": seed, "triplet": f"{level}/clip/{k}", "level": level,
                                "psnr": base + k * 0.1 + delta + shift + rng.normal(0, 0.05)})
    return pd.DataFrame(out)


def test_compare_marks_what_differs_overall_and_per_level():
    rng = np.random.default_rng(3)
    scores = scores_table(rng, {"exp1c": 0.0, "exp1a": -0.5, "exp1f": 0.0})
    table = compare(scores, "exp1c", n_boot=2000)
    assert set(table["variant"]) == {"exp1a", "exp1f"} and set(table["level"]) == {"all", "easy", "hard"}
    a = table[table["variant"] == "exp1a"].set_index("level")
    assert a["significant"].all() and (a["hi"] < 0).all() and abs(a.loc["all", "diff"] + 0.5) < 0.1
    assert a.loc["all", "triplets"] == 40 and a.loc["easy", "triplets"] == 20 and a.loc["all", "seeds"] == 3
    f = table[table["variant"] == "exp1f"].set_index("level")
    assert not f.loc["all", "significant"] and f.loc["all", "lo"] < 0 < f.loc["all", "hi"]


def test_compare_refuses_rows_scored_on_other_triplets_or_incompletely():
    rng = np.random.default_rng(4)
    scores = scores_table(rng, {"exp1c": 0.0, "exp1a": 0.1})
    other = scores[~((scores["experiment"] == "exp1a") & (scores["triplet"] == "easy/clip/0"))]
    with pytest.raises(ValueError, match="different triplets"):
        compare(other, "exp1c", n_boot=100)
    gap = scores[~((scores["experiment"] == "exp1a") & (scores["seed"] == 1) & (scores["triplet"] == "easy/clip/0"))]
    with pytest.raises(ValueError, match=r"seeds \[1\] lack scores"):
        compare(gap, "exp1c", n_boot=100)
    with pytest.raises(ValueError, match="baseline 'exp2c' has no scores"):
        compare(scores, "exp2c", n_boot=100)


def test_grid_report_marks_significant_differences_and_draws_intervals(tmp_path):
    """The LaTeX table marks with * only a difference whose interval excludes 0; the figure draws each
    interval from lo to hi around its point (no bar from an offset); the stats CSV keeps the provenance."""
    from types import SimpleNamespace

    import matplotlib.collections as mc

    from vfilib.reports.grids import difference_figure, save_grid_report
    rng = np.random.default_rng(5)
    scores = scores_table(rng, {"exp1c": 0.0, "exp1a": -0.5, "exp1f": 0.0})
    stats = compare(scores, "exp1c", n_boot=1000)
    rows = pd.DataFrame([{"experiment": e, "what": w, "seed": s, "params_M": 0.28, "samples": 120, "test_psnr": 31.0 + d,
                          "test_ssim": 0.9, "val_psnr": 30.0, "train_seconds": 10.0, "gpu_seconds": np.nan,
                          "test_set": "embedded clips test shots: easy 20, hard 20, centre crop 96", "commit": "abc1234",
                          "device": "CPU", "profile": "cpu", "data": "embedded clips"}
                         for e, w, d in (("exp1a", "Mamba2 only", -0.5), ("exp1c", "Hybrid", 0.0), ("exp1f", "CAB", 0.0))
                         for s in range(3)])
    spec = SimpleNamespace(table="phase1", results_dir=str(tmp_path), profile="cpu", seeds=3)
    save_grid_report(SimpleNamespace(spec=spec, rows=rows), stats, "exp1c", "03", "Phase-1 ablations", smoke=True)
    tex = (tmp_path / "tables" / "phase1_ablations.tex").read_text()
    line_a = next(ln for ln in tex.splitlines() if ln.startswith("exp1a"))
    line_f = next(ln for ln in tex.splitlines() if ln.startswith("exp1f"))
    assert "]*" in line_a and "]*" not in line_f and "SMOKE" in tex and "seeds: 3" in tex
    saved = pd.read_csv(tmp_path / "phase1_stats.csv")
    assert set(saved["commit"]) == {"abc1234"} and (tmp_path / "figures" / "03_phase1_ablations.png").is_file()
    fig = difference_figure({"1x": stats}, "t", "exp1c")
    spans = [seg for c in fig.axes[0].collections if isinstance(c, mc.LineCollection) for seg in c.get_segments()]
    want = stats[(stats["level"] == "all") & (stats["metric"] == "psnr")]
    assert sorted(round(s[0][0], 6) for s in spans) == sorted(round(v, 6) for v in want["lo"])
    assert sorted(round(s[1][0], 6) for s in spans) == sorted(round(v, 6) for v in want["hi"])
