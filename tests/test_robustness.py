"""Bad input and faults: each case expects a clear error (or the right result) and nothing lost."""
import errno
import json
import os
import pickle
import stat
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from vfilib.config import preset
from vfilib.core.io import atomic_write, clean_stale_tmp
from vfilib.core.tables import append_rows, read_table
from vfilib.models import build_model
from vfilib.models.weights import checkpoint as ckpt


class RunsCode:
    """Unpickling this calls os.system: what a crafted checkpoint would do."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/vfilib_pwned_by_checkpoint",))


def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker = "/tmp/vfilib_pwned_by_checkpoint"
    if os.path.exists(marker):
        os.unlink(marker)
    bad = tmp_path / "evil.pt"
    torch.save({"model_config": preset("tiny").to_dict(), "model": {}, "payload": RunsCode()}, bad)
    with pytest.raises(ckpt.CheckpointError, match=r"evil.pt: refused: the file holds Python objects that would run code") as e:
        ckpt.load_model(bad)
    assert not os.path.exists(marker)
    # what was refused and why, not PyTorch's note that loading it with weights_only=False "will likely succeed"
    assert "(it calls posix.system)" in str(e.value) and "Nothing in it was run" in str(e.value)
    assert "Re-running" not in str(e.value) and "weights_only" not in str(e.value)


def test_plain_state_dicts_and_rife_pickles_are_named(tmp_path):
    torch.save(build_model(preset("tiny")).state_dict(), tmp_path / "plain.pt")
    with pytest.raises(ckpt.CheckpointError, match="plain.pt: not a vfilib checkpoint .*plain state dict"):
        ckpt.load_model(tmp_path / "plain.pt")
    torch.save({"module.block0.conv0.0.0.weight": torch.zeros(1)}, tmp_path / "flownet.pkl")
    with pytest.raises(ckpt.CheckpointError, match="flownet.pkl: not a vfilib checkpoint .*vfilib interpolate --model "
                       "rife_hdv3` or `vfilib eval --peers rife_hdv3"):
        ckpt.load_model(tmp_path / "flownet.pkl")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "plain.pt").read_bytes()[:500])
    with pytest.raises(ckpt.CheckpointError, match="cut.pt: not a readable checkpoint"):
        ckpt.load_model(tmp_path / "cut.pt")
    with pytest.raises(ckpt.CheckpointError, match="nope.pt: no such checkpoint file"):
        ckpt.load_model(tmp_path / "nope.pt")


def test_weights_that_do_not_fit_name_the_file(tmp_path):
    m = build_model(preset("tiny"))
    ckpt.save(tmp_path / "m.pt", {"model_config": preset("tiny", dims=(8, 16, 24, 32, 48)).to_dict(),
                                  "model": m.state_dict()})
    with pytest.raises(ckpt.CheckpointError, match=r"m.pt: the weights do not fit the model config: .*shape mismatches"):
        ckpt.load_model(tmp_path / "m.pt")


def test_full_disk_during_a_checkpoint_write_is_said_and_the_old_file_kept(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    ckpt.save(path, {"step": 1})

    def full(obj, f, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(ckpt.CheckpointError, match="last.pt: could not write the checkpoint: the disk is full"):
        ckpt.save(path, {"step": 2})
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["step"] == 1 and [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_shipped_weights_round_trip_and_sha_check(tmp_path, monkeypatch):
    m = build_model(preset("tiny", flow="feature"))
    ckpt.save(tmp_path / "best.pt", {"model_config": m.cfg.to_dict(), "model": m.state_dict(), "ema": None,
                                     "state": {"step": 600, "samples": 19200}, "train_config": {"data": "live"}})
    card = ckpt.export_weights(tmp_path / "best.pt", tmp_path / "vfilib.pt", card={"note": "test"})
    assert card["dtype"] == "float16" and (tmp_path / "card.json").is_file()
    # the weights file and its card say how long it trained and on what
    assert (card["step"], card["samples"], card["data"]) == (600, 19200, "live")
    assert torch.load(tmp_path / "vfilib.pt", weights_only=True)["state"]["step"] == 600
    monkeypatch.setattr(ckpt, "SHIPPED", tmp_path / "vfilib.pt")
    monkeypatch.setattr(ckpt, "SHIPPED_CARD", tmp_path / "card.json")
    loaded = ckpt.load_model(None)
    for k, v in m.state_dict().items():
        assert torch.allclose(loaded.state_dict()[k], v.half().float()), k
    with open(tmp_path / "vfilib.pt", "ab") as f:
        f.write(b"tampered")
    with pytest.raises(ckpt.CheckpointError, match="differs from the card"):
        ckpt.load_model(None)


# ----------------------------------------------------------------------------- tables and files
_APPEND = """
import sys
from vfilib.core.tables import append_rows
for i in range(60):
    append_rows(sys.argv[1], [{"proc": sys.argv[2], "i": i}])
