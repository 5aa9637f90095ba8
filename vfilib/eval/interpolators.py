"""Everything that makes a middle frame, behind one interface.

    interp(I0, I1, t, scale=1.0) -> I_t        (B, 3, H, W) RGB in [0, 1]; t: (B,) tensor

``channel_order`` says what the method expects; the harness converts (the loaders are RGB).
Peers: frame blend, OpenCV DIS flow with linear-motion intermediate flows, ffmpeg's
``minterpolate`` (PyAV's filter graph), and vfilib checkpoints. The pretrained RIFE peers live in
:mod:`vfilib.eval.published`.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Callable

import cv2
import numpy as np
import torch

from ..core.tensors import image_to_tensor, tensor_to_image
from ..data.window import context_of, window_indices
from ..models.warp import backward_warp


class Interpolator:
    name = "interpolator"
    channel_order = "RGB"
    supports_any_t = True
    prefers_halving = False      # dyadic t (1/4, 3/8, ...) is better made by halving than directly (measured)
    context_frames = 2           # N > 2: __call__ also takes context=(B, N-2, 3, H, W) (vfilib.eval.nframe)
    scales: tuple[float, ...] | None = None   # the working scales it runs at; None: any in (0, 1]

    def __call__(self, i0: torch.Tensor, i1: torch.Tensor, t: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name

    def trainable(self) -> tuple[torch.nn.Module, Callable]:
        """(the network to fine-tune, a differentiable ``forward(I0, I1, t) -> I_t``: RGB (B, 3, H, W) in
        [0, 1], t (B,)), for test-time adaptation (:mod:`vfilib.train.adapt`); ``__call__`` runs without
        gradients. Methods without weights have nothing to adapt."""
        raise TypeError(f"{self.name} has no weights to adapt")


class Blend(Interpolator):
    """(1 - t) I0 + t I1."""

    name = "blend"

    def __call__(self, i0, i1, t, scale=1.0):
        t = t.view(-1, 1, 1, 1).to(i0.dtype)
        return (1 - t) * i0 + t * i1


def _to_u8_gray(x: torch.Tensor) -> np.ndarray:
    return cv2.cvtColor(tensor_to_image(x), cv2.COLOR_RGB2GRAY)


class DISFlow(Interpolator):
    """OpenCV DIS optical flow both ways, intermediate flows under linear motion
    (F_t0 = -(1-t) t F_01 + t^2 F_10, F_t1 = (1-t)^2 F_01 - t (1-t) F_10), backward warping, blend."""

    name = "dis_flow"

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM):
        self.preset = preset

    def flows(self, i0: torch.Tensor, i1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dis = cv2.DISOpticalFlow_create(self.preset)
        f01, f10 = [], []
        for a, b in zip(i0, i1):
            ga, gb = _to_u8_gray(a), _to_u8_gray(b)
            f01.append(torch.from_numpy(dis.calc(ga, gb, None)).permute(2, 0, 1))
            f10.append(torch.from_numpy(dis.calc(gb, ga, None)).permute(2, 0, 1))
        return torch.stack(f01).to(i0), torch.stack(f10).to(i0)

    def __call__(self, i0, i1, t, scale=1.0):
        f01, f10 = self.flows(i0, i1)
        t = t.view(-1, 1, 1, 1).to(i0.dtype)
        ft0 = -(1 - t) * t * f01 + t * t * f10
        ft1 = (1 - t) * (1 - t) * f01 - t * (1 - t) * f10
        return (1 - t) * backward_warp(i0, ft0) + t * backward_warp(i1, ft1)


class Minterpolate(Interpolator):
    """ffmpeg's motion-compensated ``minterpolate`` through PyAV's libavfilter (t = 0.5 only):
    I0, I1, I1 at 1 fps through ``minterpolate=fps=2``; the second output frame is t = 0.5."""

    name = "ffmpeg_minterpolate"
    supports_any_t = False

    def __init__(self, options: str = "mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1"):
        self.options = options

    def _one(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        import av
        from av.filter import Graph

        h, w = a.shape[:2]
        graph = Graph()
        src = graph.add_buffer(width=w, height=h, format="rgb24", time_base=Fraction(1, 1))
        mi = graph.add("minterpolate", f"fps=2:{self.options}")
        fmt = graph.add("format", "rgb24")
        sink = graph.add("buffersink")
        src.link_to(mi)
        mi.link_to(fmt)
        fmt.link_to(sink)
        graph.configure()
        out = []
        for pts, img in enumerate((a, b, b)):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1)
            graph.push(frame)
        graph.push(None)
        while True:
            try:
                out.append(graph.pull().to_ndarray(format="rgb24"))
            except (av.error.BlockingIOError, av.error.EOFError):
                break
        if len(out) < 2:
            raise RuntimeError(f"minterpolate returned {len(out)} frames")
        return out[1]

    def __call__(self, i0, i1, t, scale=1.0):
        if not torch.allclose(t, torch.full_like(t, 0.5)):
            raise ValueError("ffmpeg minterpolate peer only produces t = 0.5")
        outs = []
        for a, b in zip(i0, i1):
            outs.append(image_to_tensor(self._one(tensor_to_image(a), tensor_to_image(b))))
        return torch.stack(outs).to(i0)


class ModelInterpolator(Interpolator):
    """A vfilib model: forward(I0, I1, t, scale, tile).

    ``graph=True`` (CUDA): each new (shape, scale, tile) is captured once as a CUDA graph
    (:class:`vfilib.models.runtime.graph.GraphedForward`) and replayed for the following frames of the
    same size: at batch 1 that removes the per-kernel launch cost (see results/speed.csv, exec=graph)."""

    # the shipped model at 4x / 8x on the embedded clips' windows (`vfilib temporal`, results/temporal.csv):
    # 30.37 / 28.20 dB by halving against 29.11 / 26.52 dB with t direct
    prefers_halving = True

    def __init__(self, model: torch.nn.Module, name: str = "vfilib", amp: torch.dtype | None = None, tile: int = 0,
                 graph: bool = False):
        self.model, self.name, self.amp, self.tile, self.graph = model.eval(), name, amp, tile, graph
        self._graphs: dict[tuple, object] = {}
        self.context_frames = getattr(getattr(model, "cfg", None), "context_frames", 2)   # N > 2: takes context=(B, N-2, 3, H, W)

    @torch.no_grad()
    def __call__(self, i0, i1, t, scale=1.0, context=None):
        dev = next(self.model.parameters()).device
        kw = {"scale": scale} if scale != 1 else {}
        if self.tile and scale != 1:
            kw["tile"] = self.tile
        i0, i1, t = i0.to(dev), i1.to(dev), torch.as_tensor(t, dtype=i0.dtype).to(dev)
        if context is not None:
            if self.graph:
                raise ValueError("graph=True runs the pair only; an N-frame model's context needs graph=False")
            kw["context"] = context.to(dev)
        if self.graph:
            if dev.type != "cuda":
                raise ValueError(f"graph=True needs the model on a CUDA device, it is on {dev}")
            key = (tuple(i0.shape), str(i0.dtype), scale, kw.get("tile", 0))
            if key not in self._graphs:
                from ..models.runtime.graph import GraphedForward

                self._graphs[key] = GraphedForward(self.model, i0, i1, 0.5, self.amp, **kw)
            return self._graphs[key](i0, i1, t).float().clone()   # the graph's output buffer is reused
        with torch.autocast(dev.type, dtype=self.amp, enabled=self.amp is not None):
            return self.model(i0, i1, t, **kw).float()

    def trainable(self):
        return self.model, lambda i0, i1, t: self.model(i0, i1, t)


def bisection_path(t: Fraction, max_depth: int = 6) -> list[tuple[Fraction, Fraction, Fraction]]:
    """The (lo, hi, midpoint) steps that reach a dyadic ``t`` by halving [0, 1]: 3/8 -> [(0, 1, 1/2),
    (0, 1/2, 1/4), (1/4, 1/2, 3/8)]; another t: the first ``max_depth`` steps towards it."""
    lo, hi, path = Fraction(0), Fraction(1), []
    while len(path) < max_depth:
        mid = (lo + hi) / 2
        path.append((lo, hi, mid))
        if mid == t:
            break
        lo, hi = (lo, mid) if t < mid else (mid, hi)
    return path


def bisect(targets: list[tuple[object, Fraction]], made: dict[object, dict[Fraction, torch.Tensor]],
           midpoints, max_depth: int = 6) -> list[torch.Tensor]:
    """The frames at ``t`` of several pairs by halving, depth by depth: the one bisection of the
    evaluation (:class:`RecursiveT`) and the video tool's engine.

    ``targets``: (pair key, t) in order; ``made[key]``: that pair's frames by time, holding 0 and 1 (the
    pair, each (1, 3, H, W)) and any midpoint made before; every new midpoint is added to it, so each is
    made once. ``midpoints(lefts, rights, spans)`` makes the middle frames of a list of pairs (``spans``:
    each one's (key, lo, hi), for methods that look beyond the pair): it is called once per depth with
    every pair's missing midpoint of that depth, in the order of ``targets``."""
    paths = [(key, bisection_path(t, max_depth)) for key, t in targets]
    spans_of = {(key, mid): (lo, hi) for key, path in paths for lo, hi, mid in path}
    for depth in range(max((len(p) for _, p in paths), default=0)):
        todo: dict[tuple, tuple] = {}
        for key, path in paths:
            if depth < len(path) and path[depth][2] not in made[key]:
                lo, hi, mid = path[depth]
                todo.setdefault((key, mid), (made[key][lo], made[key][hi]))
        if todo:
            spans = [(key, *spans_of[key, mid]) for key, mid in todo]
            outs = midpoints([a for a, _ in todo.values()], [b for _, b in todo.values()], spans)
            for (key, mid), frame in zip(todo, outs):
                made[key][mid] = frame
    return [made[key][path[-1][2]] for key, path in paths]


def window_frames(a: torch.Tensor, b: torch.Tensor, context: torch.Tensor | None,
                  frames: int) -> tuple[dict[Fraction, torch.Tensor], torch.Tensor | None]:
    """The pair's window by time, for halving: {0: I0, 1: I1} and, for N = ``frames`` > 2, the context's
    frames at -k+1 .. -1 (before I0) and 2 .. k (after I1); and the context ((B, N-2, 3, H, W); None
    given: I0 repeated before and I1 after, as at a clip's ends; None at N = 2). ``a``, ``b``: (B, 3, H, W)."""
    k = frames // 2
    if frames > 2 and context is None:
        context = torch.stack([a] * (k - 1) + [b] * (k - 1), 1)
    made = {Fraction(0): a, Fraction(1): b}
    if frames > 2:
        made.update({Fraction(m - k + 1): context[:, m] for m in range(k - 1)})
        made.update({Fraction(m + 2): context[:, k - 1 + m] for m in range(k - 1)})
    return made, context if frames > 2 else None


def step_context(made: dict[Fraction, torch.Tensor], lo: Fraction, hi: Fraction, frames: int) -> torch.Tensor:
    """The context of the halving step (lo, hi) of an N = ``frames`` model, (B, N-2, 3, H, W): its window
    at the step's spacing from the frames known by time (``made``: the real window and the midpoints
    made so far; missing ones repeat the nearest, :func:`vfilib.data.window.window_indices`)."""
    win = window_indices(lo, hi, frames, made.__contains__)
    return torch.stack([made[f] for f in context_of(win)], 1)


class RecursiveT(Interpolator):
    """Any dyadic t (k / 2^n) from a t = 0.5 interpolator by bisection (X-TEST's recursive 8x).

    The midpoints of the last frame pair are kept (to 1/8: seven frames, 0.7 GB at 4K): the 7 targets of
    an 8x window (separate samples, equal frames) cost 7 calls of the base, not 17.

    An N-frame base (``context_frames`` > 2) takes ``context`` (B, N-2, 3, H, W) and each halving step gets
    the window of its sub-interval from the real window and the frames made so far, at the step's
    spacing (:func:`vfilib.data.window.window_indices` over fraction times; missing ones repeat)."""

    KEEP_DEPTH = 3

    def __init__(self, base: Interpolator, max_depth: int = 6):
        self.base, self.max_depth = base, max_depth
        self.name = f"{base.name}(recursive)"
        self.channel_order = base.channel_order
        self.context_frames, self.scales = base.context_frames, base.scales
        self._pair: tuple | None = None          # (I0, I1, scale, context) whose midpoints are in _memo
        self._memo: dict[Fraction, torch.Tensor] = {}

    def _same_pair(self, a, b, scale, ctx=None) -> bool:
        p = self._pair
        same_ctx = (p is not None and (p[3] is None) == (ctx is None)
                    and (ctx is None or (p[3].shape == ctx.shape and torch.equal(p[3], ctx))))
        return (same_ctx and p[2] == scale and p[0].shape == a.shape and p[0].device == a.device
                and torch.equal(p[0], a) and torch.equal(p[1], b))

    def _at(self, a, b, t: float, scale: float, ctx: torch.Tensor | None = None) -> torch.Tensor:
        if not self._same_pair(a, b, scale, ctx):
            self._pair, self._memo = (a.clone(), b.clone(), scale, None if ctx is None else ctx.clone()), {}
        # the real window (with context: I(-k+1) .. I(-1) before, I2 .. I(k) after) and the midpoints kept
        made = {**window_frames(a, b, ctx, self.context_frames if ctx is not None else 2)[0], **self._memo}
        half = torch.full((1,), 0.5, device=a.device)

        def midpoints(lefts, rights, spans):
            outs = []
            for x, y, (_, lo, hi) in zip(lefts, rights, spans):
                # the step's window from the real frames and those made so far
                kw = {} if ctx is None else {"context": step_context(made, lo, hi, self.context_frames)}
                outs.append(self.base(x, y, half, scale, **kw))
            return outs

        out, = bisect([(0, Fraction(t))], {0: made}, midpoints, self.max_depth)
        self._memo = {f: v for f, v in made.items() if 0 < f < 1 and f.denominator <= 2 ** self.KEEP_DEPTH}
        return out

    def __call__(self, i0, i1, t, scale=1.0, context=None):
        ts = torch.as_tensor(t).flatten().tolist()
        ctx = (lambda j: None) if context is None else (lambda j: context[j:j + 1])    # noqa: E731
        return torch.cat([self._at(i0[j:j + 1], i1[j:j + 1], ts[j], scale, ctx(j)) for j in range(len(ts))])
