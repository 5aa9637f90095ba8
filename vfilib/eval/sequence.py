"""Whole-sequence evaluation (LDF-VFI's view): ``vfilib sequence`` (``python -m vfilib.eval.sequence``).

A whole shot is subsampled (every f-th frame kept, f = 2, 4, 8, 16) and interpolated back to its full
rate by each method; every generated frame is scored against the dropped one (PSNR, SSIM, LPIPS), and
the whole output sequence (kept + generated frames) against the real one for temporal consistency
(:mod:`vfilib.eval.temporal`: tOF, tLP, flicker, E_warp; ``E_warp_truth`` is the real sequence's own
warping error, the floor that flow errors leave). The same shots and frames for every factor and method.

N-frame methods (vfilib models with ``context_frames`` = N > 2) get the window of the kept frames
around each interval (:mod:`vfilib.data.window`: kept frames at the interval's spacing, the nearest
kept frame repeated at the shot's ends); 2-frame methods the pair. Shots come from the test split of
a prepared set: its PNGs where it stores every frame (embedded, film), else decoded from the source
videos (the live set stores only its benchmark frames). Rows go to ``results/sequence.csv`` with
provenance; ``--per_frame`` also writes a row per generated frame.

    vfilib sequence --methods blend dis rife_hdv3 vfilib --ckpt runs/n4/best.pt --factors 2 4 8 16
    vfilib sequence --set data/live --shots 6 --max_frames 49 --crop 384 --ckpt runs/n2/best.pt runs/n4/best.pt
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..core.paths import DataPaths, repo_path
from ..core.tables import append_rows, provenance
from ..core.tensors import image_to_tensor
from ..data.io import load_frames
from ..data.prepare import frame_name, load_manifest
from ..data.shots import Shot, pick_evenly
from .benchmark import centre_crop
from .interpolators import Interpolator, RecursiveT
from .metrics import LPIPS
from .nframe import context_frames_of
from .temporal import interpolate_sequence, score_sequence, warping_error


def sequence_shots(cache: Path, length: int, max_shots: int, split: str = "test") -> list[Shot]:
    """Shots of ``split`` with at least ``length`` frames, evenly picked (at most ``max_shots``)."""
    m = load_manifest(cache)
    shots = [s for s in (Shot(**d) for d in m.get("shots", [])) if s.split == split and len(s) >= length]
    if not shots:
        raise ValueError(f"no shot of {length}+ frames in the {split} split of {cache}")
    return pick_evenly(shots, max_shots)


def shot_frames(cache: Path, shot: Shot, length: int, crop: int = 0) -> list[torch.Tensor]:
    """The first ``length`` frames of a shot, (3, H, W) in [0, 1], centre-cropped to ``crop`` (0: whole):
    the set's PNGs, or its source video decoded when the set stores only benchmark frames."""
    m = load_manifest(cache)
    entry = m["clips"][shot.clip]
    idx = range(shot.start, shot.start + length)
    if m.get("store", "all") == "all":
        frames = load_frames([cache / "frames" / shot.clip / frame_name(i, entry["ext"]) for i in idx])
    else:
        from ..data.sources import fetch
        from ..data.video import decode_video

        src = Path(entry.get("source", ""))
        frames = []
        for i, f in enumerate(decode_video(src if src.is_file() else fetch(shot.clip))):
            if i in idx:
                frames.append(image_to_tensor(f))
            if i >= idx[-1]:
                break
    return [centre_crop(f, crop) for f in frames]


