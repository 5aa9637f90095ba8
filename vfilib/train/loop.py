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
import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from ..config import amp_dtype as amp_dtype_of
from ..core.io import atomic_write
from ..core.paths import REPO_ROOT
from ..core.seeding import seed_everything
from ..core.tables import append_rows, provenance
from ..models import build_model
from ..models.weights import checkpoint as ckpt
from . import distributed as D
from .config import HELD_CONFIG, TrainConfig
from torch.utils.data import Dataset

from .data import LoaderBatches, Validation, build_sources, validate
from .log import MetricsLog
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
    seconds: float = 0.0       # wall seconds of training over every invocation (validation included)


@dataclass
class Trainee:
    """What a run trains and how: the model, its EMA copy, the optimizer and scaler, the counters."""

    model: torch.nn.Module
    ema: torch.nn.Module | None
    opt: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    state: RunState
    resumed: bool = False      # continues this run's own checkpoint (not a start from another run's weights)


@dataclass
class Run:
    """One invocation of a run: its config, placement, trainee, data, schedule length and log."""

    cfg: TrainConfig
    dist: D.DistInfo
    device: torch.device
    amp: torch.dtype | None
    tr: Trainee
    batches: object
    val: Validation
    reference: dict | None
    total: int                 # the run's planned steps (the schedule's length)
    end: int                   # where this invocation stops (dry run, stop_at)
    log: MetricsLog | None
    t_start: float = 0.0
    first_step: int = 0
    seconds_before: float = 0.0
    skipped: torch.Tensor | None = None        # device-side counters (no host sync per step)
    bad_in_row: torch.Tensor | None = None

    def clock(self) -> None:
        """Bring ``state.seconds`` up to now (before a checkpoint or the summary)."""
        self.tr.state.seconds = self.seconds_before + time.perf_counter() - self.t_start

    def out_of_time(self) -> bool:
        cfg = self.cfg
        return bool((cfg.time_limit and time.perf_counter() - self.t_start > cfg.time_limit)
                    or (cfg.deadline and time.time() > cfg.deadline))


def deterministic(cfg: TrainConfig, device: torch.device) -> bool:
    """``cfg.deterministic``, or when it is None: on the CPU yes, on a GPU no."""
    return device.type == "cpu" if cfg.deterministic is None else cfg.deterministic


def train(cfg: TrainConfig, batches=None, val=None) -> dict:
    """Train (or, with ``evaluate_only``, just validate); returns a summary. ``batches`` / ``val``
    override the data of ``cfg.data`` (a batch source or a Dataset; a Validation or a Dataset)."""
    run = start(cfg, batches, val)
    val_metrics, trained_size = run_steps(run)
    return finish(run, val_metrics, trained_size)


def start(cfg: TrainConfig, batches=None, val=None) -> Run:
    """Everything an invocation needs, restored from the run's checkpoint when it resumes itself."""
    dist_info, device = D.setup(cfg.device)
    seed_everything(cfg.seed, deterministic(cfg, device))
    if dist_info.is_main:
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(cfg.run_dir / HELD_CONFIG, lambda f: f.write(cfg.config_hash() + "\n"))
    tr = setup_model(cfg, device, dist_info.is_main)
    batches, val = setup_data(cfg, batches, val, device, dist_info)
    reference = reference_scores(cfg, val, device) if dist_info.is_main else None
    total = 0 if cfg.evaluate_only else cfg.max_steps or batches.steps_per_epoch * cfg.epochs
    end = 0 if cfg.evaluate_only else min(total, 3) if cfg.dry_run else total
    end = min(end, cfg.stop_at) if cfg.stop_at else end
    log = (MetricsLog(cfg.run_dir, cfg.progress, total, tr.state.step, cfg.exp_name, tr.resumed)
           if dist_info.is_main else None)
    return Run(cfg, dist_info, device, amp_dtype_of(cfg.amp), tr, batches, val, reference, total, end, log,
               time.perf_counter(), tr.state.step, tr.state.seconds)


