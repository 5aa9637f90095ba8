"""The training loop: one readable function for notebooks, the command line and ``torchrun``.

    train(TrainConfig(...)) -> summary dict

Recipe (seed 001, 4.1.3): AdamW (no weight decay on A_log, D, dt_bias, norms, biases), linear
warm-up then cosine decay, optional bf16/fp16 autocast (the SSM core stays fp32 inside the mixers),
gradient clipping, optional EMA, Laplacian L1 + 0.01 VGG loss. Checkpoints (atomic) carry both
configs, optimizer, step, RNG states and the best validation PSNR; ``resume`` continues exactly
(the data order is a function of (seed, epoch), and the skipped part of an epoch is never loaded).
A non-finite loss or gradient skips the step on every rank; ``max_bad_steps`` in a row stop the run
with the step and the last good checkpoint named.
"""
from __future__ import annotations

import copy
import csv
import dataclasses
import math
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import ConcatDataset, DataLoader, Dataset, DistributedSampler, Sampler
from tqdm.auto import tqdm

from ..config import ModelConfig, preset
from ..config import amp_dtype as amp_dtype_of
from ..data.curriculum import MixedSampler, crop_at, gap_at
from ..data.datasets import VimeoSeptuplets, X4KTrain, collate
from ..data.embedded import ClipWindows
from ..data.paths import DataPaths
from ..data.transforms import Augment
from ..eval.metrics import psnr, ssim_matlab
from ..models import build_model
from ..results import REPO_ROOT, append_rows, provenance
from . import checkpoint as ckpt
from . import distributed as D
from .losses import VFILoss
from .schedule import lr_at

NO_DECAY = ("A_log", "D", "dt_bias")


@dataclass
class TrainConfig:
    exp_name: str = "debug"
    phase: int = 1
    model: ModelConfig = field(default_factory=lambda: preset("tiny"))
    # optimisation
    batch_size: int = 4               # per process
    epochs: int = 1
    max_steps: int = 0                # > 0: train for this many optimizer steps (overrides epochs)
    stop_at: int = 0                  # > 0: stop this invocation at that step (schedule unchanged; resume later)
    lr: float = 2e-4
    min_lr: float = 2e-5
    weight_decay: float = 1e-4
    warmup_steps: int = 2000
    amp: str = "off"                  # off | bf16 | fp16
    grad_clip: float = 1.0
    ema_decay: float = 0.0            # 0: no EMA
    perceptual_weight: float = 0.01
    scale: float = 1.0                # flow models: working scale in training (< 1 trains the full-res head)
    distill_weight: float = 0.0       # > 0: L1 of the flow to RIFE HDv3's (Exp-2e; needs a flow model)
    flow_init: str = "rife_hdv3"      # initialise a new flow estimator from these weights ("" = random)
    # data
    data: str = "embedded"            # embedded | film | vimeo | x4k | mixed
    data_path: str | None = None      # Vimeo90K septuplet root
    x4k_path: str | None = None
    embedded_path: str | None = None  # default data/cache
    crop: int = 256
    mixed_ratio: str = "2:1"
    curriculum: bool = False
    curriculum_T: int = 50            # epochs over which crop and gap grow
    val_samples: int = 16
    val_crop: int = 0                 # > 0: centre-crop validation frames (fast CPU checks)
    num_workers: int = 2
    epoch_repeat: int = 1             # > 1: one epoch passes over the training set this many times (small sets:
                                      # fewer DataLoader restarts)
    # bookkeeping
    out_dir: str = "runs"
    resume: str | None = None
    freeze_backbone: int = 0          # epochs with the backbone frozen after resuming (Phase 2)
    log_every: int = 10
    val_every: int = 200
    ckpt_every: int = 500
    max_bad_steps: int = 10
    seed: int = 0
    deterministic: bool = False
    dry_run: bool = False             # a few steps, no checkpoint kept
    device: str | None = None
    results_csv: str | None = None    # append a summary row here when training ends
    progress: bool = True

    def __post_init__(self) -> None:
        if self.phase not in (1, 2, 3):
            raise ValueError(f"phase must be 1, 2 or 3, got {self.phase}")
        if self.phase >= 2 and self.model.flow == "off":
            self.model = self.model.replace(flow="feature")      # --phase 2 trains the main flow model
        if self.distill_weight > 0 and self.model.flow == "off":
            raise ValueError("distill_weight > 0 needs a flow model (model.flow != 'off')")

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.exp_name

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        d = dict(d)
        d["model"] = ModelConfig.from_dict(d["model"])
        return cls(**d)


