"""Latency and peak memory of the presets, their variants and the published peers vs resolution (TimeTest).

Rows go to ``results/speed_gpu.csv`` (GPU) or ``results/speed.csv`` (CPU) with provenance.
"""
from __future__ import annotations

import contextlib

import torch

from ..config import PHASE1_EXPERIMENTS, RuntimeConfig, preset
from ..core.tables import append_rows, provenance
from ..eval.timing import DTYPES, RESOLUTIONS, time_fn
from ..models import build_model


def make_step(model, mode: str, res: tuple[int, int], batch: int, dtype, device, graph: bool = False, **call):
    """A closure running one inference call or one training step (forward + backward);
    ``call``: extra model arguments (``scale``, ``tile`` for flow models)."""
    h, w = res
    g = torch.Generator(device="cpu").manual_seed(0)
    i0, i1, gt = (torch.rand(batch, 3, h, w, generator=g).to(device) for _ in range(3))
    def amp():
        return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()

    if mode == "infer" and graph:
        from ..models.runtime.graph import GraphedForward

        runner = GraphedForward(model, i0, i1, 0.5, dtype, **call)
        return lambda: runner(i0, i1)
    if mode == "infer":
        model.eval()

        def step():
            with torch.no_grad(), amp():
                return model(i0, i1, 0.5, **call)
    else:
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]

        def step():
            with amp():
                loss = (model(i0, i1, 0.5, **call) - gt).abs().mean()
            loss.backward()
            for p in params:
                p.grad = None
    return step


#: A re-measured configuration replaces its old row in results/speed.csv. ``kernels``: "fused" (the SSM
#: branch's Triton kernels, :mod:`vfilib.models.runtime.kernels`, inference only) or "plain".
SPEED_KEY = ["model", "mode", "res", "dtype", "exec", "kernels", "batch", "tf32", "scale", "tile", "device"]
EXECS = ("eager", "compiled", "graph", "compiled+graph")


def speed_table(device: torch.device, out: str | None = None) -> str:
    """Where speed rows go: ``results/speed_gpu.csv`` for a GPU (the thesis's TimeTest table, made on
    the lent GPU and never overwritten by a CPU run), ``results/speed.csv`` for a CPU."""
    default = "results/speed_gpu.csv" if device.type == "cuda" else "results/speed.csv"
    out = default if out is None else out
    if out and device.type != "cuda" and out.replace("\\", "/").endswith("results/speed_gpu.csv"):
        raise SystemExit(f"--out {out}: that table holds GPU rows only; a {device.type} run writes results/speed.csv")
    return out


def speed(args) -> None:
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    args.out = speed_table(device, args.out)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = args.tf32
    flow = {"flow": args.flow} if args.flow != "off" else {}
    # chunk size: the same result at another speed; ssm_dtype autocast: bf16 SSD inputs (PSNR: vfilib.eval)
    runtime = RuntimeConfig(ssm_dtype=args.ssm_dtype, chunk_size=args.chunk_size or 0)
    tag = ((f"+flow_{args.flow}" if flow else "") + (f"@chunk{args.chunk_size}" if args.chunk_size else "")
           + (f"@ssm_{args.ssm_dtype}" if args.ssm_dtype != "fp32" else ""))
    configs = [(p + tag, preset(p, **flow)) for p in args.presets]
    for exp_id in args.variants or []:
        e = next(e for e in PHASE1_EXPERIMENTS if e.id == exp_id)
        configs.append((f"{args.presets[0]}:{e.id}{tag}", preset(args.presets[0], **{**e.overrides, **flow})))
    rows = []
    for label, cfg in configs:
        model = build_model(cfg, runtime).to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        # torch.compile (one graph per shape), shared by "compiled" and "compiled+graph" (its CUDA-graph replay)
        compiled_model = torch.compile(model, dynamic=False) if any(c.startswith("compiled") for c in args.exec) else None
        for compiled in args.exec:
            runner = compiled_model if compiled.startswith("compiled") else model
            rows += _time_model(label, model, runner, compiled, runtime, args, device, bool(flow))
        del model, runner, compiled_model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    rows += [_record(row, args, device) for row in _time_peers(args, device)]
    if args.out:
        print(f"wrote {len(rows)} rows to {args.out}")


