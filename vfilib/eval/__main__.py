"""``python -m vfilib.eval``: run a benchmark protocol on checkpoints and peers, append to results/.

    python -m vfilib.eval --bench embedded --peers blend dis minterpolate rife_hdv3
    python -m vfilib.eval --bench snu_film --path /data/SNU-FILM --ckpt runs/exp1c/best.pt --tta
    python -m vfilib.eval --bench embedded --ckpt runs/exp2c_small/best.pt --amp fp32 bf16   # + PSNR change
    python -m vfilib.eval --bench embedded --ckpt runs/exp2c_small/best.pt --amp fp32 bf16 --ssm_dtype fp32 autocast

With several ``--amp`` modes (or ``--ssm_dtype`` settings) each checkpoint is evaluated under each
(method name ``...@bf16``, ``...@bf16+ssm_autocast``) and the PSNR change against the first is
printed per split.
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd
import torch

from ..config import AMP_MODES, SSM_DTYPES, RuntimeConfig, amp_dtype
from ..data.video import VideoError
from ..models.weights.checkpoint import CheckpointError
from .benchmark import BENCHMARKS, run
from .peers import PEERS, from_checkpoint, make_peer


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m vfilib.eval", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, choices=sorted(BENCHMARKS))
    ap.add_argument("--path", help="dataset root (default: the environment variable, see data/README.md)")
    ap.add_argument("--ckpt", nargs="*", default=[], help="vfilib checkpoints")
    ap.add_argument("--peers", nargs="*", default=[], choices=sorted(PEERS), metavar="PEER",
                    help=f"registered methods: {' '.join(sorted(PEERS))}")
    ap.add_argument("--splits", nargs="*", help="levels / splits (default: all of the benchmark)")
    ap.add_argument("--max_samples", type=int)
    ap.add_argument("--lpips", choices=["alex", "vgg"])
    ap.add_argument("--tta", action="store_true", help="average with the 180-degree rotated pass")
    ap.add_argument("--scale", type=float, help="override the protocol's flow scale")
    ap.add_argument("--crop", type=int, default=0, help="centre crop before inference (quick CPU checks)")
    ap.add_argument("--recursive", action="store_true", help="multi-frame by bisection instead of direct t")
    ap.add_argument("--amp", nargs="+", default=["fp32"], choices=AMP_MODES,
                    help="autocast mode(s) of the checkpoints; several: also print the PSNR change")
    ap.add_argument("--ssm_dtype", nargs="+", default=["fp32"], choices=SSM_DTYPES,
                    help="SSD input dtype(s) (autocast: bf16 x, B, C under --amp bf16); several: PSNR change")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="results/benchmarks.csv")
    return ap


def main(argv=None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error(f"--device {args.device}: this machine has no CUDA GPU (torch sees none); use --device cpu")
    if args.max_samples is not None and args.max_samples < 1:
        ap.error(f"--max_samples must be at least 1, got {args.max_samples}")
    try:
        return _run(ap, args)
    except (CheckpointError, FileNotFoundError, ValueError, VideoError) as e:
        print(f"python -m vfilib.eval: error: {e}", file=sys.stderr)
        return 1


def _run(ap, args) -> int:
    interps, ckpts = [], {}
    variants = [(amp, sd) for amp in args.amp for sd in args.ssm_dtype]
    labels = [amp + ("" if sd == "fp32" else f"+ssm_{sd}") for amp, sd in variants]
    for c in args.ckpt:
        for (amp, sd), label in zip(variants, labels):
            it = from_checkpoint(c, args.device, amp_dtype(amp), runtime=RuntimeConfig(ssm_dtype=sd))
            it.name = f"{it.name}:{c}" + (f"@{label}" if len(variants) > 1 else "")
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
    if args.crop:
        over["crop"] = args.crop
    if args.recursive:
        over["multi"] = "recursive"
    table = run(args.bench, interps, args.path, args.splits, args.device, args.max_samples, args.lpips,
                args.out, ckpts, over)
    cols = [c for c in ("split", "method", "n", "psnr", "ssim", "ie", "lpips", "sec_per_frame") if c in table]
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
        print(table[cols].to_string(index=False))
    if args.ckpt and len(variants) > 1:
        change = amp_change(table, labels)
        print(change.to_string(index=False, formatters={change.columns[-1]: "{:+.4f} dB".format}))
    print(f"rows appended to {args.out}")
    return 0


def amp_change(table: pd.DataFrame, amps: list[str]) -> pd.DataFrame:
    """PSNR of each ``name@amp`` method minus the same checkpoint under ``amps[0]``, per split."""
    t = table[table["method"].str.contains("@")].copy()
    t["ckpt"], t["amp"] = t["method"].str.rsplit("@", n=1).str[0], t["method"].str.rsplit("@", n=1).str[1]
    ref = t[t["amp"] == amps[0]].set_index(["ckpt", "split"])["psnr"]
    t = t[t["amp"] != amps[0]]
    t[f"psnr_change_vs_{amps[0]}"] = t["psnr"].to_numpy() - ref.loc[list(zip(t["ckpt"], t["split"]))].to_numpy()
    return t[["ckpt", "split", "amp", "psnr", f"psnr_change_vs_{amps[0]}"]]


if __name__ == "__main__":
    raise SystemExit(main())
