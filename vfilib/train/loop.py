"""The training loop, top to bottom: ``train(TrainConfig) -> summary``.

Recipe (seed 001, 4.1.3): AdamW (no weight decay on A_log, D, dt_bias, norms, biases), linear warm-up
then cosine decay, optional bf16 / fp16 autocast (the SSM core stays fp32 inside the mixers),
gradient clipping, optional EMA, Laplacian L1 + 0.01 VGG16 perceptual loss.

No host synchronisation per step: a non-finite loss or gradient skips the optimizer step on the
device (the gradient scaler's ``found_inf``, which the fused AdamW reads), and the loop looks at the
counters only when it logs. Batch k is a function of (seed, k), so ``resume`` continues exactly,
in a new process too. Checkpoints carry both configs; they load with ``weights_only=True``.
"""
from __future__ import annotations

import copy
import csv
import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm.auto import tqdm

from ..config import amp_dtype as amp_dtype_of
from ..core.paths import REPO_ROOT
from ..core.seeding import seed_everything
from ..core.tables import append_rows, provenance
from ..models import build_model
from ..models.weights import checkpoint as ckpt
from . import distributed as D
from .config import TrainConfig
from torch.utils.data import Dataset

from .data import LoaderBatches, Validation, build_sources, validate
from .losses import VFILoss
from .phases import distill_loss, init_flow, load_teacher, start_weights, teacher_flow
from .schedule import lr_at

NO_DECAY = ("A_log", "D", "dt_bias")
MAX_PARAM = 1e4          # a parameter beyond this is a diverged run, not a checkpoint worth keeping


class TrainingDiverged(RuntimeError):
    pass


@dataclass
class RunState:
    step: int = 0
    best_psnr: float = -math.inf
    samples: int = 0
    skipped: int = 0


@dataclass
class Trainee:
    """What a run trains and how: the model, its EMA copy, the optimizer and scaler, the counters."""

    model: torch.nn.Module
    ema: torch.nn.Module | None
    opt: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    state: RunState


