"""Figures for the workbook: scan orders, receptive fields, predictions, benchmark crops, speed.

Each function returns a matplotlib Figure that a person can read without the code: titles say
what is shown, axes are labelled, colour bars have units.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from ..core.io import atomic_write
from ..core.paths import repo_path
from ..core.tables import provenance
from ..models.vfi import scan as scan_ops
from .tables import reference_latency

DIRECTION_NAMES = ("row-major", "column-major", "row-major reversed", "column-major reversed")


def shrink(x: torch.Tensor, max_side: int = 384) -> torch.Tensor:
    """(C, H, W) image downscaled (area) so its longer side is at most ``max_side`` (light figures)."""
    h, w = x.shape[-2:]
    f = max_side / max(h, w)
    if f >= 1:
        return x
    return torch.nn.functional.interpolate(x[None].float(), scale_factor=f, mode="area")[0]


def _img(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def scan_order_figure(frame0: torch.Tensor, frame1: torch.Tensor, mode: str = "interleaved",
                      direction: int = 0, grid: tuple[int, int] = (4, 6)) -> plt.Figure:
    """The token order of one scan direction drawn over both frames (tokens = a coarse grid)."""
    gh, gw = grid
    idx = scan_ops.scan_index(mode, gh, gw)[direction].tolist()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    hw = gh * gw
    for f, (ax, img) in enumerate(zip(axes, (frame0, frame1))):
        im = _img(img)
        ax.imshow(im)
        h, w = im.shape[:2]
        ax.set_title(f"frame {f}")
        ax.set_xticks([]), ax.set_yticks([])
        cy, cx = (np.arange(gh) + 0.5) * h / gh, (np.arange(gw) + 0.5) * w / gw
        for y in np.arange(1, gh) * h / gh:
            ax.axhline(y, color="w", lw=0.5, alpha=0.6)
        for x in np.arange(1, gw) * w / gw:
            ax.axvline(x, color="w", lw=0.5, alpha=0.6)
        seq_frames = [(pos, tok) for pos, tok in enumerate(idx)]
        if not scan_ops.SCANS[mode].cross_frame:          # each frame's sequence holds its own tokens
            seq_frames = [(pos, tok + f * hw) for pos, tok in enumerate(idx)]
        pts = [(pos, (tok % hw) // gw, (tok % hw) % gw) for pos, tok in seq_frames if tok // hw == f]
        xs = [cx[c] for _, _, c in pts]
        ys = [cy[r] for _, r, _ in pts]
        ax.plot(xs, ys, "-", color="yellow", lw=1, alpha=0.8)
        for pos, r, c in pts:
            ax.text(cx[c], cy[r], str(pos), color="k", ha="center", va="center", fontsize=8,
                    bbox=dict(boxstyle="round,pad=0.15", fc="yellow", alpha=0.85, lw=0))
    what = scan_ops.SCANS[mode].about
    fig.suptitle(f"Scan '{mode}', direction {direction} ({DIRECTION_NAMES[direction]}): "
                 f"numbers = position in the sequence\n{what}", fontsize=11)
    fig.tight_layout()
    return fig


def feature_figure(feats: list[torch.Tensor], frame: torch.Tensor, n_channels: int = 4) -> plt.Figure:
    """The first channels of each backbone scale for frame 0 (per-frame features, 2B batch)."""
    fig, axes = plt.subplots(len(feats), n_channels + 1, figsize=(2.2 * (n_channels + 1), 1.9 * len(feats)))
    for i, f in enumerate(feats):
        axes[i, 0].imshow(_img(frame))
        axes[i, 0].set_ylabel(f"scale 1/{2 ** i}\n{f.shape[1]} ch")
        for c in range(n_channels):
            axes[i, c + 1].imshow(f[0, c].detach().cpu().numpy(), cmap="viridis")
            if i == 0:
                axes[i, c + 1].set_title(f"channel {c}")
        for ax in axes[i]:
            ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle("Backbone features of frame 0 at every scale (random init unless a checkpoint is loaded)")
    fig.tight_layout()
    return fig


def effective_receptive_field(model, i0: torch.Tensor, i1: torch.Tensor, level: int = 3
                              ) -> tuple[np.ndarray, np.ndarray]:
    """|d f(centre token) / d I0| and |.. / d I1| summed over channels: two (H, W) maps, where f is the
    frame-0 backbone feature at scale 1/2^level (3: the first LGS stage, 4: the last)."""
    a, b = i0.clone().requires_grad_(), i1.clone().requires_grad_()
    feat = model.features(a, b)[level]
    h, w = feat.shape[-2:]
    feat[0, :, h // 2, w // 2].sum().backward()
    return (a.grad[0].abs().sum(0).numpy(), b.grad[0].abs().sum(0).numpy())


def erf_figure(maps: dict[str, tuple[np.ndarray, np.ndarray]], level: int = 3) -> plt.Figure:
    fig, axes = plt.subplots(2, len(maps), figsize=(3.4 * len(maps), 7.0), squeeze=False)
    for j, (name, (g0, g1)) in enumerate(maps.items()):
        vmax = max(g0.max(), g1.max()) or 1
        for i, g in enumerate((g0, g1)):
            im = axes[i, j].imshow(np.log10(g / vmax + 1e-6), cmap="magma", vmin=-6, vmax=0)
            axes[i, j].set_xticks([]), axes[i, j].set_yticks([])
            share = g.sum() / (g0.sum() + g1.sum() + 1e-30)
            axes[i, j].set_title(f"{name}\nframe {i}: {share:.0%} of gradient", fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.8, label="log10 |gradient| (relative to max)")
    fig.suptitle(f"Effective receptive field: gradient of the centre token of frame 0's 1/{2 ** level} "
                 "backbone feature\nw.r.t. each input frame (percent = share of the total gradient)")
    return fig


def prediction_figure(samples: list[dict], title: str = "") -> plt.Figure:
    """Rows of I0 | prediction | ground truth | I1 | |error| for each sample dict (I0, I1, gt, pred)."""
    cols = ("I0", "pred", "gt", "I1")
    h, w = samples[0]["gt"].shape[-2:]
    fig, axes = plt.subplots(len(samples), 5, figsize=(15, 3.0 * h / w * len(samples) + 0.8), squeeze=False,
                             layout="constrained")
    for r, s in enumerate(samples):
        for c, k in enumerate(cols):
            axes[r, c].imshow(_img(shrink(s[k])))
            axes[r, c].set_title({"I0": "input I0", "pred": "prediction", "gt": "ground truth", "I1": "input I1"}[k]
                                 + (f"  ({s.get('name', '')})" if c == 0 else ""), fontsize=9)
        err = shrink((s["pred"] - s["gt"]).abs().mean(0, keepdim=True))[0].numpy()
        im = axes[r, 4].imshow(err, cmap="inferno", vmin=0, vmax=0.25)
        axes[r, 4].set_title("|prediction - truth|", fontsize=9)
        for ax in axes[r]:
            ax.set_xticks([]), ax.set_yticks([])
    fig.colorbar(im, ax=axes[:, 4].tolist(), shrink=0.8, label="mean abs error (0-1)")
    fig.suptitle(title)
    return fig


def crops_figure(kept: dict[str, list[dict]], index: int = 0, box: tuple[int, int, int] | None = None,
                 max_cols: int = 6, note: str = "") -> plt.Figure:
    """Side-by-side crops of one sample: the inputs, then each method's prediction above its error map
    (title: the method and its whole-frame PSNR), then the ground truth; wrapped after ``max_cols``
    columns. The crop is the region hardest for the methods together unless ``box`` = (y, x, size)."""
    methods = list(kept)
    s0 = kept[methods[0]][index]
    h, w = s0["gt"].shape[-2:]
    if box is None:
        size = min(h, w, 160)
        err = sum((kept[m][index]["pred"] - s0["gt"]).abs().mean(0) for m in methods)
        pooled = torch.nn.functional.avg_pool2d(err[None, None], size, stride=8)[0, 0]
        y, x = divmod(int(pooled.argmax()), pooled.shape[1])
        box = (y * 8, x * 8, size)                           # the hardest region for the methods
    y, x, size = box
    cut = lambda t: t[..., y:y + size, x:x + size]  # noqa: E731
    # one column per entry: (title, top image, bottom image or None, bottom title)
    cols = [("input I0", s0["I0"], s0["I1"], "input I1")]
    for m in methods:
        pred = kept[m][index]["pred"]
        mse = float(((pred.clamp(0, 1) - s0["gt"]) ** 2).mean())
        cols.append((f"{m}\n{-10 * np.log10(max(mse, 1e-10)):.2f} dB", pred,
                     (pred - s0["gt"]).abs().mean(0), f"error: {m}"))
    cols.append(("ground truth", s0["gt"], None, ""))
    ncol = min(len(cols), max_cols)
    nblk = -(-len(cols) // ncol)
    fig, axes = plt.subplots(2 * nblk, ncol, figsize=(2.3 * ncol, 5.0 * nblk), layout="constrained", squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, (title, top, bottom, btitle) in enumerate(cols):
        r, c = 2 * (k // ncol), k % ncol
        axes[r, c].imshow(_img(cut(top)))
        axes[r, c].set_title(title, fontsize=9)
        axes[r, c].axis("on")
        if bottom is not None:
            if bottom.dim() == 3:
                axes[r + 1, c].imshow(_img(cut(bottom)))
            else:
                axes[r + 1, c].imshow(cut(bottom).numpy(), cmap="inferno", vmin=0, vmax=0.25)
            axes[r + 1, c].set_title(btitle, fontsize=9)
            axes[r + 1, c].axis("on")
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"{s0.get('name', '')}: crop at (y={y}, x={x}), {size} px; error maps 0 (black) to 0.25 (white)"
                 + (f"\n{note}" if note else ""))
    return fig


def vs_reference(speed: pd.DataFrame, model: str = "VFIMamba_S", device: str = "H100") -> pd.DataFrame:
    """Inference rows measured on ``device`` beside the reference's latency: ratio = ours / theirs."""
    ref = reference_latency(model, "H200" if "H200" in device else "")
    rows = speed[(speed["mode"] == "infer") & speed["device"].str.contains(device)].copy()
    rows["res"] = rows["res"].astype(str)
    rows = rows[rows["res"].str.replace("_dci", "").isin(ref.index)]
    rows[f"{model} ms"] = rows["res"].str.replace("_dci", "").map(ref)
    rows["ratio"] = rows["median_ms"] / rows[f"{model} ms"]
    cols = ["model", "res", "dtype", "exec", "kernels", "scale", "tile", "median_ms", "peak_gib", f"{model} ms", "ratio"]
    return rows[[c for c in cols if c in rows]].reset_index(drop=True)


