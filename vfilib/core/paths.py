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

#: The folders more than one part of vfilib reads (a benchmark's own folder is named by its entry,
#: :data:`vfilib.eval.benchmark.BENCHMARKS`).
ENV = {
    "vimeo": "VFILIB_VIMEO",          # vimeo_triplet/ or vimeo_septuplet/ root
    "x4k": "VFILIB_X4K",              # X4K1000FPS root (train/ and test/)
    "embedded": "VFILIB_DATA",        # the embedded frame cache (default: <repo>/data/cache)
    "film": "VFILIB_FILM",            # the prepared Big Buck Bunny film (default: <repo>/data/film)
    "live": "VFILIB_LIVE",            # the prepared live-action set (default: <repo>/data/live)
    "downloads": "VFILIB_DOWNLOADS",  # fetched archives and extracted source videos (default: <repo>/data/downloads)
    "weights": "VFILIB_WEIGHTS",      # peer and loss weights (default: <repo>/data/weights)
}


#: Where a variable's folder is when the variable is not set (repository-relative).
DEFAULTS = {"VFILIB_DATA": "data/cache", "VFILIB_FILM": "data/film", "VFILIB_LIVE": "data/live",
            "VFILIB_DOWNLOADS": "data/downloads", "VFILIB_WEIGHTS": "data/weights"}


def folder(env: str) -> Path | None:
    """The folder the environment variable ``env`` names, else its default (:data:`DEFAULTS`), else None."""
    v = os.environ.get(env)
    if v:
        return Path(v).expanduser()
    return REPO_ROOT / DEFAULTS[env] if env in DEFAULTS else None


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
    vimeo: Path | None = field(default_factory=lambda: folder(ENV["vimeo"]))
    x4k: Path | None = field(default_factory=lambda: folder(ENV["x4k"]))
    embedded: Path = field(default_factory=lambda: folder(ENV["embedded"]))
    film: Path = field(default_factory=lambda: folder(ENV["film"]))
    live: Path = field(default_factory=lambda: folder(ENV["live"]))
    downloads: Path = field(default_factory=lambda: folder(ENV["downloads"]))
    weights: Path = field(default_factory=lambda: folder(ENV["weights"]))


def require_dir(root: str | Path | None, what: str, layout: str) -> Path:
    """The dataset folder, or a FileNotFoundError that shows the expected layout."""
    if root is None:
        raise FileNotFoundError(f"{what}: no folder given; pass a path or set the environment variable "
                                f"(see data/README.md). Expected layout:\n{layout}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{what}: folder {root} does not exist. Expected layout:\n{layout}")
    return root
