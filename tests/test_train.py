import math
import os
import socket
import warnings

import pytest
import torch
import torch.multiprocessing as mp
from torch.utils.data import Dataset

from vfilib.config import preset
from vfilib.data.clips import ClipWindows
from vfilib.models import build_model
from vfilib.models.weights import checkpoint as ckpt
from vfilib.train import TrainConfig, TrainingDiverged, train
from vfilib.train.cli import parse
from vfilib.train.data import Validation, validate
from vfilib.train.loop import param_groups
from vfilib.train.schedule import lr_at


@pytest.fixture
def cache(embedded_cache):
    return embedded_cache[0]


class Fixed(Dataset):
    """A few real triplets, centre-cropped: the same items for training and validation."""

    def __init__(self, cache, n=4, size=64):
        src = ClipWindows(cache, "train", window=3, stride=9, fixed=True)
        self.items = []
        for i in range(n):
            s = src[i * (len(src) // n)]
            h, w = s["gt"].shape[-2:]
            y, x = (h - size) // 2, (w - size) // 2
            self.items.append({**s, **{k: s[k][:, y:y + size, x:x + size].contiguous() for k in ("I0", "I1", "gt")}})

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def _cfg(tmp_path, **kw):
    base = dict(exp_name="t", out_dir=str(tmp_path), batch_size=4, perceptual_weight=0.0, num_workers=0,
                progress=False, val_every=10**6, ckpt_every=10**6, log_every=10**6, val_samples=4)
    base.update(kw)
    return TrainConfig(**base)


def test_tiny_overfits_four_real_triplets(cache, tmp_path):
    data = Fixed(cache)
    cfg = _cfg(tmp_path, max_steps=250, lr=2e-3, warmup_steps=10, grad_clip=1.0)
    before = validate(build_model(cfg.model), Validation.from_dataset(data, 4, "fixed"), torch.device("cpu"))["psnr"]
    summary = train(cfg, data, data)
    print(f"\noverfit: val PSNR {before:.2f} -> {summary['val_psnr']:.2f} dB in {summary['steps']} steps")
    assert summary["val_psnr"] >= before + 3.0


def test_resume_is_exact(cache, tmp_path):
    data = Fixed(cache, n=8, size=32)
    common = dict(max_steps=6, batch_size=2, deterministic=True, lr=1e-3, warmup_steps=2)
    straight = train(_cfg(tmp_path / "a", **common), data, data)
    train(_cfg(tmp_path / "b", stop_at=3, **common), data, data)         # interrupted at step 3
    resumed = train(_cfg(tmp_path / "b", resume=str(tmp_path / "b" / "t" / "last.pt"), **common), data, data)
    assert straight["steps"] == resumed["steps"] == 6
    a = ckpt.read(tmp_path / "a" / "t" / "last.pt")["model"]
    b = ckpt.read(tmp_path / "b" / "t" / "last.pt")["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_interrupted_checkpoint_write_keeps_previous(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    ckpt.save(path, {"step": 1, "w": torch.ones(3)})

    def broken_save(obj, f, *a, **k):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save(path, {"step": 2, "w": torch.zeros(3)})
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]           # no temporary file left


def break_loss_at(monkeypatch, call: int, value: float):
    """Make the training loss ``value`` (nan, inf) at its ``call``-th evaluation; returns the real forward."""
    from vfilib.train import losses
    real = losses.VFILoss.forward
    calls = {"n": 0}

    def flaky(self, pred, gt):
        calls["n"] += 1
        total, parts = real(self, pred, gt)
        return (total * value if calls["n"] == call else total), parts

    monkeypatch.setattr(losses.VFILoss, "forward", flaky)
    return real


def test_nan_steps_are_skipped_then_stop(cache, tmp_path, monkeypatch):
    from vfilib.train import losses
    data = Fixed(cache, n=4, size=32)
    real = break_loss_at(monkeypatch, 2, math.nan)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s = train(_cfg(tmp_path, max_steps=3, batch_size=2, ckpt_every=1), data, data)
    assert s["steps"] == 3 and s["skipped_steps"] == 1
    assert any("non-finite" in str(x.message) for x in w)
    before = ckpt.read(tmp_path / "t" / "last.pt")["model"]

    monkeypatch.setattr(losses.VFILoss, "forward", lambda self, p, g: (real(self, p, g)[0] * math.nan, {}))
    with pytest.raises(TrainingDiverged, match=r"3 non-finite steps in a row at step 6; last good checkpoint: .*last.pt"):
        train(_cfg(tmp_path, max_steps=10, batch_size=2, max_bad_steps=3,
                   resume=str(tmp_path / "t" / "last.pt")), data, data)
    after = ckpt.read(tmp_path / "t" / "last.pt")["model"]
    assert all(torch.equal(before[k], after[k]) for k in before)        # the last good checkpoint is intact


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, batch, state, out):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    model = build_model(preset("tiny"))
    model.load_state_dict(state)
    ddp = DDP(model)
    n = batch[0].shape[0] // world
    i0, i1, gt = (x[rank * n:(rank + 1) * n] for x in batch)
    (ddp(i0, i1, 0.5) - gt).abs().mean().backward()
    if rank == 0:
        out.update({k: p.grad.clone() for k, p in model.named_parameters()})
    dist.destroy_process_group()


def test_two_gloo_processes_average_gradients_like_one_big_batch():
    torch.manual_seed(0)
    model = build_model(preset("tiny"))
    with torch.no_grad():
        model.refine.head.weight.normal_(0, 1e-2)
    batch = tuple(torch.rand(4, 3, 32, 32) for _ in range(3))
    (model(batch[0], batch[1], 0.5) - batch[2]).abs().mean().backward()
    ref = {k: p.grad for k, p in model.named_parameters()}
    with mp.Manager() as mgr:
        out = mgr.dict()
        mp.spawn(_ddp_worker, args=(2, _free_port(), batch, model.state_dict(), out), nprocs=2, join=True)
        got = dict(out)
    assert set(got) == set(ref)
    for k in ref:
        assert torch.allclose(got[k], ref[k], rtol=1e-4, atol=1e-7), k


def test_optimizer_groups_exclude_ssm_params_and_norms():
    model = build_model(preset("tiny", flow="feature"))
    groups = param_groups(model, 1e-4)
    names = {id(p): n for n, p in model.named_parameters()}
    decay = [p for g in groups if g["weight_decay"] for p in g["params"]]
    nd = {names[id(p)].rsplit(".", 1)[-1] for g in groups if not g["weight_decay"] for p in g["params"]}
    assert {"A_log", "D", "dt_bias", "bias"} <= nd
    assert all(p.ndim > 1 for p in decay)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    flow = [p for g in groups if g["name"] == "flow" for p in g["params"]]
    assert {names[id(p)].split(".")[0] for p in flow} == {"flow"}


def test_schedule_warmup_then_cosine_to_floor():
    lrs = [lr_at(s, 100_000) for s in range(100_000)]
    assert lrs[0] == pytest.approx(2e-4 / 2000) and lrs[1999] == pytest.approx(2e-4)
    assert lrs[-1] == pytest.approx(2e-5, rel=1e-3)
    assert lr_at(5, 50) == pytest.approx(2e-4)                                # short run: warm-up 5 steps


def test_cli_maps_seed_flags_onto_configs():
    cfg = parse(["--phase", "1", "--batch_size", "2", "--backbone_mode", "mamba2_only", "--no-use_ecab",
                 "--use_mhc", "--exp_name", "exp1h", "--preset", "small", "--window_size", "7", "--dry_run"])
    m = cfg.model
    assert (m.name, m.backbone_mode, m.use_ecab, m.residual, m.window_size) == ("small", "mamba2_only", False, "mhc", 7)
    assert (cfg.batch_size, cfg.exp_name, cfg.dry_run) == (2, "exp1h", True)
    assert parse(["--experiment", "exp1f"]).model.use_ecab is False


def test_phase2_resumes_phase1_with_frozen_backbone_and_distillation(cache, tmp_path, capsys):
    data = Fixed(cache, n=4, size=64)
    train(_cfg(tmp_path, exp_name="p1", max_steps=2), data, data)
    p1 = ckpt.read(tmp_path / "p1" / "last.pt")["model"]
    summary = train(_cfg(tmp_path, exp_name="p2", phase=2, model=preset("tiny", flow="feature"),
                         resume=str(tmp_path / "p1" / "last.pt"), freeze_backbone=10, max_steps=3,
                         distill_weight=0.01, lr=1e-3, warmup_steps=1, scale=0.5), data, data)
    assert summary["steps"] == 3
    assert "start fresh (new modules: ['flow', 'hires'])" in capsys.readouterr().out   # said, not silent
    p2 = ckpt.read(tmp_path / "p2" / "last.pt")
    assert p2["model_config"]["flow"] == "feature"
    state = p2["model"]
    for k, v in p1.items():                                             # the frozen backbone kept its weights
        if k.startswith("backbone."):
            assert torch.equal(state[k], v), k
    assert not torch.equal(state["refine.bottom.0.0.weight"], p1["refine.bottom.0.0.weight"])
    assert any(k.startswith("flow.") for k in state)


def test_teacher_flow_scales_linearly_with_t():
    from vfilib.train.phases import teacher_flow

    class Fake(torch.nn.Module):      # a teacher whose t = 0.5 flows are all ones
        def forward(self, a, b):
            return None, torch.ones(a.shape[0], 4, *a.shape[-2:]), None

    f = teacher_flow(Fake(), torch.rand(2, 3, 20, 30), torch.rand(2, 3, 20, 30), torch.tensor([0.25, 0.5]), (20, 30))
    assert f.shape == (2, 4, 20, 30)
    assert torch.allclose(f[0, :2], torch.full_like(f[0, :2], 0.5)) and torch.allclose(f[0, 2:], torch.full_like(f[0, 2:], 1.5))
    assert torch.allclose(f[1], torch.ones_like(f[1]))


# ------------------------------------------------------------------ bugs found in review (issue 16 / 19)
def test_evaluate_only_runs_no_step_and_keeps_the_flow_setting(cache, tmp_path):
    """Exp-2a / 3a: the resumed model evaluated as is: no optimizer step, flow stays off."""
    data = Fixed(cache, n=4, size=32)
    train(_cfg(tmp_path, exp_name="p1", max_steps=2), data, data)
    cfg = _cfg(tmp_path, exp_name="exp2a", phase=2, resume=str(tmp_path / "p1" / "last.pt"), evaluate_only=True)
    assert cfg.model.flow == "off"                                   # phase 2 no longer forces flow="feature"
    s = train(cfg, data, data)
    assert s["steps"] == 0 and math.isfinite(s["val_psnr"])


def test_validation_runs_at_the_training_scale(cache, tmp_path, monkeypatch):
    from vfilib.train import loop
    seen = []
    real = loop.validate
    monkeypatch.setattr(loop, "validate", lambda m, v, d, a=None, scale=1.0: seen.append(scale) or real(m, v, d, a, scale))
    data = Fixed(cache, n=4, size=64)
    train(_cfg(tmp_path, model=preset("tiny", flow="feature"), scale=0.5, max_steps=1), data, data)
    assert seen == [0.5]


def test_cross_phase_resume_refuses_weights_that_do_not_fit(cache, tmp_path):
    data = Fixed(cache, n=4, size=32)
    train(_cfg(tmp_path, exp_name="p1", max_steps=1), data, data)
    with pytest.raises(ckpt.CheckpointError, match=r"p1/last.pt: the weights do not fit the model config"):
        train(_cfg(tmp_path, exp_name="other", model=preset("tiny", dims=(8, 16, 24, 32, 48)),
                   resume=str(tmp_path / "p1" / "last.pt"), max_steps=1), data, data)


def test_fp16_nan_step_is_skipped_without_a_crash(cache, tmp_path, monkeypatch):
    data = Fixed(cache, n=4, size=32)
    break_loss_at(monkeypatch, 1, math.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = train(_cfg(tmp_path, max_steps=3, batch_size=2, amp="fp16"), data, data)
    assert s["steps"] == 3 and s["skipped_steps"] == 1


def test_diverged_weights_are_never_checkpointed(cache, tmp_path):
    from vfilib.train.loop import check_finite_weights
    model = build_model(preset("tiny"))
    with torch.no_grad():
        next(model.parameters()).mul_(0).add_(1e10)
    with pytest.raises(TrainingDiverged, match="weights diverged at step 7"):
        check_finite_weights(model, "x", 7)


def test_bad_numbers_are_config_errors():
    for kw, msg in (({"max_steps": -5}, "max_steps must be >= 0"), ({"batch_size": 0}, "batch_size must be at least 1"),
                    ({"scale": 0}, "scale must lie in"), ({"amp": "fp8"}, "amp 'fp8'"), ({"data": "nope"}, "data 'nope'")):
        with pytest.raises(ValueError, match=msg):
            TrainConfig(**kw)


def test_resume_by_name_prefers_last_over_best(cache, tmp_path):
    from vfilib.train.loop import resolve_resume
    data = Fixed(cache, n=4, size=32)
    train(_cfg(tmp_path, exp_name="r", max_steps=2, val_every=1), data, data)
    assert resolve_resume(_cfg(tmp_path, exp_name="r2", resume="r")).name == "last.pt"


def test_seeded_runs_agree_bit_for_bit_by_default_on_the_cpu(cache, tmp_path):
    """Two processes with different PYTHONHASHSEED, two threads each and the same seed end with identical
    weights without any flag (issue 27, item 10: 44 of 126 tensors differed by up to 7.5e-9: torch's
    multi-threaded CPU kernels, not the hash seed); a run stopped at step 3 and resumed in a third process
    matches them bit for bit."""
    import subprocess
    import sys
    script = tmp_path / "run.py"
    script.write_text(f"""
import sys, torch
from vfilib.config import preset
from vfilib.data.clips import ClipWindows
from vfilib.data.transforms import Augment
from vfilib.train import TrainConfig, train
out, stop, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(2)
ds = ClipWindows({str(cache)!r}, "train", window=5, stride=40, transform=Augment(crop=32, seed=0))
cfg = TrainConfig(exp_name="s", out_dir=out, batch_size=2, max_steps=6, stop_at=stop, lr=1e-3, warmup_steps=2,
                  perceptual_weight=0.0, num_workers=0, progress=False, val_samples=1, val_crop=32,
                  resume=resume or None)
train(cfg, ds, ds)
""")
    from vfilib.core.paths import REPO_ROOT
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO_ROOT)}      # this tree's vfilib, not an installed one
    def run(out, hashseed, stop=0, resume=""):
        subprocess.run([sys.executable, str(script), str(out), str(stop), resume], check=True,
                       env={**env, "PYTHONHASHSEED": str(hashseed)}, capture_output=True)
        return ckpt.read(out / "s" / "last.pt")["model"]
    a, b = run(tmp_path / "a", 1), run(tmp_path / "b", 2)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    run(tmp_path / "c", 3, stop=3)
    c = run(tmp_path / "c", 4, resume=str(tmp_path / "c" / "s" / "last.pt"))
    assert [k for k in a if not torch.equal(a[k], c[k])] == []


