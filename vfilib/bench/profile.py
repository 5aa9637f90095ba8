"""Where an inference call's time goes: top kernels, or GPU time per model part."""
from __future__ import annotations

import re

import pandas as pd
import torch

from ..config import RuntimeConfig, preset
from ..eval.timing import DTYPES, RESOLUTIONS, _sync
from ..models import build_model
from .speed import make_step


def _timed_parts(model: torch.nn.Module) -> dict[torch.nn.Module, str]:
    """The parts of a model a breakdown reports: top-level children and their children (stem,
    stage3, refine.bottom, ...), every branch of an LGS block, every level of the stem and the decoder.
    Repeated LGS blocks share one name (``blocks.*``)."""
    from ..models.vfi.lgs import LGSBlock

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