def run_steps(run: Run) -> tuple[dict, tuple[int, int] | None]:
    """The optimizer steps of this invocation, with logging, validation and checkpoints; returns the
    last validation metrics and the crop trained on."""
    cfg, tr, state, device = run.cfg, run.tr, run.tr.state, run.device
    loss_fn = VFILoss(cfg.perceptual_weight).to(device)
    teacher = load_teacher(device) if cfg.distill_weight > 0 else None
    net = DDP(tr.model, find_unused_parameters=tr.model.flow is not None) if run.dist.enabled else tr.model
    run.bad_in_row, run.skipped = torch.zeros((), device=device), torch.zeros((), device=device)
    val_metrics, trained_size, rate_mark = {}, None, (state.step, run.t_start)
    data = run.batches.iterate(state.step) if state.step < run.end else iter(())
    while state.step < run.end:
        lr = set_lr(tr.opt, cfg, state.step, run.total, run.batches.steps_per_epoch)
        batch = next(data)
        trained_size = tuple(batch["I0"].shape[-2:])       # the crop actually trained on (curriculum, small frames)
        loss, parts = step_loss(run, net, loss_fn, teacher, batch)
        tr.model.check_values = False               # the first batch was checked; its source makes the rest alike
        found = optimizer_step(tr, loss, cfg)       # skipped on the device when a gradient is not finite
        run.skipped += found
        run.bad_in_row = (run.bad_in_row + 1) * found
        state.step += 1
        state.samples += cfg.batch_size * run.dist.world_size
        rate_mark, val_metrics, stop = after_step(run, loss, parts, lr, rate_mark, trained_size, val_metrics)
        if stop:
            break
    return val_metrics, trained_size


def step_loss(run: Run, net, loss_fn, teacher, batch: dict):
    """The training loss of one batch (and its parts), under autocast."""
    i0, i1, gt, t = batch["I0"], batch["I1"], batch["gt"], batch["t"]
    with torch.autocast(run.device.type, dtype=run.amp, enabled=run.amp is not None):
        pred, aux = net(i0, i1, t, scale=run.cfg.scale, return_aux=True, context=batch.get("context"))
    loss, parts = loss_fn(pred.float(), gt)
    if teacher is not None:
        parts["distill"] = distill_loss(aux["flow"].float(), teacher_flow(teacher, i0, i1, t, aux["flow"].shape[-2:]))
        loss = loss + run.cfg.distill_weight * parts["distill"]
    return loss, parts


def after_step(run: Run, loss, parts, lr, rate_mark, trained_size, val_metrics):
    """Divergence checks, the log, validation, checkpoints and the time limit after a step; returns the
    new rate mark, the latest validation metrics and whether to stop."""
    cfg, tr, state, log = run.cfg, run.tr, run.tr.state, run.log
    last = state.step == run.end
    if state.step % min(cfg.log_every, cfg.max_bad_steps) == 0 or last:     # the only host syncs
        check_divergence(cfg, state, run.skipped, run.bad_in_row, cfg.run_dir)
    if log and (state.step % cfg.log_every == 0 or last):
        now = time.perf_counter()
        rate = (state.step - rate_mark[0]) * cfg.batch_size * run.dist.world_size / max(now - rate_mark[1], 1e-9)
        rate_mark = (state.step, now)
        log.train(state, loss, parts, lr, rate, size_label(trained_size))
    out_of_time = run.out_of_time()
    if log and (state.step % cfg.val_every == 0 or last or out_of_time):
        val_metrics = validate(tr.ema or tr.model, run.val, run.device, run.amp, cfg.scale)
        log.val(state.step, val_metrics)
        rate_mark = (state.step, time.perf_counter())
        if val_metrics["psnr"] > state.best_psnr and beats_on_every_level(val_metrics, run.reference):
            state.best_psnr = val_metrics["psnr"]
            if not cfg.dry_run:
                run.clock()
                save_checkpoint(cfg.run_dir / "best.pt", cfg, tr)
    if log and not cfg.dry_run and (state.step % cfg.ckpt_every == 0 or last or out_of_time):
        run.clock()
        save_checkpoint(cfg.run_dir / "last.pt", cfg, tr)
    if out_of_time:
        print(f"[train] {cfg.exp_name}: time limit reached at step {state.step} of {run.total}; "
              f"resume with --resume {cfg.run_dir / 'last.pt'}", flush=True)
    return rate_mark, val_metrics, out_of_time


