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

from vfilib.grid import GridSpec, run_grid  # noqa: E402
from vfilib.workbook import NOTEBOOKS, ORDER, NotebookFailed, execute, profiles  # noqa: E402
from vfilib.models.weights import checkpoint as ckpt  # noqa: E402

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
    assert row["exp_name"] == "exp1c_tiny_s0" and row["seed"] == 0 and row["steps"] == 4 and row["crop"] == 32
    assert len(row["config_hash"]) == 12 and "embedded" in row["data"] and "val" in row["validation"]
    assert row["profile"] == "cpu (SMOKE)" and row["samples"] == 8
    assert not (NOTEBOOKS / "results").exists() and not (NOTEBOOKS / "runs").exists()


def grid(work, experiments, steps, **kw):
    return GridSpec(tuple(experiments), steps=steps, data="embedded", settings=TINY, results_dir=str(work["results"]),
                    runs_dir=str(work["runs"]), **kw)


def test_grid_reuses_a_run_only_with_the_same_config(work, capsys):
    rows = run_grid(grid(work, ["exp1a", "exp1c"], 4)).rows
    out = capsys.readouterr().out
    assert "exp1c_tiny_s0: done" in out and "exp1a_tiny_s0 (config" in out          # exp1c from notebook 02 above
    assert sorted(rows["exp_name"]) == ["exp1a_tiny_s0", "exp1c_tiny_s0"]
    rows = run_grid(grid(work, ["exp1c"], 5)).rows          # other length: runs, in a folder of its own
    assert "[grid] exp1c_tiny_s0_" in capsys.readouterr().out and rows["steps"].tolist() == [5]
    assert ckpt.read(work["runs"] / "exp1c_tiny_s0" / "last.pt")["state"]["step"] == 4       # the 4-step run kept


def test_committed_rows_never_decide_what_runs_and_rows_share_a_gpu(work, capsys, monkeypatch):
    """A results row without its checkpoint (a fresh clone) is not taken as a finished run. (Run here with
    jobs=0 and rows_per_gpu=2 on one fake GPU: the row goes through `python -m vfilib.grid row` in a process
    of its own and records that it shared its device with another row; on this CPU it has no GPU seconds.)"""
    import shutil
    shutil.rmtree(work["runs"] / "exp1a_tiny_s0")
    monkeypatch.setattr("vfilib.grid.runner.visible_gpus", lambda: ["0"])
    rows = run_grid(grid(work, ["exp1a"], 4, jobs=0, rows_per_gpu=2)).rows
    out = capsys.readouterr().out
    assert "exp1a_tiny_s0 (config" in out and "started (GPU 0, 2 rows share it" in out and "ended after" in out
    assert rows["exp_name"].tolist() == ["exp1a_tiny_s0"] and (work["runs"] / "exp1a_tiny_s0" / "last.pt").is_file()
    assert rows["device_share"].tolist() == [2] and rows["gpu_seconds"].isna().all()
    assert "exp1a_tiny_s0" in (work["runs"] / "grids" / "logs" / "exp1a_tiny_s0.log").read_text()
    assert json.loads((work["runs"] / "grids" / "phase1.json").read_text())["complete"]


def test_grid_slots_give_each_row_a_gpu_or_a_share_of_the_cores():
    from vfilib.grid import grid_slots
    assert [s["CUDA_VISIBLE_DEVICES"] for s in grid_slots(0, gpus=["0", "1", "3"])] == ["0", "1", "3"]
    assert [s["CUDA_VISIBLE_DEVICES"] for s in grid_slots(4, gpus=["2", "5"])] == ["2", "5", "2", "5"]
    two = grid_slots(0, gpus=["0", "1"], rows_per_gpu=3)                    # 3 rows on each of 2 GPUs
    assert [s["CUDA_VISIBLE_DEVICES"] for s in two] == ["0", "1"] * 3 and {s["VFILIB_DEVICE_SHARE"] for s in two} == {"3"}
    assert [s["VFILIB_DEVICE_SHARE"] for s in grid_slots(3, gpus=["0", "1"])] == ["2", "1", "2"]
    cpu = grid_slots(2, gpus=[], cpus=8)
    assert len(cpu) == 2 and all(s["OMP_NUM_THREADS"] == "4" and s["CUDA_VISIBLE_DEVICES"] == "" for s in cpu)
    assert grid_slots(3, gpus=[], cpus=2)[0]["OMP_NUM_THREADS"] == "1"      # never 0 threads
    assert len(grid_slots(0, gpus=[], cpus=2, rows_per_gpu=4)) == 1          # no GPUs: rows in order
    with pytest.raises(ValueError, match="jobs=-1"):
        grid_slots(-1, gpus=[])


def test_parallel_rows_keep_going_past_a_failure_and_name_it(tmp_path):
    import sys
    from vfilib.grid import run_parallel
    ok = [sys.executable, "-c", "import os; print('threads', os.environ['OMP_NUM_THREADS'])"]
    bad = [sys.executable, "-c", "import sys; print('[grid] FAILED: cell 3 broke', file=sys.stderr); sys.exit(1)"]
    tasks = [("a", ok, tmp_path / "a.log"), ("b", bad, tmp_path / "b.log"), ("c", ok, tmp_path / "c.log")]
    failed, stopped = run_parallel(tasks, [{"OMP_NUM_THREADS": "3"}, {"OMP_NUM_THREADS": "3"}], poll=0.05)
    assert failed == [f"b: cell 3 broke ({tmp_path / 'b.log'})"] and stopped == []
    assert (tmp_path / "a.log").read_text().endswith("threads 3\n") and "threads 3" in (tmp_path / "c.log").read_text()


def test_parallel_rows_stop_at_the_deadline(tmp_path):
    """Past the deadline no row starts; one still running after the grace is interrupted, and neither
    counts as failed (the next call resumes them)."""
    import sys
    import time
    from vfilib.grid import run_parallel
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    tasks = [("a", sleeper, tmp_path / "a.log"), ("b", sleeper, tmp_path / "b.log")]
    t0 = time.time()
    failed, stopped = run_parallel(tasks, [{}], poll=0.05, deadline=time.time() + 1.0, min_start=0.5, grace=0.5)
    assert failed == [] and stopped == ["b", "a"] and time.time() - t0 < 20
    assert not (tmp_path / "b.log").exists()


def test_interrupting_a_parallel_grid_stops_its_rows(tmp_path, monkeypatch):
    import os
    import sys
    import time
    from vfilib.grid import run_parallel
    pid_file, real_sleep = tmp_path / "pid", time.sleep

    def interrupt(_):                      # Ctrl-C while the row runs
        while not pid_file.exists():
            real_sleep(0.05)
        raise KeyboardInterrupt

    monkeypatch.setattr("vfilib.grid.runner._pause", interrupt)
    row = [sys.executable, "-c", f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"]
    with pytest.raises(KeyboardInterrupt):
        run_parallel([("row", row, tmp_path / "row.log")], [{}, {}])
    with pytest.raises(ProcessLookupError):                                   # stopped and reaped
        os.kill(int(pid_file.read_text()), 0)


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
