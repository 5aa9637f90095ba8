"""Grids: the spec (names, seeds, budget, the one place a row's config is made), a call stopped by its
time limit and the next one resuming its rows exactly, rows sharing a (fake) GPU, and merging the
bundles that calls on a lent GPU bring back."""
import json
import tarfile

import pandas as pd
import pytest
import torch

from vfilib.grid import GridIncomplete, GridSpec, grid_specs, merge, run_grids
from vfilib.grid.__main__ import main as grid_main
from vfilib.models.weights import checkpoint as ckpt

pytestmark = pytest.mark.filterwarnings("ignore")
TINY = {"crop": 32, "batch_size": 2, "val_samples": 1, "val_crop": 32, "perceptual_weight": 0.0, "test_samples": 1,
        "test_crop": 32, "num_workers": 0, "progress": False, "warmup_steps": 2, "lr": 1e-3}


@pytest.fixture
def data(embedded_cache, monkeypatch):
    monkeypatch.setenv("VFILIB_DATA", str(embedded_cache[0]))


def test_spec_names_rows_by_seed_and_profile_and_makes_each_config_in_one_place(tmp_path):
    spec = GridSpec(("exp1a", "exp1c"), preset="tiny", samples=100, data="embedded", settings={"batch_size": 8}, seeds=3,
                    profile="h200", results_dir=str(tmp_path))
    assert spec.rows() == [("exp1a", 0), ("exp1a", 1), ("exp1a", 2), ("exp1c", 0), ("exp1c", 1), ("exp1c", 2)]
    cfg = spec.row_config("exp1c", 2)
    assert (cfg.exp_name, cfg.seed, cfg.max_steps, cfg.profile) == ("exp1c_tiny_s2", 2, 13, "h200")   # ceil(100 / 8)
    assert cfg.results_csv == str(tmp_path / "phase1_h200.csv")
    assert cfg.config_hash() != spec.row_config("exp1c", 1).config_hash()                   # the seed is hashed
    assert spec.row_config("exp1c", 2, deadline=5.0, device_share=4).config_hash() == cfg.config_hash()
    with pytest.raises(ValueError, match="change what a run computes"):
        spec.row_config("exp1c", 0, crop=64)
    with pytest.raises(ValueError, match=r"\['seed'\]"):
        GridSpec(("exp1c",), settings={"seed": 3})
    assert GridSpec.from_json(spec.to_json()) == spec
    cpu, x4 = grid_specs(1, ["exp1a", "exp1b", "exp1c", "exp1d"], samples=100, budget_scale=4, scaled=["exp1a", "exp1c"])
    assert (cpu.table, x4.table, x4.samples, x4.experiments) == ("phase1", "phase1_x4", 400, ("exp1a", "exp1c"))
    assert x4.run_name("exp1c", 1) == "exp1c_tiny_x4_s1"


def test_notebook_parameters_and_profiles_make_the_same_grid():
    """`python -m vfilib.grid run` builds a notebook's grids from its parameters cell and the profile."""
    from vfilib.grid import notebook_parameters
    from vfilib.workbook import profile_params
    params = {**notebook_parameters("05_phase2_ablations"), **profile_params("h200", "05_phase2_ablations")}
    assert params["start_from"] == "exp1c" and params["seeds"] == 3 and params["data"] == "live"
    specs = grid_specs(2, params["experiments"], samples=params["samples"], seeds=params["seeds"],
                       budget_scale=params["budget_scale"], scaled=params["scaled"], profile="h200")
    assert [s.table for s in specs] == ["phase2_h200", "phase2_h200_x4"]


def stop_after(monkeypatch, step):
    """Rows stop at ``step`` as if the grid's time limit came then (what a deadline does, made exact);
    returns the real check."""
    from vfilib.train.loop import Run
    real = Run.out_of_time
    monkeypatch.setattr(Run, "out_of_time", lambda self: self.tr.state.step >= step)
    return real


