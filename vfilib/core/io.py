"""Files that are never half-written and tables that never lose a row.

* :func:`atomic_write`: write to a unique temporary file beside the target, ``fsync``, rename. An
  error or Ctrl-C removes the temporary file and leaves any older file untouched. The result gets
  the permissions a plain ``open()`` would give (umask), not ``mkstemp``'s 0600.
* Temporary names carry the writer's process id (``.<name>.<pid>-<random>.tmp``): a write killed
  outright (SIGKILL, power loss) leaves one behind, and :func:`stale_temporaries` finds those whose
  process is gone at the next write of the same target (:func:`clean_stale_tmp` removes them).
* :func:`locked`: an exclusive advisory lock (``fcntl.flock`` on ``<path>.lock``) around a
  read-modify-write, so two processes appending to one table keep every row.
* :func:`sha256_file`: the checksum every download and shipped weight is checked against.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import tempfile
import time
import uuid
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
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}.{os.getpid()}-", suffix=TMP_SUFFIX, dir=path.parent)
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


def temp_name(path: Path, kind: str = TMP_SUFFIX, suffix: str | None = None) -> Path:
    """A unique temporary name beside ``path`` that says which process writes it:
    ``.<name>.<pid>-<random><kind><suffix>`` (``suffix``: the path's own by default, so that a video's
    format is still known from the name; "" for a folder)."""
    suffix = path.suffix if suffix is None else suffix
    return path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{kind}{suffix}")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                       # someone else's process
    return True


def stale_temporaries(path: Path, kind: str = TMP_SUFFIX, older_than: float = STALE_TMP_SECONDS) -> list[Path]:
    """Temporaries of ``path`` (see :func:`temp_name`) whose writer is gone: its process no longer runs
    on this machine, or, for names without a process id (older versions), older than ``older_than`` s."""
    path, stale = Path(path), []
    for p in sorted(path.parent.glob(f"{TMP_PREFIX}{glob.escape(path.name)}.*{kind}*")):
        m = _TMP_PID.match(p.name[len(TMP_PREFIX) + len(path.name) + 1:])
        with contextlib.suppress(OSError):
            if (not _running(int(m.group(1)))) if m else time.time() - p.lstat().st_mtime > older_than:
                stale.append(p)
    return stale


_TMP_PID = re.compile(r"(\d+)-[0-9a-z_]+")


def clean_stale_tmp(folder: Path, name: str, older_than: float = STALE_TMP_SECONDS) -> list[Path]:
    """Remove the temporary files of ``name`` left by writes that were killed (:func:`stale_temporaries`)."""
    removed = []
    for p in stale_temporaries(Path(folder) / name, TMP_SUFFIX, older_than):
        with contextlib.suppress(OSError):
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
