"""Does adapting to the clip pay? ``python -m vfilib.train.adapt_eval``: adapted against unadapted, same targets.

For each held-out live-action test shot (the test split of the prepared live set) and each level
(gap G = 2 / 4 / 6 / 8 frames, the live benchmark's levels), the **input clip** is the shot subsampled
at G (F_s, F_s+G, F_s+2G, ...) and the **targets** are frames halfway between two inputs
(F_s+G/2+kG), chosen as the live benchmark chooses its windows (no repeated frame inside, the middle
frame between its ends: :func:`vfilib.data.prepare.triplets`). Only the input clip is given to
:func:`vfilib.train.adapt.adapt`: no target is ever among the frames it sees (asserted here, and a test
records every frame it receives). The unadapted and the adapted model are scored on the same targets
as the live benchmark scores them (centre crop, padding to 32, rounded to 8 bits; PSNR, SSIM, LPIPS),
for every method; the adapted rows compare adapted with adapted.

    python -m vfilib.train.adapt_eval --methods vfilib rife_hdv3 rife_v39 --device cuda --amp bf16
    OMP_NUM_THREADS=1 python -m vfilib.train.adapt_eval --size smoke --device cpu   # minutes of CPU: it runs

Per-sample scores go to ``results/live/adapt_samples.csv`` and one row per adapted clip (its report:
triplets, steps, seconds, loss on its own triplets) to ``adapt_clips.csv``, each tagged with the
protocol's and the adaptation's settings (JSON) and provenance; ``adapt.csv`` then holds one row per
method, adapted or not, and level (and the mean over the four levels), rebuilt from every sample of
those settings: a run too long for one sitting can be split by ``--methods``, ``--clips`` or ``--levels``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..core.paths import DataPaths, repo_path
from ..core.tables import append_rows, provenance
from ..data.datasets import SNU_LEVELS
from ..data.prepare import LEVEL_GAPS, load_manifest
from ..data.shots import Shot, balanced_motion, clean_windows, pair_signals, FrameSignature, pick_evenly
from ..data.video import VideoError, decode_video
from ..eval.benchmark import BENCHMARKS, centre_crop, evaluate
from ..eval.interpolators import Interpolator
from ..eval.metrics import LPIPS
from . import adapt as A

DATA = "live-action held-out shots (test split of the prepared live set), inputs subsampled at the level's gap"


@dataclass(frozen=True)
class AdaptBench:
    """The protocol's size: which shots, how many targets, what is scored."""

    levels: tuple[str, ...] = SNU_LEVELS
    clips: tuple[str, ...] = ()       # only these clips' test shots (empty: all)
    shots: int = 0                    # at most this many shots, evenly picked from the longest down (0: all)
    targets: int = 8                  # targets per shot and level, evenly picked
    max_inputs: int = 0               # input frames per clip, from the shot's start (0: the whole shot)
    crop: int = 384                   # centre crop scored (the live benchmark's headline crop)
    size: str = "full"                # "smoke": a CPU run that proves the code runs; its rows say SMOKE
    split: str = "test"               # "val": tune the adaptation's settings on the validation shots


#: the protocol's sizes: ``full`` for a GPU, ``smoke`` for a few minutes of CPU (OMP_NUM_THREADS=1 on a
#: shared machine: the small model's steps are 4x slower with two contending threads)
SIZES = {
    "full": (AdaptBench(), A.AdaptConfig(steps=100, batch_size=8, crop=256, lr=1e-5)),
    "smoke": (AdaptBench(levels=("easy", "hard"), clips=("kivy_city", "pexels_face"), shots=2, targets=2,
                         max_inputs=8, crop=128, size="smoke"),      # 128: the any-t RIFEs' padding multiple
              A.AdaptConfig(steps=4, batch_size=2, crop=128, lr=1e-5, warmup=2, eval_triplets=2, eval_crop=128)),
}


