"""``python -m vfilib.bench <command>``: the benchmarks' command line (see the package's docstring)."""
from __future__ import annotations

import argparse

import torch

from ..config import FLOW_MODES, FUSED_MODES, SSM_DTYPES
from ..eval.timing import DTYPES, RESOLUTIONS
from . import kernels, profile, speed, train, video


def parser() -> argparse.ArgumentParser:
    from . import __doc__ as doc

    ap = argparse.ArgumentParser(prog="vfilib bench", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for add in (_speed, _profile, _sdpa, _ssd, _train, _rows, _video):
        add(sub)
    return ap


def main(argv=None) -> int:
    ap = parser()
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
    if args.cmd == "rows" and args.train_args[:1] == ["--"]:
        args.train_args = args.train_args[1:]
    {"speed": speed.speed, "profile": profile.profile, "sdpa": kernels.sdpa, "ssd": kernels.ssd,
     "train": train.train_speed, "rows": train.rows, "video": video.video}[args.cmd](args)
    return 0


def _speed(sub) -> None:
    """``bench speed``: the TimeTest table."""
    s = sub.add_parser("speed", help='latency and peak memory table')
    s.add_argument("--presets", nargs="+", default=["small"])
    s.add_argument("--variants", nargs="*", help="Phase-1 experiment ids of the first preset, e.g. exp1a exp1b")
    s.add_argument("--res", nargs="+", default=["256", "720p", "1080p"], choices=list(RESOLUTIONS))
    s.add_argument("--dtypes", nargs="+", default=["fp32"], choices=list(DTYPES))
    s.add_argument("--modes", nargs="+", default=["infer"], choices=["infer", "train"])
    s.add_argument("--exec", nargs="+", default=["eager"], choices=speed.EXECS,
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


def _profile(sub) -> None:
    """``bench profile``: where one inference call's time goes."""
    p = sub.add_parser("profile", help='top operators / kernels of one inference call')
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


def _sdpa(sub) -> None:
    """``bench sdpa``: attention backends on the window shapes."""
    q = sub.add_parser("sdpa", help='compare SDPA backends on the window-attention shapes')
    q.add_argument("--preset", default="small")
    q.add_argument("--res", default="720p", choices=list(RESOLUTIONS))
    q.add_argument("--dtype", default="bf16", choices=list(DTYPES))
    q.add_argument("--device")


def _ssd(sub) -> None:
    """``bench ssd``: the SSD kernel on the stage shapes."""
    r = sub.add_parser("ssd", help="the SSD kernel on a preset's stage shapes: chunk sizes x input dtypes")
    r.add_argument("--preset", default="small")
    r.add_argument("--res", default="720p", choices=list(RESOLUTIONS))
    r.add_argument("--chunks", type=int, nargs="+", default=[256, 128, 64])


def _train(sub) -> None:
    """``bench train``: the real training step."""
    t = sub.add_parser("train", help='the real training step: samples/s, ms/step, data share, peak GiB')
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


def _rows(sub) -> None:
    """``bench rows``: training processes per GPU."""
    w = sub.add_parser("rows", help='N training processes at once on one GPU: total samples/s per N')
    w.add_argument("--n", type=int, nargs="+", default=[1, 2, 4, 8])
    w.add_argument("--seconds", type=float, default=30.0, help="timed window once all N are warm")
    w.add_argument("--out", default="results/train_speed.csv")
    w.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the flags of `bench train`")


def _video(sub) -> None:
    """``bench video``: the video tool end to end."""
    v = sub.add_parser("video", help='the video tool end to end: output frames/s, time to first frame (cold/warm)')
    v.add_argument("--source", default="bbb_1080p", help="a registered clip (default: Big Buck Bunny 1080p)")
    v.add_argument("--clip", help="or any video file")
    v.add_argument("--models", nargs="+", default=["vfilib", "rife_hdv3"], help="--model names or checkpoint files")
    v.add_argument("--factor", type=int, default=2)
    v.add_argument("--duration", type=float, default=0.0, help="seconds of the clip (0: all)")
    v.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                   help="flags passed on to the tool, e.g. --extra --graph --amp bf16 (last)")
    v.add_argument("--out", default="results/video_speed.csv")