class TrainingDiverged(RuntimeError):
    pass


# ----------------------------------------------------------------------------- flow helpers (Phase 2)
def init_flow(model, source: str) -> list[str]:
    """Initialise ``model.flow`` from pretrained RIFE HDv3 weights where shapes match."""
    from ..eval.rife import fetch_weights
    from ..models.flow import init_from_rife_hdv3

    if source != "rife_hdv3":
        raise ValueError(f"flow_init {source!r}: only 'rife_hdv3' (or '') is available offline")
    state = torch.load(fetch_weights("rife_hdv3"), map_location="cpu", weights_only=True)
    return init_from_rife_hdv3(model.flow, state)


def load_teacher(device):
    """RIFE HDv3's IFNet, frozen: the flow teacher of Exp-2e (FlowFormer++ has no offline weights)."""
    from ..eval.rife import fetch_weights, load_ifnet_hdv3

    return load_ifnet_hdv3(fetch_weights("rife_hdv3"), device).requires_grad_(False)


@torch.no_grad()
def teacher_flow(teacher, i0: torch.Tensor, i1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """RIFE's flows at t = 0.5 scaled linearly to t: F_t->0 = 2t F_.5->0, F_t->1 = 2(1-t) F_.5->1.
    (B, 3, H, W) RGB pair -> (B, 4, H, W)."""
    h, w = i0.shape[-2:]
    pad = (0, (-w) % 32, 0, (-h) % 32)
    a, b = (F.pad(x.flip(1), pad, mode="replicate") for x in (i0.float(), i1.float()))   # RGB -> BGR
    flow = teacher(a, b)[1][..., :h, :w]
    tt = t.float().view(-1, 1, 1, 1)
    return torch.cat([flow[:, :2] * 2 * tt, flow[:, 2:4] * 2 * (1 - tt)], 1)


def distill_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean end-point error between the student's and the teacher's flows (pixels)."""
    return (student - teacher).pow(2).sum(1).add(1e-6).sqrt().mean()


# ----------------------------------------------------------------------------- pieces
def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on biases, norms (1-D tensors) and the SSM's A_log, D, dt_bias."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        leaf = name.rsplit(".", 1)[-1]
        (no_decay if p.ndim <= 1 or leaf in NO_DECAY or getattr(p, "_no_weight_decay", False) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class TrainSet(ConcatDataset):
    """The training data of a run: one or two datasets sharing one augmentation, with the
    Phase-3 curriculum (crop size and X-TRAIN gap grow with training progress)."""

    def __init__(self, parts: list[Dataset], aug: Augment, x4k: X4KTrain | None = None):
        super().__init__(parts)
        self.parts, self.aug, self.x4k = parts, aug, x4k

    def set_epoch(self, epoch: int) -> None:
        for d in (*self.parts, self.aug):
            if hasattr(d, "set_epoch"):
                d.set_epoch(epoch)

    def set_progress(self, progress: float) -> None:
        self.aug.set_crop(crop_at(progress))
        if self.x4k is not None:
            self.x4k.set_gap(2, max(2, gap_at(progress)))


def build_datasets(cfg: TrainConfig) -> tuple[TrainSet, Dataset]:
    """Training and validation data for ``cfg.data``; the embedded clips by default."""
    aug = Augment(crop=cfg.crop, seed=cfg.seed)
    if cfg.data in ("embedded", "film"):
        cache = cfg.embedded_path or (DataPaths().embedded if cfg.data == "embedded" else DataPaths().film)
        if cfg.data == "film" and not (Path(cache) / "manifest.json").is_file():
            raise FileNotFoundError(f"data=film: {cache}/manifest.json is missing; run "
                                    "`python -m vfilib.data.prepare --film` first")
        return (TrainSet([ClipWindows(cache, "train", window=7, stride=2, transform=aug, seed=cfg.seed)], aug),
                ClipWindows(cache, "val", window=3, stride=2, fixed=True))
    vimeo = lambda: VimeoSeptuplets(cfg.data_path or DataPaths().vimeo, "train", transform=aug, seed=cfg.seed)  # noqa: E731
    x4k = lambda: X4KTrain(cfg.x4k_path or DataPaths().x4k, transform=aug, seed=cfg.seed)  # noqa: E731
    val = lambda: VimeoSeptuplets(cfg.data_path or DataPaths().vimeo, "test", fixed=True)  # noqa: E731
    if cfg.data == "vimeo":
        return TrainSet([vimeo()], aug), val()
    if cfg.data == "x4k":
        x = x4k()
        return TrainSet([x], aug, x), ClipWindows(cfg.embedded_path or DataPaths().embedded, "val", 3, 2, fixed=True)
    if cfg.data == "mixed":
        x = x4k()
        return TrainSet([vimeo(), x], aug, x), val()
    raise ValueError(f"unknown data {cfg.data!r}: embedded | film | vimeo | x4k | mixed")


def make_sampler(cfg: TrainConfig, train_set: Dataset, dist_info) -> Sampler:
    """DistributedSampler (also for one process), or the ratio-mixing sampler for ``data=mixed``."""
    if cfg.data == "mixed" and isinstance(train_set, TrainSet) and len(train_set.parts) == 2:
        a, b = (len(p) for p in train_set.parts)
        return MixedSampler(a, b, cfg.mixed_ratio, seed=cfg.seed, num_replicas=dist_info.world_size,
                            rank=dist_info.rank)
    base = DistributedSampler(train_set, dist_info.world_size, dist_info.rank, shuffle=True, seed=cfg.seed,
                              drop_last=True)
    return RepeatSampler(base, cfg.epoch_repeat) if cfg.epoch_repeat > 1 else base


class RepeatSampler(Sampler[int]):
    """``k`` consecutive epochs of a per-epoch sampler as one (each with its own shuffle)."""

    def __init__(self, base: Sampler, k: int):
        self.base, self.k, self.epoch = base, k, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        for r in range(self.k):
            self.base.set_epoch(self.epoch * self.k + r)
            yield from iter(self.base)

    def __len__(self) -> int:
        return self.k * len(self.base)


class SkipSampler(Sampler[int]):
    """Wraps a per-epoch sampler and drops its first ``skip`` indices (exact resume mid-epoch)."""

    def __init__(self, base: Sampler, skip: int = 0):
        self.base, self.skip = base, skip

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch)

    def __iter__(self):
        return iter(list(self.base)[self.skip:])

    def __len__(self) -> int:
        return max(0, len(self.base) - self.skip)


@torch.no_grad()
def validate(model, dataset, device, amp_dtype=None, max_samples: int = 16, crop: int = 0) -> dict[str, float]:
    """Mean PSNR / SSIM (matlab) over the first ``max_samples`` validation samples."""
    was_training = model.training
    model.eval()
    ps, ss = [], []
    for i in range(min(max_samples, len(dataset))):
        s = dataset[i]
        i0, i1, gt = (s[k][None].to(device) for k in ("I0", "I1", "gt"))
        if crop:
            h, w = gt.shape[-2:]
            y, x = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
            i0, i1, gt = (v[..., y:y + crop, x:x + crop] for v in (i0, i1, gt))
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            pred = model(i0, i1, s["t"]).float()
        ps.append(psnr(pred, gt).item())
        ss.append(ssim_matlab(pred, gt).item())
    model.train(was_training)
    return {"psnr": float(np.mean(ps)), "ssim": float(np.mean(ss))}


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        for e, p in zip(ema.parameters(), model.parameters()):
            e.lerp_(p.detach(), 1 - decay)


# ----------------------------------------------------------------------------- the loop
def train(cfg: TrainConfig, train_set: Dataset | None = None, val_set: Dataset | None = None) -> dict:
    """Train; returns a summary (steps, final/best validation, throughput, paths)."""
    dist_info, device = D.setup(cfg.device)
    seed_everything(cfg.seed, cfg.deterministic)
    amp_dtype = amp_dtype_of(cfg.amp)
    run_dir = cfg.run_dir
    if dist_info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)

    # ---- model, optimizer, state
    model = build_model(cfg.model).to(device)
    state = {"step": 0, "best_psnr": -math.inf}
    resume_ck = None
    if cfg.resume:
        resume_ck = ckpt.load(_resolve_resume(cfg), map_location=device)
        model.load_state_dict(resume_ck["model"], strict=cfg.phase == resume_ck["train_config"]["phase"])
    if model.flow is not None and cfg.flow_init and cfg.model.flow_channels == 90 and not (resume_ck and "flow.block0.conv0.0.0.weight"
                                                          in resume_ck["model"]):
        copied = init_flow(model, cfg.flow_init)
        if dist_info.is_main:
            print(f"[train] flow estimator: {len(copied)} tensors initialised from {cfg.flow_init}")
    teacher = load_teacher(device) if cfg.distill_weight > 0 else None
    ema = copy.deepcopy(model).requires_grad_(False) if cfg.ema_decay > 0 else None
    if ema is not None and resume_ck is not None and resume_ck.get("ema"):
        ema.load_state_dict(resume_ck["ema"])
    opt = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.999))
    same_run = resume_ck is not None and resume_ck["train_config"]["exp_name"] == cfg.exp_name
    if same_run:  # continue exactly; a checkpoint of another run (Phase 1 -> 2) only gives weights
        opt.load_state_dict(resume_ck["optimizer"])
        state.update(resume_ck["state"])
        ckpt.set_rng_state(resume_ck["rng"])
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp == "fp16")
    loss_fn = VFILoss(cfg.perceptual_weight).to(device)

    # ---- data
    if train_set is None or val_set is None:
        tr, va = build_datasets(cfg)
        train_set, val_set = train_set or tr, val_set or va
    base_sampler = make_sampler(cfg, train_set, dist_info)
    steps_per_epoch = max(1, len(base_sampler) // cfg.batch_size)
    total_steps = cfg.max_steps or steps_per_epoch * cfg.epochs
    if cfg.dry_run:
        total_steps = min(total_steps, 3)

    # ---- logging (rank 0)
    writer, log_file, log = None, None, None
    if dist_info.is_main:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(run_dir / "tb"))
        log_file = open(run_dir / "metrics.csv", "a", newline="")
        log = csv.writer(log_file)
        if log_file.tell() == 0:
            log.writerow(["step", "epoch", "loss", "lap", "vgg", "lr", "samples_per_s", "val_psnr", "val_ssim"])

    net = DDP(model, find_unused_parameters=model.flow is not None) if dist_info.enabled else model
    frozen = False
    bad_in_row, skipped = 0, 0
    last_ckpt = run_dir / "last.pt" if (run_dir / "last.pt").exists() else None
    pbar = tqdm(total=total_steps, initial=state["step"], disable=not (dist_info.is_main and cfg.progress),
                desc=cfg.exp_name, unit="step")
    t_start, samples_seen, val = time.perf_counter(), 0, {}

    def save(name: str) -> Path:
        nonlocal last_ckpt
        payload = {"model": model.state_dict(), "ema": ema.state_dict() if ema else None,
                   "optimizer": opt.state_dict(), "state": dict(state), "rng": ckpt.rng_state(),
                   "model_config": cfg.model.to_dict(), "train_config": cfg.to_dict()}
        path = ckpt.save(run_dir / name, payload)
        if name == "last.pt":
            last_ckpt = path
        return path

    end_step = min(total_steps, cfg.stop_at) if cfg.stop_at else total_steps
    while state["step"] < end_step:
        epoch = state["step"] // steps_per_epoch
        # Phase 2: backbone frozen for the first freeze_backbone epochs
        want_frozen = epoch < cfg.freeze_backbone
        if want_frozen != frozen:
            model.backbone.requires_grad_(not want_frozen)
            frozen = want_frozen
            net = DDP(model, find_unused_parameters=model.flow is not None) if dist_info.enabled else model
        for obj in (train_set, base_sampler):
            if hasattr(obj, "set_epoch"):
                obj.set_epoch(epoch)
        if cfg.curriculum and hasattr(train_set, "set_progress"):
            train_set.set_progress(min(1.0, epoch / max(1, cfg.curriculum_T)))
        skip = (state["step"] - epoch * steps_per_epoch) * cfg.batch_size
        loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=SkipSampler(base_sampler, skip),
                            num_workers=cfg.num_workers, collate_fn=collate, drop_last=True,
                            pin_memory=device.type == "cuda", persistent_workers=False)
        for batch in loader:
            if state["step"] >= end_step:
                break
            lr = lr_at(state["step"], total_steps, cfg.lr, cfg.min_lr, cfg.warmup_steps)
            for g in opt.param_groups:
                g["lr"] = lr
            i0, i1, gt = (batch[k].to(device, non_blocking=True) for k in ("I0", "I1", "gt"))
            t = batch["t"].to(device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                pred, aux = net(i0, i1, t, **({"scale": cfg.scale} if cfg.scale != 1 else {}), return_aux=True)
            loss, parts = loss_fn(pred.float(), gt)
            if teacher is not None:
                parts["distill"] = distill_loss(aux["flow"].float(), teacher_flow(teacher, i0, i1, t))
                loss = loss + cfg.distill_weight * parts["distill"]
            ok = D.all_true(bool(torch.isfinite(loss)), device)
            if ok:
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
                gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or float("inf"))
                ok = D.all_true(bool(torch.isfinite(gnorm)), device)
            if not ok:
                opt.zero_grad(set_to_none=True)
                bad_in_row, skipped = bad_in_row + 1, skipped + 1
                warnings.warn(f"step {state['step']}: non-finite loss or gradient, step skipped "
                              f"({bad_in_row} in a row)", stacklevel=1)
                if bad_in_row >= cfg.max_bad_steps:
                    raise TrainingDiverged(f"{cfg.exp_name}: {bad_in_row} non-finite steps in a row at step "
                                           f"{state['step']}; last good checkpoint: {last_ckpt or 'none'}")
                scaler.update()
                continue
            bad_in_row = 0
            scaler.step(opt)
            scaler.update()
            if ema is not None:
                _ema_update(ema, model, cfg.ema_decay)
            state["step"] += 1
            samples_seen += cfg.batch_size * dist_info.world_size
            pbar.update(1)
            step = state["step"]
            rate = samples_seen / max(1e-9, time.perf_counter() - t_start)
            if dist_info.is_main and (step % cfg.log_every == 0 or step == end_step):
                pbar.set_postfix(loss=f"{loss.item():.4f}", sps=f"{rate:.1f}")
                writer.add_scalar("train/loss", loss.item(), step)
                writer.add_scalar("train/lr", lr, step)
                writer.add_scalar("train/samples_per_s", rate, step)
                for k, v in parts.items():
                    writer.add_scalar(f"train/{k}", v.item(), step)
                log.writerow([step, epoch, f"{loss.item():.6f}", f"{parts['lap'].item():.6f}",
                              f"{parts['vgg'].item():.6f}" if "vgg" in parts else "", f"{lr:.3e}", f"{rate:.2f}", "", ""])
                log_file.flush()
            if dist_info.is_main and (step % cfg.val_every == 0 or step == end_step):
                val = validate(ema or model, val_set, device, amp_dtype, cfg.val_samples, cfg.val_crop)
                writer.add_scalar("val/psnr", val["psnr"], step)
                writer.add_scalar("val/ssim", val["ssim"], step)
                log.writerow([step, epoch, "", "", "", "", "", f"{val['psnr']:.4f}", f"{val['ssim']:.5f}"])
                log_file.flush()
                if val["psnr"] > state["best_psnr"]:
                    state["best_psnr"] = val["psnr"]
                    if not cfg.dry_run:
                        save("best.pt")
            if dist_info.is_main and not cfg.dry_run and (step % cfg.ckpt_every == 0 or step == end_step):
                save("last.pt")
            if step % steps_per_epoch == 0:
                break                                   # epoch done
    pbar.close()
    elapsed = time.perf_counter() - t_start
    summary = {"exp_name": cfg.exp_name, "steps": state["step"], "skipped_steps": skipped,
               "val_psnr": val.get("psnr", math.nan), "val_ssim": val.get("ssim", math.nan),
               "best_psnr": state["best_psnr"], "samples_per_s": samples_seen / max(elapsed, 1e-9),
               "train_seconds": elapsed, "run_dir": str(run_dir),
               "checkpoint": str(last_ckpt) if last_ckpt else ""}
    if dist_info.is_main:
        writer.close()
        log_file.close()
        if cfg.results_csv and not cfg.dry_run:
            append_rows(cfg.results_csv, [result_row(cfg, summary, device)], key=["exp_name", "data"])
    if device.type == "cuda":
        summary["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return summary


def result_row(cfg: TrainConfig, summary: dict, device) -> dict:
    m = cfg.model
    row = {"exp_name": cfg.exp_name, "data": _data_label(cfg), "preset": m.name}
    row.update({k: getattr(m, k) for k in ("backbone_mode", "mamba_version", "scan", "use_ecab", "attn_gate",
                                           "use_mhc", "window_size")})
    row["params_M"] = round(sum(p.numel() for p in build_model(m).parameters()) / 1e6, 3)
    row.update({k: summary[k] for k in ("steps", "val_psnr", "val_ssim", "best_psnr", "samples_per_s", "checkpoint")})
    row.update({"crop": cfg.crop, "batch_size": cfg.batch_size, "amp": cfg.amp})
    row.update(provenance(device))
    return row


def _data_label(cfg: TrainConfig) -> str:
    return {"embedded": "embedded clips (val split; not Vimeo90K)",
            "film": "embedded Big Buck Bunny film (val split; not Vimeo90K)", "vimeo": "Vimeo90K septuplet",
            "x4k": "X4K1000FPS X-TRAIN", "mixed": f"Vimeo90K + X4K ({cfg.mixed_ratio})"}.get(cfg.data, cfg.data)


def _resolve_resume(cfg: TrainConfig) -> Path:
    """``resume`` may be a checkpoint file, a run folder, or an experiment name under out_dir."""
    for cand in (Path(cfg.resume), Path(cfg.resume) / "last.pt", Path(cfg.out_dir) / cfg.resume / "best.pt",
                 Path(cfg.out_dir) / cfg.resume / "last.pt", REPO_ROOT / "runs" / cfg.resume / "best.pt"):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"resume: no checkpoint at {cfg.resume} (tried the file, <run>/last.pt, "
                            f"{cfg.out_dir}/{cfg.resume}/best.pt and last.pt)")
