"""Result tables with provenance, written atomically and appended under a lock.

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
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd
import torch

from . import profile as _profile
from .io import atomic_write, locked
from .paths import REPO_ROOT

__all__ = ["REPO_ROOT", "append_rows", "atomic_write", "git_commit", "provenance", "read_table", "write_table"]


def git_commit(root: Path = REPO_ROOT) -> str:
    """Short commit hash, with '+dirty' when tracked files other than ``results/`` differ from it (a
    run that rewrites the committed tables is not a code change); 'unknown' outside git.
    ``$VFILIB_COMMIT`` overrides it, for copies of the tree whose .git is not the tree's (the lent GPU).
    The notebooks' nbstripout clean filter is bypassed: it starts Python once per notebook, which made
    each ``git status`` take about 19 s in a fresh clone and every result row wait for it."""
    if os.environ.get("VFILIB_COMMIT"):
        return os.environ["VFILIB_COMMIT"]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-c", "filter.nbstripout.clean=cat", "status", "--porcelain",
                                "--untracked-files=no", "--", ".", ":(exclude)results"],
                               cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@lru_cache(maxsize=1)
def run_commit() -> str:
    """The commit of the code this process runs: :func:`git_commit` when vfilib was first imported
    (a long run's rows keep it even if the tree is committed or edited while it runs)."""
    return git_commit()


def device_name(device: torch.device | str | None = None) -> str:
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(device: torch.device | str | None = None, profile: str | None = None) -> dict[str, str]:
    """How a row was made: commit, device, torch, date, and the workbook profile (``profile``, else the
    process's; "none" outside one; "cpu (SMOKE)" where the profile's numbers only prove the code runs)."""
    return {
        "commit": run_commit(),
        "device": device_name(device),
        "torch": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "profile": _profile.label(profile or None),
    }


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    return atomic_write(path, lambda f: df.to_csv(f, index=False))


#: Provenance and key columns are text even when they look like numbers: a short commit or config hash
#: of digits only ("5023965") or of the form "1234e56" would otherwise come back as an int or a float
#: (and be written back that way on the next append, and match no key).
TEXT_COLUMNS = {"commit": str, "device": str, "torch": str, "date": str, "config_hash": str, "triplet": str,
                "exp_name": str, "profile": str}


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A results CSV (empty frame if missing), provenance columns as text; a malformed file is an
    error naming it."""
    path = Path(path)
    if not path.exists() or not path.stat().st_size:
        return pd.DataFrame()
    try:
        return pd.read_csv(path, dtype=TEXT_COLUMNS)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a readable CSV table ({str(e).splitlines()[0]}); fix or move it "
                         "and run again (nothing was written)") from None


def append_rows(path: str | os.PathLike, rows: Iterable[dict], key: list[str] | None = None) -> pd.DataFrame:
    """Append rows to a CSV table, atomically and under a lock (two processes appending keep every
    row). With ``key``, a new row replaces an old one whose key columns are equal (a re-run updates
    its row instead of duplicating it)."""
    path = Path(path)
    new = pd.DataFrame(list(rows))
    with locked(path):
        old = read_table(path)
        if key and not old.empty and all(k in old.columns for k in key):
            as_keys = lambda df: map(tuple, df[key].astype(object).fillna("").astype(str).values)  # noqa: E731 (CSV reads "" as NaN)
            keys = set(as_keys(new))
            old = old[[k not in keys for k in as_keys(old)]]
        table = pd.concat([old, new], ignore_index=True) if not old.empty else new
        write_table(table, path)
    return table


run_commit()          # read now: the code this process runs is the tree as it is at import
