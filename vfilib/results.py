"""Result tables with provenance, written atomically.

Every row that lands in ``results/*.csv`` carries how it was made: commit (and whether the tree
was dirty), device, torch version, date, plus whatever the caller adds (dataset, split, config,
checkpoint, protocol). Files are written to a temporary file in the same folder and renamed, so an
interrupted write never leaves a half-written table.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

import pandas as pd
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent


def git_commit(root: Path = REPO_ROOT) -> str:
    """Short commit hash, with '+dirty' when tracked files differ from it; 'unknown' outside git.
    ``$VFILIB_COMMIT`` overrides it, for copies of the tree whose .git is not the tree's (the lent GPU)."""
    if os.environ.get("VFILIB_COMMIT"):
        return os.environ["VFILIB_COMMIT"]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def device_name(device: torch.device | str | None = None) -> str:
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(device: torch.device | str | None = None) -> dict[str, str]:
    return {
        "commit": git_commit(),
        "device": device_name(device),
        "torch": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def atomic_write(path: str | os.PathLike, write_fn, mode: str = "w") -> Path:
    """Call ``write_fn(fileobj)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    return atomic_write(path, lambda f: df.to_csv(f, index=False))


def append_rows(path: str | os.PathLike, rows: Iterable[dict], key: list[str] | None = None) -> pd.DataFrame:
    """Append rows to a CSV table (atomically). With ``key``, a new row replaces an old one whose key
    columns are equal (so a re-run updates its row instead of duplicating it)."""
    path = Path(path)
    new = pd.DataFrame(list(rows))
    old = pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()
    if key and not old.empty and all(k in old.columns for k in key):
        as_keys = lambda df: map(tuple, df[key].astype(object).fillna("").astype(str).values)  # noqa: E731 (CSV reads "" as NaN)
        keys = set(as_keys(new))
        old = old[[k not in keys for k in as_keys(old)]]
    table = pd.concat([old, new], ignore_index=True) if not old.empty else new
    write_table(table, path)
    return table
