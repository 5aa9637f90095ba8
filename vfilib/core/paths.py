"""Where things live. One place for the repository root, the data folders and the user cache.

Every path the workbook writes resolves from the repository root, whatever the current working
folder (a notebook kernel starts in ``notebooks/``). Dataset folders come from environment variables
(see ``data/README.md``) or from :class:`DataPaths` fields.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

ENV = {
    "vimeo": "VFILIB_VIMEO",          # vimeo_triplet/ or vimeo_septuplet/ root
    "ucf101": "VFILIB_UCF101",
    "snu_film": "VFILIB_SNUFILM",
    "middlebury": "VFILIB_MIDDLEBURY",
    "x4k": "VFILIB_X4K",              # X4K1000FPS root (train/ and test/)
    "embedded": "VFILIB_DATA",        # the embedded frame cache (default: <repo>/data/cache)
    "film": "VFILIB_FILM",            # the prepared Big Buck Bunny film (default: <repo>/data/film)
    "live": "VFILIB_LIVE",            # the prepared live-action set (default: <repo>/data/live)
    "downloads": "VFILIB_DOWNLOADS",  # fetched archives and extracted source videos (default: <repo>/data/downloads)
    "weights": "VFILIB_WEIGHTS",      # peer and loss weights (default: <repo>/data/weights)
}


def _env(key: str) -> Path | None:
    v = os.environ.get(ENV[key])
    return Path(v).expanduser() if v else None


def repo_path(*parts: str | os.PathLike) -> Path:
    """A path under the repository root; an absolute ``parts[0]`` is returned as is."""
    p = Path(*parts) if parts else Path()
    return p if p.is_absolute() else REPO_ROOT / p


def runs_dir() -> Path:
    """Training runs and executed notebooks (ignored by git)."""
    return _env_dir("VFILIB_RUNS") or REPO_ROOT / "runs"


def results_dir() -> Path:
    """Tables and figures (tracked)."""
    return _env_dir("VFILIB_RESULTS") or REPO_ROOT / "results"


def user_cache_dir() -> Path:
    """Per-user cache (compiled kernels, torch.compile artefacts): $XDG_CACHE_HOME/vfilib."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vfilib"


def _env_dir(name: str) -> Path | None:
    v = os.environ.get(name)
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
    live: Path = field(default_factory=lambda: _env("live") or REPO_ROOT / "data" / "live")
    downloads: Path = field(default_factory=lambda: _env("downloads") or REPO_ROOT / "data" / "downloads")
    weights: Path = field(default_factory=lambda: _env("weights") or REPO_ROOT / "data" / "weights")


def require_dir(root: str | Path | None, what: str, layout: str) -> Path:
    """The dataset folder, or a FileNotFoundError that shows the expected layout."""
    if root is None:
        raise FileNotFoundError(f"{what}: no folder given; pass a path or set the environment variable "
                                f"(see data/README.md). Expected layout:\n{layout}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{what}: folder {root} does not exist. Expected layout:\n{layout}")
    return root
