"""``python -m vfilib.eval``: run a benchmark protocol on checkpoints and peers, append to results/.

    python -m vfilib.eval --bench embedded --peers blend dis minterpolate rife_hdv3
    python -m vfilib.eval --bench snu_film --path /data/SNU-FILM --ckpt runs/exp1c/best.pt --tta
"""
from __future__ import annotations

import argparse

import pandas as pd
import torch

from .benchmark import BENCHMARKS, run
from .interpolators import from_checkpoint, make_peer


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, choices=sorted(BENCHMARKS))
    ap.add_argument("--path", help="dataset root (default: the environment variable, see data/README.md)")
    ap.add_argument("--ckpt", nargs="*", default=[], help="vfilib checkpoints")
    ap.add_argument("--peers", nargs="*", default=[], help="blend dis minterpolate rife_hdv3")
    ap.add_argument("--splits", nargs="*", help="levels / splits (default: all of the benchmark)")
    ap.add_argument("--max_samples", type=int)
    ap.add_argument("--lpips", choices=["alex", "vgg"])
    ap.add_argument("--tta", action="store_true", help="average with the 180-degree rotated pass")
    ap.add_argument("--scale", type=float, help="override the protocol's flow scale")
    ap.add_argument("--recursive", action="store_true", help="multi-frame by bisection instead of direct t")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="results/benchmarks.csv")
    args = ap.parse_args(argv)
    interps, ckpts = [], {}
    for c in args.ckpt:
        it = from_checkpoint(c, args.device)
        it.name = f"{it.name}:{c}"
        interps.append(it)
        ckpts[it.name] = c
    interps += [make_peer(p, args.device) for p in args.peers]
    if not interps:
        ap.error("nothing to evaluate: give --ckpt and/or --peers")
    over = {}
    if args.tta:
        over["tta"] = True
    if args.scale:
        over["flow_scale"] = args.scale
    if args.recursive:
        over["multi"] = "recursive"
    table = run(args.bench, interps, args.path, args.splits, args.device, args.max_samples, args.lpips,
                args.out, ckpts, over)
    cols = [c for c in ("split", "method", "n", "psnr", "ssim", "ie", "lpips", "sec_per_frame") if c in table]
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
        print(table[cols].to_string(index=False))
    print(f"rows appended to {args.out}")


if __name__ == "__main__":
    main()
