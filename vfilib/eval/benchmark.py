"""Benchmark protocols as data, one harness that runs any interpolator over any loader.

A :class:`Protocol` holds every choice that changes a number: padding multiple, flow scale,
rounding the prediction to 8 bits before the metrics, test-time augmentation (average with the
180-degree-rotated pass), the channel order fed to the method (None: the method's own), 2K/4K
resize, and direct-t or recursive multi-frame interpolation. Each result row records all of them,
plus provenance (commit, device, date), the data and split, the checkpoint, and the window the method
took (``frames``: 2, or N for an N-frame model fed its context where the benchmark holds the frames).

    python -m vfilib.eval --bench embedded --peers blend dis rife_hdv3
    python -m vfilib.eval --bench snu_film --path /data/SNU-FILM --ckpt runs/exp1c/best.pt
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..data import datasets as D
from ..core.tensors import pad_to
from ..data.clips import multi_frame
from ..data.io import rgb_to_bgr
from ..data.shots import pick_evenly
from ..core.paths import ENV, folder, repo_path
from ..core.tables import append_rows, provenance
from .interpolators import Interpolator
from .metrics import LPIPS, interpolation_error, psnr, quantize, ssim_matlab
from .interpolators import RecursiveT
from .nframe import context_frames_of, narrow_context


@dataclass(frozen=True)
class Protocol:
    pad_multiple: int = 1
    flow_scale: float = 1.0
    round_uint8: bool = False
    tta: bool = False
    channel_order: str | None = None       # None: the method's own order
    resolution: str = "native"             # native | 2k | 4k
    multi: str = "direct"                  # direct t | recursive (bisection with t = 0.5)
    ie: bool = False                       # Middlebury interpolation error
    crop: int = 0                          # > 0: centre crop of this size before inference (quick CPU checks)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: adding one is an entry here and its loader (``vfilib/data/datasets.py``).

    ``loader(root, split) -> dataset``; ``splits``: its levels; ``env``: the environment variable that
    names its folder (default folder: :func:`vfilib.core.paths.folder`); ``layout``: what the folder
    holds; ``prepare``: the command that makes the folder, for the sets vfilib prepares itself."""

    name: str
    data: str                              # what the numbers are on, for the tables
    splits: tuple[str, ...]
    loader: Callable                       # (root, split) -> dataset
    protocol: Protocol
    env: str
    layout: str
    prepare: str = ""
    context: bool = False                  # the loader takes frames=N (N-frame windows: context frames)

    def default_root(self) -> Path | None:
        return folder(self.env)

    def root(self, path: str | Path | None = None) -> Path | None:
        """``path``, else the default folder; a prepared set that is not there names its command."""
        root = Path(path).expanduser() if path else self.default_root()
        if self.prepare and (root is None or not (root / "manifest.json").is_file()):
            raise FileNotFoundError(f"--bench {self.name}: the set it reads is not prepared ({root} has no "
                                    f"manifest.json); prepare it with `{self.prepare}`")
        if root is None:
            raise FileNotFoundError(f"--bench {self.name}: no folder given; pass --path or set {self.env} "
                                    f"(see data/README.md). Expected layout:\n{self.layout}")
        return root