def test_a_time_limited_call_stops_rows_and_the_next_resumes_them_exactly(data, tmp_path, monkeypatch, capsys):
    """2 rows x 2 seeds, 6 steps: the first call stops every row at step 3 (last.pt saved, no result row), the
    second continues each from its own last.pt; a row's weights then equal those of a run never stopped."""
    args = ["run", "03_phase1_ablations", "--set", 'experiments=["exp1a", "exp1c"]', "--set", "seeds=2", "--set",
            "steps=6", "--set", f"settings={json.dumps(TINY)}", "--set", f'results_dir="{tmp_path / "results"}"',
            "--set", f'runs_dir="{tmp_path / "runs"}"', "--set", "jobs=1", "--bundle", str(tmp_path / "b1.tar.gz")]
    real = stop_after(monkeypatch, 3)
    assert grid_main(args) == 3                                   # rows left for the next call
    out = capsys.readouterr().out
    assert "4 grid row(s) unfinished" in out and "time limit reached at step 3 of 6" in out
    assert not (tmp_path / "results" / "phase1.csv").exists()
    assert ckpt.read(tmp_path / "runs" / "exp1c_tiny_s1" / "last.pt")["state"]["step"] == 3
    monkeypatch.setattr("vfilib.train.loop.Run.out_of_time", real)
    args[-1] = str(tmp_path / "b2.tar.gz")
    assert grid_main(args) == 0
    out = capsys.readouterr().out
    assert out.count("continues its") == 4
    rows = pd.read_csv(tmp_path / "results" / "phase1.csv")
    assert sorted(rows["exp_name"]) == ["exp1a_tiny_s0", "exp1a_tiny_s1", "exp1c_tiny_s0", "exp1c_tiny_s1"]
    assert (rows["steps"] == 6).all() and (rows["samples"] == 12).all()
    metrics = pd.read_csv(tmp_path / "runs" / "exp1c_tiny_s1" / "metrics.csv")
    assert metrics.loc[metrics["loss"].notna(), "step"].is_unique

    from vfilib.train import train
    straight = GridSpec(("exp1c",), steps=6, data="embedded", settings=TINY, seeds=2, runs_dir=str(tmp_path / "straight"),
                        results_dir=str(tmp_path / "straight"))
    train(straight.row_config("exp1c", 1))
    a = ckpt.read(tmp_path / "straight" / "exp1c_tiny_s1" / "last.pt")["model"]
    b = ckpt.read(tmp_path / "runs" / "exp1c_tiny_s1" / "last.pt")["model"]
    assert [k for k in a if not torch.equal(a[k], b[k])] == []

    here = tmp_path / "here"                                      # merged elsewhere, as on the workstation
    assert merge([tmp_path / "b1.tar.gz", tmp_path / "b2.tar.gz"], here / "results", here / "runs")
    assert len(pd.read_csv(here / "results" / "phase1.csv")) == 4
    scores = pd.read_csv(here / "results" / "phase1_test.csv")
    assert len(scores) == 4 * 4 and set(scores["level"]) == {"easy", "medium", "hard", "extreme"}   # 1 triplet a level
    calls = pd.read_csv(here / "results" / "grid_calls.csv")
    assert calls["status"].tolist() == ["incomplete", "complete"] and calls["rows_done"].tolist() == [0, 4]


def test_skip_recorded_rows_need_no_checkpoint_and_failed_rows_are_named(data, tmp_path, capsys):
    """A row recorded in results/ is done on a fresh machine with skip_recorded; a row that fails is named,
    and the grid goes on with the others."""
    spec = GridSpec(("exp1c",), steps=1, data="embedded", settings=TINY, results_dir=str(tmp_path / "results"),
                    runs_dir=str(tmp_path / "runs"))
    run_grids([spec])
    import shutil
    shutil.rmtree(tmp_path / "runs" / "exp1c_tiny_s0")                       # a fresh GPU machine
    import dataclasses
    [result] = run_grids([dataclasses.replace(spec, skip_recorded=True)])
    assert "exp1c_tiny_s0: done" in capsys.readouterr().out and len(result.rows) == 1
    with pytest.raises(GridIncomplete, match="1 grid row.s. unfinished: exp1a_tiny_s0"):   # tables only: trains nothing
        run_grids([dataclasses.replace(spec, experiments=("exp1a", "exp1c"), skip_recorded=True, train=False)])
    assert not (tmp_path / "runs" / "exp1a_tiny_s0").exists()
    bad = dataclasses.replace(spec, experiments=("exp1a", "exp1c"), settings={**TINY, "embedded_path": str(tmp_path)},
                              force=True)
    with pytest.raises(GridIncomplete, match=r"failed: exp1a_tiny_s0: FileNotFoundError: .*manifest.json") as e:
        run_grids([bad])
    assert e.value.unfinished == ["exp1a_tiny_s0"] and len(e.value.failed) == 2       # exp1c: its old record stands


def fake_bundle(path, rows, scores, status="complete"):
    import io
    with tarfile.open(path, "w:gz") as tar:
        for name, df in (("results/phase1_h200.csv", rows), ("results/phase1_h200_test.csv", scores)):
            data = df.to_csv(index=False).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        meta = json.dumps({"made": f"2026-01-0{len(rows)} 10:00:00 UTC", "seconds": 400.0, "gpus": 1, "status": status,
                           "grids": {"phase1_h200": {r: "done" for r in rows["exp_name"]}}, "device": "NVIDIA H200"}).encode()
        info = tarfile.TarInfo("bundle.json")
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))


