"""The README's picture: ``python -m vfilib.reports.example [--ckpt CKPT]``.

Two input frames of a held-out live-action test shot, the middle frame of RIFE HDv3, of Practical-RIFE
v3.9, of Practical-RIFE 4.25 and of a vfilib model (the shipped weights, or ``--ckpt``), and the true middle frame, each with
its PSNR on the shown crop. Written to ``results/figures/readme_example.png``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from ..core.paths import DataPaths, results_dir
from ..data.datasets import snu_film
from ..eval.metrics import psnr, quantize
from ..eval.peers import from_checkpoint, label, make_peer
from ..models.weights.checkpoint import SHIPPED
from .figures import _img, save_figure




def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vfilib.reports.example", description=__doc__)
    ap.add_argument("--ckpt", help="a vfilib checkpoint (default: the shipped weights, if any)")
    ap.add_argument("--label", default="", help="how to name the vfilib model in the figure")
    ap.add_argument("--level", default="hard")
    ap.add_argument("--index", type=int, default=40, help="triplet of the level's test list")
    ap.add_argument("--crop", type=int, default=384)
    args = ap.parse_args(argv)
    ds = snu_film(DataPaths().live, args.level)
    s = ds[min(args.index, len(ds) - 1)]
    h, w = s["gt"].shape[-2:]
    y, x = (h - args.crop) // 2, (w - args.crop) // 2
    cut = lambda t: t[None, :, y:y + args.crop, x:x + args.crop]  # noqa: E731
    i0, i1, gt = cut(s["I0"]), cut(s["I1"]), cut(s["gt"])
    methods = [make_peer("rife_hdv3"), make_peer("rife_v39"), make_peer("rife_425")]
    if args.ckpt or SHIPPED.is_file():
        m = from_checkpoint(args.ckpt)
        m.name = args.label or ("vfilib (shipped)" if not args.ckpt else f"vfilib ({Path(args.ckpt).parent.name})")
        methods.append(m)
    outs = {}
    with torch.no_grad():
        for m in methods:
            outs[m.name] = quantize(m(i0, i1, torch.tensor([0.5])).float().clamp(0, 1))
    cols = [("input I0", i0, None)] + [(n, o, psnr(o, gt).item()) for n, o in outs.items()] + \
        [("true middle frame", gt, None), ("input I1", i1, None)]
    fig, axes = plt.subplots(1, len(cols), figsize=(3.1 * len(cols), 3.9))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.8, wspace=0.04)
    for ax, (title, img, p) in zip(axes, cols):
        ax.imshow(_img(img[0]))
        ax.set_title(label(title) + (f"\n{p:.2f} dB" if p is not None else "\n"), fontsize=10)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"held-out live-action test shot {s['name']} ({args.level} level), centre {args.crop} px crop")
    save_figure(fig, "readme_example", results_dir())
    print({n: round(psnr(o, gt).item(), 3) for n, o in outs.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
