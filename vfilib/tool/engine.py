"""The model side: frames to tensors and back, and an :class:`Engine` that runs an interpolator on
batches of (I0, I1, t) jobs, making 1/4, 3/8, ... by halving where that is better or the only way.

A model with context (``context_frames`` N > 2) gets each job's window: the N-2 frames around the
pair (``Job.context``, (1, N-2, 3, H, W), from :class:`vfilib.data.window.StreamWindows`); a halving
step gets the window of its sub-interval from the real window and the frames made so far.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from ..eval.interpolators import Interpolator, bisect, step_context, window_frames
from .methods import not_reachable
from .options import T_MODES, UsageError
from .stats import StageClock
from .timing import is_dyadic

HALF = Fraction(1, 2)


def to_tensor(img: np.ndarray, device) -> torch.Tensor:
    """(H, W, 3) uint8 / uint16 -> (1, 3, H, W) float in [0, 1] on ``device``; 8-bit frames travel as
    bytes and become floats there (a quarter of the host-to-device copy)."""
    if img.dtype == np.uint8:
        return torch.from_numpy(img).to(device).permute(2, 0, 1)[None].float().div_(255.0)
    return torch.from_numpy(img.astype(np.float32) / 65535.0).to(device).permute(2, 0, 1)[None]


def to_image(x: torch.Tensor, deep: bool) -> np.ndarray:
    """(1, 3, H, W) float -> (H, W, 3) uint8 / uint16, rounded on the frame's device (8-bit frames come
    back to the host as bytes)."""
    y = (x[0].float().clamp(0, 1) * (65535 if deep else 255) + 0.5).permute(1, 2, 0)
    if deep:
        return y.cpu().numpy().astype(np.uint16)
    return y.to(torch.uint8).cpu().numpy()


@dataclass
class Job:
    a: torch.Tensor
    b: torch.Tensor
    t: Fraction
    context: torch.Tensor | None = None         # (1, N-2, 3, H, W): the window around (a, b), N > 2 models
    out: list = field(default_factory=list)     # filled with the result


class Engine:
    """Runs an interpolator on batches of (I0, I1, t) jobs. A dyadic t (1/4, 3/8, ...) is made by halving
    (t = 0.5 predictions, recursively: :func:`vfilib.eval.interpolators.bisect`) for models that predict
    t = 0.5 only, and with ``t_mode`` "auto" for those that do better that way (``prefers_halving``: the
    shipped vfilib model); "halve" does so for every model, "direct" never (any-t models only). Other
    t, and t = 0.5, go in batches. Each midpoint of a pair is made once, in its batch or an earlier one
    of the same pair, so 4x costs 3 frames per pair and 8x 7, as directly."""

    def __init__(self, interp: Interpolator, device: torch.device, batch: int, scale: float, t_mode: str = "auto",
                 clock: StageClock | None = None):
        if t_mode not in T_MODES:
            raise UsageError(f"--t_mode {t_mode}: choose from {', '.join(T_MODES)}")
        self.interp, self.device, self.batch, self.scale, self.t_mode = interp, device, batch, scale, t_mode
        self.clock = clock or StageClock()
        self.pending: list[Job] = []
        self.made: dict[tuple, dict[Fraction, torch.Tensor]] = {}   # a pair's frames by t (0 and 1: the pair)

    def halves(self, t: Fraction) -> bool:
        if not self.interp.supports_any_t:
            return True
        wanted = self.t_mode == "halve" or (self.t_mode == "auto" and self.interp.prefers_halving)
        return wanted and t != HALF and is_dyadic(t)

    def submit(self, a: torch.Tensor, b: torch.Tensor, t: Fraction, context: torch.Tensor | None = None) -> Job:
        """The frame at ``t`` between ``a`` and ``b`` (each (1, 3, H, W)); ``context``: the N-2 frames of the
        pair's window for a model that takes them (None: none known, I0 and I1 repeated)."""
        if not self.interp.supports_any_t and not is_dyadic(t):
            raise UsageError(not_reachable(self.interp.name, t))
        n = self.interp.context_frames
        job = Job(a, b, t, (context if context is not None else window_frames(a, b, None, n)[1]) if n > 2 else None)
        self.pending.append(job)
        if len(self.pending) >= self.batch:
            self.flush()
        return job

    def flush(self) -> None:
        jobs, self.pending = self.pending, []
        if not jobs:
            return
        direct = []
        for j in jobs:
            if self.halves(j.t):
                continue
            made = self._pair(j).get(HALF) if j.t == HALF else None
            if made is not None:                  # halving made it already (the pair's earlier batch)
                j.out.append(made)
            else:
                direct.append(j)
        calls = self._call([j.a for j in direct], [j.b for j in direct], [float(j.t) for j in direct],
                           [j.context for j in direct])
        for j, o in zip(direct, calls):
            j.out.append(o)
            if j.t == HALF:
                self._pair(j)[HALF] = o
        # halving, depth by depth: every pair's midpoints in one batch, then the quarter points, ...
        halving = [j for j in jobs if self.halves(j.t)]
        made = {self._key(j): self._pair(j) for j in halving}
        n = self.interp.context_frames

        def midpoints(lefts, rights, spans):
            contexts = [step_context(made[key], lo, hi, n) if n > 2 else None for key, lo, hi in spans]
            return self._call(lefts, rights, [0.5] * len(lefts), contexts)

        frames = bisect([(self._key(j), j.t) for j in halving], made, midpoints)
        for j, frame in zip(halving, frames):
            j.out.append(frame)
        # pairs arrive in order: only the last job's pair can have more jobs in the next batch
        last = self._key(jobs[-1])
        self.made = {last: self.made[last]} if last in self.made else {}

    @staticmethod
    def _key(job: Job) -> tuple:
        return id(job.a), id(job.b)

    def _pair(self, job: Job) -> dict[Fraction, torch.Tensor]:
        """The frames of the job's pair by time: 0 and 1, its window's context frames (N > 2: at -k+1 .. -1
        and 2 .. k) and the midpoints made so far. The entry holds the pair's tensors, so their ids
        cannot be reused while it lives."""
        key = self._key(job)
        if key not in self.made:
            self.made[key] = window_frames(job.a, job.b, job.context, self.interp.context_frames)[0]
        return self.made[key]

    def _call(self, a: list[torch.Tensor], b: list[torch.Tensor], t: list[float],
              context: list[torch.Tensor | None]) -> list[torch.Tensor]:
        """The model on the pairs (each (1, 3, H, W)) at ``t``, ``batch`` pairs per call, with their
        windows' ``context`` ((1, N-2, 3, H, W) each) for a model that takes one; (1, 3, H, W) each."""
        outs = []
        for k in range(0, len(t), self.batch):
            kw = {"context": torch.cat(context[k:k + self.batch])} if self.interp.context_frames > 2 else {}
            with self.clock("model"):
                y = self.interp(torch.cat(a[k:k + self.batch]), torch.cat(b[k:k + self.batch]),
                                torch.tensor(t[k:k + self.batch], device=self.device), self.scale, **kw)
                self._check(y)
            outs += [o[None] for o in y]
        return outs

    def _check(self, x: torch.Tensor) -> None:
        if not torch.isfinite(x.float().sum()):        # one reduction: NaN / inf anywhere make the sum so
            raise RuntimeError(f"{self.interp.name} produced non-finite pixels (NaN/inf); nothing was written "
                               "under the output name")