def train(cfg: TrainConfig, batches=None, val=None) -> dict:
    """Train (or, with ``evaluate_only``, just validate); returns a summary. ``batches`` / ``val``
    override the data of ``cfg.data`` (a batch source or a Dataset; a Validation or a Dataset)."""
    dist_info, device = D.setup(cfg.device)
    seed_everything(cfg.seed, cfg.deterministic)
    amp = amp_dtype_of(cfg.amp)
    run_dir = cfg.run_dir
    if dist_info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    tr = setup_model(cfg, device, dist_info.is_main)
    state, model = tr.state, tr.model
    batches, val = setup_data(cfg, batches, val, device, dist_info)
    reference = reference_scores(cfg, val, device) if dist_info.is_main else None
    loss_fn = VFILoss(cfg.perceptual_weight).to(device)
    teacher = load_teacher(device) if cfg.distill_weight > 0 else None
    total = 0 if cfg.evaluate_only else cfg.max_steps or batches.steps_per_epoch * cfg.epochs
    end = 0 if cfg.evaluate_only else min(total, 3) if cfg.dry_run else total
    end = min(end, cfg.stop_at) if cfg.stop_at else end
    log = MetricsLog(run_dir, cfg.progress, total, state.step, cfg.exp_name) if dist_info.is_main else None

    net = DDP(model, find_unused_parameters=model.flow is not None) if dist_info.enabled else model
    bad_in_row, skipped = torch.zeros((), device=device), torch.zeros((), device=device)
    t_start, first_step, val_metrics, trained_size = time.perf_counter(), state.step, {}, None
    rate_mark = (state.step, t_start)            # throughput over the last log interval, validation excluded
    data = batches.iterate(state.step) if state.step < end else iter(())
    while state.step < end:
        step = state.step
        lr = set_lr(tr.opt, cfg, step, total, batches.steps_per_epoch)
        batch = next(data)
        i0, i1, gt, t = batch["I0"], batch["I1"], batch["gt"], batch["t"]
        trained_size = tuple(i0.shape[-2:])        # the crop actually trained on (curriculum, small frames)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            pred, aux = net(i0, i1, t, scale=cfg.scale, return_aux=True, context=batch.get("context"))
        loss, parts = loss_fn(pred.float(), gt)
        if teacher is not None:
            parts["distill"] = distill_loss(aux["flow"].float(), teacher_flow(teacher, i0, i1, t, aux["flow"].shape[-2:]))
            loss = loss + cfg.distill_weight * parts["distill"]
        found = optimizer_step(tr, loss, cfg)       # skipped on the device when a gradient is not finite
        skipped += found
        bad_in_row = (bad_in_row + 1) * found
        state.step += 1
        state.samples += cfg.batch_size * dist_info.world_size

        last = state.step == end
        if state.step % min(cfg.log_every, cfg.max_bad_steps) == 0 or last:     # the only host syncs
            check_divergence(cfg, state, skipped, bad_in_row, run_dir)
        if log and (state.step % cfg.log_every == 0 or last):
            now = time.perf_counter()
            rate = (state.step - rate_mark[0]) * cfg.batch_size * dist_info.world_size / max(now - rate_mark[1], 1e-9)
            rate_mark = (state.step, now)
            log.train(state, loss, parts, lr, rate, size_label(trained_size))
        out_of_time = cfg.time_limit and time.perf_counter() - t_start > cfg.time_limit
        if log and (state.step % cfg.val_every == 0 or last or out_of_time):
            val_metrics = validate(tr.ema or model, val, device, amp, cfg.scale)
            log.val(state.step, val_metrics)
            rate_mark = (state.step, time.perf_counter())
            if val_metrics["psnr"] > state.best_psnr and beats_on_every_level(val_metrics, reference):
                state.best_psnr = val_metrics["psnr"]
                if not cfg.dry_run:
                    save_checkpoint(run_dir / "best.pt", cfg, tr)
        if log and not cfg.dry_run and (state.step % cfg.ckpt_every == 0 or last or out_of_time):
            save_checkpoint(run_dir / "last.pt", cfg, tr)
        if out_of_time:
            print(f"[train] {cfg.exp_name}: time limit {cfg.time_limit:.0f} s reached at step {state.step}; "
                  f"resume with --resume {run_dir / 'last.pt'}")
            break

    if cfg.evaluate_only and log:
        val_metrics = validate(tr.ema or model, val, device, amp, cfg.scale)
        log.val(state.step, val_metrics)
        if not cfg.dry_run:
            save_checkpoint(run_dir / "last.pt", cfg, tr)     # the model as evaluated: what a later phase resumes
    summary = summarize(cfg, state, first_step, time.perf_counter() - t_start, int(skipped.item()), total,
                        val_metrics, val, size_label(trained_size), device, dist_info.world_size)
    if log:
        log.close(summary)
        if cfg.results_csv and not cfg.dry_run:
            append_rows(cfg.results_csv, [result_row(cfg, summary, val, device)], key=["exp_name", "config_hash"])
    return summary


# ----------------------------------------------------------------------------- set-up
def setup_model(cfg: TrainConfig, device, is_main: bool) -> Trainee:
    """The model and optimizer, from scratch, from another run's weights (a later phase: strict, new
    modules fresh) or from this run's last checkpoint (everything restored: the run continues exactly)."""
    model = build_model(cfg.model).to(device)
    ck, same_run = None, False
    if cfg.resume:
        path = resolve_resume(cfg)
        ck = ckpt.read(path, map_location=device)
        same_run = ck.get("train_config", {}).get("exp_name") == cfg.exp_name
        if same_run:
            ckpt.load_weights(model, ck["model"], path)
        else:
            start_weights(model, ck.get("ema") or ck["model"], path)   # exported weights: model only
    if model.flow is not None and cfg.flow_init and not (ck and any(k.startswith("flow.") for k in ck["model"])):
        copied = init_flow(model, cfg.flow_init)
        if is_main:
            print(f"[train] flow estimator: {len(copied)} tensors initialised from {cfg.flow_init}")
    ema = copy.deepcopy(model).requires_grad_(False) if cfg.ema_decay > 0 else None
    opt = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.999),
                            fused=device.type == "cuda")
    scaler = torch.amp.GradScaler(device.type, init_scale=2.0**16 if cfg.amp == "fp16" else 1.0,
                                  growth_interval=2000 if cfg.amp == "fp16" else 2**30)
    state = RunState()
    if same_run:
        opt.load_state_dict(ck["optimizer"])
        scaler.load_state_dict(ck["scaler"])
        state = RunState(**ck["state"])
        if ema is not None and ck.get("ema"):
            ema.load_state_dict(ck["ema"])
    return Trainee(model, ema, opt, scaler, state)