GRID_RESOLUTIONS = ("256", "720p", "1080p", "4k")


def speed_grid(speed: pd.DataFrame, model: str = "small", device: str = "H100", execs=("eager", "compiled+graph"),
               bf16_suffix: str = "@ssm_autocast", ref_model: str = "VFIMamba_S") -> pd.DataFrame:
    """The latency/memory grid of the speed issue: rows = resolutions (and 4K with flow at 0.25, the
    ``<model>+flow_feature`` rows), columns = (dtype, exec, ms | GiB | x ref). fp32 cells are the plain
    model label, bf16 cells the label with ``bf16_suffix`` (bf16 SSD inputs); fused-kernel inference
    rows of ``device`` only.
    ``x ref`` = ours / the reference's fp32 latency at that resolution (its 4K figure is with flow at
    0.25). A cell never measured stays NaN, and so does a peak whose row's note calls it under-reported."""
    inf = speed[(speed["mode"] == "infer") & speed["device"].astype(str).str.contains(device)
                & (speed["kernels"].fillna("plain") == "fused") & (speed["tile"].fillna(0) == 0)]
    inf = inf.assign(res=inf["res"].astype(str))
    ref = reference_latency(ref_model, "H200" if "H200" in device else "")
    rows = {r: (r, model, 1.0) for r in GRID_RESOLUTIONS} | {"4k, flow at 0.25": ("4k", f"{model}+flow_feature", 0.25)}
    cells = {}
    for row, (res, stem, scale) in rows.items():
        for dtype in ("fp32", "bf16"):
            label = stem + (bf16_suffix if dtype == "bf16" else "")
            for exe in execs:
                hit = inf[(inf["model"] == label) & (inf["res"] == res) & (inf["dtype"] == dtype)
                          & (inf["exec"] == exe) & (inf["scale"].astype(float) == scale)]
                ms, gib = (hit.iloc[-1]["median_ms"], hit.iloc[-1]["peak_gib"]) if len(hit) else (float("nan"),) * 2
                cells[(row, dtype, exe, "ms")] = ms
                cells[(row, dtype, exe, "GiB")] = gib
                cells[(row, dtype, exe, f"x {ref_model}")] = ms / ref.get(res, float("nan"))
    grid = pd.Series(cells).unstack([1, 2, 3])
    return grid.reindex(list(rows))


