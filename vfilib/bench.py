"""Speed and memory benchmark (TimeTest): latency and peak memory vs resolution.

    python -m vfilib.bench speed --presets small --res 256 720p 1080p 4k --dtypes fp32 bf16
    python -m vfilib.bench profile --preset small --res 720p      # top kernels (torch.profiler)
    python -m vfilib.bench profile --preset small --res 720p --by module   # GPU time per model part
    python -m vfilib.bench video --models vfilib rife_hdv3 --extra --graph --amp bf16   # the video tool, x2 1080p

Latency: warm-up calls first (Triton JIT and cuDNN autotuning happen there), then N timed calls,
each synchronised; mean and median reported. Peak memory: ``torch.cuda.max_memory_allocated``
over the timed calls (CUDA only). Rows go to ``results/speed_gpu.csv`` (GPU) or ``results/speed.csv``
(CPU) with provenance.
"""
from __future__ import annotations

import argparse
import contextlib
import re
import time

import pandas as pd
import torch

from .config import FLOW_MODES, FUSED_MODES, PHASE1_EXPERIMENTS, SSM_DTYPES, RuntimeConfig, preset
from .models import build_model
from .models.runtime.graph import capture
from .core.tables import append_rows, provenance
from .eval.timing import DTYPES, RESOLUTIONS, _sync, time_fn  # noqa: F401 - the benchmarks' shared timing

def make_step(model, mode: str, res: tuple[int, int], batch: int, dtype, device, graph: bool = False, **call):
    """A closure running one inference call or one training step (forward + backward);
    ``call``: extra model arguments (``scale``, ``tile`` for flow models)."""
    h, w = res
    g = torch.Generator(device="cpu").manual_seed(0)
    i0, i1, gt = (torch.rand(batch, 3, h, w, generator=g).to(device) for _ in range(3))
    def amp():
        return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()

    if mode == "infer" and graph:
        from .models.runtime.graph import GraphedForward

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
            if compiled.endswith("graph") and (mode != "infer" or device.type != "cuda"):
                continue                                  # graphs: CUDA inference only
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
    from .eval.peers import PEERS, make_peer

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
        del interp


def _timed_parts(model: torch.nn.Module) -> dict[torch.nn.Module, str]:
    """The parts of a model a breakdown reports: top-level children and their children (stem,
    stage3, refine.bottom, ...), every branch of an LGS block, every level of the stem and the decoder.
    Repeated LGS blocks share one name (``blocks.*``)."""
    from .models.vfi.lgs import LGSBlock

    parts, mods = {}, dict(model.named_modules())
    for name, m in mods.items():
        if not name:
            continue
        parent = mods[name.rsplit(".", 1)[0]] if "." in name else model
        grand = mods.get(name.rsplit(".", 2)[0]) if name.count(".") >= 2 else None
        if (name.count(".") <= 1 or isinstance(parent, LGSBlock)
                or (isinstance(parent, torch.nn.ModuleList) and not isinstance(grand, LGSBlock)
                    and name.count(".") <= 3)):
            parts[m] = re.sub(r"blocks\.\d+", "blocks.*", name)
    return parts


