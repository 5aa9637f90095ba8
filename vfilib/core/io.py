"""Files that are never half-written and tables that never lose a row.

* :func:`atomic_write`: write to a unique temporary file beside the target, ``fsync``, rename. An
  error or Ctrl-C removes the temporary file and leaves any older file untouched. The result gets
  the permissions a plain ``open()`` would give (umask), not ``mkstemp``'s 0600.
* :func:`locked`: an exclusive advisory lock (``fcntl.flock`` on ``<path>.lock``) around a
  read-modify-write, so two processes appending to one table keep every row.
* :func:`sha256_file`: the checksum every download and shipped weight is checked against.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path

TMP_PREFIX = "."
TMP_SUFFIX = ".tmp"
STALE_TMP_SECONDS = 24 * 3600


def _umask_mode(base: int = 0o666) -> int:
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def atomic_write(path: str | os.PathLike, write_fn, mode: str = "w") -> Path:
    """Call ``write_fn(fileobj)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_tmp(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, _umask_mode())
        with os.fdopen(fd, mode) as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def clean_stale_tmp(folder: Path, name: str, older_than: float = STALE_TMP_SECONDS) -> list[Path]:
    """Remove temporary files of ``name`` left by writes that were killed (older than a day)."""
    removed = []
    now = time.time()
    for p in Path(folder).glob(f"{TMP_PREFIX}{name}.*{TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - p.stat().st_mtime > older_than:
                p.unlink()
                removed.append(p)
    return removed


@contextlib.contextmanager
def locked(path: str | os.PathLike):
    """Hold an exclusive lock for ``path`` (on ``<path>.lock``) while the block runs."""
    import fcntl

    lock = Path(f"{path}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
