"""The speed benchmark CLI and the per-part profile, on CPU (GPU figures: results/speed.csv)."""

import torch

from vfilib import bench
from vfilib.config import preset
from vfilib.core.tables import read_table
from vfilib.models import build_model


def test_module_breakdown_names_every_part_and_adds_up():
    model = build_model(preset("tiny", depths=(2, 1)))
    step = bench.speed.make_step(model, "infer", (64, 96), 1, None, torch.device("cpu"))
    step()
    df = bench.profile.module_breakdown(model, step, torch.device("cpu"), iters=2).set_index("part")
    for part in ["backbone.stem.levels.0", "backbone.stage3.blocks.*.ssm", "backbone.stage3.blocks.*.attn",
                 "backbone.stage4.blocks.*.ca", "refine.ups.3", "refine.head"]:
        assert part in df.index, part
    assert df.loc["backbone.stage3.blocks.*.ssm", "calls"] == 2          # two blocks, one name
    assert df.loc["backbone.stage4.blocks.*.ssm", "calls"] == 1
    whole = df.loc["(whole step)", "ms"]
    assert whole > 0 and df.loc["backbone", "ms"] + df.loc["refine", "ms"] <= whole * 1.05
    assert df.loc["backbone.stage3", "ms"] >= df.loc["backbone.stage3.blocks.*.ssm", "ms"]


def test_speed_rows_name_kernels_and_replace_on_rerun(tmp_path):
    out = tmp_path / "speed.csv"
    argv = ["speed", "--presets", "tiny", "--res", "256", "--iters", "1", "--warmup", "1", "--device", "cpu",
            "--fused", "auto", "off", "--out", str(out)]
    bench.main(argv)
    bench.main(argv)
    df = read_table(out)
    assert len(df) == 1                                   # CPU: fused is never used, so one row, replaced
    row = df.iloc[0]
    assert row["kernels"] == "plain" and row["exec"] == "eager" and row["median_ms"] > 0
    assert row["device"].startswith("CPU") and isinstance(row["commit"], str)


def test_graph_modes_are_skipped_off_cuda(tmp_path, capsys):
    out = tmp_path / "speed.csv"
    bench.main(["speed", "--presets", "tiny", "--res", "256", "--iters", "1", "--warmup", "1", "--device", "cpu",
                "--exec", "eager", "compiled+graph", "--out", str(out)])
    df = read_table(out)
    assert list(df["exec"]) == ["eager"]
    assert "skipped compiled+graph 256 fp32: CUDA graphs need a CUDA device" in capsys.readouterr().out