def finish(run: Run, val_metrics: dict, trained_size) -> dict:
    """Evaluate-only validation, the test scores of a completed run, the summary and the result row
    (a run stopped before its end writes no row: its numbers are not the row's)."""
    cfg, tr, state, log = run.cfg, run.tr, run.tr.state, run.log
    complete = cfg.evaluate_only or (run.total > 0 and state.step >= run.total)
    if complete and log and not val_metrics:         # evaluate-only, or a finished run resumed to be recorded
        val_metrics = validate(tr.ema or tr.model, run.val, run.device, run.amp, cfg.scale)
        if cfg.evaluate_only:                        # (a recorded run's metrics.csv holds this validation already)
            log.val(state.step, val_metrics)
            if not cfg.dry_run:
                save_checkpoint(cfg.run_dir / "last.pt", cfg, tr)     # the model as evaluated: what a later phase resumes
    run.clock()
    skipped = int(run.skipped.item()) if run.skipped is not None else 0
    summary = summarize(cfg, state, run.first_step, time.perf_counter() - run.t_start, skipped, run.total,
                        val_metrics, run.val, size_label(trained_size), run.device, run.dist.world_size)
    if log and complete and cfg.test_samples and not cfg.dry_run:
        from .testset import score_run

        summary.update(score_run(cfg, tr.ema or tr.model, run.device, run.amp))
    if log:
        log.close(summary)
        if cfg.results_csv and not cfg.dry_run and complete:
            append_rows(cfg.results_csv, [result_row(cfg, summary, run.val, run.device)], key=["exp_name", "config_hash"])
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
    return Trainee(model, ema, opt, scaler, state, same_run)


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
               "train_seconds": elapsed, "seconds_total": state.seconds, "samples": state.samples,
               "run_dir": str(run_dir), "validation": val.describe(),
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
    row.update({k: summary[k] for k in ("steps", "target_steps", "samples", "val_psnr", "val_ssim", "best_psnr")})
    row["samples_per_s"] = round(summary["samples"] / summary["seconds_total"], 3) if summary["seconds_total"] else math.nan
    row.update({k: summary.get(k, math.nan) for k in ("test_psnr", "test_ssim")})
    row.update({"test_set": summary.get("test_set", ""), "train_seconds": round(summary["seconds_total"], 1),
                "device_share": cfg.device_share,
                "gpu_seconds": round(summary["seconds_total"] / cfg.device_share, 1) if device.type == "cuda" else math.nan})
    ckpt_path = Path(summary["checkpoint"]) if summary["checkpoint"] else None
    row.update({"evaluate_only": cfg.evaluate_only, "crop": summary["crop"], "batch_size": cfg.batch_size,
                "amp": cfg.amp, "scale": cfg.scale, "seed": cfg.seed, "validation": val.describe(),
                "checkpoint": (ckpt_path.relative_to(REPO_ROOT).as_posix() if ckpt_path and ckpt_path.is_relative_to(REPO_ROOT)
                               else str(ckpt_path or ""))})
    row.update(provenance(device, cfg.profile))
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
    """``resume`` may be a checkpoint file, a run folder, or an experiment name (its last.pt, else best.pt);
    none there: an error listing each path tried."""
    r = Path(cfg.resume)
    runs = Path(cfg.out_dir) if cfg.out_dir else cfg.run_dir.parent
    folders = [r] if r.is_absolute() or r.parent != Path(".") else [r, runs / r]
    tried = list(dict.fromkeys([r] + [f / name for name in ("last.pt", "best.pt") for f in folders]))
    for cand in tried:
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"resume: no checkpoint at {cfg.resume}; tried:\n" + "\n".join(f"  {p}" for p in tried))