PREPARED_LAYOUT = ("  <root>/manifest.json, test-{easy,medium,hard,extreme}.txt (I0 GT I1 per line), "
                   "frames/<clip>/<frame>.png")

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in [
    Benchmark("embedded", "embedded clips (not a standard benchmark)", D.SNU_LEVELS,
              lambda root, split, frames=2: D.snu_film(root, split, frames), Protocol(pad_multiple=32, round_uint8=True),
              ENV["embedded"], PREPARED_LAYOUT, "python -m vfilib.data.prepare embedded", context=True),
    Benchmark("live", "live-action held-out shots (test split of the prepared live set)", D.SNU_LEVELS,
              lambda root, split, frames=2: D.snu_film(root, split, frames), Protocol(pad_multiple=32, round_uint8=True),
              ENV["live"], PREPARED_LAYOUT, "python -m vfilib.data.prepare live", context=True),
    Benchmark("embedded_8x", "embedded clips, 8x windows of the test shots (X-TEST's protocol; not X-TEST)", ("8x",),
              lambda root, split: multi_frame(root, "test", 8), Protocol(pad_multiple=32, round_uint8=True),
              ENV["embedded"], PREPARED_LAYOUT, "python -m vfilib.data.prepare embedded"),
    Benchmark("vimeo90k", "Vimeo90K triplet test", ("test",), lambda root, split: D.vimeo_triplets(root, split),
              Protocol(), ENV["vimeo"], D.VIMEO_LAYOUT),
    Benchmark("vimeo_septuplet", "Vimeo90K septuplet test, im3 im5 -> im4 (context im1, im7)", ("test",),
              lambda root, split, frames=2: D.vimeo_septuplet_test(root, frames), Protocol(),
              ENV["vimeo"], D.VIMEO_LAYOUT, context=True),
    Benchmark("ucf101", "UCF101 (DVF)", ("test",), lambda root, split: D.ucf101(root),
              Protocol(round_uint8=True), "VFILIB_UCF101", D.UCF_LAYOUT),
    Benchmark("snu_film", "SNU-FILM", D.SNU_LEVELS, lambda root, split, frames=2: D.snu_film(root, split, frames),
              Protocol(pad_multiple=32, flow_scale=0.5), "VFILIB_SNUFILM", D.SNU_LAYOUT, context=True),
    Benchmark("middlebury", "Middlebury Other", ("other",), lambda root, split: D.middlebury_other(root),
              Protocol(pad_multiple=32, ie=True), "VFILIB_MIDDLEBURY", D.MIDDLEBURY_LAYOUT),
    Benchmark("xtest_4k", "X-TEST 8x (4K)", ("4k",), lambda root, split: D.x4k_test(root, "4k"),
              Protocol(pad_multiple=32, flow_scale=0.25, round_uint8=True, resolution="4k"), ENV["x4k"], D.X4K_LAYOUT),
    Benchmark("xtest_2k", "X-TEST 8x (2K, INTER_AREA)", ("2k",), lambda root, split: D.x4k_test(root, "2k"),
              Protocol(pad_multiple=32, flow_scale=0.5, round_uint8=True, resolution="2k"), ENV["x4k"], D.X4K_LAYOUT),
]}


