"""Every notebook of the workbook runs through papermill with tiny parameters into a temporary
results folder (CI runs the whole workbook this way)."""
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("papermill")
pytest.importorskip("jupytext")

from vfilib.workbook import NotebookFailed, execute, PROFILES  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def work(tmp_path_factory, embedded_cache):
    """A fresh results/runs folder; the notebooks' kernels read the session's embedded cache through
    ``$VFILIB_DATA`` (they inherit the environment), so a fresh checkout needs no prepared data/."""
    mp = pytest.MonkeyPatch()
    mp.setenv("VFILIB_DATA", str(embedded_cache[0]))
    root = tmp_path_factory.mktemp("workbook")
    yield {"results": root / "results", "runs": root / "runs", "nb": root / "nb"}
    mp.undo()


def run_nb(work, name, **params):
    return execute(name, {"results_dir": str(work["results"]), "profile": "test", **params}, out_dir=work["nb"])


def test_profiles_name_only_real_parameters():
    import jupytext
    from vfilib.workbook import NOTEBOOKS
    for profile, per_nb in PROFILES.items():
        for name, params in per_nb.items():
            src = (NOTEBOOKS / f"{name}.py").read_text()
            cell = src.split('tags=["parameters"]')[1].split("# %%")[0]
            declared = {line.split("=")[0].strip() for line in cell.splitlines() if "=" in line}
            assert set(params) <= declared, (profile, name, set(params) - declared)
    assert jupytext  # the pairing tool is installed


def test_01_stem_and_scan(work):
    run_nb(work, "01_stem_and_scan", erf_size=64, widgets=False)
    for fig in ("01_backbone_features", "01_scan_interleaved_dir1", "01_effective_receptive_field"):
        assert (work["results"] / "figures" / f"{fig}.png").stat().st_size > 10_000
        assert (work["results"] / "figures" / f"{fig}.pdf").exists()


def test_02_train_writes_run_and_row(work):
    run_nb(work, "02_phase1_train", experiment="exp1c", preset="tiny", steps=4, crop=32, batch_size=2,
           val_samples=2, val_crop=64, perceptual_weight=0.0, runs_dir=str(work["runs"]))
    table = pd.read_csv(work["results"] / "phase1.csv")
    assert list(table["exp_name"]) == ["exp1c_tiny"] and table["steps"].iloc[0] == 4
    assert "not Vimeo90K" in table["data"].iloc[0]
    assert (work["runs"] / "exp1c_tiny" / "last.pt").exists()
    assert (work["results"] / "figures" / "02_exp1c_tiny_samples.png").exists()
    assert (work["runs"] / "exp1c_tiny" / "samples.png").exists()


def test_03_grid_skips_finished_runs(work, capsys):
    out = run_nb(work, "03_phase1_ablations", experiments=["exp1a", "exp1c"], preset="tiny", steps=4, crop=32,
                 batch_size=2, val_samples=2, val_crop=64, perceptual_weight=0.0, runs_dir=str(work["runs"]))
    table = pd.read_csv(work["results"] / "phase1.csv")
    assert sorted(table["exp_name"]) == ["exp1a_tiny", "exp1c_tiny"]       # exp1c from test 02: not re-run
    assert "exp1c_tiny: finished earlier, skipped" in Path(out).read_text()
    tex = (work["results"] / "tables" / "phase1_ablations.tex").read_text()
    assert "\\begin{tabular}" in tex and "exp1a" in tex
    assert (work["runs"] / "notebooks" / "02_phase1_train_exp1a.ipynb").exists()


TINY = dict(preset="tiny", steps=3, crop=32, batch_size=2, val_samples=2, val_crop=64, perceptual_weight=0.0)


