"""Fill a git-ignored pack folder with what a call on the lent GPU reads (nothing is downloaded there):

    python scripts/pack_device_data.py --no_weights                        # .devdata: the live set's train/val videos
    python scripts/pack_device_data.py --out .devdata_a --sources pose2sim_single_cam2 idtracker_a --rife
    python scripts/pack_device_data.py --out .devdata_v --clip bbb_1080p --seconds 20   # a stream-copied excerpt
    python scripts/pack_device_data.py --out .devdata_t --splits test --skip smolcat --no-rife   # test shots' videos
    python scripts/pack_device_data.py --test 16 --test_crop 256    # + the grids' test triplets (issue 30)

The default pack holds the prepared live set's manifest and triplet lists, the source videos of its train
and val shots (largest first, to the budget; test-only clips stay here), the RIFE HDv3 weights and the
commit. Everything that travels to the device counts towards its 64 MiB limit, the repository included,
so larger sets go in several packs carried by calls back to back: on the device, `scripts/device_env.sh`
merges every `.devdata*/` it finds into `.devstore/`, which stays while the machine is warm.
The command prints what this pack and the tracked files weigh together.

``--test N --test_crop C``: the test triplets an ablation grid scores (N a level, picked as
``vfilib.train.testset`` picks them), centre-cropped to C as lossless PNG, with test lists naming only
them, so a grid on the device scores exactly the triplets it would here (the test shots' videos stay here).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from vfilib.core.paths import REPO_ROOT, DataPaths
from vfilib.data.sources import fetch
from vfilib.eval.peers import PEERS
from vfilib.models.weights.fetch import fetch_weights

LIMIT = 64 * 2**20


def tracked_bytes(no_weights: bool) -> int:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True).stdout.split(b"\0")
    paths = [REPO_ROOT / f.decode() for f in files if f]
    return sum(p.stat().st_size for p in paths if p.is_file() and not (no_weights and p.name == "vfilib.pt"))


def excerpt(src: Path, dst: Path, seconds: float) -> None:
    """The first ``seconds`` of ``src``, every stream copied as it is (no re-encoding)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        for packet in inp.demux(*[inp.streams[i] for i in streams]):
            if packet.dts is None:
                continue
            if packet.pts is not None and packet.pts * packet.time_base >= seconds:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)