def speed_figure(speed: pd.DataFrame, ref_model: str = "VFIMamba_S") -> plt.Figure:
    """Latency vs resolution per model/dtype, beside VFIMamba's H100 figures (dashed, measured elsewhere)."""
    order = ["256", "720p", "1080p", "4k"]
    fig, ax = plt.subplots(figsize=(12, 5))
    inf = speed[speed["mode"] == "infer"] if "mode" in speed else speed
    inf = inf.assign(res=inf["res"].astype(str))          # "256" reads back from CSV as a number
    if "tile" in inf:
        inf = inf[inf["tile"].fillna(0) == 0]
    if "scale" not in inf:
        inf = inf.assign(scale=1.0)
    inf = inf.assign(kernels=inf["kernels"].fillna("plain") if "kernels" in inf else "plain")
    for (device, model, dtype, exe, kern, scale), g in inf.groupby(["device", "model", "dtype", "exec", "kernels",
                                                                     "scale"]):
        g = g.set_index("res").reindex([r for r in order if r in set(g["res"])])
        if g.empty:
            continue
        at = f", flow at {scale:g}" if scale != 1 else ""
        fused = ", fused" if kern == "fused" else ""
        ax.plot([order.index(r) for r in g.index], g["median_ms"], "o-" if "CPU" not in device else "x:",
                label=f"vfilib {model} ({dtype}, {exe}{fused}{at}) on {device[:22]}")
    ref = reference_latency(ref_model).reindex([r for r in order])
    ref = ref.dropna()
    ax.plot([order.index(r) for r in ref.index], ref.to_numpy(), "s--", alpha=0.6,
            label=f"{ref_model} (H100 fp32, measured separately: vfilib/reports/reference.csv)")
    ax.set_yscale("log")
    ax.set_xticks(range(len(order)), order)
    ax.set_xlabel("input resolution")
    ax.set_ylabel("latency per frame pair (ms, median, log scale)")
    ax.set_title("Inference latency vs resolution")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def flow_to_rgb(flow: torch.Tensor, max_mag: float | None = None) -> np.ndarray:
    """(2, H, W) flow in pixels -> (H, W, 3) colours: hue = direction, saturation = magnitude."""
    import cv2

    fx, fy = flow[0].float().numpy(), flow[1].float().numpy()
    mag, ang = cv2.cartToPolar(fx, fy)
    max_mag = max_mag or float(np.percentile(mag, 99)) or 1.0
    hsv = np.zeros((*fx.shape, 3), np.uint8)
    hsv[..., 0] = (ang * 90 / np.pi).astype(np.uint8)
    hsv[..., 1] = np.clip(mag / max_mag * 255, 0, 255).astype(np.uint8)
    hsv[..., 2] = 255
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def flow_figure(i0: torch.Tensor, i1: torch.Tensor, pred: torch.Tensor, aux: dict, title: str = "") -> plt.Figure:
    """Inputs, prediction, both intermediate flows (colour wheel), and the blend mask of one sample."""
    fl, m = aux["flow"][0].cpu(), torch.sigmoid(aux["mask_logit"][0, 0]).cpu().numpy()
    mag = float(fl.norm(dim=0).max()) or 1.0
    h, w = i0.shape[-2:]
    fig, axes = plt.subplots(2, 3, figsize=(12, 8 * h / w + 1), layout="constrained")
    panels = [("input I0", _img(i0[0])), ("prediction at t", _img(pred[0])), ("input I1", _img(i1[0])),
              ("flow t->0", flow_to_rgb(fl[:2], mag)), ("flow t->1", flow_to_rgb(fl[2:4], mag))]
    for ax, (name, img) in zip(axes.flat, panels):
        ax.imshow(img)
        ax.set_title(name, fontsize=10)
    im = axes[1, 2].imshow(m, cmap="coolwarm", vmin=0, vmax=1)
    axes[1, 2].set_title("blend mask (1: warped I0)", fontsize=10)
    fig.colorbar(im, ax=axes[1, 2], shrink=0.7)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"{title}\nflow colours: hue = direction, saturation = magnitude (max {mag:.1f} px)")
    return fig