def centre_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The centre ``size`` x ``size`` of (..., H, W) (all of it where smaller; 0: unchanged)."""
    if not size:
        return x
    h, w = x.shape[-2:]
    y, z = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return x[..., y:y + size, z:z + size]


def predict(interp: Interpolator, i0, i1, t: torch.Tensor, p: Protocol, context: torch.Tensor | None = None) -> torch.Tensor:
    """One prediction under a protocol: channel order, padding, optional 180-degree TTA, recursion.
    ``context`` (N-frame methods): (B, N-2, 3, H, W), treated as the pair is."""
    h, w = i0.shape[-2:]
    if p.multi == "recursive" or (not interp.supports_any_t and not torch.allclose(t, torch.full_like(t, 0.5))):
        interp = RecursiveT(interp)                   # an N-frame base: each halving step gets its window
    flip = p.channel_order is not None and p.channel_order != interp.channel_order
    a, b = (rgb_to_bgr(x) if flip else x for x in (i0, i1))
    a, b = pad_to(a, p.pad_multiple)[0], pad_to(b, p.pad_multiple)[0]
    kw = {}
    if context is not None:
        c = rgb_to_bgr(context.flatten(0, 1)) if flip else context.flatten(0, 1)
        kw["context"] = pad_to(c, p.pad_multiple)[0].unflatten(0, context.shape[:2])
    out = interp(a, b, t, p.flow_scale, **kw)
    if p.tta:
        kw = {k: v.flip(-2, -1) for k, v in kw.items()}
        out = (out + interp(a.flip(-2, -1), b.flip(-2, -1), t, p.flow_scale, **kw).flip(-2, -1)) / 2
    out = out[..., :h, :w]
    return rgb_to_bgr(out) if flip else out


def evaluate(interp: Interpolator, dataset, protocol: Protocol, device="cpu", max_samples: int | None = None,
             lpips: LPIPS | None = None, progress: bool = True, keep: int = 0):
    """Per-sample metrics (DataFrame) of ``interp`` on ``dataset``; ``keep`` first predictions returned too."""
    rows, kept = [], []
    n_frames = context_frames_of(interp)
    n = len(dataset) if not max_samples else min(max_samples, len(dataset))
    order = pick_evenly(list(range(len(dataset))), n)      # evenly spaced over the whole list
    for i, j in enumerate(tqdm(order, desc=interp.name, disable=not progress, leave=False)):
        s = dataset[j]
        i0, i1, gt = (centre_crop(s[k][None], protocol.crop).to(device) for k in ("I0", "I1", "gt"))
        ctx = None
        if n_frames > 2 and "context" in s:
            ctx = centre_crop(narrow_context(s["context"][None], n_frames), protocol.crop).to(device)
        t = torch.tensor([float(s["t"])], device=device)
        if device != "cpu" and torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        pred = predict(interp, i0, i1, t, protocol, ctx).float().clamp(0, 1)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        if protocol.round_uint8:
            pred = quantize(pred)
        row = {"name": s["name"], "t": float(s["t"]), "psnr": psnr(pred, gt).item(),
               "ssim": ssim_matlab(pred, gt).item(), "seconds": dt, "frames": n_frames if ctx is not None else 2}
        if protocol.ie:
            row["ie"] = interpolation_error(pred, torch.round(gt * 255)).item()
        if lpips is not None:
            row["lpips"] = lpips(pred, gt).item()
        rows.append(row)
        if i < keep:
            kept.append({"I0": s["I0"], "I1": s["I1"], "gt": s["gt"], "pred": pred[0].cpu(), "name": s["name"]})
    return pd.DataFrame(rows), kept


def summary_row(bench: Benchmark, split: str, method: str, per_sample: pd.DataFrame, protocol: Protocol,
                device, checkpoint: str = "", root: Path | str = "") -> dict:
    row = {"bench": bench.name, "split": split, "method": method, "n": len(per_sample),
           "psnr": per_sample["psnr"].mean(), "ssim": per_sample["ssim"].mean()}
    for k in ("ie", "lpips"):
        if k in per_sample:
            row[k] = per_sample[k].mean()
    row["sec_per_frame"] = per_sample["seconds"].median()
    row["frames"] = int(per_sample["frames"].max()) if "frames" in per_sample and len(per_sample) else 2
    row["data"] = bench.data
    row["data_root"] = str(root)
    row.update({f"proto_{k}": v for k, v in dataclasses.asdict(protocol).items()})
    row["checkpoint"] = checkpoint
    row.update(provenance(device))
    return row


def run(bench_name: str, interps: list[Interpolator], root=None, splits=None, device="cpu",
        max_samples: int | None = None, lpips: str | None = None, out: str | Path | None = "results/benchmarks.csv",
        checkpoints: dict[str, str] | None = None, protocol_overrides: dict | None = None, progress: bool = True) -> pd.DataFrame:
    """Evaluate every interpolator on every split of a benchmark; append rows (atomically) to ``out``."""
    bench = BENCHMARKS[bench_name]
    root = bench.root(root)
    protocol = dataclasses.replace(bench.protocol, **(protocol_overrides or {}))
    metric = LPIPS(lpips).to(device) if lpips else None
    rows = []
    n = max(context_frames_of(i) for i in interps)
    if n > 2 and not bench.context:
        print(f"[eval] {bench.name} holds no context frames: the {n}-frame methods see the pair alone")
    for split in splits or bench.splits:
        ds = bench.loader(root, split, frames=n) if n > 2 and bench.context else bench.loader(root, split)
        for interp in interps:
            per, _ = evaluate(interp, ds, protocol, device, max_samples, metric, progress)
            row = summary_row(bench, split, interp.name, per, protocol, device,
                              (checkpoints or {}).get(interp.name, ""), root)
            rows.append(row)
            if out:        # each row as soon as it exists (a relative path: from the repository root): a later split failing keeps the earlier ones
                append_rows(repo_path(out), [row], key=["bench", "split", "method", "data_root", "checkpoint"])
    table = pd.DataFrame(rows)
    return table