def _record(row: dict, args, device: torch.device) -> dict:
    """Print a speed row, add provenance and append it to ``args.out`` at once (a cut-off run keeps
    what it measured)."""
    print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    row = {**row, **provenance(device)}
    if args.out:
        append_rows(args.out, [row], key=SPEED_KEY)
    return row


def _time_model(label, model, runner, compiled: str, runtime, args, device, flow: bool) -> list[dict]:
    """Rows of one model in one execution mode: every (mode, batch, resolution, dtype, fused) asked for."""
    rows = []
    for mode, batch in [(m, b) for m in args.modes for b in (args.batch if m == "train" else [1])]:
        for res_name, dt_name, fused in [(r, d, f) for r in args.res for d in args.dtypes for f in args.fused]:
            if compiled.endswith("graph") and mode != "infer":
                continue                                  # graphs: inference only
            if compiled.endswith("graph") and device.type != "cuda":
                print(f"skipped {compiled} {res_name} {dt_name}: CUDA graphs need a CUDA device", flush=True)
                continue
            kernels = "fused" if fused == "auto" and mode == "infer" and device.type == "cuda" else "plain"
            if fused == "auto" and kernels == "plain" and "off" in args.fused:
                continue                                  # the same measurement as fused=off
            row = {"model": label, "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
                   "mode": mode, "res": res_name, "dtype": dt_name, "exec": compiled, "kernels": kernels,
                   "batch": batch, "tf32": args.tf32, "scale": args.scale, "tile": args.tile}
            call = {"scale": args.scale, "tile": args.tile} if flow else {}
            if device.type == "cuda":
                # peak from before the step is made: a CUDA graph's activations are allocated
                # during its capture and after it sit in the graph's pool, not in "allocated"
                torch.cuda.reset_peak_memory_stats(device)
            try:
                model.set_runtime(runtime.replace(fused=fused))
                step = make_step(runner, mode, RESOLUTIONS[res_name], batch, DTYPES[dt_name],
                                 device, graph=compiled.endswith("graph"), **call)
                row.update(time_fn(step, device, args.warmup, args.iters, reset_peak=False))
                if mode == "train":
                    row["samples_per_s"] = batch / row["median_ms"] * 1e3
            except torch.OutOfMemoryError:
                row.update(mean_ms=float("nan"), median_ms=float("nan"), peak_gib=float("nan"), note="OOM")
            step = None                                   # frees a captured graph's memory
            if device.type == "cuda":
                torch.cuda.empty_cache()
            rows.append(_record(row, args, device))
    return rows


def _time_peers(args, device: torch.device):
    """Published peers (``--peers``) timed in the same run, mode and dtypes as the models: one call of
    their interpolator (padding and channel order included) on a random pair at t = 1/2, ``--scale``."""
    from ..eval.peers import PEERS, make_peer

    for name in args.peers or []:
        interp = make_peer(name, device)
        g = torch.Generator().manual_seed(0)
        for res_name, dt_name in [(r, d) for r in args.res for d in args.dtypes]:
            h, w = RESOLUTIONS[res_name]
            i0, i1 = (torch.rand(1, 3, h, w, generator=g).to(device) for _ in range(2))
            t = torch.full((1,), 0.5, device=device)
            amp = DTYPES[dt_name]

            def step():
                with torch.no_grad(), torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                    return interp(i0, i1, t, args.scale)
            row = {"model": PEERS[name].label, "mode": "infer", "res": res_name, "dtype": dt_name, "exec": "eager",
                   "kernels": "-", "batch": 1, "tf32": args.tf32, "scale": args.scale, "tile": 0}
            try:
                row.update(time_fn(step, device, args.warmup, args.iters))
            except torch.OutOfMemoryError:
                row.update(mean_ms=float("nan"), median_ms=float("nan"), peak_gib=float("nan"), note="OOM")
            yield row
