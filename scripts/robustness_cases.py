"""The reliability cases of issue 27 run as a user runs them: real commands on real files, each with the
exit code and the message it must give, printed as a Markdown table (and written to --out).

    .venv/bin/python scripts/robustness_cases.py --out results/robustness_cases.md

Each case builds its inputs in a temporary folder from the clips that set-up fetched (carphone.mp4), runs
one command line of the tool, the trainer or the evaluation, and checks the exit code, a phrase of the
message and the files left behind. The unit tests (tests/test_interpolate.py "reliability", test_train.py)
cover the same cases inside pytest; this is the fresh-clone proof with the commands in full.
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "data" / "downloads" / "videos" / "carphone.mp4"
LONG = ROOT / "data" / "downloads" / "videos" / "bikes.mp4"      # 10 s: a run still writing when a signal comes
PY = sys.executable
TOOL = [PY, "-m", "vfilib.interpolate"]
TRAIN = [PY, "-m", "vfilib.train"]


@dataclass
class Outcome:
    command: str
    code: int
    message: str
    ok: bool
    note: str = ""


def run(argv, cwd: Path, env=None, timeout=600, phrase: str = "") -> tuple[int, str]:
    """Exit code and the message: the first line holding ``phrase`` (else the last line) of its output."""
    p = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    lines = [ln.strip() for ln in (p.stderr + p.stdout).replace("\r", "\n").splitlines()
             if len(ln.strip()) > 2 and "frame/s" not in ln and "it/s" not in ln]
    hits = [ln for ln in lines if phrase and phrase in ln]
    return p.returncode, (hits or lines[-1:] or [""])[0]


def shown(argv) -> str:
    text = " ".join(str(a) for a in argv).replace(str(CLIP), "carphone.mp4").replace(str(LONG), "bikes.mp4")
    return text.replace(f"{PY} -m vfilib.interpolate", "vfilib interpolate").replace(f"{PY} -m ", "python -m ")


def expect(argv, d: Path, code: int, phrase: str, check: Callable[[], bool] = lambda: True, env=None) -> Outcome:
    got, msg = run(argv, d, env, phrase=phrase)
    return Outcome(shown(argv), got, msg, got == code and phrase in msg and check())


# ----------------------------------------------------------------------------- the cases
def scale_03(d: Path) -> Outcome:
    argv = TOOL + [CLIP, "--model", "rife_hdv3", "--scale", "0.3", "--duration", "0.2", "-o", "o.mp4"]
    out = expect(argv, d, 2, "rife_hdv3 runs at --scale 1, 0.5, 0.25 only", lambda: not (d / "o.mp4").exists())
    ok = expect(TOOL + [CLIP, "--model", "rife_hdv3", "--scale", "0.25", "--duration", "0.2", "-o", "q.mp4", "--quiet"],
                d, 0, "", lambda: (d / "q.mp4").stat().st_size > 0)
    out.ok &= ok.ok
    out.note = f"--scale 0.25: exit {ok.code}, q.mp4 written"
    return out


def truncated(d: Path) -> Outcome:
    import av
    whole = d / "whole.mp4"
    with av.open(str(CLIP)) as i, av.open(str(whole), "w", options={"movflags": "faststart"}) as o:
        out = o.add_stream_from_template(i.streams.video[0])
        for packet in i.demux(i.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                o.mux(packet)
    (d / "half.mp4").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return expect(TOOL + ["half.mp4", "--model", "blend", "-o", "h2.mp4"], d, 0, "the input ended early")


def read_only(d: Path) -> Outcome:
    ro = d / "ro"
    ro.mkdir()
    argv = TOOL + [CLIP, "--model", "blend", "--duration", "0.2", "-o", "ro/out.mp4"]
    if os.geteuid() == 0:         # root writes anywhere: the system refuses nothing to show
        return Outcome(shown(argv), -1, "(run as root: no folder is read-only to it)", True,
                       "skipped; tests/test_interpolate.py::test_an_unwritable_output_folder_is_named")
    ro.chmod(0o555)
    try:
        return expect(argv, d, 1, str(ro))
    finally:
        ro.chmod(0o755)


def _partial(d: Path):
    return [p for p in d.iterdir() if ".partial" in p.name]


def _start_and_wait_for_partial(d: Path, argv) -> subprocess.Popen:
    p = subprocess.Popen([str(a) for a in argv], cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    for _ in range(600):
        if _partial(d) or p.poll() is not None:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    if p.poll() is not None:
        raise RuntimeError("the run ended before the signal: give it a longer clip")
    return p


def sigterm(d: Path) -> Outcome:
    (d / "old.mp4").write_bytes(b"an older file")
    argv = TOOL + [LONG, "--model", "dis", "--factor", "8", "-o", "old.mp4", "--overwrite"]
    p = _start_and_wait_for_partial(d, argv)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    msg = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip() and "frame/s" not in ln][-1:]
    ok = not _partial(d) and (d / "old.mp4").read_bytes() == b"an older file" and p.returncode != 0
    return Outcome(shown(argv) + "  + SIGTERM", p.returncode, msg[0] if msg else "", ok,
                   "no partial file left; old.mp4 unchanged" if ok else "partial file left or old.mp4 changed")


def sigkill_then_rerun(d: Path) -> Outcome:
    argv = TOOL + [LONG, "--model", "dis", "--factor", "8", "-o", "k.mp4"]
    p = _start_and_wait_for_partial(d, argv)
    p.kill()
    p.wait()
    left = [x.name for x in _partial(d)]
    out = expect(TOOL + [CLIP, "--model", "blend", "--duration", "0.2", "-o", "k.mp4"], d, 0, "",
                 lambda: not _partial(d) and (d / "k.mp4").is_file())
    out.command = shown(argv) + "  + SIGKILL, then the same target again"
    out.note = f"left by SIGKILL: {left}; after the next run: {[x.name for x in _partial(d)]}"
    return out


def unknown_extension(d: Path) -> Outcome:
    return expect(TOOL + [CLIP, "--model", "blend", "-o", "out.xyz"], d, 2, "unknown extension '.xyz'",
                  lambda: not list(d.glob("out*")))


def sixteen_bit(d: Path) -> Outcome:
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(d / name), rng.integers(0, 65536, (64, 96, 3)).astype(np.uint16))
    out = expect(TOOL + ["a.png", "b.png", "--model", "blend", "-o", "mid/"], d, 0, "")
    mid = cv2.imread(str(d / "mid" / "a_t0.500.png"), cv2.IMREAD_UNCHANGED)
    out.ok &= mid is not None and mid.dtype == np.uint16
    out.note = f"mid/a_t0.500.png: {mid.dtype if mid is not None else 'missing'}"
    return out


def one_image(d: Path) -> Outcome:
    import cv2
    import numpy as np
    cv2.imwrite(str(d / "a.png"), np.zeros((16, 24, 3), np.uint8))
    return expect(TOOL + ["a.png", "--model", "blend"], d, 2, "one image; give two images")


def rife_pickle(d: Path) -> Outcome:
    shutil.copy(ROOT / "data" / "weights" / "rife_hdv3.pkl", d / "flownet.pkl")
    out = expect(TOOL + [CLIP, "--checkpoint", "flownet.pkl"], d, 2, "--model rife_hdv3")
    out.ok &= "--peer " not in out.message
    return out


class Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def unsafe_checkpoint(d: Path) -> Outcome:
    (d / "evil.pt").write_bytes(pickle.dumps({"model": Payload()}))
    out = expect(TOOL + [CLIP, "--checkpoint", "evil.pt"], d, 2, "evil.pt", lambda: not (d / "PWNED").exists())
    out.ok &= "Re-running" not in out.message and "weights_only set to False" not in out.message
    return out


def _weights(path: Path):
    import torch
    return torch.load(path, weights_only=False, map_location="cpu")["model"]


def reproducible(d: Path) -> Outcome:
    import torch
    argv = TRAIN + ["--data", "embedded", "--preset", "tiny", "--crop", "48", "--batch_size", "2", "--max_steps", "8",
                    "--val_every", "1000", "--val_samples", "2", "--out_dir", "runs", "--no-progress"]
    runs = []
    for h in ("1", "2"):
        code, msg = run(argv + ["--exp_name", f"h{h}"], d, {"PYTHONHASHSEED": h, "OMP_NUM_THREADS": "2"})
        runs.append(code)
    a, b = _weights(d / "runs" / "h1" / "last.pt"), _weights(d / "runs" / "h2" / "last.pt")
    differ = sum(not torch.equal(a[k], b[k]) for k in a)
    return Outcome(shown(argv) + "  (twice: PYTHONHASHSEED 1 and 2, 2 threads)", max(runs), msg,
                   runs == [0, 0] and differ == 0, f"{differ} of {len(a)} weight tensors differ")


def metrics_on_resume(d: Path) -> Outcome:
    import pandas as pd
    argv = TRAIN + ["--data", "embedded", "--preset", "tiny", "--crop", "48", "--batch_size", "2", "--max_steps", "6",
                    "--log_every", "1", "--ckpt_every", "2", "--val_every", "1000", "--val_samples", "2",
                    "--out_dir", "runs", "--exp_name", "m"]
    last = d / "runs" / "m" / "last.pt"
    run(argv + ["--stop_at", "2"], d)
    shutil.copy(last, d / "step2.pt")
    run(argv + ["--stop_at", "4", "--resume", str(last)], d)
    shutil.copy(d / "step2.pt", last)                # killed: the step-4 checkpoint never reached the disk
    code, msg = run(argv + ["--resume", str(last)], d)
    m = pd.read_csv(d / "runs" / "m" / "metrics.csv")
    steps = m.loc[m["loss"].notna(), "step"].tolist()
    return Outcome(shown(argv) + " --resume runs/m/last.pt  (after a run killed past its step-2 checkpoint)", code,
                   msg, code == 0 and steps == [1, 2, 3, 4, 5, 6], f"metrics.csv steps: {steps}")


def resume_missing(d: Path) -> Outcome:
    return expect(TRAIN + ["--data", "embedded", "--preset", "tiny", "--resume", "runs/nothing/last.pt",
                           "--out_dir", "runs"], d, 1, "no checkpoint at runs/nothing/last.pt; tried:")


def live_unprepared(d: Path) -> Outcome:
    (d / "empty").mkdir()
    return expect([PY, "-m", "vfilib.eval", "--bench", "live", "--peers", "blend"], d, 1,
                  "python -m vfilib.data.prepare live", env={"VFILIB_LIVE": str(d / "empty")})


CASES = [
    ("1", "a scale RIFE does not take", scale_03),
    ("2", "a faststart mp4 cut in half", truncated),
    ("3", "output in a read-only folder", read_only),
    ("4a", "SIGTERM while writing", sigterm),
    ("4b", "SIGKILL, then the same target", sigkill_then_rerun),
    ("5", "an unknown output extension", unknown_extension),
    ("6", "a 16-bit PNG pair", sixteen_bit),
    ("7", "one PNG alone", one_image),
    ("8", "a RIFE pickle as --checkpoint", rife_pickle),
    ("9", "a checkpoint that would run code", unsafe_checkpoint),
    ("10", "two runs, same seed, other hash seed", reproducible),
    ("11", "resume after a kill past a checkpoint", metrics_on_resume),
    ("12", "--resume with no checkpoint", resume_missing),
    ("13", "live benchmark before it is prepared", live_unprepared),
]


def table(rows: list[tuple[str, str, Outcome]]) -> str:
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")[:400]  # noqa: E731
    out = ["| item | case | command | exit | message (last line) | check |", "| --- | --- | --- | --- | --- | --- |"]
    for item, what, o in rows:
        verdict = ("pass" if o.ok else "**FAIL**") + (f": {o.note}" if o.note else "")
        out.append(f"| {item} | {what} | `{cell(o.command)}` | {o.code} | {cell(o.message)} | {cell(verdict)} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the table (with how it was made) to this Markdown file")
    ap.add_argument("--only", nargs="+", help="item numbers to run")
    args = ap.parse_args(argv)
    if not CLIP.is_file():
        raise SystemExit(f"{CLIP}: missing; run ./setup.sh first (it fetches the embedded clips)")
    rows = []
    for item, what, fn in CASES:
        if args.only and item not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            try:
                o = fn(Path(tmp))
            except Exception as e:  # noqa: BLE001 - a case that crashes is a failed case, named
                o = Outcome(what, -1, f"{type(e).__name__}: {e}", False)
        print(f"[{item}] {'pass' if o.ok else 'FAIL'} ({time.perf_counter() - t0:.0f} s) {what}", flush=True)
        rows.append((item, what, o))
    text = table(rows)
    print(text)
    if args.out:
        from vfilib.core.io import atomic_write
        from vfilib.core.tables import provenance
        p = provenance("cpu")
        head = (f"Reliability cases of issue 27 (`python scripts/robustness_cases.py`); commit {p['commit']}, "
                f"{p['date']}, {p['device']}; the commands ran in a temporary folder.\n\n")
        atomic_write(args.out, lambda f: f.write(head + text + "\n"), mode="w")
    return 0 if all(o.ok for _, _, o in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
