"""Interpolate a real video: ``python -m vfilib.interpolate INPUT -o OUTPUT``.

    python -m vfilib.interpolate clip.mp4 -o clip_2x.mp4 --factor 2 --checkpoint runs/exp2c_small/best.pt
    python -m vfilib.interpolate clip.mp4 -o clip_60.mp4 --fps 60 --peer rife_hdv3
    python -m vfilib.interpolate frames/ -o out_frames/ --factor 8 --t_mode recursive

INPUT is a video file (decoded with PyAV) or a folder of frames (sorted by name; ``--in_fps`` gives
their rate). OUTPUT is a video file (PyAV encoding, H.264 when available) or a folder (PNG frames).
Frames stream through: only the two current input frames are held, so a long video never sits in
memory. Output frame n lies at time n / out_fps; between input frames i and i+1 it is interpolated
at t = n * in_fps / out_fps - i (``--factor k``: t = j / k; ``--fps``: any t, e.g. 24 -> 60 fps).
``--t_mode recursive`` reaches dyadic t by repeated midpoints instead (needed for t = 0.5-only
peers such as RIFE HDv3, and X-TEST's recursive 8x). Across a scene cut nothing is interpolated: the
nearer real frame is repeated. Audio is not copied.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from tqdm import tqdm

from .config import AMP_MODES, SSM_DTYPES, amp_dtype
from .data.embedded import color_hist, decode_video, thumbnail, video_info
from .data.io import IMAGE_SUFFIXES, read_image, write_image
from .eval.interpolators import Interpolator

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v"}


# ----------------------------------------------------------------------------- timing
def output_times(n_in: int, in_fps: float, out_fps: float) -> Iterator[tuple[int, Fraction]]:
    """(i, t) for every output frame: it lies between input frames i and i+1 at fraction t in [0, 1)
    (t = 0: the input frame itself). Exact rational arithmetic, so 24 -> 60 fps repeats exactly."""
    ratio = Fraction(in_fps).limit_denominator(100000) / Fraction(out_fps).limit_denominator(100000)
    n_out = math.floor((n_in - 1) / ratio) + 1 if n_in else 0
    for n in range(n_out):
        p = n * ratio
        i = math.floor(p)
        yield i, p - i


def is_dyadic(t: Fraction, max_depth: int = 6) -> bool:
    return t.denominator & (t.denominator - 1) == 0 and t.denominator <= 2 ** max_depth


# ----------------------------------------------------------------------------- scene cuts
@dataclass
class CutDetector:
    """Streaming cut test on consecutive frames: the thumbnail difference must stand far above the
    recent ones (``ratio`` x median of the last ``history``, at least ``min_diff``) and the colour
    histogram must change (the same rule as the embedded data's offline detector)."""

    ratio: float = 2.5
    min_diff: float = 12.0
    min_hist: float = 0.15
    history: int = 10

    def __post_init__(self):
        self.diffs: list[float] = []

    def __call__(self, a: np.ndarray, b: np.ndarray) -> bool:
        d = float(np.abs(thumbnail(b) - thumbnail(a)).mean())
        h = 0.5 * float(np.abs(color_hist(b) - color_hist(a)).sum())
        recent = self.diffs[-self.history:]
        base = float(np.median(recent)) if recent else 0.0
        cut = d > max(self.min_diff, self.ratio * base) and h > self.min_hist
        if not cut:
            self.diffs.append(d)
        return cut


# ----------------------------------------------------------------------------- frame I/O
def read_frames(path: Path) -> Iterator[np.ndarray]:
    """RGB uint8 (H, W, 3) frames of a video file or an image folder, one at a time."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"{path}: no image frames ({', '.join(sorted(IMAGE_SUFFIXES))})")
        shape = None
        for f in files:
            img = read_image(f)                       # float RGB in [0, 1], clear errors for bad files
            if shape is not None and img.shape != shape:
                raise ValueError(f"{f}: frame size {img.shape[1]}x{img.shape[0]} differs from the first "
                                 f"frame's {shape[1]}x{shape[0]}")
            shape = img.shape
            yield (img * 255 + 0.5).astype(np.uint8)
        return
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file or frame folder")
    yield from decode_video(path)


class FrameWriter:
    """Writes RGB uint8 frames to a video (PyAV) or a folder of PNGs; a video file is written to a
    temporary name and renamed when closed, so an interrupted run leaves no half-written output."""

    def __init__(self, path: Path, fps: float, codec: str | None = None, crf: int = 18):
        self.path, self.fps, self.count = path, fps, 0
        self.is_video = path.suffix.lower() in VIDEO_SUFFIXES
        self.codec, self.crf, self.container, self.stream = codec, crf, None, None
        if self.is_video:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
        else:
            path.mkdir(parents=True, exist_ok=True)

    def _open(self, h: int, w: int) -> None:
        import av

        self.container = av.open(str(self.tmp), mode="w")
        rate = Fraction(self.fps).limit_denominator(100000)
        for codec in ([self.codec] if self.codec else ["libx264", "h264", "mpeg4"]):
            try:
                self.stream = self.container.add_stream(codec, rate=rate)
                break
            except (ValueError, av.error.FFmpegError):   # codec not in this build
                continue
        if self.stream is None:
            raise RuntimeError(f"{self.path}: no usable video encoder in this PyAV build")
        self.stream.width, self.stream.height = w + w % 2, h + h % 2   # yuv420p needs even sizes
        self.stream.pix_fmt = "yuv420p"
        if self.stream.codec_context.name == "libx264":
            self.stream.options = {"crf": str(self.crf)}

    def write(self, frame: np.ndarray) -> None:
        if not self.is_video:
            write_image(self.path / f"{self.count:06d}.png", frame.astype(np.float32) / 255)
        else:
            import av

            h, w = frame.shape[:2]
            if self.container is None:
                self._open(h, w)
            if h % 2 or w % 2:                             # replicate the last row/column
                frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            for packet in self.stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                self.container.mux(packet)
        self.count += 1

    def close(self) -> None:
        if self.container is not None:
            for packet in self.stream.encode():
                self.container.mux(packet)
            self.container.close()
            self.tmp.replace(self.path)


# ----------------------------------------------------------------------------- the loop
def _tensor(frame: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(frame).to(device).permute(2, 0, 1)[None].float().div_(255)


def _array(x: torch.Tensor) -> np.ndarray:
    return (x[0].clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).cpu().numpy()


def midpoint_chain(interp: Interpolator, a: torch.Tensor, b: torch.Tensor, t: Fraction, scale: float) -> torch.Tensor:
    """The frame at dyadic ``t`` by repeated t = 0.5 calls (bisection)."""
    half = torch.full((1,), 0.5)
    while True:
        mid = interp(a, b, half, scale)
        if t == Fraction(1, 2):
            return mid
        a, b, t = (a, mid, t * 2) if t < Fraction(1, 2) else (mid, b, t * 2 - 1)


def interpolate_video(src: str | Path, dst: str | Path, interp: Interpolator, factor: int | None = None,
                      fps: float | None = None, in_fps: float | None = None, t_mode: str = "direct",
                      scale: float = 1.0, device: str | torch.device = "cpu", detect_cuts: bool = True,
                      progress: bool = True) -> dict:
    """Stream ``src`` through ``interp`` into ``dst``; returns counts (frames in/out, cuts, fps)."""
    src, dst = Path(src), Path(dst)
    if (factor is None) == (fps is None):
        raise ValueError("give exactly one of factor (2, 4, 8, ...) or fps (a target frame rate)")
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such video file or frame folder")
    info = video_info(src) if src.is_file() else {"fps": in_fps or 0, "frames": len(
        [p for p in src.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]) if src.is_dir() else 0}
    in_rate = in_fps or info["fps"]
    if not in_rate:
        raise ValueError(f"{src}: unknown input frame rate; pass in_fps")
    out_rate = in_rate * factor if factor else fps
    if t_mode not in ("direct", "recursive"):
        raise ValueError(f"t_mode must be direct or recursive, got {t_mode!r}")
    if t_mode == "direct" and not getattr(interp, "supports_any_t", True):
        raise ValueError(f"{interp.name} predicts t = 0.5 only: use t_mode='recursive' (dyadic t)")

    frames = read_frames(src)
    n_in = info.get("frames") or 0
    writer = FrameWriter(dst, out_rate)
    detector = CutDetector() if detect_cuts else None
    stats = {"frames_in": 0, "frames_out": 0, "interpolated": 0, "cuts": [], "in_fps": in_rate, "out_fps": out_rate}
    a_np = next(frames, None)
    if a_np is None:
        raise ValueError(f"{src}: no frames")
    b_np = next(frames, None)
    i, cut = 0, False
    if b_np is not None and detector is not None:
        cut = detector(a_np, b_np)
    a = _tensor(a_np, device)
    b = _tensor(b_np, device) if b_np is not None else None
    ratio = Fraction(in_rate).limit_denominator(100000) / Fraction(out_rate).limit_denominator(100000)
    pbar = tqdm(total=math.floor((n_in - 1) / ratio) + 1 if n_in else None, disable=not progress,
                unit="frame", desc=f"{src.name} -> {dst.name}")
    n = 0
    try:
        while True:
            p = n * ratio
            idx, t = math.floor(p), p - math.floor(p)
            while idx > i and b_np is not None:             # advance the input window
                a_np, a, i = b_np, b, i + 1
                b_np = next(frames, None)
                b = _tensor(b_np, device) if b_np is not None else None
                if cut:
                    stats["cuts"].append(i)
                cut = detector(a_np, b_np) if (b_np is not None and detector is not None) else False
            if idx > i or (b_np is None and t > 0):
                break                                       # past the last input frame
            if t == 0:
                out = a_np
            elif cut:
                out = a_np if t < Fraction(1, 2) else b_np  # never interpolate across a cut
            else:
                if t_mode == "recursive":
                    if not is_dyadic(t):
                        raise ValueError(f"t = {t} is not dyadic: use t_mode='direct' for this frame rate")
                    pred = midpoint_chain(interp, a, b, t, scale)
                else:
                    pred = interp(a, b, torch.tensor([float(t)]), scale)
                out = _array(pred)
                stats["interpolated"] += 1
            writer.write(out)
            n += 1
            pbar.update(1)
        stats["frames_in"] = i + 1
    finally:
        pbar.close()
        writer.close()
    stats["frames_out"] = writer.count
    return stats


def build_interpolator(checkpoint: str | None, peer: str | None, device, amp: str = "off", tile: int = 0,
                       graph: bool = False, ssm_dtype: str = "fp32") -> Interpolator:
    from .eval.interpolators import from_checkpoint, make_peer

    if (checkpoint is None) == (peer is None):
        raise ValueError("give exactly one of --checkpoint or --peer")
    if peer:
        if graph or ssm_dtype != "fp32":
            raise ValueError("--graph and --ssm_dtype apply to vfilib checkpoints, not to the peer methods")
        return make_peer(peer, device)
    if graph and torch.device(device).type != "cuda":
        raise ValueError(f"--graph replays CUDA graphs: it needs a CUDA --device, got {device!r}")
    it = from_checkpoint(checkpoint, device, amp_dtype(amp), graph=graph, ssm_dtype=ssm_dtype)
    it.tile = tile
    return it


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m vfilib.interpolate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", type=Path, help="video file or folder of frames")
    ap.add_argument("-o", "--output", type=Path, required=True, help="video file (.mp4, .mkv, ...) or folder")
    rate = ap.add_mutually_exclusive_group(required=True)
    rate.add_argument("--factor", type=int, help="frame-rate multiplier (2, 4, 8, ...)")
    rate.add_argument("--fps", type=float, help="target frame rate (e.g. 60)")
    ap.add_argument("--in_fps", type=float, help="input rate of a frame folder (default: the video's)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--checkpoint", help="a vfilib checkpoint (runs/<exp>/best.pt)")
    src.add_argument("--peer", help="blend | dis | minterpolate | rife_hdv3 | rife_v39 | rife_v39_refine")
    ap.add_argument("--t_mode", default="direct", choices=["direct", "recursive"])
    ap.add_argument("--scale", type=float, default=1.0, help="flow working scale: 0.5 for 2K, 0.25 for 4K")
    ap.add_argument("--tile", type=int, default=0, help="full-resolution stage in tiles of this size (bounded memory)")
    ap.add_argument("--amp", default="off", choices=AMP_MODES)
    ap.add_argument("--graph", action="store_true",
                    help="CUDA: capture the model once per frame size and replay it (several times faster at batch 1)")
    ap.add_argument("--ssm_dtype", default="fp32", choices=SSM_DTYPES,
                    help="autocast: with --amp bf16 the SSD runs on bf16 inputs (faster; PSNR change in results/precision.csv)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--no_cuts", action="store_true", help="interpolate across scene cuts too")
    args = ap.parse_args(argv)
    if args.checkpoint is None and args.peer is None:
        args.peer = "rife_hdv3"
        print("[interpolate] no --checkpoint given: using the RIFE HDv3 peer")
    interp = build_interpolator(args.checkpoint, args.peer, args.device, args.amp, args.tile, args.graph,
                                args.ssm_dtype)
    stats = interpolate_video(args.input, args.output, interp, args.factor, args.fps, args.in_fps, args.t_mode,
                              args.scale, args.device, not args.no_cuts)
    print(f"[interpolate] {stats['frames_in']} frames at {stats['in_fps']:.3f} fps -> {stats['frames_out']} at "
          f"{stats['out_fps']:.3f} fps ({stats['interpolated']} interpolated; cuts before frames {stats['cuts']}) "
          f"-> {args.output}")


if __name__ == "__main__":
    main()