def setup_data(cfg: TrainConfig, batches, val, device, dist_info):
    """The batch source and the validation set: those given (a Dataset is wrapped), else ``cfg.data``'s."""
    if isinstance(batches, Dataset):
        batches = LoaderBatches(batches, cfg, device, dist_info.rank, dist_info.world_size)
    if isinstance(val, Dataset):
        val = Validation.from_dataset(val, cfg.val_samples, "given dataset", cfg.val_crop)
    if batches is None or val is None:
        b, v = build_sources(cfg, device, dist_info.rank, dist_info.world_size)
        batches, val = batches or b, val or v
    return batches, val


def reference_scores(cfg: TrainConfig, val, device) -> dict | None:
    """``cfg.reference``'s scores on the validation samples (computed once, kept in the run folder)."""
    if not cfg.reference:
        return None
    path = cfg.run_dir / "reference.json"
    if not path.is_file():
        from ..core.io import atomic_write
        from ..eval.peers import make_peer

        ref = validate(make_peer(cfg.reference, device), val, device, None, cfg.scale)
        atomic_write(path, lambda f: json.dump({"peer": cfg.reference, **ref}, f, indent=1))
        print(f"[train] reference {cfg.reference} on {val.describe()}: " + json.dumps({k: round(v, 4) for k, v in ref.items()}))
    return json.loads(path.read_text())


# ----------------------------------------------------------------------------- one step, checkpoints, summary
def set_lr(opt, cfg: TrainConfig, step: int, total: int, steps_per_epoch: int) -> float:
    """Warm-up + cosine; the flow estimator at ``flow_lr_scale``; the backbone at 0 while frozen."""
    lr = lr_at(step, total, cfg.lr, cfg.min_lr, cfg.warmup_steps)
    frozen = cfg.freeze_backbone and step // steps_per_epoch < cfg.freeze_backbone
    for g in opt.param_groups:
        g["lr"] = 0.0 if frozen and g["name"] == "backbone" else lr * (cfg.flow_lr_scale if g["name"] == "flow" else 1)
    return lr


def optimizer_step(tr: Trainee, loss: torch.Tensor, cfg: TrainConfig, mark=None) -> torch.Tensor:
    """Backward, clip, step (skipped on the device if a gradient is not finite), EMA. Returns 1.0 for a
    skipped step, else 0.0, as a device tensor (no host sync). ``mark("backward")`` is called after the
    backward pass (the training benchmark times the stages)."""
    tr.opt.zero_grad(set_to_none=True)
    tr.scaler.scale(loss).backward()
    if mark is not None:
        mark("backward")
    tr.scaler.unscale_(tr.opt)
    gnorm = torch.nn.utils.clip_grad_norm_(tr.model.parameters(), cfg.grad_clip or float("inf"))
    tr.scaler.step(tr.opt)
    tr.scaler.update()
    if tr.ema is not None:
        ema_update(tr.ema, tr.model, cfg.ema_decay)
    return (~torch.isfinite(gnorm)).float()      # a non-finite loss makes every gradient non-finite


def save_checkpoint(path: Path, cfg: TrainConfig, tr: Trainee) -> Path:
    """Everything to continue exactly, with both configs and the config hash; never diverged weights."""
    check_finite_weights(tr.model, cfg.exp_name, tr.state.step)
    payload = {"format": ckpt.FORMAT, "model": tr.model.state_dict(), "ema": tr.ema.state_dict() if tr.ema else None,
               "optimizer": tr.opt.state_dict(), "scaler": tr.scaler.state_dict(), "state": vars(tr.state).copy(),
               "rng": {"torch": torch.get_rng_state()}, "config_hash": cfg.config_hash(),
               "model_config": cfg.model.to_dict(), "train_config": cfg.to_dict()}
    return ckpt.save(path, payload)


def size_label(size: tuple[int, int] | None):
    """A trained crop as an int (square) or 'HxW'; '' when nothing was trained."""
    if size is None:
        return ""
    return size[0] if size[0] == size[1] else f"{size[0]}x{size[1]}"