class Saved(list):
    """The files a figure was saved to; a notebook shows them as one short line."""

    def __repr__(self) -> str:
        return "saved: " + ", ".join(p.relative_to(repo_path()).as_posix() if p.is_relative_to(repo_path()) else str(p)
                                     for p in self)


def save_figure(fig, name: str, results_dir: str | Path, dpi: int = 110, vector: bool = False) -> Saved:
    """``results/figures/<name>.png`` (and ``.pdf`` for line plots: ``vector=True``), written atomically,
    stamped with how it was made: a footer line (commit, date, device, profile; SMOKE in red where the
    profile's numbers only prove the code runs) and the same text in the file's metadata."""
    text = stamp_text()
    smoke = "SMOKE" in text
    fig.canvas.draw()                       # a layout engine places the axes now, then leaves them:
    fig.set_layout_engine("none")           # the footer below them must not pull them down over it
    box = fig.get_tightbbox(fig.canvas.get_renderer())               # inches: below everything drawn
    fig.text(box.x0 / fig.get_figwidth(), (box.y0 - 0.04) / fig.get_figheight(), text, fontsize=6.5,
             color="tab:red" if smoke else "0.35", ha="left", va="top", transform=fig.transFigure)
    out = Saved()
    for ext in ("png", "pdf") if vector else ("png",):
        path = repo_path(results_dir) / "figures" / f"{name}.{ext}"      # relative: from the repository root
        meta = {"Description" if ext == "png" else "Subject": text, "Software" if ext == "png" else "Creator": "vfilib"}
        atomic_write(path, lambda f, ext=ext, meta=meta: fig.savefig(f, format=ext, dpi=dpi, bbox_inches="tight",
                                                                     metadata=meta), mode="wb")
        out.append(path)
    show_inline(fig)
    plt.close(fig)
    return out