def test_resumed_run_drops_metrics_rows_past_its_checkpoint(cache, tmp_path):
    """Killed after logging steps 3-4 but before their checkpoint (issue 27, item 11): the resumed run
    replays steps 3-4 and its metrics.csv holds each step once. A fresh run in the folder starts its own."""
    import shutil
    import pandas as pd
    data = Fixed(cache, n=4, size=32)
    common = dict(max_steps=6, batch_size=2, log_every=1, ckpt_every=2, lr=1e-3, warmup_steps=2)
    last = tmp_path / "t" / "last.pt"
    train(_cfg(tmp_path, stop_at=2, **common), data, data)
    shutil.copy(last, tmp_path / "step2.pt")
    train(_cfg(tmp_path, stop_at=4, resume=str(last), **common), data, data)
    shutil.copy(tmp_path / "step2.pt", last)                  # the step-4 checkpoint never reached the disk
    train(_cfg(tmp_path, resume=str(last), **common), data, data)
    m = pd.read_csv(tmp_path / "t" / "metrics.csv")
    steps = m.loc[m["loss"].notna(), "step"].tolist()
    assert steps == [1, 2, 3, 4, 5, 6], steps
    assert m.loc[m["val_psnr"].notna(), "step"].is_monotonic_increasing
    train(_cfg(tmp_path, max_steps=2, batch_size=2, log_every=1), data, data)       # a fresh run: its own metrics
    m = pd.read_csv(tmp_path / "t" / "metrics.csv")
    assert m.loc[m["loss"].notna(), "step"].tolist() == [1, 2]


