"""Whole-clip evaluation with temporal consistency: ``vfilib temporal`` (``python -m vfilib.eval.temporal``).

As LDF-VFI evaluates video interpolation: take real clips, keep every k-th frame, interpolate x k
back, and score only the generated frames against the dropped ones (PSNR, SSIM, LPIPS), plus the
temporal consistency of the whole output sequence against the real one:

* tOF (TecoGAN): mean end-point difference between the optical flow of consecutive output frames
  and of consecutive ground-truth frames (OpenCV DIS flow on grey frames, pixels);
* tLP (TecoGAN): mean |LPIPS(out_t, out_t+1) - LPIPS(gt_t, gt_t+1)| (AlexNet LPIPS; needs its weights);
* flicker: mean |change of mean luma between consecutive output frames - the same for the truth|
  (0-255): brightness pumping that per-frame metrics miss;
* E_warp (Lai et al., ECCV 2018): each output frame against the previous output frame warped to it by
  the ground truth's flow (DIS), squared RGB error in [0, 1] over the pixels that flow does not mark
  occluded (forward-backward check); the truth's own E_warp is the floor that flow errors leave.

N-frame methods (``context_frames`` > 2) get, for each interval, the window of the kept frames around
it (:mod:`vfilib.data.window`; shared with ``vfilib sequence``, which scores whole shots).

Windows of ``2**max_depth * n + 1`` frames are taken from the test shots of a prepared set whose
frames are all stored (the embedded clips by default), without repeated frames, the same windows
for every factor and method. Rows go to ``results/temporal.csv`` with provenance.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..core.paths import DataPaths, repo_path
from ..core.tables import append_rows, provenance
from ..core.tensors import tensor_to_image
from ..data.io import load_frames
from ..data.prepare import frame_name, load_manifest
from ..data.shots import Shot, clean_windows, pick_evenly
from ..data.window import in_shot, window_indices
from .interpolators import Interpolator, RecursiveT
from .metrics import LPIPS, psnr, quantize, ssim_matlab
from .nframe import context_frames_of


def windows(cache: Path, length: int, max_windows: int, split: str = "test") -> list[tuple[str, int]]:
    m = load_manifest(cache)
    if m.get("store") == "eval":
        raise ValueError(f"{cache} stores only its benchmark frames; use a set with every frame (embedded, film)")
    out = []
    for s in (Shot(**d) for d in m.get("shots", [])):
        if s.split == split:
            out += [(s.clip, i) for i in clean_windows(s, length - 1, length - 1, set(m["clips"][s.clip]["duplicates"]))]
    if not out:
        raise ValueError(f"no {length}-frame windows in the {split} shots of {cache}")
    return pick_evenly(out, max_windows)


def flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    g = lambda x: cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)  # noqa: E731
    return dis.calc(g(a), g(b), None)


def warping_error(out: list[torch.Tensor], gt: list[torch.Tensor]) -> float:
    """E_warp of an output sequence, the flow from the real one ((3, H, W) frames in [0, 1]): mean over
    frames t >= 1 of the squared RGB error (summed over channels) between out_t and out_{t-1} warped to
    t by the truth's flow t -> t-1, averaged over the pixels that pass the forward-backward check."""
    o = [x.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy().astype(np.float32) for x in out]
    g8 = [tensor_to_image(x) for x in gt]
    h, w = g8[0].shape[:2]
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), -1)
    errs = []
    for i in range(1, len(o)):
        back, fwd = flow(g8[i], g8[i - 1]), flow(g8[i - 1], g8[i])        # t -> t-1, t-1 -> t
        mx, my = grid[..., 0] + back[..., 0], grid[..., 1] + back[..., 1]
        warped = cv2.remap(o[i - 1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fwd_at = cv2.remap(fwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mag = (back ** 2).sum(-1) + (fwd_at ** 2).sum(-1)
        valid = (((back + fwd_at) ** 2).sum(-1) < 0.01 * mag + 0.5) & (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        if valid.any():
            errs.append(float((((o[i] - warped) ** 2).sum(-1))[valid].mean()))
    return float(np.mean(errs)) if errs else float("nan")


def temporal_scores(out: list[torch.Tensor], gt: list[torch.Tensor], lpips: LPIPS | None) -> dict[str, float]:
    """tOF, tLP, flicker and E_warp of an output sequence against the real one ((3, H, W) frames in [0, 1])."""
    o8, g8 = [tensor_to_image(x) for x in out], [tensor_to_image(x) for x in gt]
    tof = np.mean([np.linalg.norm(flow(o8[i], o8[i + 1]) - flow(g8[i], g8[i + 1]), axis=-1).mean()
                   for i in range(len(o8) - 1)])
    luma = lambda xs: np.array([cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).mean() for x in xs])  # noqa: E731
    flicker = float(np.abs(np.diff(luma(o8)) - np.diff(luma(g8))).mean())
    tlp = float("nan")
    if lpips is not None:
        with torch.no_grad():
            d = lambda xs: [lpips(xs[i][None], xs[i + 1][None]).item() for i in range(len(xs) - 1)]  # noqa: E731
            tlp = float(np.mean(np.abs(np.array(d(out)) - np.array(d(gt)))))
    return {"tOF": float(tof), "tLP": tlp, "flicker": flicker, "E_warp": warping_error(out, gt)}


@torch.no_grad()
def interpolate_sequence(interp: Interpolator, frames: list[torch.Tensor], factor: int, device="cpu",
                         batch: int = 8) -> list[torch.Tensor]:
    """Keep frames 0, f, 2f, ...; make the others (direct t = j / f) from the kept ones; return the whole
    output sequence (kept frames as they are, made ones quantised to 8 bits), (3, H, W) each."""
    n = context_frames_of(interp)
    method = interp if interp.supports_any_t else RecursiveT(interp)
    keys = list(range(0, len(frames), factor))
    out = [frames[0]]
    for s in range(len(keys) - 1):
        a, b = frames[keys[s]][None].to(device), frames[keys[s + 1]][None].to(device)
        kw = {}
        if n > 2:
            win = window_indices(s, s + 1, n, in_shot(0, len(keys)))
            ctx = [frames[keys[j]] for j in win[:n // 2 - 1] + win[n // 2 + 1:]]
            kw["context"] = torch.stack(ctx)[None].to(device)
        ts = [j / factor for j in range(1, factor)]
        for c in range(0, len(ts), batch):
            tt = torch.tensor(ts[c:c + batch], device=device)
            rep = lambda x: x.expand(len(tt), *x.shape[1:])          # noqa: E731
            pred = method(rep(a), rep(b), tt, **{k: rep(v) for k, v in kw.items()})
            out += list(quantize(pred.float().clamp(0, 1)).cpu())
        out.append(frames[keys[s + 1]])
    return out


def score_sequence(out: list[torch.Tensor], gt: list[torch.Tensor], factor: int, lpips: LPIPS | None) -> tuple[dict, list[dict]]:
    """(sequence scores, per-frame rows of the made frames): PSNR, SSIM, LPIPS of every made frame; tOF,
    tLP, flicker, E_warp of the whole sequence."""
    rows = []
    for i, (o, g) in enumerate(zip(out, gt)):
        if i % factor:
            row = {"frame": i, "t": (i % factor) / factor, "psnr": psnr(o[None], g[None]).item(),
                   "ssim": ssim_matlab(o[None], g[None]).item()}
            if lpips is not None:
                with torch.no_grad():
                    row["lpips"] = lpips(o[None], g[None]).item()
            rows.append(row)
    per = pd.DataFrame(rows).drop(columns=["frame", "t"]).mean().to_dict()
    return {**per, **temporal_scores(out, gt, lpips)}, rows


@torch.no_grad()
def evaluate_clip(interp: Interpolator, frames: list[torch.Tensor], factor: int, lpips: LPIPS | None,
                  device="cpu") -> dict[str, float]:
    """Keep frames 0, k, 2k, ...; interpolate x k back (N-frame methods with the kept frames' window);
    score the generated frames and the sequence."""
    return score_sequence(interpolate_sequence(interp, frames, factor, device, batch=1), frames, factor, lpips)[0]


def run(methods: list[Interpolator], factors=(2, 4, 8), cache: Path | None = None, max_windows: int = 4,
        length: int = 17, use_lpips: bool = True, device="cpu", out: Path | None = None,
        progress: bool = True) -> pd.DataFrame:
    cache = Path(cache or DataPaths().embedded)
    if any((length - 1) % f for f in factors):
        raise ValueError(f"window length {length} must be 1 + a multiple of every factor {list(factors)}")
    wins = windows(cache, length, max_windows)
    m = load_manifest(cache)
    try:
        lp = LPIPS("alex") if use_lpips else None
    except FileNotFoundError as e:
        print(f"[temporal] LPIPS / tLP off: {e}")
        lp = None
    rows = []
    bar = tqdm(total=len(wins) * len(methods) * len(factors), desc="temporal", unit="run", disable=not progress)
    for clip, start in wins:
        frames = [f for f in load_frames([cache / "frames" / clip / frame_name(start + k, m["clips"][clip]["ext"])
                                           for k in range(length)])]
        for interp in methods:
            for f in factors:
                bar.set_postfix_str(f"{interp.name} x{f} {clip}")
                r = evaluate_clip(interp, frames, f, lp, device)
                bar.update()
                rows.append({"method": interp.name, "factor": f, "clip": f"{clip}/{start}-{start + length - 1}", **r})
    bar.close()
    table = pd.DataFrame(rows)
    summary = table.groupby(["method", "factor"], sort=False).mean(numeric_only=True).reset_index()
    summary["windows"] = len(wins)
    summary["frames_per_window"] = length
    summary["data"] = f"{cache.name} test shots (prepared set {cache})"
    prov = provenance(device)
    if out:
        append_rows(out, [{**r, **prov} for r in summary.to_dict("records")], key=["method", "factor", "data"])
    return summary


def main(argv=None) -> int:
    from .interpolators import RecursiveT
    from .peers import PEERS, from_checkpoint, make_peer

    ap = argparse.ArgumentParser(prog="vfilib temporal", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", nargs="*", default=["vfilib", "rife_hdv3", "rife_v39", "dis", "blend"], choices=sorted(PEERS),
                    help="peers with t direct (vfilib: the shipped weights); the defaults make the whole table")
    ap.add_argument("--recursive", nargs="*", default=["vfilib"], choices=sorted(PEERS),
                    help="peers also run by halving (t = 0.5 recursively), as name(recursive)")
    ap.add_argument("--ckpt", nargs="*", default=[], help="vfilib checkpoints")
    ap.add_argument("--factors", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--set", type=Path, help="prepared set with every frame stored (default: the embedded clips)")
    ap.add_argument("--windows", type=int, default=4)
    ap.add_argument("--length", type=int, default=17)
    ap.add_argument("--no_lpips", action="store_true")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="results/temporal.csv")
    args = ap.parse_args(argv)
    if any(f < 2 for f in args.factors):
        ap.error(f"--factors must be at least 2, got {args.factors}")
    try:
        methods = ([make_peer(m, args.device) for m in args.methods] + [from_checkpoint(c, args.device) for c in args.ckpt]
                   + [RecursiveT(make_peer(m, args.device)) for m in args.recursive])
        if not methods:
            ap.error("nothing to evaluate: give --methods, --ckpt or --recursive")
        table = run(methods, args.factors, args.set, args.windows, args.length, not args.no_lpips, args.device,
                    repo_path(args.out))
    except (ValueError, FileNotFoundError) as e:
        print(f"vfilib temporal: error: {e}", file=sys.stderr)
        return 1
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
        print(table.drop(columns=["data"]).to_string(index=False))
    print(f"rows appended to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