def show_inline(fig) -> None:
    """Show ``fig`` in the notebook that made it (JupyterLab, and the executed copies of batch runs);
    nothing elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        display(fig)


def stamp_text() -> str:
    """One line saying how a figure was made (its provenance; SMOKE where the profile says so)."""
    p = provenance()
    smoke = " · SMOKE: a smoke run proves the code runs, it ranks nothing" if p["profile"].endswith("(SMOKE)") else ""
    return (f"vfilib {p['commit']} · {p['date']} · {p['device']} · profile {p['profile'].replace(' (SMOKE)', '')}"
            + smoke)


def grid_figure(table: pd.DataFrame, main: str, title: str, smoke: bool = False) -> plt.Figure:
    """Validation PSNR of each experiment minus the main one's (bars from zero; error bars: the spread
    over seeds where a grid ran several)."""
    g = table.groupby(["experiment", "what"], dropna=False)["val_psnr"]
    stats = g.agg(["mean", "std", "count"]).reset_index()
    base = stats.loc[stats["experiment"] == main, "mean"]
    if base.empty:
        raise ValueError(f"the grid has no row of the main experiment {main!r}")
    stats["delta"] = stats["mean"] - float(base.iloc[0])
    stats = stats.sort_values("delta")
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(stats) + 1.6))
    labels = stats["experiment"] + ": " + stats["what"].fillna("")
    bars = ax.barh(labels, stats["delta"], xerr=stats["std"].fillna(0),
                   color=["tab:red" if e == main else "tab:blue" for e in stats["experiment"]])
    ax.axvline(0, color="k", lw=0.8)
    ax.margins(x=0.25)
    ax.bar_label(bars, labels=[f"{d:+.3f}" for d in stats["delta"]], padding=3, fontsize=8)
    seeds = int(stats["count"].max())
    ax.set_xlabel(f"validation PSNR minus {main}'s ({float(base.iloc[0]):.2f} dB); "
                  + (f"error bars: std over {seeds} seeds" if seeds > 1 else "one seed each, no spread"))
    note = "\nSMOKE RUN: far too short to rank the variants" if smoke else ""
    ax.set_title(f"{title}{note}", fontsize=10)
    fig.tight_layout()
    return fig


def t_sweep_figure(outs: list[torch.Tensor], ts: list[float], title: str) -> plt.Figure:
    """The model's frame at several t side by side."""
    h, w = outs[0].shape[-2:]
    fig, axes = plt.subplots(1, len(ts), figsize=(3.2 * len(ts), 3.2 * h / w + 0.6), layout="constrained")
    for ax, t, o in zip(axes, ts, outs):
        ax.imshow(_img(o[0])), ax.set_title(f"t = {t}"), ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title)
    return fig