def test_resume_without_a_checkpoint_lists_each_path_tried(tmp_path):
    """Issue 27, item 12: the list of tried paths named a path joined to itself."""
    from vfilib.train.loop import resolve_resume
    gone = tmp_path / "runs" / "x" / "last.pt"
    with pytest.raises(FileNotFoundError) as e:
        resolve_resume(_cfg(tmp_path / "runs", exp_name="y", resume=str(gone)))
    msg = str(e.value)
    assert msg.splitlines()[0] == f"resume: no checkpoint at {gone}; tried:"
    assert msg.splitlines()[1:] == [f"  {gone}", f"  {gone}/last.pt", f"  {gone}/best.pt"]
    with pytest.raises(FileNotFoundError) as e:
        resolve_resume(_cfg(tmp_path / "runs", exp_name="y", resume="exp1c_tiny"))
    assert f"  {tmp_path / 'runs' / 'exp1c_tiny' / 'last.pt'}" in str(e.value).splitlines()


def test_help_says_which_flag_gives_exact_resume():
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        parse(["--help"])
    text = " ".join(out.getvalue().split())
    assert "--deterministic" in text and "resumed from last.pt ends with the weights of one never stopped" in text


def test_two_ranks_draw_disjoint_shards(cache):
    from vfilib.train.data import LoaderBatches
    ds = ClipWindows(cache, "train", window=5, stride=10)
    cfg = _cfg(cache, batch_size=1)
    order = [list(LoaderBatches(ds, cfg, torch.device("cpu"), rank=r, world=2).sampler) for r in (0, 1)]
    assert order[0] and not set(order[0]) & set(order[1])


