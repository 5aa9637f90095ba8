"""Where a training step's time goes, and how many training processes one GPU should run at once.

    python -m vfilib.bench train --preset small --flow feature --batch 32 --crop 256 --profile
    python -m vfilib.bench rows --n 1 2 4 8 -- --preset small --flow off --batch 16 --crop 256

``--profile`` splits the real training step (the loop's own ``optimizer_step``) into its stages: data,
forward, loss, backward, optimizer (clip, scaler, fused AdamW, EMA), each the span between CUDA events
recorded after the stage before it (so a stage's launch gaps count to it); the step's wall time minus
the sum of all kernel time (torch.profiler) is the GPU's idle share (launch gaps, host work,
synchronisations). The host-device synchronisations and copies in the step are counted, and the top
kernels listed.

``rows`` starts N ``bench train`` processes at once (as a grid with several rows per GPU does); each
warms up, waits until all N are ready, then counts its samples for ``--seconds``: the sum is the
GPU's total training throughput at N rows.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

STAGES = ("data", "forward", "loss", "backward", "optimizer")
SYNC_OPS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize", "cudaMemcpy",
            "cudaMemcpyAsync", "aten::item", "aten::_local_scalar_dense")


class StageClock:
    """Marks between a step's stages: CUDA events on the current stream (each stage's span of the GPU
    timeline, its idle gaps included) or host clocks on a CPU."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.marks: list[tuple[str, object]] = []

    def mark(self, name: str) -> None:
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
        else:
            ev = time.perf_counter()
        self.marks.append((name, ev))

    def spans(self) -> dict[str, float]:
        """ms per stage since the first mark (synchronises on CUDA)."""
        if self.cuda:
            torch.cuda.synchronize()
        out = {}
        for (_, a), (name, b) in zip(self.marks, self.marks[1:]):
            out[name] = out.get(name, 0.0) + (a.elapsed_time(b) if self.cuda else (b - a) * 1e3)
        return out


def staged_step(draw, net, loss_fn, tr, cfg, amp, clock: StageClock | None = None):
    """One training step as the loop makes it (its own ``optimizer_step``), with ``clock`` marks after
    each stage; ``draw()`` returns a batch dict (I0, I1, gt (B, 3, H, W), t (B,))."""
    from ..train.loop import optimizer_step

    mark = clock.mark if clock is not None else (lambda name: None)

    def step():
        mark("start")
        b = draw()
        mark("data")
        with torch.autocast(b["I0"].device.type, dtype=amp, enabled=amp is not None):
            pred = net(b["I0"], b["I1"], b["t"])
        mark("forward")
        loss, _ = loss_fn(pred.float(), b["gt"])
        mark("loss")
        optimizer_step(tr, loss, cfg, mark=mark)
        mark("optimizer")
    return step