"""


def test_two_processes_appending_to_one_table_lose_no_row(tmp_path):
    table = tmp_path / "t.csv"
    procs = [subprocess.Popen([sys.executable, "-c", _APPEND, str(table), name]) for name in ("a", "b")]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    df = pd.read_csv(table)
    assert len(df) == 120 and sorted(df.groupby("proc").size()) == [60, 60]


def test_a_malformed_table_is_named_and_left_alone(tmp_path):
    bad = tmp_path / "phase1.csv"
    bad.write_text('a,b\n1,2\n"unclosed,3\n4,5,6,7\n')
    before = bad.read_text()
    with pytest.raises(ValueError, match="phase1.csv: not a readable CSV table"):
        append_rows(bad, [{"a": 1, "b": 2}])
    assert bad.read_text() == before


def test_a_failing_split_keeps_the_rows_already_computed(tmp_path, monkeypatch):
    from vfilib.eval import benchmark as B
    from vfilib.eval.interpolators import Blend
    from fixtures import snu_tree

    root = snu_tree(tmp_path / "snu")
    (root / "test-hard.txt").write_text("missing/a.png missing/b.png missing/c.png\n")
    out = tmp_path / "b.csv"
    with pytest.raises(Exception):
        B.run("snu_film", [Blend()], root, out=out, progress=False)
    assert list(read_table(out)["split"]) == ["easy", "medium"]


def test_atomic_files_get_normal_permissions_and_stale_temporaries_go(tmp_path):
    old = os.umask(0o022)
    try:
        p = atomic_write(tmp_path / "x.txt", lambda f: f.write("hi"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
    stale = tmp_path / ".x.txt.abc123.tmp"
    stale.write_text("left by a killed write")
    os.utime(stale, (time.time() - 3 * 86400,) * 2)
    fresh = tmp_path / ".x.txt.def456.tmp"
    fresh.write_text("a write in progress")
    assert clean_stale_tmp(tmp_path, "x.txt") == [stale] and fresh.exists()


def test_a_checkpoint_write_killed_outright_leaves_a_temporary_the_next_write_removes(tmp_path):
    """SIGKILL during ``torch.save`` leaves ``.last.pt.<pid>-<random>.tmp``: the next save of last.pt removes it
    at once (its process is gone), not after a day, and leaves a running writer's alone."""
    killed = tmp_path / ".last.pt.4194305-k1ll3d00.tmp"              # above Linux's largest process id
    running = tmp_path / f".last.pt.{os.getpid()}-wr1t1ng0.tmp"
    for p in (killed, running):
        p.write_bytes(b"half a checkpoint")
    ckpt.save(tmp_path / "last.pt", {"step": 3})
    assert not killed.exists() and running.exists() and torch.load(tmp_path / "last.pt")["step"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [running.name, "last.pt"]


# ----------------------------------------------------------------------------- command lines
def _cli(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True)


@pytest.mark.parametrize("cmd, msg", [
    (["vfilib.bench", "speed", "--batch", "0"], "--batch must be at least 1"),
    (["vfilib.train", "--max_steps", "-5"], "max_steps must be >= 0"),
    (["vfilib.train", "--batch_size", "0"], "batch_size must be at least 1"),
    (["vfilib.workbook", "run", "--only", "99_nope"], "unknown notebook(s) ['99_nope']; the notebooks are: 01_stem_and_scan"),
    (["vfilib.eval", "--bench", "embedded", "--peers", "blend", "--device", "cuda"], "no CUDA GPU"),
    (["vfilib.eval", "--bench", "embedded", "--ckpt", "missing.pt"], "missing.pt: no such checkpoint file"),
])
def test_clear_errors_from_the_command_lines(cmd, msg):
    if "cuda" in cmd and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    r = _cli(*cmd)
    assert r.returncode != 0 and "Traceback" not in r.stderr and msg in r.stderr, r.stderr[-500:]


def test_ship_only_a_version_that_wins_every_level():
    from vfilib.ship import decide
    rows = pd.DataFrame({"method": ["vfilib:x"] * 4 + ["rife_hdv3"] * 4,
                         "split": ["easy", "medium", "hard", "extreme"] * 2,
                         "psnr": [40.1, 36.2, 33.4, 32.2, 39.8, 36.15, 33.3, 32.07]})
    ok, why = decide(rows, "vfilib:x")
    assert ok and "every level" in why
    rows.loc[1, "psnr"] = 36.11
    ok, why = decide(rows, "vfilib:x")
    assert not ok and "medium" in why
    rows.loc[1, "psnr"] = 36.2
    assert not decide(rows, "vfilib:x", current=40.0)[0]


def test_ship_writes_weights_and_card_from_a_table(tmp_path, monkeypatch):
    from vfilib import ship
    m = build_model(preset("tiny", flow="feature"))
    ckpt.save(tmp_path / "best.pt", {"model_config": m.cfg.to_dict(), "model": m.state_dict(), "ema": None,
                                     "state": {"step": 600, "samples": 19200}, "train_config": {"data": "live"}})
    name = f"vfilib:tiny:{tmp_path / 'best.pt'}"
    rows = pd.DataFrame({"bench": "live", "method": [name] * 4 + ["rife_hdv3"] * 4,
                         "split": ["easy", "medium", "hard", "extreme"] * 2, "n": 48, "ssim": 0.9,
                         "psnr": [40.1, 36.2, 33.4, 32.2, 39.8, 36.15, 33.3, 32.07], "proto_crop": 384})
    rows.to_csv(tmp_path / "rows.csv", index=False)
    monkeypatch.setattr(ckpt, "SHIPPED", tmp_path / "w" / "vfilib.pt")
    monkeypatch.setattr(ckpt, "SHIPPED_CARD", tmp_path / "w" / "card.json")
    assert ship.main([str(tmp_path / "best.pt"), "--table", str(tmp_path / "rows.csv"), "--minutes", "9"]) == 0
    card = json.loads((tmp_path / "w" / "card.json").read_text())
    assert (card["step"], card["samples"], card["device_minutes"]) == (600, 19200, 9) and "steps" not in card
    assert [round(r["psnr"] - r["rife_hdv3_psnr"], 2) for r in card["scores"]] == [0.3, 0.05, 0.1, 0.13]
    assert "| live | medium | 36.200 | 36.150 |" in (tmp_path / "w" / "MODEL_CARD.md").read_text()
    # the same version again does not ship: its mean does not beat the one shipped now
    assert ship.main([str(tmp_path / "best.pt"), "--table", str(tmp_path / "rows.csv")]) == 1