def test_best_checkpoint_never_loses_to_the_reference_on_a_level():
    from vfilib.train.loop import beats_on_every_level
    ref = {"psnr": 35.377, "psnr_easy": 39.80, "psnr_medium": 36.15}
    step720 = {"psnr": 35.454, "psnr_easy": 39.94, "psnr_medium": 36.11}      # the device run's step 720
    step500 = {"psnr": 35.454, "psnr_easy": 39.92, "psnr_medium": 36.17}
    assert not beats_on_every_level(step720, ref) and beats_on_every_level(step500, ref)
    assert beats_on_every_level(step720, None)


def test_a_finished_run_appends_its_result_row(cache, tmp_path):
    import pandas as pd
    data = Fixed(cache, n=4, size=32)
    cfg = _cfg(tmp_path, exp_name="row", max_steps=2, results_csv=str(tmp_path / "phase1.csv"))
    s = train(cfg, data, data)
    row = pd.read_csv(tmp_path / "phase1.csv").iloc[0]
    assert row["exp_name"] == "row" and row["config_hash"] == s["config_hash"] == cfg.config_hash()
    assert row["steps"] == 2 and row["crop"] == 32 and row["validation"].startswith("given dataset")


def test_four_frame_run_starts_from_two_frame_weights_and_trains_the_gate(cache, tmp_path, capsys):
    """N-frame training (issue 29): a 4-frame run resumes a 2-frame run's weights (the context mixer
    starts fresh), its batches carry the context to the model, the gate leaves zero, validation sees
    the context, and the checkpoint carries context_frames."""
    from vfilib.data.transforms import Augment

    two = Fixed(cache, n=4, size=32)
    train(_cfg(tmp_path, exp_name="n2", max_steps=1), two, two)
    data = ClipWindows(cache, "train", window=5, stride=9, frames=4, transform=Augment(crop=32, seed=0))
    val = ClipWindows(cache, "val", window=3, stride=9, fixed=True, frames=4)
    cfg = _cfg(tmp_path, exp_name="n4", model=preset("tiny", context_frames=4), resume=str(tmp_path / "n2" / "last.pt"),
               max_steps=3, lr=1e-2, warmup_steps=1, val_samples=2, val_crop=32, batch_size=2)
    summary = train(cfg, data, val)
    assert summary["steps"] == 3 and math.isfinite(summary["val_psnr"])
    assert "new modules: ['temporal']" in capsys.readouterr().out
    ck = ckpt.read(tmp_path / "n4" / "last.pt")
    assert ck["model_config"]["context_frames"] == 4
    assert ck["model"]["temporal.gate"].abs().sum() > 0                  # the context reached the loss
    assert ck["train_config"]["context_dropout"] == 0.25
def test_a_deadline_stops_the_run_with_a_checkpoint_and_no_result_row(cache, tmp_path):
    """A grid's time limit reaches a run as a deadline: past it the run stops after its step, saves
    last.pt (seconds and samples so far in it) and writes no result row: a stopped run is not the row."""
    import time
    data = Fixed(cache, n=4, size=32)
    cfg = _cfg(tmp_path, max_steps=5, batch_size=2, deadline=time.time() - 1, results_csv=str(tmp_path / "p.csv"),
               test_samples=1)
    s = train(cfg, data, data)
    state = ckpt.read(tmp_path / "t" / "last.pt")["state"]
    assert s["steps"] == state["step"] == 1 and state["samples"] == 2 and state["seconds"] > 0
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "t" / "test_scores.csv").exists()