# ----------------------------------------------------------------------------- the plan of one clip
def level_plan(shot: Shot, gap: int, diff: np.ndarray, repeats: set[int], targets: int,
               max_inputs: int = 0) -> tuple[list[int], list[tuple[int, int, int]]]:
    """(input frame indices, targets as (I0, gt, I1) indices) of one shot at one level's gap: the inputs
    are every ``gap``-th frame from the shot's start; a target is the middle of two neighbouring inputs
    whose window is clean and balanced. Indices are the clip's (absolute)."""
    if gap < 2 or gap % 2:
        raise ValueError(f"level gap must be even and >= 2, got {gap}")
    inputs = list(range(shot.start, shot.end, gap))[:max_inputs or None]
    ok = set(clean_windows(Shot(shot.clip, inputs[0], inputs[-1] + 1), gap, gap, repeats))
    cands = [(a, a + gap // 2, a + gap) for a in inputs[:-1] if a in ok and balanced_motion(diff, a, gap)]
    plan = pick_evenly(cands, targets)
    leaked = {gt for _, gt, _ in plan} & set(inputs)
    if leaked:                                     # cannot happen with an even gap; guards an edit
        raise AssertionError(f"targets {sorted(leaked)} are among the inputs")
    return inputs, plan


def samples_of(frames: torch.Tensor, first: int, plan, crop: int, name: str) -> list[dict]:
    """Scoring samples (the benchmark's dict: I0, gt, I1 (3, h, w) float, t, name), centre-cropped;
    ``frames`` (T, H, W, 3) uint8 starts at frame ``first``."""
    f = lambda i: centre_crop(frames[i - first].permute(2, 0, 1).float().div(255), crop)   # noqa: E731
    return [{"I0": f(a), "gt": f(m), "I1": f(b), "t": 0.5, "name": f"{name}/{m}"} for a, m, b in plan]


# ----------------------------------------------------------------------------- shots
def test_shots(manifest: dict, bench: AdaptBench, split: str = "test") -> list[Shot]:
    shots = [Shot(**d) for d in manifest.get("shots", []) if d["split"] == split
             and (not bench.clips or d["clip"] in bench.clips)]
    if not shots:
        raise FileNotFoundError(f"no {split} shots{' of ' + ', '.join(bench.clips) if bench.clips else ''} "
                                "in the manifest; prepare the live set (python -m vfilib.data.prepare live)")
    shots.sort(key=lambda s: (-len(s), s.clip, s.start))
    return sorted(pick_evenly(shots, bench.shots) if bench.shots else shots, key=lambda s: (s.clip, s.start))


def decode_shots(shots: list[Shot], videos: dict[str, Path], manifest: dict, ends: dict[tuple, int]) -> list:
    """(shot, (T, H, W, 3) uint8 frames from ``shot.start``) per shot, up to ``ends[(clip, start)]``
    (exclusive): each video decoded once, streaming, keeping only those frames; the decoded frames'
    differences are checked against the manifest's (another decoder could shift them)."""
    out = []
    for clip in sorted({s.clip for s in shots}):
        mine = [s for s in shots if s.clip == clip]
        want = {s.start: ends[(clip, s.start)] for s in mine}
        kept: dict[int, list] = {s: [] for s in want}
        for i, frame in enumerate(decode_video(videos[clip])):
            for s, e in want.items():
                if s <= i < e:
                    kept[s].append(frame)
            if i + 1 >= max(want.values()):
                break
        for s in mine:
            frames = np.stack(kept[s.start])
            check_frames(frames, s.start, manifest["clips"][clip]["diff"], videos[clip])
            out.append((s, torch.from_numpy(frames)))
    return out


def check_frames(frames: np.ndarray, start: int, diff: list[float], source, pairs: int = 32, tol: float = 0.5) -> None:
    """The pair differences of frames decoded from ``start`` match the manifest's (0-255 scale)."""
    sigs = [FrameSignature.of(f) for f in frames[:pairs + 1]]
    here = np.array([pair_signals(a, b)[0] for a, b in zip(sigs[:-1], sigs[1:])])
    err = float(np.abs(here - np.array(diff[start:start + len(here)])).mean()) if len(here) else 0.0
    if err > tol:
        raise VideoError(f"{source}: frames from {start} do not line up with the prepared manifest (mean signal "
                         f"difference {err:.2f}); prepare the set on this machine")


# ----------------------------------------------------------------------------- the run
def score(interp: Interpolator, samples: list[dict], device, lpips) -> pd.DataFrame:
    protocol = dataclasses.replace(BENCHMARKS["live"].protocol, crop=0)       # samples are cropped already
    return evaluate(interp, samples, protocol, device, None, lpips, progress=False)[0]


def run_clip(methods: dict[str, Interpolator], clip: torch.Tensor, samples: list[dict], cfg: A.AdaptConfig,
             device, lpips, label: dict, progress: bool = False) -> tuple[list[pd.DataFrame], list[dict]]:
    """Every method unadapted and adapted (on ``clip`` only) scored on ``samples``; per-sample frames
    (labelled) and one report row per method."""
    per, reports = [], []
    for name, interp in methods.items():
        base = score(interp, samples, device, lpips)
        adapted, report = A.adapt(interp, clip, cfg, device, progress)
        tuned = score(adapted, samples, device, lpips)
        del adapted
        for df, flag in ((base, False), (tuned, True)):
            per.append(df.assign(method=name, adapted=flag, **label))
        reports.append({"method": name, **label, "frames": report.frames, "triplets": report.triplets,
                        "cuts": len(report.cuts), "steps": report.steps, "samples": report.samples,
                        "seconds": report.seconds, "train_seconds": report.train_seconds,
                        "loss_before": report.loss_before, "loss_after": report.loss_after,
                        "psnr_gain_targets": tuned["psnr"].mean() - base["psnr"].mean()})
    return per, reports


def run(methods: dict[str, Interpolator], bench: AdaptBench, cfg: A.AdaptConfig, device="cpu",
        cache: str | Path | None = None, videos: dict[str, Path] | None = None, lpips: str | None = "alex",
        progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-sample scores, per-clip reports) of the protocol on the prepared live set in ``cache``."""
    cache = Path(cache or DataPaths().live)
    manifest = load_manifest(cache)
    shots = test_shots(manifest, bench, bench.split)
    plans = {}
    for s in shots:
        entry = manifest["clips"][s.clip]
        diff, reps = np.asarray(entry["diff"]), set(entry["duplicates"])
        for level in bench.levels:
            plans[(s.clip, s.start, level)] = level_plan(s, LEVEL_GAPS[level], diff, reps, bench.targets,
                                                         bench.max_inputs)
    ends: dict[tuple, int] = {}                    # one past the last input frame of each shot
    for (clip, start, _), (inputs, _) in plans.items():
        ends[(clip, start)] = max(ends.get((clip, start), 0), inputs[-1] + 1)
    videos = videos or _videos(sorted({s.clip for s in shots}))
    metric = LPIPS(lpips).to(device) if lpips else None
    per, reports = [], []
    todo = [(s, f, lv) for s, f in decode_shots(shots, videos, manifest, ends) for lv in bench.levels]
    for shot, frames, level in tqdm(todo, desc="adapt_eval clips", disable=not progress):
        inputs, plan = plans[(shot.clip, shot.start, level)]
        if not plan:
            continue
        clip = frames[[i - shot.start for i in inputs]]
        samples = samples_of(frames, shot.start, plan, bench.crop, shot.clip)
        label = {"level": level, "shot": f"{shot.clip}:{shot.start}-{shot.end}"}
        p, r = run_clip(methods, clip, samples, cfg, device, metric, label)
        per += p
        reports += r
    if not per:
        raise ValueError("no targets in these shots at these levels (shots too short for the gap?)")
    return pd.concat(per, ignore_index=True), pd.DataFrame(reports)


def _videos(clips: list[str]) -> dict[str, Path]:
    from ..data.sources import fetch

    return {c: fetch(c) for c in clips}


# ----------------------------------------------------------------------------- tables
def settings(bench: AdaptBench, cfg: A.AdaptConfig) -> dict[str, str]:
    """What makes rows comparable, as two JSON columns: the protocol (without the choice of shots,
    clips and levels, which runs may split between them) and the adaptation's settings."""
    proto = {k: v for k, v in dataclasses.asdict(bench).items() if k not in ("clips", "shots", "levels")}
    adapt = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}
    return {"protocol": json.dumps(proto, sort_keys=True), "adapt": json.dumps(adapt, sort_keys=True)}


def level_rows(samples: pd.DataFrame, clips: pd.DataFrame) -> pd.DataFrame:
    """From per-sample scores (one run's or several runs' of the same settings): one row per (method,
    adapted, level), plus the mean over the four levels where a method has all of them: n, PSNR, SSIM,
    LPIPS, the gain of adaptation on the same targets, seconds per adapted clip, shots, provenance."""
    keys, cols = ["method", "adapted", "level"], [c for c in ("psnr", "ssim", "lpips") if c in samples]
    g = samples.groupby(keys, sort=False)
    t = g[cols].mean().join(g.size().rename("n")).join(g["shot"].nunique().rename("shots")).reset_index()
    full = t.groupby(["method", "adapted"])["level"].transform(lambda lv: set(lv) >= set(SNU_LEVELS))
    mean = t[full & t["level"].isin(SNU_LEVELS)].groupby(["method", "adapted"], sort=False)
    mean = mean[cols].mean().join(mean[["n"]].sum()).join(mean["shots"].max()).reset_index().assign(level="mean")
    t = pd.concat([t, mean], ignore_index=True)
    base = t[~t["adapted"].astype(bool)].set_index(["method", "level"])["psnr"]
    t["psnr_gain"] = t["psnr"] - base.reindex(list(zip(t["method"], t["level"]))).to_numpy()
    cost = clips.groupby("method")[["seconds", "steps"]].mean()
    adapted = t["adapted"].astype(bool)
    t["adapt_seconds_per_clip"] = np.where(adapted, cost["seconds"].reindex(t["method"]).to_numpy(), 0)
    t["adapt_steps_per_clip"] = np.where(adapted, cost["steps"].reindex(t["method"]).to_numpy(), 0)
    t["data"] = DATA
    for k in ("protocol", "adapt", "size", "commit", "device", "torch", "profile"):
        if k in samples:
            t[k] = " / ".join(sorted(set(samples[k].astype(str))))
    t["date"] = samples["date"].max() if "date" in samples else ""
    return t


def write_tables(out: Path, samples: pd.DataFrame, clips: pd.DataFrame, tag: dict) -> pd.DataFrame:
    """Append this run's samples and clips (a re-run replaces its own rows), then rebuild the level rows
    of these settings from every sample stored with them (runs split by method, clip or level add up)."""
    side = lambda name: out.with_name(f"{out.stem}_{name}.csv")                       # noqa: E731
    samples, clips = samples.assign(**tag), clips.assign(**tag)
    alls = append_rows(side("samples"), samples.to_dict("records"),
                       key=["method", "adapted", "level", "shot", "name", "protocol", "adapt"])
    allc = append_rows(side("clips"), clips.to_dict("records"), key=["method", "level", "shot", "protocol", "adapt"])
    same = lambda df: df[(df["protocol"] == tag["protocol"]) & (df["adapt"] == tag["adapt"])]   # noqa: E731
    table = level_rows(same(alls), same(allc))
    append_rows(out, table.to_dict("records"), key=["method", "adapted", "level", "protocol", "adapt"])
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="full", help="the protocol's defaults (smoke: CPU)")
    ap.add_argument("--methods", nargs="+", default=["vfilib", "rife_hdv3"], help="peers (vfilib.eval.peers)")
    ap.add_argument("--ckpt", nargs="*", default=[], help="vfilib checkpoints beside the methods")
    for k, typ in (("shots", int), ("targets", int), ("max_inputs", int), ("crop", int)):
        ap.add_argument(f"--{k}", type=typ, help=f"protocol: {k} (default: the size's)")
    ap.add_argument("--levels", nargs="+", choices=SNU_LEVELS)
    ap.add_argument("--clips", nargs="+", help="only these clips' shots")
    ap.add_argument("--split", choices=["test", "val"], help="val: choose settings there, not on the test shots")
    for k, typ in (("steps", int), ("seconds", float), ("lr", float), ("batch_size", int), ("warmup", int)):
        ap.add_argument(f"--{k}", type=typ, help=f"adaptation: {k} (default: the size's)")
    ap.add_argument("--adapt_crop", type=int, help="adaptation: training crop (default: the size's)")
    ap.add_argument("--amp", choices=["fp32", "bf16"], default="fp32", help="adaptation autocast (scoring: fp32)")
    ap.add_argument("--lpips", choices=["alex", "vgg", "none"], default="alex")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--cache", help="the prepared live set (default: data/live or $VFILIB_LIVE)")
    ap.add_argument("--out", default="results/live/adapt.csv", help="level rows; _samples.csv, _clips.csv beside")
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error(f"--device {args.device}: this machine has no CUDA GPU; use --device cpu")
    bench, cfg = SIZES[args.size]
    given = lambda keys: {k: getattr(args, k) for k in keys if getattr(args, k) is not None}    # noqa: E731
    over = given(("shots", "targets", "max_inputs", "crop", "split"))
    over.update({k: tuple(getattr(args, k)) for k in ("levels", "clips") if getattr(args, k)})
    over2 = given(("steps", "seconds", "lr", "batch_size", "warmup"))
    try:
        bench = dataclasses.replace(bench, **over)
        cfg = dataclasses.replace(cfg, amp=args.amp, **over2, **({"crop": args.adapt_crop} if args.adapt_crop else {}))
        return _main(args, bench, cfg)
    except (FileNotFoundError, ValueError, VideoError) as e:
        print(f"python -m vfilib.train.adapt_eval: error: {e}", file=sys.stderr)
        return 1


def _main(args, bench: AdaptBench, cfg: A.AdaptConfig) -> int:
    from ..eval.peers import from_checkpoint, make_peer

    methods = {m: make_peer(m, args.device) for m in args.methods}
    methods.update({f"vfilib:{c}": from_checkpoint(c, args.device) for c in args.ckpt})
    lpips = None if args.lpips == "none" else args.lpips
    samples, clips = run(methods, bench, cfg, args.device, args.cache, lpips=lpips)
    tag = {**settings(bench, cfg), "size": "smoke (SMOKE)" if bench.size == "smoke" else bench.size,
           **provenance(args.device)}
    out = repo_path(args.out)
    table = write_tables(out, samples, clips, tag)
    cols = [c for c in ("method", "adapted", "level", "n", "shots", "psnr", "psnr_gain", "ssim", "lpips",
                        "adapt_seconds_per_clip") if c in table]
    label = " (SMOKE: a CPU run that proves the code runs; not a result)" if bench.size == "smoke" else ""
    print(f"adaptation on the held-out live-action {bench.split} shots{label}, every run of these settings so far:")
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
        print(table[cols].to_string(index=False))
    print(f"rows in {out} (and _samples.csv, _clips.csv beside it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
