"""Whole-sequence evaluation (vfilib.eval.sequence) on a prepared set built in a temp dir."""
import json

import cv2
import numpy as np
import pandas as pd
import torch

from vfilib.eval.interpolators import Blend, Interpolator
from vfilib.eval.sequence import interpolate_sequence, run


def _moving_set(root, n=40, shots=((0, 19, "test"), (19, 40, "test"))):
    """A prepared set (every frame stored) of one clip: a texture moving 2 px a frame; shots given."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur((rng.random((40, 200, 3)) * 255).astype(np.float32), (7, 7), 2).astype(np.uint8)
    (root / "frames" / "c").mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(root / "frames" / "c" / f"{i:05d}.png"), np.ascontiguousarray(base[:, 2 * i:2 * i + 64]))
    manifest = {"store": "all", "clips": {"c": {"ext": ".png", "duplicates": [], "frames": n}},
                "shots": [{"clip": "c", "start": a, "end": b, "split": s} for a, b, s in shots]}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


class Truth(Interpolator):
    """The true frame, looked up by its neighbours (a perfect method); records the context it was given."""

    name, context_frames = "truth", 4

    def __init__(self, frames):
        self.frames, self.contexts = frames, []

    def _index(self, x):
        return next(k for k, f in enumerate(self.frames) if torch.equal(f, x.cpu()))

    def __call__(self, i0, i1, t, scale=1.0, context=None):
        k, g = self._index(i0[0]), self._index(i1[0])
        self.contexts.append([self._index(c) for c in context[0]])
        return torch.stack([self.frames[round(k + float(tt) * (g - k))] for tt in t])


def test_a_perfect_method_is_perfect_and_gets_the_kept_frames_window():
    frames = [torch.rand(3, 8, 8) for _ in range(17)]
    truth = Truth(frames)
    out = interpolate_sequence(truth, frames, 4)
    assert len(out) == 17 and all(torch.allclose(o, torch.round(f * 255) / 255) or o is f for o, f in zip(out, frames))
    # kept frames 0, 4, 8, 12, 16: the intervals' context is the kept frames around them, ends repeated
    assert truth.contexts == [[0, 8], [0, 12], [4, 16], [8, 16]]


def test_run_scores_factors_and_writes_rows_with_provenance(tmp_path):
    root = _moving_set(tmp_path / "set")
    out, per = tmp_path / "seq.csv", tmp_path / "frames.csv"
    table = run([Blend()], (2, 4, 8), root, max_shots=2, max_frames=17, use_lpips=False, out=out, per_frame=per,
                progress=False)
    assert list(table["factor"]) == [2, 4, 8] and (table["shots"] == 2).all() and (table["frames"] == 2).all()
    assert table["psnr"].is_monotonic_decreasing                      # larger gaps, worse frames
    assert (table["E_warp"] > table["E_warp_truth"]).all()            # blending ghosts: less consistent than the truth
    rows = pd.read_csv(out)
    assert {"commit", "device", "E_warp", "tOF", "flicker", "crop"} <= set(rows.columns)
    frames = pd.read_csv(per)
    assert len(frames) == 2 * (8 + 12 + 14)                           # made frames of 2 shots of 17 at x2, x4, x8


class _Probe(Interpolator):
    """A 4-frame t = 0.5 'method' on constant frames (value = time): returns the midpoint value and
    records the context values each call got."""

    name, context_frames = "probe", 4

    def __init__(self):
        self.calls = []

    def __call__(self, i0, i1, t, scale=1.0, context=None):
        self.calls.append((i0[0, 0, 0, 0].item(), i1[0, 0, 0, 0].item(), [c[0, 0, 0].item() for c in context[0]]))
        return (i0 + i1) / 2


def test_halving_gives_each_step_its_window():
    from vfilib.eval.interpolators import RecursiveT

    const = lambda v: torch.full((1, 3, 4, 4), float(v))                         # noqa: E731
    probe = _Probe()
    rec = RecursiveT(probe)
    out = rec(const(0), const(8), torch.tensor([0.375]), context=torch.stack([const(-8)[0], const(16)[0]])[None])
    assert out[0, 0, 0, 0].item() == 3.0 and rec.context_frames == 4
    # 1/2: the real window; 1/4 from (0, 1/2): -1/2 never made (0 repeated), 1 after; 3/8 from (1/4, 1/2): 0
    # before, 3/4 never made (1/2 repeated)
    assert probe.calls == [(0, 8, [-8, 16]), (0, 4, [0, 8]), (2, 4, [0, 4])]