def run(methods: list[Interpolator], factors=(2, 4, 8, 16), cache: Path | None = None, split: str = "test",
        max_shots: int = 4, max_frames: int = 33, crop: int = 0, use_lpips: bool = True, device="cpu",
        out: Path | None = None, per_frame: Path | None = None, progress: bool = True) -> pd.DataFrame:
    """Evaluate every method at every factor on the same shots; append the summary (and per-frame) rows."""
    cache = Path(cache or DataPaths().embedded)
    step = max(factors)
    if any(step % f for f in factors):
        raise ValueError(f"factors {list(factors)} must divide the largest one ({step})")
    length = 1 + step * ((max_frames - 1) // step)
    if length < 1 + step:
        raise ValueError(f"max_frames {max_frames} is shorter than one x{step} interval ({step + 1} frames)")
    shots = sequence_shots(cache, length, max_shots, split)
    lp = _lpips(use_lpips)
    rows, frame_rows = [], []
    bar = tqdm(total=len(shots) * len(methods) * len(factors), desc="sequence", unit="run", disable=not progress)
    for shot in shots:
        gt = shot_frames(cache, shot, length, crop)
        truth = warping_error(gt, gt)
        name = f"{shot.clip}/{shot.start}-{shot.start + length - 1}"
        for interp in methods:
            for f in factors:
                bar.set_postfix_str(f"{interp.name} x{f} {name}")
                seq, per = score_sequence(interpolate_sequence(interp, gt, f, device), gt, f, lp)
                bar.update()
                base = {"method": interp.name, "frames": context_frames_of(interp), "factor": f, "shot": name}
                rows.append({**base, **seq, "E_warp_truth": truth})
                frame_rows += [{**base, **r} for r in per]
    bar.close()
    table = pd.DataFrame(rows)
    summary = table.groupby(["method", "frames", "factor"], sort=False).mean(numeric_only=True).reset_index()
    summary["shots"], summary["frames_per_shot"] = len(shots), length
    summary["crop"] = crop
    summary["data"] = f"{cache.name} {split} shots, whole (prepared set {cache})"
    prov = provenance(device)
    if out:
        append_rows(out, [{**r, **prov} for r in summary.to_dict("records")], key=["method", "factor", "data", "crop"])
    if per_frame:
        append_rows(per_frame, [{**r, "data": summary["data"][0], **prov} for r in frame_rows],
                    key=["method", "factor", "shot", "frame", "data"])
    return summary


def _lpips(use: bool) -> LPIPS | None:
    try:
        return LPIPS("alex") if use else None
    except FileNotFoundError as e:
        print(f"[sequence] LPIPS / tLP off: {e}")
        return None


def main(argv=None) -> int:
    from .peers import PEERS, from_checkpoint, make_peer

    ap = argparse.ArgumentParser(prog="vfilib sequence", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", nargs="*", default=["vfilib", "rife_hdv3", "dis", "blend"], choices=sorted(PEERS),
                    help="peers with t direct (vfilib: the shipped weights)")
    ap.add_argument("--recursive", nargs="*", default=[], choices=sorted(PEERS), help="peers also run by halving")
    ap.add_argument("--ckpt", nargs="*", default=[], help="vfilib checkpoints (N-frame ones get their window)")
    ap.add_argument("--ckpt_halving", action="store_true", help="also run each --ckpt by halving (name(recursive))")
    ap.add_argument("--factors", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--set", type=Path, help="prepared set (default: the embedded clips)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--max_frames", type=int, default=33, help="frames per shot (1 + a multiple of the largest factor)")
    ap.add_argument("--crop", type=int, default=0, help="centre crop (quick CPU runs)")
    ap.add_argument("--no_lpips", action="store_true")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="results/sequence.csv")
    ap.add_argument("--per_frame", help="also append a row per made frame here")
    args = ap.parse_args(argv)
    if any(f < 2 for f in args.factors):
        ap.error(f"--factors must be at least 2, got {args.factors}")
    try:
        ckpts = [from_checkpoint(c, args.device) for c in args.ckpt]
        for it, c in zip(ckpts, args.ckpt):
            it.name = f"{it.name}:{c}"
        methods = ([make_peer(m, args.device) for m in args.methods] + ckpts
                   + [RecursiveT(make_peer(m, args.device)) for m in args.recursive]
                   + ([RecursiveT(it) for it in ckpts] if args.ckpt_halving else []))
        if not methods:
            ap.error("nothing to evaluate: give --methods, --ckpt or --recursive")
        table = run(methods, tuple(args.factors), args.set, args.split, args.shots, args.max_frames, args.crop,
                    not args.no_lpips, args.device, repo_path(args.out),
                    repo_path(args.per_frame) if args.per_frame else None)
    except (ValueError, FileNotFoundError) as e:
        print(f"vfilib sequence: error: {e}", file=sys.stderr)
        return 1
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 220):
        print(table.drop(columns=["data"]).to_string(index=False))
    print(f"rows appended to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