def profile_step(step, clock: StageClock, device: torch.device, iters: int = 5, top: int = 20) -> dict[str, pd.DataFrame]:
    """Time ``iters`` calls of ``step`` (already warm) per stage, then profile them. Returns ``stages``
    (ms per step per stage on the GPU timeline; wall, all kernels and GPU idle), ``kernels`` (the top
    kernels by GPU time) and ``syncs`` (host-device synchronisations and copies per step)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    clock.marks.clear()
    if cuda:
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    spans = clock.spans()
    wall = (time.perf_counter() - t0) / iters * 1e3
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=acts) as prof:
        for _ in range(iters):
            step()
        if cuda:
            torch.cuda.synchronize(device)
    clock.marks.clear()
    events = prof.events()
    kernel_ms = sum(e.device_time for e in events if cuda and e.device_type == DeviceType.CUDA) / iters / 1e3
    rows = [{"stage": s, "ms": spans.get(s, 0.0) / iters} for s in STAGES]
    rows += [{"stage": "(wall per step)", "ms": wall},
             {"stage": "(all kernels)", "ms": kernel_ms if cuda else float("nan")},
             {"stage": "(GPU idle)", "ms": max(wall - kernel_ms, 0.0) if cuda else float("nan")}]
    stages = pd.DataFrame(rows)
    stages["share_of_wall"] = stages["ms"] / wall
    avg = prof.key_averages()
    key = "device_time_total" if cuda else "cpu_time_total"
    kern = [{"kernel": a.key[:90], "calls": a.count / iters, "ms": getattr(a, key) / iters / 1e3}
            for a in avg if (not cuda or a.device_type == DeviceType.CUDA) and getattr(a, key) > 0]
    kernels = pd.DataFrame(kern).sort_values("ms", ascending=False).head(top).reset_index(drop=True)
    syncs = pd.DataFrame([{"op": a.key, "calls_per_step": a.count / iters} for a in avg if a.key in SYNC_OPS])
    return {"stages": stages, "kernels": kernels, "syncs": syncs}


def train_speed(args) -> None:
    """The real training step (fused AdamW, loss, gradient scaler, EMA off) at several batch sizes, on
    random tensors or batches drawn from a frame bank (``--data live``): ms per step, samples/s, the
    data's share, peak memory. Rows go to ``--out`` with provenance."""
    from ..eval.timing import DTYPES, time_fn
    from ..config import preset
    from ..core.tables import append_rows, provenance
    from ..train import TrainConfig
    from ..train.loop import setup_model
    from ..train.losses import VFILoss

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    flow = {"flow": args.flow} if args.flow != "off" else {}
    rows_out, source = [], None
    for batch in args.batch:
        cfg = TrainConfig(exp_name="bench", model=preset(args.preset, **flow), batch_size=batch, amp=args.dtype,
                          crop=args.crop, window=9, flow_init="", perceptual_weight=0.0, progress=False,
                          data=args.data if args.data != "random" else "embedded", device=str(device))
        tr = setup_model(cfg, device, True)
        net = torch.compile(tr.model) if args.compile else tr.model
        draw, source = batch_source(args, cfg, batch, device, source)
        clock = StageClock(device) if args.profile else None
        step = staged_step(draw, net, VFILoss(0.0).to(device), tr, cfg, DTYPES[args.dtype], clock)
        if args.ready_dir:                              # one process of `bench rows`
            for _ in range(max(args.warmup, 1)):
                step()
            print("[window] " + json.dumps(timed_window(step, batch, device, args.ready_dir, args.ready_n,
                                                         args.seconds)), flush=True)
            return
        t = time_fn(step, device, args.warmup, args.iters)
        d = time_fn(draw, device, 2, max(3, args.iters // 5), reset_peak=False)
        row = {"model": args.preset + ("+flow_" + args.flow if flow else ""), "data": args.data, "batch": batch,
               "crop": args.crop, "dtype": args.dtype, "compiled": args.compile, "ms_per_step": t["median_ms"],
               "samples_per_s": batch / t["median_ms"] * 1e3, "data_ms": d["median_ms"], "peak_gib": t["peak_gib"],
               **provenance(device)}
        print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        rows_out.append(row)
        if args.profile:
            print_profile(profile_step(step, clock, device))
    if args.out:
        append_rows(args.out, rows_out, key=["model", "data", "batch", "crop", "dtype", "compiled", "device", "commit"])


def batch_source(args, cfg, batch: int, device: torch.device, source=None):
    """``(draw, source)``: ``draw()`` gives a batch: fixed random tensors (``--data random``) or the
    next batch of the prepared set's frame bank (``source`` is reused across batch sizes)."""
    if args.data == "random":
        g = torch.Generator().manual_seed(0)
        fixed = {k: torch.rand(batch, 3, args.crop, args.crop, generator=g).to(device) for k in ("I0", "I1", "gt")}
        fixed["t"] = torch.full((batch,), 0.5, device=device)
        return (lambda: fixed), source
    from ..train.data import build_sources

    source = source or build_sources(cfg, device)[0]
    counter = iter(range(10**9))
    return (lambda: source.bank.batch(next(counter), batch, args.crop)), source


def print_profile(prof: dict[str, pd.DataFrame]) -> None:
    with pd.option_context("display.width", 200, "display.max_rows", 100, "display.max_colwidth", 90):
        for name, df in prof.items():
            print(f"--- {name}")
            print(df.round(3).to_string(index=False) if not df.empty else "(none)", flush=True)


def timed_window(step, batch: int, device: torch.device, ready_dir: str, n: int, seconds: float) -> dict:
    """Signal readiness, wait for all ``n`` processes of a ``rows`` run, then run ``step`` for
    ``seconds``; samples/s of this process over that window."""
    Path(ready_dir, f"ready.{os.getpid()}").touch()
    deadline = time.time() + 900
    while len(list(Path(ready_dir).glob("ready.*"))) < n and time.time() < deadline:
        time.sleep(0.05)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        step()
        steps += 1
        if device.type == "cuda" and steps % 4 == 0:
            torch.cuda.synchronize(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elapsed = time.perf_counter() - t0
    return {"steps": steps, "seconds": elapsed, "samples_per_s": steps * batch / elapsed}


def launch(cmd: list[str]) -> subprocess.Popen:
    """One benchmark process, its standard output captured."""
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def rows(args) -> None:
    """N concurrent ``bench train`` processes per N in ``args.n``: total samples/s and its gain."""
    from ..core.tables import append_rows, provenance

    results = []
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="vfilib-rows-") as tmp:
            cmd = [sys.executable, "-m", "vfilib.bench", "train", "--out", "", "--ready_dir", tmp,
                   "--ready_n", str(n), "--seconds", str(args.seconds), *args.train_args]
            procs = [launch(cmd) for _ in range(n)]
            outs = [p.communicate()[0] for p in procs]
        per = [json.loads(line[len("[window] "):]) for o in outs for line in o.splitlines() if line.startswith("[window] ")]
        if len(per) != n or any(p.returncode for p in procs):
            print(f"[rows] n={n}: {len(per)} of {n} processes reported (exit codes {[p.returncode for p in procs]})")
            continue
        total = sum(p["samples_per_s"] for p in per)
        row = {"bench": "train_rows", "rows_at_once": n, "args": " ".join(args.train_args),
               "total_samples_per_s": total, "per_row_samples_per_s": total / n, "seconds": args.seconds,
               **provenance(torch.device("cuda" if torch.cuda.is_available() else "cpu"))}
        results.append(row)
        base = results[0]["total_samples_per_s"]
        print(f"[rows] {n} at once: {total:.1f} samples/s in all, {total / n:.1f} per row "
              f"({total / base:.2f}x the first)", flush=True)
    if args.out and results:
        append_rows(args.out, results, key=["bench", "rows_at_once", "args", "device", "commit"])