def curriculum_figure() -> plt.Figure:
    """Crop size and maximum X-TRAIN gap against training progress (the Phase-3 curriculum)."""
    from ..data.curriculum import crop_at, gap_at

    p = np.linspace(0, 1, 201)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(p * 100, [crop_at(x) for x in p], label="crop size (px)")
    ax2 = ax.twinx()
    ax2.plot(p * 100, [gap_at(x) for x in p], color="tab:orange", label="max frame gap")
    ax.set_xlabel("training progress (% of curriculum_T epochs)"), ax.set_ylabel("crop (px)"), ax2.set_ylabel("max gap")
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
    ax.set_title("Phase-3 curriculum")
    fig.tight_layout()
    return fig


def learning_curve_figure(metrics: pd.DataFrame, reference: dict, title: str) -> plt.Figure:
    """Held-out PSNR per level against samples seen (from a run's metrics.csv), beside a peer's
    constant line per level (``reference``: {"psnr_easy": .., ...} of e.g. RIFE HDv3)."""
    import json

    val = metrics.dropna(subset=["val_psnr"]).copy()
    levels = [json.loads(v) if isinstance(v, str) and v else {} for v in val["val_levels"]]
    names = [k for k in ("easy", "medium", "hard", "extreme") if any(k in lv for lv in levels)]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k, name in enumerate(names + ["mean"]):
        ys = [lv.get(name) for lv in levels] if name != "mean" else list(val["val_psnr"])
        ref = reference.get(f"psnr_{name}" if name != "mean" else "psnr")
        base = ref if ref is not None else 0.0
        ax.plot(val["samples"] / 1e3, [y - base for y in ys], "o-", color=f"C{k}", label=f"{name}")
    ax.axhline(0, color="k", lw=1, ls="--", label=f"{reference.get('peer', 'reference')} (each level's own line)")
    ax.set_xlabel("training samples seen (thousands)")
    ax.set_ylabel("held-out PSNR minus the peer's (dB)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
