"""The video tool end to end, as a user runs it: output frames/s, time to the first frame, stages."""
from __future__ import annotations

import time

from ..core.tables import append_rows, provenance


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

    from ..data.sources import fetch
    from ..tool.stats import profile

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
