import math
import os
import socket
import warnings

import pytest
import torch
import torch.multiprocessing as mp
from torch.utils.data import Dataset

from vfilib.config import preset
from vfilib.data.embedded import ClipWindows
from vfilib.models import build_model
from vfilib.train import TrainConfig, TrainingDiverged, train
from vfilib.train import checkpoint as ckpt
from vfilib.train.cli import parse
from vfilib.train.schedule import lr_at
from vfilib.train.trainer import param_groups


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
    from vfilib.train.trainer import validate
    data = Fixed(cache)
    cfg = _cfg(tmp_path, max_steps=250, lr=2e-3, warmup_steps=10, grad_clip=1.0)
    before = validate(build_model(cfg.model), data, torch.device("cpu"))["psnr"]
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
    a = ckpt.load(tmp_path / "a" / "t" / "last.pt")["model"]
    b = ckpt.load(tmp_path / "b" / "t" / "last.pt")["model"]
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
    assert ckpt.load(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]           # no temporary file left


def test_nan_steps_are_skipped_then_stop(cache, tmp_path, monkeypatch):
    data = Fixed(cache, n=4, size=32)
    from vfilib.train import losses
    real = losses.VFILoss.forward
    calls = {"n": 0}

    def flaky(self, pred, gt):
        calls["n"] += 1
        total, parts = real(self, pred, gt)
        return (total * math.nan if calls["n"] == 2 else total), parts

    monkeypatch.setattr(losses.VFILoss, "forward", flaky)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s = train(_cfg(tmp_path, max_steps=3, batch_size=2, ckpt_every=1), data, data)
    assert s["steps"] == 3 and s["skipped_steps"] == 1
    assert any("non-finite" in str(x.message) for x in w)

    monkeypatch.setattr(losses.VFILoss, "forward", lambda self, p, g: (real(self, p, g)[0] * math.nan, {}))
    with pytest.raises(TrainingDiverged, match=r"3 non-finite steps in a row at step 3; last good checkpoint: .*last.pt"):
        train(_cfg(tmp_path, max_steps=10, batch_size=2, max_bad_steps=3,
                   resume=str(tmp_path / "t" / "last.pt")), data, data)


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
    model = build_model(preset("tiny"))
    decay, no_decay = param_groups(model, 1e-4)
    names = {id(p): n for n, p in model.named_parameters()}
    nd = {names[id(p)].rsplit(".", 1)[-1] for p in no_decay["params"]}
    assert {"A_log", "D", "dt_bias", "bias"} <= nd
    assert all(p.ndim > 1 for p in decay["params"])
    assert decay["weight_decay"] == 1e-4 and no_decay["weight_decay"] == 0.0


def test_schedule_warmup_then_cosine_to_floor():
    lrs = [lr_at(s, 100_000) for s in range(100_000)]
    assert lrs[0] == pytest.approx(2e-4 / 2000) and lrs[1999] == pytest.approx(2e-4)
    assert lrs[-1] == pytest.approx(2e-5, rel=1e-3)
    assert lr_at(5, 50) == pytest.approx(2e-4)                                # short run: warm-up 5 steps


def test_cli_maps_seed_flags_onto_configs():
    cfg = parse(["--phase", "1", "--batch_size", "2", "--backbone_mode", "mamba2_only", "--no-use_ecab",
                 "--use_mhc", "--exp_name", "exp1h", "--preset", "small", "--window_size", "7", "--dry_run"])
    m = cfg.model
    assert (m.name, m.backbone_mode, m.use_ecab, m.use_mhc, m.window_size) == ("small", "mamba2_only", False, "mhc", 7)
    assert (cfg.batch_size, cfg.exp_name, cfg.dry_run) == (2, "exp1h", True)
    assert parse(["--experiment", "exp1f"]).model.use_ecab is False


def test_phase2_resumes_phase1_with_frozen_backbone_and_distillation(cache, tmp_path):
    data = Fixed(cache, n=4, size=64)
    train(_cfg(tmp_path, exp_name="p1", max_steps=2), data, data)
    p1 = ckpt.load(tmp_path / "p1" / "last.pt")["model"]
    summary = train(_cfg(tmp_path, exp_name="p2", phase=2, resume=str(tmp_path / "p1" / "last.pt"),
                         freeze_backbone=10, max_steps=3, distill_weight=0.01, lr=1e-3, warmup_steps=1), data, data)
    assert summary["steps"] == 3
    p2 = ckpt.load(tmp_path / "p2" / "last.pt")
    assert p2["model_config"]["flow"] == "feature"                      # --phase 2 trains the flow model
    state = p2["model"]
    for k, v in p1.items():                                             # the frozen backbone kept its weights
        if k.startswith("backbone."):
            assert torch.equal(state[k], v), k
    assert not torch.equal(state["refine.bottom.0.0.weight"], p1["refine.bottom.0.0.weight"])
    assert any(k.startswith("flow.") for k in state)


def test_teacher_flow_scales_linearly_with_t():
    from vfilib.train.trainer import teacher_flow

    class Fake(torch.nn.Module):      # a teacher whose t = 0.5 flows are all ones
        def forward(self, a, b):
            return None, torch.ones(a.shape[0], 4, *a.shape[-2:]), None

    f = teacher_flow(Fake(), torch.rand(2, 3, 20, 30), torch.rand(2, 3, 20, 30), torch.tensor([0.25, 0.5]))
    assert f.shape == (2, 4, 20, 30)
    assert torch.allclose(f[0, :2], torch.full_like(f[0, :2], 0.5)) and torch.allclose(f[0, 2:], torch.full_like(f[0, 2:], 1.5))
    assert torch.allclose(f[1], torch.ones_like(f[1]))