def summarize(cfg, state, first_step, elapsed, skipped, total, val_metrics, val, crop, device, world) -> dict:
    run_dir = cfg.run_dir
    summary = {"exp_name": cfg.exp_name, "config_hash": cfg.config_hash(), "steps": state.step,
               "target_steps": total, "skipped_steps": skipped,
               "val_psnr": val_metrics.get("psnr", math.nan), "val_ssim": val_metrics.get("ssim", math.nan),
               **{k: v for k, v in val_metrics.items() if k.startswith("psnr_")},
               "best_psnr": state.best_psnr,
               "samples_per_s": (state.step - first_step) * cfg.batch_size * world / max(elapsed, 1e-9),
               "train_seconds": elapsed, "run_dir": str(run_dir), "validation": val.describe(),
               "crop": crop,
               "checkpoint": str(run_dir / "last.pt") if (run_dir / "last.pt").exists() else ""}
    if device.type == "cuda":
        summary["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return summary


def result_row(cfg: TrainConfig, summary: dict, val, device) -> dict:
    """One table row: what was trained, on what, how long, validated how, with provenance."""
    from .data import DATA_LABELS

    m = cfg.model
    row = {"exp_name": cfg.exp_name, "config_hash": summary["config_hash"], "phase": cfg.phase, "preset": m.name,
           "data": DATA_LABELS.get(cfg.data, cfg.data)}
    row.update({k: getattr(m, k) for k in ("flow", "backbone_mode", "mamba_version", "scan", "use_ecab", "attn_gate",
                                           "residual", "window_size")})
    row["params_M"] = round(sum(p.numel() for p in build_model(m).parameters()) / 1e6, 3)
    row.update({k: summary[k] for k in ("steps", "target_steps", "val_psnr", "val_ssim", "best_psnr", "samples_per_s")})
    ckpt_path = Path(summary["checkpoint"]) if summary["checkpoint"] else None
    row.update({"evaluate_only": cfg.evaluate_only, "crop": summary["crop"], "batch_size": cfg.batch_size,
                "amp": cfg.amp, "scale": cfg.scale, "seed": cfg.seed, "validation": val.describe(),
                "checkpoint": (ckpt_path.relative_to(REPO_ROOT).as_posix() if ckpt_path and ckpt_path.is_relative_to(REPO_ROOT)
                               else str(ckpt_path or ""))})
    row.update(provenance(device))
    return row


# ----------------------------------------------------------------------------- helpers
def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Backbone, flow estimator and the rest, each with and without weight decay (none on biases,
    norms, A_log, D, dt_bias); ``name`` tells the loop which learning rate a group gets."""
    groups = {(part, wd): [] for part in ("backbone", "flow", "other") for wd in (True, False)}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        leaf, part = name.rsplit(".", 1)[-1], name.split(".", 1)[0]
        decay = not (p.ndim <= 1 or leaf in NO_DECAY or getattr(p, "_no_weight_decay", False))
        groups[(part if part in ("backbone", "flow") else "other", decay)].append(p)
    return [{"params": ps, "weight_decay": weight_decay if wd else 0.0, "name": part}
            for (part, wd), ps in groups.items() if ps]


def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in model.parameters()], 1 - decay)


def beats_on_every_level(metrics: dict, reference: dict | None) -> bool:
    """Without a reference: always. With one: no level (``psnr_<level>``) below the reference's, so
    ``best.pt`` is only ever a version that does not lose to the peer anywhere."""
    if not reference:
        return True
    levels = [k for k in metrics if k.startswith("psnr_")] or ["psnr"]
    return all(metrics[k] >= reference.get(k, -math.inf) for k in levels)


def check_divergence(cfg: TrainConfig, state: RunState, skipped: torch.Tensor, bad_in_row: torch.Tensor,
                     run_dir: Path) -> None:
    """Read the device-side counters: warn about skipped steps, stop after ``max_bad_steps`` in a row."""
    total = int(skipped.item())
    if total > state.skipped:
        warnings.warn(f"{cfg.exp_name}: {total - state.skipped} step(s) with a non-finite loss or gradient "
                      f"skipped before step {state.step} ({total} in all)", stacklevel=2)
    state.skipped = total
    if bad_in_row.item() >= cfg.max_bad_steps:
        raise TrainingDiverged(f"{cfg.exp_name}: {int(bad_in_row.item())} non-finite steps in a row at step "
                               f"{state.step}; last good checkpoint: {_last_good(run_dir)}")


def check_finite_weights(model: torch.nn.Module, exp: str, step: int) -> None:
    """Refuse to checkpoint weights that are not finite or have blown up (|w| > MAX_PARAM)."""
    worst = max(p.detach().abs().max() for p in model.parameters() if p.numel())
    if not torch.isfinite(worst) or worst > MAX_PARAM:
        raise TrainingDiverged(f"{exp}: weights diverged at step {step} (max |w| = {worst.item():.3g}); "
                               "nothing was saved over the last good checkpoint")


def _last_good(run_dir: Path) -> str:
    p = run_dir / "last.pt"
    return str(p) if p.is_file() else "none"


def resolve_resume(cfg: TrainConfig) -> Path:
    """``resume`` may be a checkpoint file, a run folder, or an experiment name (its last.pt, else best.pt)."""
    r = Path(cfg.resume)
    runs = Path(cfg.out_dir) if cfg.out_dir else cfg.run_dir.parent
    for cand in (r, r / "last.pt", runs / r / "last.pt", r / "best.pt", runs / r / "best.pt"):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"resume: no checkpoint at {cfg.resume} (tried the file, <run>/last.pt, "
                            f"{runs}/{cfg.resume}/last.pt and best.pt)")


class MetricsLog:
    """``metrics.csv`` (one row per log or validation), TensorBoard, a progress bar, ``summary.json``."""

    FIELDS = ["step", "samples", "loss", "lap", "vgg", "distill", "lr", "samples_per_s", "crop", "skipped",
              "val_psnr", "val_ssim", "val_levels"]

    def __init__(self, run_dir: Path, progress: bool, total: int, initial: int, name: str):
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = run_dir
        self.tb = SummaryWriter(str(run_dir / "tb"))
        new = not (run_dir / "metrics.csv").is_file()
        self.file = open(run_dir / "metrics.csv", "a", newline="")
        self.csv = csv.DictWriter(self.file, self.FIELDS)
        if new:
            self.csv.writeheader()
        self.bar = tqdm(total=total, initial=initial, disable=not progress, desc=name, unit="step")
        self.samples = 0

    def train(self, state: RunState, loss, parts: dict, lr: float, rate: float, crop: int) -> None:
        loss_v = loss.item()
        self.bar.update(state.step - self.bar.n)
        self.bar.set_postfix(loss=f"{loss_v:.4f}", sps=f"{rate:.0f}")
        self.samples = state.samples
        self.tb.add_scalar("train/loss", loss_v, state.step)
        self.tb.add_scalar("train/lr", lr, state.step)
        self.tb.add_scalar("train/samples_per_s", rate, state.step)
        row = {"step": state.step, "samples": state.samples, "loss": f"{loss_v:.6f}", "lr": f"{lr:.3e}",
               "samples_per_s": f"{rate:.2f}", "crop": crop, "skipped": state.skipped}
        for k, v in parts.items():
            self.tb.add_scalar(f"train/{k}", v.item(), state.step)
            row[k] = f"{v.item():.6f}"
        self.csv.writerow(row)
        self.file.flush()

    def val(self, step: int, m: dict) -> None:
        for k, v in m.items():
            self.tb.add_scalar(f"val/{k}", v, step)
        levels = {k[5:]: round(v, 4) for k, v in m.items() if k.startswith("psnr_")}
        self.csv.writerow({"step": step, "samples": self.samples, "val_psnr": f"{m['psnr']:.4f}",
                           "val_ssim": f"{m['ssim']:.5f}", "val_levels": json.dumps(levels) if levels else ""})
        self.file.flush()
        self.bar.write(f"[val] step {step}: PSNR {m['psnr']:.3f} dB" + (f" {levels}" if levels else ""))

    def close(self, summary: dict) -> None:
        self.bar.close()
        self.tb.close()
        self.file.close()
        from ..core.io import atomic_write

        atomic_write(self.run_dir / "summary.json", lambda f: json.dump(summary, f, indent=1, default=str))
