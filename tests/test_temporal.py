"""Temporal-consistency scores against known cases."""
import cv2
import numpy as np
import torch

from vfilib.eval.interpolators import Blend, Interpolator
from vfilib.eval.temporal import evaluate_clip, temporal_scores


def clip(n=9, shift=3):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((48, 200, 3)).astype(np.float32), (7, 7), 2)
    return [torch.from_numpy(np.ascontiguousarray(base[:, shift * i:shift * i + 96])).permute(2, 0, 1) for i in range(n)]


class Oracle(Interpolator):
    """Returns the true frame (looked up by its neighbours), as a perfect method would."""
    name = "oracle"

    def __init__(self, frames):
        self.frames = frames

    def __call__(self, i0, i1, t, scale=1.0):
        k = next(k for k, f in enumerate(self.frames) if torch.equal(f, i0[0].cpu()))
        g = next(g for g, f in enumerate(self.frames) if torch.equal(f, i1[0].cpu()))
        return self.frames[round(k + float(t) * (g - k))][None]


def test_a_perfect_method_scores_zero_and_blend_does_not():
    frames = clip()
    perfect = evaluate_clip(Oracle(frames), frames, 4, None)
    assert perfect["tOF"] < 1e-3 and perfect["flicker"] < 1e-3 and perfect["psnr"] > 45
    blend = evaluate_clip(Blend(), frames, 4, None)
    assert blend["tOF"] > 0.3 and blend["psnr"] < perfect["psnr"] - 10


def test_flicker_sees_brightness_pumping():
    frames = clip()
    pumped = [f * (0.9 if i % 2 else 1.0) for i, f in enumerate(frames)]
    s = temporal_scores(pumped, frames, None)
    assert s["flicker"] > 5 and temporal_scores(frames, frames, None)["flicker"] == 0


def test_warping_error_is_low_for_the_truth_and_sees_flicker_and_jitter():
    from vfilib.eval.temporal import warping_error

    frames = clip()                                      # a texture moving 3 px a frame: the flow is exact
    truth = warping_error(frames, frames)
    assert truth < 1e-3
    pumped = [f * (0.8 if i % 2 else 1.0) for i, f in enumerate(frames)]
    jitter = [frames[i + (1 if i % 2 and i + 1 < len(frames) else 0)] for i in range(len(frames))]   # frames out of step
    assert warping_error(pumped, frames) > 10 * max(truth, 1e-4)
    assert warping_error(jitter, frames) > 10 * max(truth, 1e-4)
    assert "E_warp" in temporal_scores(frames, frames, None)
