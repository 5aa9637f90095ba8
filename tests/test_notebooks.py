"""The workbook: notebooks run through papermill from notebooks/ (where JupyterLab starts kernels),
write into the repository's results/ wherever the kernel starts, reuse only runs whose checkpoint
holds the same config, and name the cell that failed or ran out of time. (CI also runs the whole
cpu profile: ./run_all.sh.)"""
import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

pytest.importorskip("papermill")
jupytext = pytest.importorskip("jupytext")

from vfilib.workbook import NOTEBOOKS, ORDER, NotebookFailed, execute, profiles, run_grid  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")
TINY = {"crop": 32, "batch_size": 2, "val_samples": 2, "val_crop": 64, "perceptual_weight": 0.0}


@pytest.fixture(scope="module")
def work(tmp_path_factory, embedded_cache):
    mp = pytest.MonkeyPatch()
    mp.setenv("VFILIB_DATA", str(embedded_cache[0]))
    root = tmp_path_factory.mktemp("workbook")
    yield {"results": root / "results", "runs": root / "runs", "nb": root / "nb"}
    mp.undo()


def test_profiles_name_only_real_parameters():
    for profile, table in profiles().items():
        for name, params in table.items():
            if not isinstance(params, dict):
                continue
            src = (NOTEBOOKS / f"{name}.py").read_text()
            cell = src.split('tags=["parameters"]')[1].split("# %%")[0]
            declared = {line.split("=")[0].strip() for line in cell.splitlines() if "=" in line}
            assert set(params) <= declared, (profile, name, set(params) - declared)


def test_paired_ipynb_are_in_sync_and_have_no_outputs():
    for name in ORDER:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        src = jupytext.read(NOTEBOOKS / f"{name}.py")
        assert [c.source for c in nb.cells] == [c.source for c in src.cells], f"{name}.ipynb differs from {name}.py"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name}.ipynb has outputs"
        assert "parameters" in next(c for c in nb.cells if c.cell_type == "code").metadata.get("tags", [])


def test_02_row_records_how_it_was_measured_and_paths_resolve_from_the_root(work, monkeypatch):
    monkeypatch.chdir(NOTEBOOKS)              # as a JupyterLab kernel: relative paths would land in notebooks/
    execute("02_phase1_train", {"experiment": "exp1c", "steps": 4, "settings": TINY, "results_dir": str(work["results"]),
                                "runs_dir": str(work["runs"])}, out_dir=work["nb"])
    row = pd.read_csv(work["results"] / "phase1.csv").iloc[0]
    assert row["exp_name"] == "exp1c_tiny" and row["steps"] == 4 and row["crop"] == 32
    assert len(row["config_hash"]) == 12 and "embedded" in row["data"] and "val" in row["validation"]
    assert not (NOTEBOOKS / "results").exists() and not (NOTEBOOKS / "runs").exists()


def test_grid_reuses_a_run_only_with_the_same_config(work, capsys):
    rows = run_grid(["exp1a", "exp1c"], "tiny", 1, 4, "embedded", TINY, results_dir=work["results"], runs=work["runs"])
    out = capsys.readouterr().out
    assert "exp1c_tiny: finished" in out and "exp1a_tiny (config" in out          # exp1c from the test above
    assert sorted(rows["exp_name"]) == ["exp1a_tiny", "exp1c_tiny"]
    rows = run_grid(["exp1c"], "tiny", 1, 5, "embedded", TINY, results_dir=work["results"], runs=work["runs"])
    assert "exp1c_tiny (config" in capsys.readouterr().out and rows["steps"].tolist() == [5]   # other length: runs


def test_committed_rows_never_decide_what_runs(work, capsys):
    """A results row without its checkpoint (a fresh clone) is not taken as a finished run."""
    import shutil
    shutil.rmtree(work["runs"] / "exp1a_tiny")
    run_grid(["exp1a"], "tiny", 1, 4, "embedded", TINY, results_dir=work["results"], runs=work["runs"])
    assert "exp1a_tiny (config" in capsys.readouterr().out


def test_failure_names_notebook_and_cell(work):
    with pytest.raises(NotebookFailed, match=r"02_phase1_train failed in cell \d+ \(.*unknown experiment"):
        execute("02_phase1_train", {"experiment": "exp_does_not_exist", "steps": 1, "results_dir": str(work["results"])},
                out_dir=work["nb"])


def test_a_cell_past_its_time_limit_is_named(work, tmp_path, monkeypatch):
    slow = tmp_path / "99_slow.py"
    slow.write_text('# %% tags=["parameters"]\nx = 1\n\n# %%\nimport time\ntime.sleep(30)\n')
    monkeypatch.setattr("vfilib.workbook.NOTEBOOKS", tmp_path)
    with pytest.raises(NotebookFailed, match=r"99_slow: cell 2 timed out after 3 s"):
        execute("99_slow", {}, out_dir=work["nb"], cell_timeout=3)


def test_index_keeps_earlier_notebook_times(tmp_path):
    from vfilib.workbook import collect
    collect(tmp_path, {"01_stem_and_scan": 18.0, "08_speed_memory": 21.0})
    text = collect(tmp_path, {"08_speed_memory": 25.0}).read_text()
    assert "Notebook wall times: 01_stem_and_scan 18 s, 08_speed_memory 25 s" in text


def test_latex_tables_carry_provenance_and_smoke(tmp_path):
    from vfilib.reports.tables import latex_table
    rows = pd.DataFrame({"experiment": ["a"], "psnr": [30.0], "commit": ["abc1234"], "date": ["2026-12-01"],
                         "device": ["CPU"], "data": ["embedded clips"]})
    tex = latex_table(rows[["experiment", "psnr"]], "t", "A grid.", tmp_path, rows=rows, smoke=True).read_text()
    assert "SMOKE" in tex and "commit: abc1234" in tex and "data: embedded clips" in tex


def test_relative_results_dirs_resolve_from_the_repository(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    from vfilib.core.paths import REPO_ROOT
    from vfilib.reports.figures import save_figure
    monkeypatch.chdir(NOTEBOOKS)
    fig, _ = plt.subplots()
    [path] = save_figure(fig, "_test_where", "results")
    try:
        assert path == REPO_ROOT / "results" / "figures" / "_test_where.png"
    finally:
        path.unlink()