def module_breakdown(model: torch.nn.Module, step, device: torch.device, iters: int = 5) -> pd.DataFrame:
    """Time per model part (see :func:`_timed_parts`) over ``iters`` calls of ``step``: one
    ``record_function`` range per part; on CUDA the GPU time of the kernels launched inside it (not
    the launch gaps, so eager-mode profiling gives the work a CUDA-graph replay does). Columns: part,
    calls per step, ms per step (GPU on CUDA, else CPU), share of the whole step."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile as tprofile, record_function

    open_ranges, handles = [], []

    def pre(mod, _):
        r = record_function(f"part:{names[mod]}")
        r.__enter__()
        open_ranges.append(r)

    def post(mod, _, __):
        open_ranges.pop().__exit__(None, None, None)

    names = _timed_parts(model)
    for m in names:
        handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    try:
        with tprofile(activities=acts) as prof:
            for _ in range(iters):
                with record_function("part:(whole step)"):
                    step()
            _sync(device)
    finally:
        for h in handles:
            h.remove()
    # CPU-side range events only: their device_time_total sums the kernels launched inside them (the
    # GPU-side copies of the ranges span idle gaps too); on CPU, the ranges' own CPU time.
    rows = [{"part": e.name[5:], "calls": 1 / iters,
             "ms": (e.device_time_total if device.type == "cuda" else e.cpu_time_total) / iters / 1e3}
            for e in prof.events() if e.name.startswith("part:") and e.device_type == DeviceType.CPU]
    df = pd.DataFrame(rows).groupby("part", as_index=False).sum()
    df["share"] = df["ms"] / df.loc[df["part"] == "(whole step)", "ms"].iloc[0]
    return df.sort_values("part", key=lambda p: p.str.replace("(", " ", regex=False)).reset_index(drop=True)


def profile(args) -> None:
    from torch.profiler import ProfilerActivity, profile as tprofile

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    flow = {"flow": args.flow} if args.flow != "off" else {}
    model = build_model(preset(args.preset, **flow), RuntimeConfig(ssm_dtype=args.ssm_dtype, fused=args.fused)).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    call = {"scale": args.scale} if flow else {}
    step = make_step(model, "infer", RESOLUTIONS[args.res], 1, DTYPES[args.dtype], device, **call)
    for _ in range(5):
        step()
    _sync(device)
    if args.by == "module":
        with pd.option_context("display.width", 200, "display.max_rows", 200):
            print(module_breakdown(model, step, device).round(3).to_string(index=False))
        return
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with tprofile(activities=acts) as prof:
        for _ in range(5):
            step()
        _sync(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=args.top))


def ssd(args) -> None:
    """The official SSD kernel on the shapes of a preset's LGS stages at a resolution, for several
    chunk sizes and input dtypes, timed as CUDA-graph replays. The chunk size changes only how the scan is split, not its result
    (the printed difference to chunk 256 / fp32 shows it), so it is a free inference setting."""
    from .models.vfi.mamba import official_kernels

    kern = official_kernels()
    if kern is None or not torch.cuda.is_available():
        raise SystemExit("bench ssd needs CUDA and mamba_ssm")
    device, cfg = torch.device("cuda"), preset(args.preset)
    h, w = RESOLUTIONS[args.res]
    g = torch.Generator(device="cpu").manual_seed(0)
    for stage, dim in enumerate(cfg.dims[3:]):
        length = 2 * -(-h // 2 ** (3 + stage)) * -(-w // 2 ** (3 + stage))      # both frames, one pool
        nheads = cfg.expand * dim // cfg.headdim
        mk = lambda *shape: torch.randn(*shape, generator=g).to(device)      # noqa: E731
        x, dt = mk(4, length, nheads, cfg.headdim), mk(4, length, nheads) - 3
        B, C = mk(4, length, cfg.ngroups, cfg.d_state), mk(4, length, cfg.ngroups, cfg.d_state)
        A, D, bias = -torch.rand(nheads, device=device) - 0.5, torch.ones(nheads, device=device), torch.zeros(nheads, device=device)
        ref = None
        for dt_name in ("fp32", "bf16"):
            cast = (lambda t: t) if dt_name == "fp32" else (lambda t: t.bfloat16())
            for chunk in args.chunks:
                fn = lambda: kern["ssd"](cast(x), dt, A, cast(B), cast(C), chunk_size=chunk, D=D, dt_bias=bias,  # noqa: E731
                                         dt_softplus=True)
                y = fn().float()
                ref = y if ref is None else ref
                err = ((y - ref).abs().max() / ref.abs().max()).item()
                r = time_fn(capture(fn)[0].replay, device, 5, 50)        # replayed: kernel time only
                print(f"stage 1/{2 ** (3 + stage)} L={length} heads={nheads}x{cfg.headdim} state={cfg.d_state} "
                      f"x/B/C {dt_name} chunk {chunk:4d}: {r['median_ms']:.3f} ms  (max rel. diff to chunk "
                      f"{args.chunks[0]} fp32: {err:.1e})", flush=True)


def sdpa(args) -> None:
    """SDPA backends on the window-attention shapes of a preset at a resolution (the LGS 1/8 and 1/16
    stages; windows of ``window_size``^2 tokens of both frames)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F

    device = torch.device(args.device or "cuda")
    cfg = preset(args.preset)
    h, w = RESOLUTIONS[args.res]
    backends = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
                "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}
    for stage, (dim, heads) in enumerate(zip(cfg.dims[3:], cfg.num_heads)):
        sh, sw = -(-h // 2 ** (3 + stage)), -(-w // 2 ** (3 + stage))
        n_win = 2 * -(-sh // cfg.window_size) * -(-sw // cfg.window_size)
        q, k, v = (torch.randn(n_win, heads, cfg.window_size ** 2, dim // heads, device=device,
                               dtype=DTYPES[args.dtype] or torch.float32) for _ in range(3))
        for name, be in backends.items():
            try:
                with sdpa_kernel(be):
                    r = time_fn(lambda: F.scaled_dot_product_attention(q, k, v), device, 10, 50)
                print(f"stage 1/{2 ** (3 + stage)} windows={n_win} heads={heads} hd={dim // heads} {args.dtype} "
                      f"{name:9s} {r['median_ms']:.3f} ms")
            except RuntimeError as e:
                print(f"stage 1/{2 ** (3 + stage)} {args.dtype} {name:9s} unavailable ({str(e).splitlines()[0][:60]})")


def video(args) -> None:
    """End to end, as a user runs it: ``vfilib interpolate CLIP --factor 2`` per model, each twice in a
    fresh process: cold (an empty compile cache) and warm (the cache the cold run left). Output frames/s
    over the whole run, the time to the first interpolated frame (model load included), and where the
    time went: the tool's seconds per pipeline stage (``--stats``; :mod:`vfilib.tool.stats`)."""
    import json
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from .data.sources import fetch
    from .tool.stats import profile

    src = Path(args.clip) if args.clip else fetch(args.source)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vfilib-bench-video-") as tmp:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}    # cold = this empty cache
        for model in args.models:
            for run in ("cold", "warm"):
                stats = Path(tmp) / f"{model}_{run}.json"
                cmd = [sys.executable, "-m", "vfilib.interpolate", str(src), "-o", str(Path(tmp) / "out.mp4"),
                       "--overwrite", "--factor", str(args.factor), "--quiet", "--stats", str(stats), *args.extra]
                cmd += ["--checkpoint", model] if model.endswith(".pt") else ["--model", model]
                cmd += ["--duration", str(args.duration)] if args.duration else []
                t = time.perf_counter()
                subprocess.run(cmd, env=env, check=True)
                wall = time.perf_counter() - t
                st = json.loads(stats.read_text())
                rows.append({"bench": "video_x2", "clip": src.name, "model": model, "cache": run,
                             "flags": " ".join(args.extra), "frames_in": st["frames_in"],
                             "frames_out": st["frames_out"], "out_fps": st["frames_out"] / st["seconds"],
                             "first_interp_s": st["load_s"] + st["first_interp_s"], "process_s": wall,
                             **{f"stage_{k}": v for k, v in st["stages"].items()}, "device": st["device"],
                             **provenance()})
                print(f"[bench video] {model} ({run} cache): {rows[-1]['out_fps']:.1f} output frames/s, "
                      f"first interpolated frame after {rows[-1]['first_interp_s']:.1f} s, process {wall:.1f} s; "
                      f"seconds per stage:\n{profile(st['stages'], st['frames_out'], st['seconds'])}", flush=True)
    append_rows(args.out, rows, key=["clip", "model", "cache", "flags", "device", "commit"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("speed", help="latency and peak memory table")
    s.add_argument("--presets", nargs="+", default=["small"])
    s.add_argument("--variants", nargs="*", help="Phase-1 experiment ids of the first preset, e.g. exp1a exp1b")
    s.add_argument("--res", nargs="+", default=["256", "720p", "1080p"], choices=list(RESOLUTIONS))
    s.add_argument("--dtypes", nargs="+", default=["fp32"], choices=list(DTYPES))
    s.add_argument("--modes", nargs="+", default=["infer"], choices=["infer", "train"])
    s.add_argument("--exec", nargs="+", default=["eager"], choices=EXECS,
                   help="eager | compiled (torch.compile, one graph per shape) | graph (CUDA-graph replay) | "
                        "compiled+graph (the compiled forward replayed as a CUDA graph)")
    s.add_argument("--fused", nargs="+", default=["auto"], choices=FUSED_MODES,
                   help="auto: the SSM branch's fused Triton kernels for inference on CUDA; off: the plain path")
    s.add_argument("--batch", type=int, nargs="+", default=[8], help="batch sizes of the training step")
    s.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=False,
                   help="allow TF32 matmuls/convolutions in fp32 (off: true fp32, as VFIMamba was timed)")
    s.add_argument("--flow", default="off", choices=FLOW_MODES,
                   help="time the Phase-2/3 flow model of each preset")
    s.add_argument("--scale", type=float, default=1.0, help="flow models: working scale (0.25 for 4K)")
    s.add_argument("--chunk_size", type=int, help="override the preset's SSD chunk size (label: model@chunkN)")
    s.add_argument("--ssm_dtype", default="fp32", choices=SSM_DTYPES,
                   help="SSD input dtype; autocast: bf16 x, B, C in bf16 rows (label: model@ssm_autocast)")
    s.add_argument("--tile", type=int, default=0, help="flow models with scale < 1: full-resolution tile size")
    s.add_argument("--warmup", type=int, default=10)
    s.add_argument("--iters", type=int, default=50)
    s.add_argument("--device")
    s.add_argument("--peers", nargs="*", default=[], help="published peers timed in the same run and mode, e.g. "
                   "rife_hdv3 rife_425 (their interpolator: padding and channel order included)")
    s.add_argument("--out", default=None, help="default: results/speed_gpu.csv on a GPU, results/speed.csv on a CPU")
    p = sub.add_parser("profile", help="top operators / kernels of one inference call")
    p.add_argument("--preset", default="small")
    p.add_argument("--res", default="720p", choices=list(RESOLUTIONS))
    p.add_argument("--dtype", default="fp32", choices=list(DTYPES))
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--flow", default="off", choices=FLOW_MODES)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--by", default="kernel", choices=["kernel", "module"],
                   help="kernel: top operators/kernels; module: time per model part (stem, stages, branches, decoder)")
    p.add_argument("--fused", default="auto", choices=FUSED_MODES)
    p.add_argument("--ssm_dtype", default="fp32", choices=SSM_DTYPES)
    p.add_argument("--device")
    q = sub.add_parser("sdpa", help="compare SDPA backends on the window-attention shapes")
    q.add_argument("--preset", default="small")
    q.add_argument("--res", default="720p", choices=list(RESOLUTIONS))
    q.add_argument("--dtype", default="bf16", choices=list(DTYPES))
    q.add_argument("--device")
    r = sub.add_parser("ssd", help="the SSD kernel on a preset's stage shapes: chunk sizes x input dtypes")
    r.add_argument("--preset", default="small")
    r.add_argument("--res", default="720p", choices=list(RESOLUTIONS))
    r.add_argument("--chunks", type=int, nargs="+", default=[256, 128, 64])
    t = sub.add_parser("train", help="the real training step: samples/s, ms/step, data share, peak GiB")
    t.add_argument("--preset", default="small")
    t.add_argument("--flow", default="feature", choices=FLOW_MODES)
    t.add_argument("--data", default="random", choices=["random", "live", "embedded", "film"])
    t.add_argument("--batch", type=int, nargs="+", default=[32])
    t.add_argument("--crop", type=int, default=256)
    t.add_argument("--dtype", default="bf16", choices=list(DTYPES))
    t.add_argument("--compile", action="store_true", help="torch.compile the model for the step")
    t.add_argument("--warmup", type=int, default=5)
    t.add_argument("--iters", type=int, default=20)
    t.add_argument("--device")
    t.add_argument("--out", default="results/train_speed.csv")
    t.add_argument("--profile", action="store_true",
                   help="also split the step into data/forward/loss/backward/optimizer, GPU idle, top kernels, syncs")
    t.add_argument("--seconds", type=float, default=30.0, help="with --ready_dir: the timed window")
    t.add_argument("--ready_dir", help=argparse.SUPPRESS)       # set by `bench rows` for its processes
    t.add_argument("--ready_n", type=int, default=1, help=argparse.SUPPRESS)
    w = sub.add_parser("rows", help="N training processes at once on one GPU: total samples/s per N")
    w.add_argument("--n", type=int, nargs="+", default=[1, 2, 4, 8])
    w.add_argument("--seconds", type=float, default=30.0, help="timed window once all N are warm")
    w.add_argument("--out", default="results/train_speed.csv")
    w.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the flags of `bench train`")
    v = sub.add_parser("video", help="the video tool end to end: output frames/s, time to first frame (cold/warm)")
    v.add_argument("--source", default="bbb_1080p", help="a registered clip (default: Big Buck Bunny 1080p)")
    v.add_argument("--clip", help="or any video file")
    v.add_argument("--models", nargs="+", default=["vfilib", "rife_hdv3"], help="--model names or checkpoint files")
    v.add_argument("--factor", type=int, default=2)
    v.add_argument("--duration", type=float, default=0.0, help="seconds of the clip (0: all)")
    v.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                   help="flags passed on to the tool, e.g. --extra --graph --amp bf16 (last)")
    v.add_argument("--out", default="results/video_speed.csv")
    args = ap.parse_args(argv)
    for name in ("batch", "iters", "warmup", "top", "chunks"):
        vals = getattr(args, name, None)
        vals = vals if isinstance(vals, list) else [vals] if vals is not None else []
        if any(v < 1 for v in vals) and not (name == "warmup" and all(v >= 0 for v in vals)):
            ap.error(f"--{name} must be at least 1, got {vals}")
    if getattr(args, "scale", 1.0) is not None and not 0 < getattr(args, "scale", 1.0) <= 1:
        ap.error(f"--scale must lie in (0, 1], got {args.scale}")
    if (getattr(args, "device", None) or "").startswith("cuda") and not torch.cuda.is_available():
        ap.error(f"--device {args.device}: this machine has no CUDA GPU")
    from . import trainbench

    if args.cmd == "rows" and args.train_args[:1] == ["--"]:
        args.train_args = args.train_args[1:]
    {"speed": speed, "profile": profile, "sdpa": sdpa, "ssd": ssd, "train": trainbench.train_speed,
     "rows": trainbench.rows, "video": video}[args.cmd](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
