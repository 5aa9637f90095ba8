"""N-frame evaluation helpers: which window a method takes, and where the extra frames should help.

* :func:`context_frames_of`: N of a vfilib model or an interpolator (2: a pair, no context passed);
* :func:`narrow_context`: a wider window's context cut to the N a method takes (the inner frames);
* :func:`motion_stats`: per sample, the motion (mean |F_0->1|, pixels) and its non-linearity, the
  distance of the true frame's flow from the point the linear path predicts, mean |F_0->t - t F_0->1|
  (OpenCV DIS flow on the ground truth), as the figure of notebook 10 bins the N-frame gain by them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch


def context_frames_of(method) -> int:
    """N of a method: ``cfg.context_frames`` of a vfilib model, ``context_frames`` of an interpolator, else 2."""
    cfg = getattr(method, "cfg", None)
    if cfg is not None and hasattr(cfg, "context_frames"):
        return int(cfg.context_frames)
    return int(getattr(method, "context_frames", 2))


def narrow_context(context: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, M-2, ...) context of an M-frame window -> (B, N-2, ...) of the N = ``frames`` window inside it
    (the k-1 frames nearest before I0 and after I1); M < N is an error (the frames are not there)."""
    have = context.shape[1] + 2
    if frames > have:
        raise ValueError(f"a {frames}-frame method needs {frames - 2} context frames; the sample has {have - 2}")
    kh, k = have // 2, frames // 2
    return torch.cat([context[:, kh - k:kh - 1], context[:, kh - 1:kh - 1 + k - 1]], 1)


def _u8(x: torch.Tensor) -> np.ndarray:
    return (x.detach().clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).cpu().numpy()


def motion_stats(i0: torch.Tensor, gt: torch.Tensor, i1: torch.Tensor, t: float) -> dict[str, float]:
    """(3, H, W) frames in [0, 1] -> {"motion": mean |F_0->1|, "nonlinearity": mean |F_0->t - t F_0->1|} (px)."""
    from .temporal import flow

    a, g, b = (_u8(x) for x in (i0, gt, i1))
    f01, f0t = flow(a, b), flow(a, g)
    return {"motion": float(np.linalg.norm(f01, axis=-1).mean()),
            "nonlinearity": float(np.linalg.norm(f0t - t * f01, axis=-1).mean())}


def gain_table(per_two: pd.DataFrame, per_many: pd.DataFrame, stats: pd.DataFrame, by: str, bins: int = 3) -> pd.DataFrame:
    """PSNR gain of the N-frame method over the 2-frame one per sample (rows matched by ``name``), binned
    into ``bins`` quantiles of ``stats[by]``: bin, its range, samples, mean gain, share of samples gained."""
    d = per_two[["name", "psnr"]].merge(per_many[["name", "psnr"]], on="name", suffixes=("_2", "_n"))
    d = d.merge(stats[["name", by]], on="name")
    d["gain"] = d["psnr_n"] - d["psnr_2"]
    d["bin"] = pd.qcut(d[by].rank(method="first"), min(bins, len(d)), labels=False)
    g = d.groupby("bin")
    return pd.DataFrame({f"{by}_lo": g[by].min(), f"{by}_hi": g[by].max(), "n": g.size(),
                         "gain_db": g["gain"].mean(), "gained": g["gain"].apply(lambda x: float((x > 0).mean()))}
                        ).reset_index()