def pack_test(live: Path, out: Path, per_level: int, crop: int) -> int:
    """The grids' test triplets, centre-cropped, under ``out/live``; returns the number of frames written."""
    import cv2

    from vfilib.eval.benchmark import centre_crop
    from vfilib.train.testset import picked

    frames = set()
    (out / "live").mkdir(parents=True, exist_ok=True)
    for level, trips in picked(live, per_level).items():
        (out / "live" / f"test-{level}.txt").write_text("\n".join(" ".join(t) for t in trips) + "\n")
        frames.update(p for t in trips for p in t)
    for rel in sorted(frames):
        img = cv2.imread(str(live / rel), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise SystemExit(f"--test: {live / rel} is missing or unreadable; prepare the live set first")
        (out / "live" / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / "live" / rel), centre_crop(img.transpose(2, 0, 1), crop).transpose(1, 2, 0))
    return len(frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=".devdata", help="the pack folder (git-ignored: .devdata*)")
    ap.add_argument("--budget_mb", type=float, default=0.0,
                    help="videos at most this many MB (default: what the 64 MiB limit leaves)")
    ap.add_argument("--skip", nargs="*", default=["idtracker_a", "idtracker_b", "clm_franck"])
    ap.add_argument("--sources", nargs="*", help="only these registered videos, no live set")
    ap.add_argument("--clip", help="one registered video, cut to --seconds (stream copy), no live set")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rife", action=argparse.BooleanOptionalAction, default=None,
                    help="include the RIFE HDv3 weights (default: only in the live pack)")
    ap.add_argument("--test", type=int, default=0, help="also the grids' test triplets: this many a level")
    ap.add_argument("--test_crop", type=int, default=256, help="their centre crop (the grid's test_crop)")
    ap.add_argument("--no_weights", action="store_true",
                    help="count the tracked files without weights/vfilib.pt (moved out of the tree for this call)")
    ap.add_argument("--splits", nargs="+", default=["train", "val"],
                    help="whose shots' videos a live pack holds (test: the adaptation protocol's)")
    ap.add_argument("--peer_weights", nargs="*", default=[], metavar="PEER",
                    help="these peers' published weights too (rife_v39 rife_425: the adaptation protocol)")
    ap.add_argument("--add", nargs="*", default=[], metavar="SRC:DEST",
                    help="more files, each copied to DEST inside the pack (a peer's weights, LPIPS's AlexNet)")
    args = ap.parse_args()
    live, out = DataPaths().live, REPO_ROOT / args.out
    if not out.name.startswith(".devdata"):
        ap.error(f"--out {args.out}: the folder's name must start with .devdata (ignored, merged on the device)")
    repo = tracked_bytes(args.no_weights)
    rife = args.rife if args.rife is not None else not (args.sources or args.clip)
    shutil.rmtree(out, ignore_errors=True)
    (out / "downloads" / "videos").mkdir(parents=True)
    if rife:
        (out / "weights").mkdir()
        shutil.copy(fetch_weights(PEERS["rife_hdv3"].weights), out / "weights" / "rife_hdv3.pkl")
    for name in args.peer_weights:
        if name not in PEERS or PEERS[name].weights is None:
            ap.error(f"--peer_weights {name}: not a peer with published weights")
        (out / "weights").mkdir(exist_ok=True)
        shutil.copy(fetch_weights(PEERS[name].weights), out / "weights" / PEERS[name].weights.file)
    for item in args.add:
        src, _, dest = item.partition(":")
        if not Path(src).is_file() or not dest:
            ap.error(f"--add {item}: give SRC:DEST with SRC an existing file")
        (out / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, out / dest)
    if args.clip:
        path = fetch(args.clip)
        excerpt(path, out / "downloads" / f"{path.stem}_first{args.seconds:g}s{path.suffix}", args.seconds)
        needed = set()
    elif args.sources:
        needed = set(args.sources)
    else:
        manifest = json.loads((live / "manifest.json").read_text())
        (out / "live").mkdir(parents=True)
        for f in [live / "manifest.json", *live.glob("*-*.txt")]:
            shutil.copy(f, out / "live" / f.name)
        needed = {s["clip"] for s in manifest["shots"] if s["split"] in args.splits} - set(args.skip)
    if args.test:
        print(f"test triplets: {pack_test(live, out, args.test, args.test_crop)} frames, centre crop {args.test_crop}")
    packed = lambda: sum(f.stat().st_size for f in out.rglob("*") if f.is_file())   # noqa: E731
    budget = args.budget_mb * 1e6 if args.budget_mb else LIMIT - repo - packed() - 2 * 2**20
    total = 0
    for path, clip in sorted(((fetch(c), c) for c in needed), key=lambda x: -x[0].stat().st_size):   # richest first
        size = path.stat().st_size
        if total + size > budget:
            print(f"left out (budget): {clip} {size / 1e6:.1f} MB")
            continue
        shutil.copy(path, out / "downloads" / "videos" / path.name)
        total += size
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    (out / "COMMIT").write_text(commit + "\n")
    size = packed()
    print(f"{args.out}: {size / 2**20:.1f} MiB (videos {total / 1e6:.1f} MB) + tracked files {repo / 2**20:.1f} MiB"
          f" = {(size + repo) / 2**20:.1f} MiB of the 64 MiB a call carries")
    if size + repo > LIMIT:
        raise SystemExit("too large for one call: carry less (--budget_mb) or move weights/vfilib.pt out (--no_weights)")


if __name__ == "__main__":
    main()