def test_04_phase2_flow_resumes_phase1(work):
    run_nb(work, "04_phase2_flow", runs_dir=str(work["runs"]), **TINY)
    p2 = pd.read_csv(work["results"] / "phase2.csv")
    assert list(p2["exp_name"]) == ["exp2c_tiny"]
    assert (work["runs"] / "exp2c_tiny" / "last.pt").exists()
    for fig in ("04_flow_and_mask", "04_t_sweep"):
        assert (work["results"] / "figures" / f"{fig}.png").exists()


def test_05_phase2_grid_with_distillation(work):
    run_nb(work, "05_phase2_ablations", experiments=["exp2c", "exp2e"], runs_dir=str(work["runs"]), **TINY)
    p2 = pd.read_csv(work["results"] / "phase2.csv")
    assert sorted(p2["exp_name"]) == ["exp2c_tiny", "exp2e_tiny"]          # exp2c from test 04: skipped
    tex = (work["results"] / "tables" / "phase2_ablations.tex").read_text()
    assert "exp2a" in tex and "exp2e" in tex                               # Exp-2a = the Phase-1 row


def test_06_phase3_grid_says_its_data(work):
    run_nb(work, "06_phase3_curriculum", experiments=["exp3b"], runs_dir=str(work["runs"]),
                 train_scale=0.5, **{**TINY, "crop": 64})
    p3 = pd.read_csv(work["results"] / "phase3.csv")
    assert list(p3["exp_name"]) == ["exp3b_tiny"] and "embedded" in p3["data"].iloc[0]
    inner = work["runs"] / "notebooks" / "02_phase1_train_exp3b.ipynb"        # the grid's executed run
    assert "trains on the embedded clips instead" in inner.read_text()
    assert (work["results"] / "figures" / "06_curriculum.png").exists()


def test_09_xtest_fallback_and_video(work):
    run_nb(work, "09_xtest_4k", runs_dir=str(work["runs"]), peers=["blend"], video_frames=3)
    xt = pd.read_csv(work["results"] / "xtest.csv")
    assert set(xt["method"]) == {"blend", "vfilib exp2c_tiny"} and (xt["data"].str.contains("not X-TEST")).all()
    assert (work["runs"] / "09_after_4x.mp4").stat().st_size > 0
    assert (work["results"] / "figures" / "09_8x_crops.png").exists()


def test_07_benchmarks(work):
    ckpt = work["runs"] / "exp1c_tiny" / "last.pt"
    run_nb(work, "07_benchmarks", bench="embedded", peers=["blend"], checkpoints=[str(ckpt)], max_samples=1)
    table = pd.read_csv(work["results"] / "benchmarks.csv")
    assert set(table["method"]) == {"blend", "vfilib exp1c_tiny"}
    assert set(table["split"]) == {"easy", "medium", "hard", "extreme"}
    assert (work["results"] / "tables" / "bench_embedded.tex").exists()
    assert (work["results"] / "figures" / "07_embedded_crops.png").exists()


def test_08_speed_memory(work):
    run_nb(work, "08_speed_memory", presets=["tiny"], resolutions=["256"], iters=1)
    speed = pd.read_csv(work["results"] / "speed.csv")
    assert list(speed["model"]) == ["tiny"] and speed["median_ms"].iloc[0] > 0
    assert (work["results"] / "tables" / "model_sizes.tex").exists()


def test_failure_names_notebook_and_cell(work):
    with pytest.raises(NotebookFailed, match=r"02_phase1_train failed in cell \d+ \(.*unknown"):
        run_nb(work, "02_phase1_train", experiment="exp_does_not_exist", steps=1)


def test_index_keeps_earlier_notebook_times(tmp_path):
    """A partial workbook run (--only) updates its notebooks' wall times and keeps the others'."""
    from vfilib.workbook import collect
    collect(tmp_path, {"01_stem_and_scan": 18.0, "08_speed_memory": 21.0})
    text = collect(tmp_path, {"08_speed_memory": 25.0}).read_text()
    assert "Notebook wall times: 01_stem_and_scan 18 s, 08_speed_memory 25 s" in text
