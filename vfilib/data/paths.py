"""Where datasets live: config fields with environment-variable defaults (see data/README.md)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..results import REPO_ROOT

ENV = {
    "vimeo": "VFILIB_VIMEO",          # vimeo_triplet/ or vimeo_septuplet/ root
    "ucf101": "VFILIB_UCF101",
    "snu_film": "VFILIB_SNUFILM",
    "middlebury": "VFILIB_MIDDLEBURY",
    "x4k": "VFILIB_X4K",              # X4K1000FPS root (train/ and test/)
    "embedded": "VFILIB_DATA",        # the embedded frame cache (default: <repo>/data/cache)
    "film": "VFILIB_FILM",            # the prepared Big Buck Bunny film (default: <repo>/data/film)
}


def _env(key: str) -> Path | None:
    v = os.environ.get(ENV[key])
    return Path(v).expanduser() if v else None


@dataclass
class DataPaths:
    vimeo: Path | None = field(default_factory=lambda: _env("vimeo"))
    ucf101: Path | None = field(default_factory=lambda: _env("ucf101"))
    snu_film: Path | None = field(default_factory=lambda: _env("snu_film"))
    middlebury: Path | None = field(default_factory=lambda: _env("middlebury"))
    x4k: Path | None = field(default_factory=lambda: _env("x4k"))
    embedded: Path = field(default_factory=lambda: _env("embedded") or REPO_ROOT / "data" / "cache")
    film: Path = field(default_factory=lambda: _env("film") or REPO_ROOT / "data" / "film")


def require_dir(root: str | Path | None, what: str, layout: str) -> Path:
    """The dataset folder, or a FileNotFoundError that shows the expected layout."""
    if root is None:
        raise FileNotFoundError(f"{what}: no folder given; pass a path or set the environment variable "
                                f"(see data/README.md). Expected layout:\n{layout}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{what}: folder {root} does not exist. Expected layout:\n{layout}")
    return root
