"""Test-time adaptation: fine-tune a copy of an interpolator briefly on the clip it is about to interpolate.

    adapted, report = adapt(make_peer("vfilib"), frames, AdaptConfig(steps=100), device="cuda")
    print(report.summary())

Training triplets are cut from the clip's own frames at gaps the input has: (i, i+2) -> i+1 at t = 1/2,
and, for a model that takes any t, (i, i+4) -> i+1, i+2, i+3 at t = 1/4, 1/2, 3/4 (RIFE HDv3 predicts
the middle only: t = 1/2 alone). A triplet never spans a scene cut or a repeated frame (both found
from the pixels, :mod:`vfilib.data.shots`) nor a ``break`` the caller names (where frames it read are
not consecutive). So the model sees this footage's motion, noise and blur; it sees only the frames it
is given, never one it will be asked to make: the caller leaves those out (the evaluation protocol,
:mod:`vfilib.train.adapt_eval`, gives it the subsampled clip only).

Recipe: random crops (same place in the three frames) with flips, 90-degree rotation, channel and time
reversal (:func:`vfilib.data.bank.augment_batch`); the project's loss (Laplacian L1; perceptual term
off by default); AdamW at a small learning rate after a short linear warm-up; a fixed number of steps
and/or a time budget. The caller's interpolator is never changed: a copy is trained and returned.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..config import AMP_MODES, amp_dtype
from ..data.bank import augment_batch
from ..data.shots import FrameSignature, Shot, clean_windows, detect_cuts, detect_duplicates, pair_signals, pick_evenly
from ..eval.interpolators import Interpolator, RecursiveT
from ..eval.metrics import psnr
from .losses import VFILoss


@dataclass(frozen=True)
class AdaptConfig:
    steps: int = 100                 # optimizer steps (0: no step limit, ``seconds`` must be set)
    seconds: float = 0.0             # > 0: also stop after this much adaptation time
    lr: float = 1e-5                 # AdamW, after ``warmup`` linear steps
    warmup: int = 10
    weight_decay: float = 0.0        # a few hundred steps on one clip: no pull towards zero
    batch_size: int = 4
    crop: int = 256                  # square training crops (smaller frames: the whole frame)
    clip_grad: float = 1.0
    perceptual_weight: float = 0.0
    spans: tuple[int, ...] = (2, 4)  # training windows in input frames; 4 (t = 1/4, 1/2, 3/4) for any-t models only
    amp: str = "fp32"                # fp32 | bf16 | fp16 autocast (a GPU)
    scale: float = 1.0               # frames resized by this first (the working scale of 2K/4K inference)
    eval_triplets: int = 8           # the clip's own triplets scored before and after (0: not scored)
    eval_crop: int = 256             # centre crop of those
    seed: int = 0

    def __post_init__(self):
        if self.steps < 0 or self.seconds < 0 or (self.steps == 0 and self.seconds <= 0):
            raise ValueError(f"AdaptConfig: give steps > 0 and/or seconds > 0 (got steps={self.steps}, "
                             f"seconds={self.seconds})")
        if self.lr <= 0 or self.batch_size < 1 or self.crop < 8 or self.warmup < 0:
            raise ValueError(f"AdaptConfig: lr > 0, batch_size >= 1, crop >= 8, warmup >= 0 (got lr={self.lr}, "
                             f"batch_size={self.batch_size}, crop={self.crop}, warmup={self.warmup})")
        if not self.spans or any(s < 2 for s in self.spans):
            raise ValueError(f"AdaptConfig: spans must be window lengths >= 2, got {self.spans}")
        if self.amp not in AMP_MODES or self.amp == "fp16":
            raise ValueError(f"AdaptConfig: amp must be fp32 or bf16 (fp16 would need a gradient scaler), "
                             f"got {self.amp!r}")
        if not 0 < self.scale <= 1:
            raise ValueError(f"AdaptConfig: scale must lie in (0, 1], got {self.scale}")


@dataclass(frozen=True)
class Triplet:
    """Frame indices into the clip: I0 = ``i0``, target ``gt``, I1 = ``i1``, at ``t = (gt - i0) / (i1 - i0)``."""

    i0: int
    gt: int
    i1: int
    t: float


@dataclass
class AdaptReport:
    method: str
    device: str
    frames: int                      # frames the adaptation was given
    triplets: int                    # training triplets cut from them
    triplets_by_t: dict[str, int]
    cuts: list[int]                  # frames that start a new shot (detected, plus the caller's breaks)
    repeats: int                     # repeated frames found (left out of every triplet)
    steps: int = 0
    samples: int = 0
    seconds: float = 0.0             # the whole call: copy, cut detection, training, scoring
    train_seconds: float = 0.0       # the optimizer loop alone
    loss_before: float | None = None  # on the clip's own triplets (fixed centre crops), before and after
    loss_after: float | None = None
    psnr_before: float | None = None
    psnr_after: float | None = None
    config: dict = field(default_factory=dict)

    def summary(self) -> str:
        scored = ""
        if self.loss_before is not None:
            scored = (f"; on the clip's own triplets loss {self.loss_before:.4f} -> {self.loss_after:.4f}, "
                      f"PSNR {self.psnr_before:.2f} -> {self.psnr_after:.2f} dB")
        return (f"adapted {self.method} on {self.frames} frames ({self.triplets} triplets, {len(self.cuts)} cuts, "
                f"{self.repeats} repeats): {self.steps} steps, {self.samples} samples in {self.seconds:.1f} s on "
                f"{self.device}{scored}")


# ----------------------------------------------------------------------------- the clip
def clip_tensor(frames, device="cpu", scale: float = 1.0) -> torch.Tensor:
    """Frames ((H, W, 3) uint8 RGB arrays or tensors, or one (T, H, W, 3) uint8 array) -> (T, H, W, 3)
    uint8 tensor on ``device``, resized by ``scale`` (area-like, antialiased)."""
    x = frames if isinstance(frames, (torch.Tensor, np.ndarray)) else [
        f if torch.is_tensor(f) else torch.as_tensor(np.asarray(f)) for f in frames]
    if isinstance(x, list):
        shapes = {tuple(f.shape) for f in x}
        if len(shapes) > 1:
            raise ValueError(f"adapt: the frames differ in shape: {sorted(shapes)}")
        x = torch.stack(x) if x else torch.empty(0, 0, 0, 3, dtype=torch.uint8)
    x = torch.as_tensor(x)
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != torch.uint8:
        raise ValueError(f"adapt: frames must be (H, W, 3) uint8 RGB, got {tuple(x.shape)[1:]} {x.dtype}")
    if len(x) < 3:
        raise ValueError(f"adapt: needs at least 3 frames, got {len(x)}")
    x = x.to(device)
    if scale != 1:
        x = torch.cat([torch.nn.functional.interpolate(c.permute(0, 3, 1, 2).float(), scale_factor=scale,
                                                       mode="bilinear", antialias=True, align_corners=False)
                       .round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1) for c in x.split(16)])
    return x


def find_cuts(clip: torch.Tensor) -> tuple[list[int], list[int]]:
    """(cuts, repeats) of a (T, H, W, 3) uint8 clip by the project's rule (:mod:`vfilib.data.shots`):
    frames that start a new shot, and indices i where frame i+1 repeats frame i."""
    sigs = [FrameSignature.of(f.cpu().numpy()) for f in clip]
    pairs = np.array([pair_signals(a, b) for a, b in zip(sigs[:-1], sigs[1:])]).reshape(-1, 2)
    return detect_cuts(pairs[:, 0], pairs[:, 1]), detect_duplicates(pairs[:, 0])


def clip_triplets(n_frames: int, cuts=(), repeats=(), spans=(2, 4), any_t: bool = True) -> list[Triplet]:
    """Training triplets of a clip of ``n_frames``: every window of each span inside one shot (between
    ``cuts``) holding no repeated pair; any-t models get every inner frame of a window, others (t = 0.5
    only) the middle of span-2 windows only."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < n_frames}), n_frames]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        for span in spans:
            if span != 2 and not any_t:
                continue
            for i in clean_windows(Shot("", a, b), span, 1, set(repeats)):
                out += [Triplet(i, i + k, i + span, k / span) for k in (range(1, span) if any_t else [span // 2])]
    return out


def spread_runs(n_frames: int, max_frames: int, run: int = 9) -> list[range]:
    """Runs of ``run`` consecutive frame indices spread evenly over a clip of ``n_frames``, at most
    ``max_frames`` in all: what a caller holding a long clip reads for :func:`adapt` (each run's first
    frame is a break)."""
    if n_frames <= max_frames:
        return [range(n_frames)]
    run = max(3, min(run, max_frames))
    starts = pick_evenly(list(range(n_frames - run + 1)), max(1, max_frames // run))
    return [range(s, s + run) for s in starts]


def collect_runs(frames, n_frames: int | None, max_frames: int = 48, run: int = 9,
                 max_bytes: int = 1 << 30) -> tuple[list[np.ndarray], list[int]]:
    """(frames kept, breaks) from an iterator of (H, W, 3) uint8 frames (a whole clip or a preview
    window, read once, in order; uint16 frames of deep sources are kept as 8 bits): :func:`spread_runs`
    of it when ``n_frames`` is known, else its first frames; at most ``max_frames`` and ``max_bytes`` of
    them (4K: 40 frames a GiB)."""
    kept, breaks, want, last = [], [], None, None
    for i, f in enumerate(frames):
        if want is None:
            cap = max(3, min(max_frames, max_bytes // max(1, f.nbytes)))
            want = {j for r in spread_runs(n_frames, cap, run) for j in r} if n_frames else set(range(cap))
            top = max(want)
        if i in want:
            if kept and last != i - 1:
                breaks.append(len(kept))
            f = np.asarray(f)
            kept.append(f if f.dtype == np.uint8 else np.round(f / 257.0).astype(np.uint8))
            last = i
        if i >= top:
            break
    return kept, breaks


def adapt_stream(interp: Interpolator, frames, n_frames: int | None, cfg: AdaptConfig = AdaptConfig(), device="cpu",
                 progress: bool = True, max_frames: int = 48, run: int = 9) -> tuple[Interpolator, AdaptReport]:
    """:func:`adapt` on runs of consecutive frames spread over a clip read from ``frames`` (an iterator
    of (H, W, 3) uint8 RGB frames, e.g. the video tool's reader over its window; ``n_frames``: how many
    it will yield, None if unknown): what ``vfilib interpolate --adapt`` calls before interpolating."""
    kept, breaks = collect_runs(frames, n_frames, max_frames, run)
    return adapt(interp, kept, cfg, device, progress, breaks)


# ----------------------------------------------------------------------------- batches
def triplet_batch(clip: torch.Tensor, trips: list[Triplet], pick: list[int], crop: int, g: torch.Generator,
                  augment: bool = True) -> dict:
    """I0, gt, I1 (B, 3, c, c) float in [0, 1] (c = ``crop`` or the frame's smaller side) and t (B,): the
    picked triplets, each at a random crop (fixed centre crop without ``augment``)."""
    _, h, w, _ = clip.shape
    ch, cw = min(crop, h), min(crop, w)
    u = torch.rand(len(pick), 7, generator=g).tolist()
    out = []
    for n, j in enumerate(pick):
        tr = trips[j]
        y, x = (int(u[n][0] * (h - ch + 1)), int(u[n][1] * (w - cw + 1))) if augment else ((h - ch) // 2, (w - cw) // 2)
        idx = torch.tensor([tr.i0, tr.gt, tr.i1], device=clip.device)
        out.append(clip.index_select(0, idx)[:, y:y + ch, x:x + cw])
    x = torch.stack(out).permute(0, 1, 4, 2, 3).float().div_(255)       # (B, 3 frames, 3, ch, cw)
    t = torch.tensor([trips[j].t for j in pick], device=clip.device)
    if augment:
        x, t = augment_batch(x, t, [r[2:7] for r in u])
    return {"I0": x[:, 0], "gt": x[:, 1], "I1": x[:, 2], "t": t}


@torch.no_grad()
def clip_score(forward, clip: torch.Tensor, trips: list[Triplet], n: int, crop: int, loss_fn) -> tuple[float, float]:
    """(mean loss, mean PSNR) of ``forward`` on ``n`` evenly picked triplets of the clip, centre crops."""
    pick = pick_evenly(list(range(len(trips))), n)
    losses, psnrs = [], []
    for j in pick:
        b = triplet_batch(clip, trips, [j], crop, torch.Generator(), augment=False)
        pred = forward(b["I0"], b["I1"], b["t"]).float().clamp(0, 1)
        losses.append(loss_fn(pred, b["gt"])[0].item())
        psnrs.append(psnr(pred, b["gt"]).item())
    return float(np.mean(losses)), float(np.mean(psnrs))


# ----------------------------------------------------------------------------- adaptation
def _clone(interp: Interpolator) -> Interpolator:
    """A deep copy that shares nothing with ``interp`` (captured CUDA graphs are not copied: the copy
    captures its own)."""
    memo = {id(interp._graphs): {}} if isinstance(getattr(interp, "_graphs", None), dict) else {}
    return copy.deepcopy(interp, memo)


def _loop(module, forward, clip, trips, cfg: AdaptConfig, device, progress: bool, label: str) -> tuple[int, float]:
    """The optimizer loop; returns (steps, seconds)."""
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = VFILoss(cfg.perceptual_weight).to(device)
    amp, dev_type = amp_dtype(cfg.amp), torch.device(device).type
    g = torch.Generator().manual_seed(cfg.seed)
    bar = tqdm(total=cfg.steps or None, desc=f"adapt {label}", unit="step", disable=not progress, leave=False)
    t0, step = time.perf_counter(), 0
    while (not cfg.steps or step < cfg.steps) and not (cfg.seconds and time.perf_counter() - t0 >= cfg.seconds):
        for grp in opt.param_groups:
            grp["lr"] = cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup))
        pick = torch.randint(len(trips), (cfg.batch_size,), generator=g).tolist()
        b = triplet_batch(clip, trips, pick, cfg.crop, g)
        with torch.autocast(dev_type, dtype=amp, enabled=amp is not None):
            pred = forward(b["I0"], b["I1"], b["t"])
        loss = loss_fn(pred.float(), b["gt"])[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad)
        if torch.isfinite(norm):                         # a non-finite gradient: the step is skipped
            opt.step()
        step += 1
        bar.update(1)
        if step % 10 == 0 or step == 1:
            bar.set_postfix(loss=f"{loss.item():.4f}")
    bar.close()
    return step, time.perf_counter() - t0


def adapt(interp: Interpolator, frames, cfg: AdaptConfig = AdaptConfig(), device="cpu", progress: bool = True,
          breaks=()) -> tuple[Interpolator, AdaptReport]:
    """A copy of ``interp`` fine-tuned on triplets of ``frames`` (consecutive (H, W, 3) uint8 RGB frames
    of one clip; ``breaks``: indices where the caller's frames stop being consecutive). ``interp`` is not
    changed. Returns (the adapted interpolator on ``device``, its :class:`AdaptReport`)."""
    t0 = time.perf_counter()
    if isinstance(interp, RecursiveT):              # a t = 0.5 model made any-t by halving: adapt its base
        base, report = adapt(interp.base, frames, cfg, device, progress, breaks)
        return RecursiveT(base, interp.max_depth), report
    clip = clip_tensor(frames, device, cfg.scale)
    cuts, repeats = find_cuts(clip)
    cuts = sorted(set(cuts) | {int(b) for b in breaks if 0 < int(b) < len(clip)})
    trips = clip_triplets(len(clip), cuts, repeats, cfg.spans, interp.supports_any_t)
    if not trips:
        raise ValueError(f"adapt: no training triplets in {len(clip)} frames ({len(cuts)} cuts, {len(repeats)} "
                         "repeated frames): it needs 3 consecutive distinct frames of one shot")
    new = _clone(interp)
    module, forward = new.trainable()
    module.to(device)
    flags, checks = [p.requires_grad for p in module.parameters()], getattr(module, "check_values", None)
    module.requires_grad_(True)
    by_t = {f"{t:g}": sum(tr.t == t for tr in trips) for t in sorted({tr.t for tr in trips})}
    report = AdaptReport(interp.name, str(device), len(clip), len(trips), by_t, cuts, len(repeats),
                         config={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()})
    loss_fn = VFILoss(0.0).to(device)
    if cfg.eval_triplets:
        report.loss_before, report.psnr_before = clip_score(forward, clip, trips, cfg.eval_triplets, cfg.eval_crop,
                                                            loss_fn)
    if checks is not None:
        module.check_values = False                 # the crops are valid by construction: no host sync a step
    report.steps, report.train_seconds = _loop(module, forward, clip, trips, cfg, device, progress, interp.name)
    if checks is not None:
        module.check_values = checks
    report.samples = report.steps * cfg.batch_size
    for p, f in zip(module.parameters(), flags):
        p.requires_grad_(f)
    module.eval()
    if cfg.eval_triplets:
        report.loss_after, report.psnr_after = clip_score(forward, clip, trips, cfg.eval_triplets, cfg.eval_crop,
                                                          loss_fn)
    report.seconds = time.perf_counter() - t0
    return new, report
