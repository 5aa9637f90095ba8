"""Where output frames go: a video file or a folder of PNGs, never half-written.

:class:`AtomicOutput` writes under a temporary name beside the target (``.<name>.<pid>-<random>.partial``)
and renames it only when complete: an error, Ctrl-C or SIGTERM leaves no partial file and never
touches an older one. A run that was killed outright (SIGKILL, power loss) leaves its temporary;
the next run on the same target removes it (its process is gone) and says so. Frames are encoded
in a thread (:class:`BackgroundWriter`) so the model never waits for the encoder.
"""
from __future__ import annotations

import glob
import os
import queue
import shutil
import sys
import threading
from fractions import Fraction
from pathlib import Path
from time import perf_counter

import numpy as np

from ..core.io import stale_temporaries, temp_name
from ..data.io import write_pixels
from ..data.video import StreamInfo
from .encoder import VideoWriter
from .options import Options, UsageError
from .stats import StageClock

PARTIAL, OLD = ".partial", ".old"      # kinds of temporaries beside the target


class OutputError(OSError):
    """The output cannot be written where asked; the message names the place."""


class AtomicOutput:
    """A target written under a unique temporary name beside it, renamed only by :meth:`commit`."""

    def __init__(self, path: Path, overwrite: bool, folder: bool):
        self.path, self.folder = path, folder
        if path.parent.is_dir():
            remove_stale(path)
        if path.exists() and not overwrite:
            raise UsageError(f"{path} exists; pass --overwrite to replace it")
        self.tmp = temp_name(path, PARTIAL, "" if folder else None)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if folder:
                self.tmp.mkdir()
            else:
                self.tmp.touch(exist_ok=False)
        except OSError as e:
            raise OutputError(f"cannot write {path.name} into {path.parent.resolve()}: "
                              f"{e.strerror or e} (choose another -o)") from None

    def commit(self) -> Path:
        if self.folder and self.path.exists():
            old = temp_name(self.path, OLD, "")
            os.replace(self.path, old)
            os.replace(self.tmp, self.path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp.exists():
            self.tmp.unlink()


def remove_stale(path: Path) -> list[Path]:
    """Remove the partial outputs of ``path`` left by runs that were killed, saying so on stderr."""
    gone = []
    for p in stale_temporaries(path, PARTIAL) + stale_temporaries(path, OLD):
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        except OSError as e:
            print(f"[vfilib] {p}: a partial output of an earlier run that was stopped; could not remove it "
                  f"({e.strerror or e})", file=sys.stderr)
            continue
        gone.append(p)
    if gone:
        print(f"[vfilib] removed {len(gone)} partial output(s) of earlier runs that were stopped before "
              f"finishing: {', '.join(p.name for p in gone)}", file=sys.stderr)
    others = [p for p in path.parent.glob(f".{glob.escape(path.name)}.*{PARTIAL}*") if p not in gone]
    if others:
        print(f"[vfilib] left in place: {', '.join(p.name for p in others)}: another run writing {path.name} now, "
              "or one of another machine or an older version (delete it if nothing writes there)", file=sys.stderr)
    return gone


class FolderWriter:
    """Numbered PNGs (8- or 16-bit as the frames), turned upright by the source's display rotation
    (images have no such tag)."""

    def __init__(self, folder: Path, rotation: int = 0):
        self.folder, self.count, self.turns = folder, 0, rotation // 90

    def write(self, image: np.ndarray, when: Fraction) -> None:
        write_pixels(self.folder / f"{self.count:06d}.png", np.rot90(image, self.turns))
        self.count += 1

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


class BackgroundWriter:
    """Writes in a thread so the model never waits for the encoder; errors surface on the next call.
    The clock gets ``encode`` (the thread's time in the sink) and ``wait_encode`` (the caller blocked
    on a full queue)."""

    def __init__(self, sink, clock: StageClock, depth: int = 16):
        self.sink, self.clock, self.q, self.error = sink, clock, queue.Queue(depth), None
        self.thread = threading.Thread(target=self._run, daemon=True, name="vfilib-encode")
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.q.get()
            if item is None:
                return
            if self.error is None:
                t = perf_counter()
                try:
                    self.sink.write(*item)
                except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                    self.error = e
                self.clock.add("encode", perf_counter() - t)

    def write(self, image: np.ndarray, when: Fraction) -> None:
        if self.error is not None:
            raise self.error
        with self.clock("wait_encode"):
            self.q.put((image, when))

    def close(self) -> None:
        self.q.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def open_sink(opts: Options, target: AtomicOutput, info: StreamInfo, rate: Fraction, window):
    """The writer of the run's frames into ``target``'s temporary: PNGs or the video encoder."""
    if target.folder:
        return FolderWriter(target.tmp, info.rotation)
    src = opts.inputs[0]
    return VideoWriter(target.tmp, info, rate, opts.encoding, source=src if src.is_file() else None, window=window)
