"""Fixture trees in the real dataset layouts, with tiny images whose pixel values encode their name."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def png(path: Path, value: int, size=(8, 12), channels: int = 3, dtype=np.uint8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((*size, channels) if channels > 1 else size, value, dtype=dtype)
    cv2.imwrite(str(path), img)
    return path


def vimeo_tree(root: Path, ids=("00001/0001", "00001/0002", "00002/0001"), frames: int = 3) -> Path:
    prefix = "tri" if frames == 3 else "sep"
    for split in ("train", "test"):
        (root / f"{prefix}_{split}list.txt").parent.mkdir(parents=True, exist_ok=True)
        (root / f"{prefix}_{split}list.txt").write_text("\n".join(ids) + "\n")
    for n, d in enumerate(ids):
        for k in range(1, frames + 1):
            png(root / "sequences" / d / f"im{k}.png", 10 * n + k)
    return root


def snu_tree(root: Path, list_prefix: str = "data/SNU-FILM/", n: int = 3) -> Path:
    for level, gap in (("easy", 2), ("medium", 4), ("hard", 8), ("extreme", 16)):
        lines = []
        for s in range(n):
            d = Path("test/GOPRO_test") / f"seq{s}"
            frames = [d / f"{k:05d}.png" for k in (0, gap // 2, gap)]
            for k, f in zip((0, gap // 2, gap), frames):
                png(root / f, min(255, 3 * k + s))
            lines.append(" ".join(list_prefix + str(f) for f in frames))
        (root / f"test-{level}.txt").write_text("\n".join(lines) + "\n")
    return root
