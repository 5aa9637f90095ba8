"""Fill .devdata/ (git-ignored) with what a live-action training call on the lent GPU reads:

    python scripts/pack_device_data.py [--budget_mb 60] [--skip idtracker_a idtracker_b clm_franck]
    python scripts/pack_device_data.py --sources bbb_1080p --no_weights   # the video benchmark's clip

the prepared live set's manifest and triplet lists, the source videos of its train and val shots
(largest first, to the budget; test-only clips stay here), the RIFE HDv3 weights, and the commit.
Everything that travels to the device counts towards its 64 MiB limit, the repository included;
the command prints the total.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from vfilib.core.paths import REPO_ROOT, DataPaths
from vfilib.data.sources import fetch
from vfilib.models.rife import fetch_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget_mb", type=float, default=0.0,
                    help="videos at most this many MB (default: what the 64 MiB limit leaves after the repository)")
    ap.add_argument("--skip", nargs="*", default=["idtracker_a", "idtracker_b", "clm_franck"])
    ap.add_argument("--sources", nargs="*", help="only these registered videos (e.g. bbb_1080p), no live set")
    ap.add_argument("--no_weights", action="store_true",
                    help="count the tracked files without weights/vfilib.pt (moved out of the tree for this call)")
    args = ap.parse_args()
    live, out = DataPaths().live, REPO_ROOT / ".devdata"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True).stdout.split(b"\0")
    repo = sum((REPO_ROOT / f.decode()).stat().st_size for f in tracked if f and (REPO_ROOT / f.decode()).is_file()
               and not (args.no_weights and f.decode() == "weights/vfilib.pt"))
    if not args.budget_mb:
        args.budget_mb = (64 * 2**20 - repo - fetch_weights("rife_hdv3").stat().st_size - 2 * 2**20) / 1e6
    shutil.rmtree(out, ignore_errors=True)
    if args.sources:
        needed = set(args.sources)
    else:
        manifest = json.loads((live / "manifest.json").read_text())
        (out / "live").mkdir(parents=True)
        for f in [live / "manifest.json", *live.glob("*-*.txt")]:
            shutil.copy(f, out / "live" / f.name)
        needed = {s["clip"] for s in manifest["shots"] if s["split"] in ("train", "val")} - set(args.skip)
    videos = sorted(((fetch(c), c) for c in needed), key=lambda x: -x[0].stat().st_size)   # the richest HD clips first
    (out / "downloads" / "videos").mkdir(parents=True)
    total = 0.0
    for path, clip in videos:
        mb = path.stat().st_size / 1e6
        if total + mb > args.budget_mb:
            print(f"left out (budget): {clip} {mb:.1f} MB")
            continue
        shutil.copy(path, out / "downloads" / "videos" / path.name)
        total += mb
    (out / "weights").mkdir()
    shutil.copy(fetch_weights("rife_hdv3"), out / "weights" / "rife_hdv3.pkl")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    (out / "COMMIT").write_text(commit + "\n")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    print(f".devdata: {size:.1f} MiB (videos {total:.1f} MB); tracked files {repo / 2**20:.1f} MiB; limit 64 MiB in all")


if __name__ == "__main__":
    main()