def test_merge_adds_rows_from_two_calls_keyed_by_run_and_config(tmp_path, capsys):
    """Two bundles: the second brings a new row and a re-run of one the first had (same run and config):
    the table holds each once, the later kept; merging again changes nothing; the cpu table is untouched."""
    def rows(names, psnr):
        return pd.DataFrame({"exp_name": names, "config_hash": [f"00000000000{n[-1]}" for n in names],
                             "test_psnr": psnr, "commit": "abc1234", "device": "NVIDIA H200"})

    def scores(names, psnr):
        return pd.DataFrame([{"exp_name": n, "config_hash": f"00000000000{n[-1]}", "seed": int(n[-1]), "triplet": t,
                              "level": "easy", "psnr": psnr} for n in names for t in ("c/1-2-3", "c/5-6-7")])
    fake_bundle(tmp_path / "a.tar.gz", rows(["exp1c_small_s0"], [30.0]), scores(["exp1c_small_s0"], 30.0), "incomplete")
    fake_bundle(tmp_path / "b.tar.gz", rows(["exp1c_small_s0", "exp1c_small_s1"], [31.0, 32.0]),
                scores(["exp1c_small_s0", "exp1c_small_s1"], 31.0))
    results = tmp_path / "results"
    results.mkdir()
    (results / "phase1.csv").write_text("exp_name,config_hash,test_psnr\nexp1c_tiny_s0,111111111111,20.0\n")
    for _ in range(2):
        assert grid_main(["merge", str(tmp_path / "a.tar.gz"), str(tmp_path / "b.tar.gz"), "--results_dir", str(results),
                          "--runs_dir", str(tmp_path / "runs")]) == 0
    table = pd.read_csv(results / "phase1_h200.csv", dtype={"config_hash": str})
    assert table.set_index("exp_name")["test_psnr"].to_dict() == {"exp1c_small_s0": 31.0, "exp1c_small_s1": 32.0}
    assert table["config_hash"].tolist() == ["000000000000", "000000000001"]          # hashes stay text
    assert len(pd.read_csv(results / "phase1_h200_test.csv")) == 4
    assert (results / "phase1.csv").read_text().endswith("20.0\n")
    assert len(pd.read_csv(results / "grid_calls.csv")) == 2
    assert "b.tar.gz: complete, 2 of 2 rows done" in capsys.readouterr().out


def test_merge_refuses_what_is_not_a_bundle(tmp_path, capsys):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../../escape.csv")
        info.size = 0
        tar.addfile(info)
        meta = tarfile.TarInfo("bundle.json")
        tar.addfile(meta)
    assert grid_main(["merge", str(evil), "--results_dir", str(tmp_path / "r"), "--runs_dir", str(tmp_path / "w")]) == 1
    assert not (tmp_path.parent / "escape.csv").exists()
    (tmp_path / "x.tar.gz").write_text("not a tar")
    assert grid_main(["merge", str(tmp_path / "x.tar.gz")]) == 1
    assert "not a grid bundle" in capsys.readouterr().err


def test_packed_test_triplets_are_the_ones_scored_here(embedded_cache, tmp_path):
    """`pack_device_data.py --test` writes the picked triplets, centre-cropped: a grid on the device builds
    exactly the test set it would build from the full prepared set here."""
    import importlib.util
    from vfilib.core.paths import REPO_ROOT
    from vfilib.train.testset import _prepared_set
    spec = importlib.util.spec_from_file_location("pack", REPO_ROOT / "scripts" / "pack_device_data.py")
    pack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pack)
    cache = embedded_cache[0]
    pack.pack_test(cache, tmp_path, 3, 64)
    here, there = _prepared_set(cache, 3, 64, "x"), _prepared_set(tmp_path / "live", 3, 64, "x")
    assert here.describe() == there.describe() and len(here.samples) == 12
    for a, b in zip(here.samples, there.samples):
        assert (a.name, a.level, a.t) == (b.name, b.level, b.t)
        assert all(torch.equal(x, y) for x, y in ((a.i0, b.i0), (a.gt, b.gt), (a.i1, b.i1)))


def test_a_grid_never_trains_over_a_run_of_another_config(tmp_path, data):
    """Notebook 06 trains its Phase-1 base at its own crop: the row of notebook 03 with the same name keeps
    its folder and checkpoint, the other config gets a folder of its own, and each finds its own again."""
    from vfilib.train import train
    a = GridSpec(("exp1c",), steps=1, data="embedded", settings=TINY, runs_dir=str(tmp_path / "runs"),
                 results_dir=str(tmp_path / "results"))
    b = GridSpec(("exp1c",), steps=1, data="embedded", settings={**TINY, "crop": 48}, runs_dir=str(tmp_path / "runs"),
                 results_dir=str(tmp_path / "results"))
    ca = a.row_config("exp1c", 0)
    train(ca)
    held = (ca.run_dir / "config_hash").read_text().strip()
    assert held == ca.config_hash()
    before = (ca.run_dir / "last.pt").read_bytes()
    cb = b.row_config("exp1c", 0)
    assert cb.exp_name == f"exp1c_tiny_s0_{cb.config_hash()[:8]}" and cb.run_dir != ca.run_dir
    train(cb)
    assert (ca.run_dir / "last.pt").read_bytes() == before                      # a's run untouched
    assert a.row_config("exp1c", 0).exp_name == "exp1c_tiny_s0" and b.run_dir("exp1c", 0) == cb.run_dir
    (ca.run_dir / "config_hash").unlink()                    # a folder from before the marker: its last.pt says
    assert b.row_config("exp1c", 0).exp_name == cb.exp_name and a.row_config("exp1c", 0).exp_name == ca.exp_name
