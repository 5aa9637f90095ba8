"""Where the extra frames help: N-frame against 2-frame methods per sample, by motion and by non-linearity.

    per = per_sample([two, four, make_peer("dis")], "live", crop=384)   # one row per (method, sample)
    gain_table(per, "vfilib:n2", "vfilib:n4", "nonlinearity")           # mean gain per quantile bin

For every sample of a benchmark (its N-frame form where the set holds the frames), each method's PSNR
and SSIM, with the sample's motion statistics measured on the ground truth (OpenCV DIS flow):
``motion`` = mean |F_0->1| (pixels) and ``nonlinearity`` = mean |F_0->t - t F_0->1|, how far the true
frame lies from where the linear path between I0 and I1 puts it (what a 2-frame method must assume).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch

from ..core.tensors import tensor_to_image
from .benchmark import BENCHMARKS, centre_crop, evaluate
from .interpolators import Interpolator
from .nframe import context_frames_of
from .temporal import flow


def motion_stats(i0: torch.Tensor, gt: torch.Tensor, i1: torch.Tensor, t: float) -> dict[str, float]:
    """(3, H, W) frames in [0, 1] -> {"motion": mean |F_0->1|, "nonlinearity": mean |F_0->t - t F_0->1|} (px)."""
    a, g, b = (tensor_to_image(x) for x in (i0, gt, i1))
    f01, f0t = flow(a, b), flow(a, g)
    return {"motion": float(np.linalg.norm(f01, axis=-1).mean()),
            "nonlinearity": float(np.linalg.norm(f0t - t * f01, axis=-1).mean())}


def per_sample(methods: list[Interpolator], bench: str, root=None, splits=None, max_samples: int | None = None,
               crop: int = 0, device="cpu") -> pd.DataFrame:
    """One row per (split, method, sample): psnr, ssim, the window the method took (``frames``), and the
    sample's motion statistics. The set is loaded once per split in its widest N-frame form."""
    b = BENCHMARKS[bench]
    root = root or b.default_root()
    n = max(context_frames_of(m) for m in methods)
    proto = dataclasses.replace(b.protocol, crop=crop) if crop else b.protocol
    out = []
    for split in splits or b.splits:
        ds = b.loader(root, split, frames=n) if n > 2 and b.context else b.loader(root, split)
        for m in methods:
            per, _ = evaluate(m, ds, proto, device, max_samples, progress=False)
            out.append(per.assign(split=split, method=m.name))
        stats = []
        for j in _picked(len(ds), max_samples):
            s = ds[j]
            stats.append({"name": s["name"], **motion_stats(*(centre_crop(s[k], crop) for k in ("I0", "gt", "I1")),
                                                            float(s["t"]))})
        out[-len(methods):] = [p.merge(pd.DataFrame(stats), on="name") for p in out[-len(methods):]]
    return pd.concat(out, ignore_index=True).assign(data=b.data)


def _picked(n: int, max_samples: int | None) -> list[int]:
    from ..data.shots import pick_evenly

    return pick_evenly(list(range(n)), min(max_samples or n, n))


def gain_table(per: pd.DataFrame, two: str, many: str, by: str, bins: int = 3) -> pd.DataFrame:
    """PSNR gain of method ``many`` over ``two`` per sample (matched by split and name), in ``bins``
    quantile bins of ``by`` (motion | nonlinearity): the bin's range, samples, mean gain, share gained."""
    a = per[per["method"] == two][["split", "name", "psnr", by]]
    b = per[per["method"] == many][["split", "name", "psnr"]]
    d = a.merge(b, on=["split", "name"], suffixes=("_2", "_n"))
    if d.empty:
        raise ValueError(f"no samples scored by both {two!r} and {many!r}")
    d["gain"] = d["psnr_n"] - d["psnr_2"]
    d["bin"] = pd.qcut(d[by].rank(method="first"), min(bins, len(d)), labels=False)
    g = d.groupby("bin")
    return pd.DataFrame({"by": by, "lo": g[by].min(), "hi": g[by].max(), "n": g.size(), "gain_db": g["gain"].mean(),
                         "gained": g["gain"].apply(lambda x: float((x > 0).mean()))}).reset_index()
