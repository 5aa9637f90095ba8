"""Running grids: which rows still need work, several at once (rows per GPU), within a time limit,
resumed exactly by the next call, collected into one table of rows and one of test scores.

A row is done when its run folder holds a checkpoint of the same config hash at its final step and
``results/`` holds its result row and test scores (or, with ``skip_recorded``, when ``results/``
holds them, checkpoint or not: a later call on a fresh GPU machine). A row whose checkpoint is
finished but not recorded is resumed at its last step: nothing trains, it is scored and recorded.
A row stopped by the time limit resumes its own ``last.pt`` in the next call (bit-exact on the CPU).
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core.io import atomic_write
from ..core.paths import REPO_ROOT, repo_path
from ..core.tables import read_table
from ..models.weights import checkpoint as ckpt
from ..train.config import TrainConfig
from ..train.testset import test_table
from .spec import GridSpec

MIN_ROW_SECONDS = 90.0     # a row is not started with less time than this left before the deadline
GRACE_SECONDS = 60.0       # rows still running this long after the deadline are stopped (SIGTERM)


class GridIncomplete(RuntimeError):
    """Rows left unfinished (time limit) or failed; finished rows are kept, the next call resumes the rest."""

    def __init__(self, message: str, unfinished: list[str], failed: list[str]):
        super().__init__(message)
        self.unfinished, self.failed = unfinished, failed


@dataclass
class Row:
    spec: GridSpec
    exp: str
    seed: int
    cfg: TrainConfig
    resume: str | None = None         # the run's own last.pt when it continues, else the grid's start


@dataclass
class GridResult:
    """A finished grid: one result row per (experiment, seed) and one test score per (experiment, seed, triplet)."""

    spec: GridSpec
    rows: pd.DataFrame
    scores: pd.DataFrame

    def compare(self, baseline: str, metrics=("psnr", "ssim"), n_boot: int = 10000, conf: float = 0.95) -> pd.DataFrame:
        """Each experiment against ``baseline`` on each metric: mean difference and paired-bootstrap interval,
        overall and per level (:func:`vfilib.eval.stats.compare`)."""
        from ..eval.stats import compare

        if self.scores.empty:
            raise ValueError(f"{self.spec.table}: no test scores (settings test_samples = 0); nothing to compare")
        return pd.concat([compare(self.scores, baseline, m, "experiment", n_boot, conf) for m in metrics],
                         ignore_index=True)


# ----------------------------------------------------------------------------- what is done
def checkpoint_state(cfg: TrainConfig) -> str:
    """'finished' (last.pt of this config hash at its final step), 'partial' (same hash, earlier step) or 'new'."""
    path = cfg.run_dir / "last.pt"
    if not path.is_file():
        return "new"
    try:
        ck = ckpt.read(path)
    except ckpt.CheckpointError:
        return "new"
    if ck.get("config_hash") != cfg.config_hash():
        return "new"
    want = 0 if cfg.evaluate_only else cfg.max_steps
    return "finished" if not want or ck["state"]["step"] >= want else "partial"


def recorded(spec: GridSpec) -> set[tuple[str, str]]:
    """(run name, config hash) of the rows whose result row (and test scores, when scored) are in results/."""
    rows = read_table(spec.table_path)
    if rows.empty or "config_hash" not in rows:
        return set()
    keys = set(zip(rows["exp_name"], rows["config_hash"]))
    if spec.settings.get("test_samples"):
        scores = read_table(test_table(spec.table_path))
        keys &= set(zip(scores["exp_name"], scores["config_hash"])) if not scores.empty else set()
    return keys


def plan(spec: GridSpec) -> list[Row]:
    """The rows of ``spec`` that need a process: fresh, continuing their own last.pt, or only recording."""
    done, todo = recorded(spec), []
    for exp, seed in spec.rows():
        cfg = spec.row_config(exp, seed)
        key, state = (cfg.exp_name, cfg.config_hash()), checkpoint_state(cfg)
        own = str(cfg.run_dir / "last.pt")
        if spec.force:
            todo.append(Row(spec, exp, seed, cfg, spec.resume))
        elif state == "finished" and key in done or state != "finished" and spec.skip_recorded and key in done:
            print(f"[grid] {cfg.exp_name}: done (config {key[1]}), not re-run", flush=True)
        else:
            todo.append(Row(spec, exp, seed, cfg, own if state != "new" else spec.resume))
            if state != "new":
                print(f"[grid] {cfg.exp_name}: continues its {own} ({state})", flush=True)
    return todo


# ----------------------------------------------------------------------------- running
def run_grid(spec: GridSpec) -> GridResult:
    """Train every unfinished row of ``spec`` (see :func:`run_grids`); returns its rows and test scores."""
    return run_grids([spec])[0]


def run_grids(specs: list[GridSpec]) -> list[GridResult]:
    """The unfinished rows of all ``specs`` in one pool (the first spec's jobs, rows_per_gpu and deadline);
    raises :class:`GridIncomplete` naming the rows left (time limit) or failed, after recording the rest."""
    todo, starts = [r for spec in specs for r in plan(spec)], {}
    held = [r.cfg.exp_name for r in todo if not r.spec.train]
    if held:
        print(f"[grid] {len(held)} row(s) not recorded and not trained here (train = False): {', '.join(held)}")
        todo = [r for r in todo if r.spec.train]
    for k, r in enumerate(todo):
        if r.spec.start_from and not r.resume:            # a fresh row of a later phase: the previous phase's main run
            if id(r.spec) not in starts:
                starts[id(r.spec)] = start_checkpoint(r.spec)
            todo[k] = dataclasses.replace(r, resume=starts[id(r.spec)])
    first = specs[0]
    failed, stopped = run_rows(todo, first) if todo else ([], [])
    results, unfinished = [], []
    for spec in specs:
        result, left = collect(spec)
        results.append(result)
        unfinished += left
    if unfinished or failed:
        raise GridIncomplete(f"{len(unfinished)} grid row(s) unfinished: {', '.join(unfinished)}"
                             + (f"; failed: {'; '.join(failed)}" if failed else "")
                             + ". Finished rows are kept: run the grid again to resume the others.", unfinished, failed)
    return results


def start_checkpoint(spec: GridSpec) -> str:
    """The checkpoint fresh rows of ``spec`` start from: the previous phase's ``start_from`` row (seed 0, same
    settings, budget and tag), trained first when it is not finished."""
    prev = dataclasses.replace(spec, phase=spec.phase - 1, experiments=(spec.start_from,), start_from="", resume=None)
    return main_checkpoint(prev, spec.start_from)


def main_checkpoint(spec: GridSpec, exp: str) -> str:
    """The last.pt of ``spec``'s row (``exp``, seed 0), trained first when it is not finished."""
    one = dataclasses.replace(spec, experiments=(exp,), seeds=1, force=False, skip_recorded=False)
    run_grids([one])
    return str(one.row_config(exp, 0).run_dir / "last.pt")


def run_rows(rows: list[Row], spec: GridSpec) -> tuple[list[str], list[str]]:
    """Rows in this process (one slot) or in processes of their own; returns (failed, stopped) labels."""
    slots = grid_slots(spec.jobs, rows_per_gpu=spec.rows_per_gpu)
    if len(slots) == 1:
        return _in_process(rows, spec.deadline), []
    print(f"[grid] {len(rows)} row(s), {len(slots)} at once", flush=True)
    logs = repo_path(spec.runs_dir) / "grids" / "logs"
    tasks = [(f"{r.cfg.exp_name} (config {r.cfg.config_hash()})", row_argv(r), logs / f"{r.cfg.exp_name}.log")
             for r in rows]
    return run_parallel(tasks, slots, deadline=spec.deadline, min_start=MIN_ROW_SECONDS)


def _in_process(rows: list[Row], deadline: float) -> list[str]:
    failed = []
    for r in rows:
        if deadline and time.time() > deadline - MIN_ROW_SECONDS:
            print(f"[grid] {r.cfg.exp_name}: not started (time limit)", flush=True)
            continue
        print(f"[grid] {r.cfg.exp_name} (config {r.cfg.config_hash()}) ...", flush=True)
        try:
            run_row(r.spec, r.exp, r.seed, deadline=deadline, resume=r.resume)
        except Exception as e:  # noqa: BLE001 - a failed row does not stop the others; the grid names it
            failed.append(f"{r.cfg.exp_name}: {type(e).__name__}: {e}")
            print(f"[grid] {r.cfg.exp_name}: FAILED: {type(e).__name__}: {e}", flush=True)
    return failed


def run_row(spec: GridSpec, exp: str, seed: int, **placement) -> dict:
    """Train one grid row (what a row's process runs); returns the run's summary."""
    from ..train import train

    placement = {"deadline": spec.deadline, **{k: v for k, v in placement.items() if v is not None}}
    return train(spec.row_config(exp, seed, **placement))


def row_argv(row: Row) -> list[str]:
    """The command that runs :func:`run_row` in a process of its own (its slot's environment adds the GPU)."""
    argv = [sys.executable, "-m", "vfilib.grid", "row", "--spec", row.spec.to_json(), "--experiment", row.exp,
            "--seed", str(row.seed)]
    return argv + (["--resume", row.resume] if row.resume else [])


# ----------------------------------------------------------------------------- results
def collect(spec: GridSpec) -> tuple[GridResult, list[str]]:
    """The grid's recorded rows and scores (labelled with experiment, title and seed), the names of rows
    not recorded, and ``runs/grids/<table>.json`` saying which is which."""
    from ..config import ALL_EXPERIMENTS

    cfgs = {(c.exp_name, c.config_hash()): (exp, seed) for exp, seed in spec.rows() for c in [spec.row_config(exp, seed)]}
    done = recorded(spec) & set(cfgs)
    titles = {e.id: e.title for e in ALL_EXPERIMENTS}

    def label(df):
        if df.empty:
            return df
        keys = list(zip(df["exp_name"], df["config_hash"]))
        df = df[[k in done for k in keys]].drop_duplicates(
            [c for c in ("exp_name", "config_hash", "triplet") if c in df], keep="last")
        exp = [cfgs[k][0] for k in zip(df["exp_name"], df["config_hash"])]
        return df.assign(experiment=exp, what=[titles.get(e, "") for e in exp])

    rows, scores = label(read_table(spec.table_path)), label(read_table(test_table(spec.table_path)))
    left = [name for name, h in cfgs if (name, h) not in done]
    status = {"table": spec.table, "complete": not left, "rows": {n: ("done" if (n, h) in done else "unfinished")
                                                                     for n, h in cfgs}, "time": time.time()}
    path = repo_path(spec.runs_dir) / "grids" / f"{spec.table}.json"
    atomic_write(path, lambda f: json.dump(status, f, indent=1))
    order = {e: k for k, e in enumerate(spec.experiments)}
    by_grid = lambda s: s.map(order) if s.name == "experiment" else s  # noqa: E731 (the grid's row order, then seed)
    rows, scores = (df.sort_values(["experiment", "seed"], key=by_grid, kind="stable") if not df.empty else df
                    for df in (rows, scores))
    return GridResult(spec, rows.reset_index(drop=True), scores.reset_index(drop=True)), left


# ----------------------------------------------------------------------------- where rows run
def visible_gpus() -> list[str]:
    """CUDA devices this process may use, as CUDA_VISIBLE_DEVICES names them."""
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    names = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return (names or [str(i) for i in range(n)])[:n]


def grid_slots(jobs: int, gpus: list[str] | None = None, cpus: int | None = None,
               rows_per_gpu: int = 1) -> list[dict[str, str]]:
    """The environment of each of the grid's parallel places. With GPUs: ``CUDA_VISIBLE_DEVICES`` of one
    GPU each, round robin (jobs=0: ``rows_per_gpu`` places per GPU), and ``VFILIB_DEVICE_SHARE``: how
    many places share that GPU. Without: the CPU cores split evenly (``OMP_NUM_THREADS``)."""
    if jobs < 0 or rows_per_gpu < 1:
        raise ValueError(f"jobs={jobs}, rows_per_gpu={rows_per_gpu}: use jobs 1 (rows in order), N > 1 (N at once) "
                         "or 0 (rows_per_gpu per GPU), rows_per_gpu >= 1")
    gpus = visible_gpus() if gpus is None else gpus
    jobs = jobs or max(1, len(gpus) * rows_per_gpu)
    if gpus:
        names = [gpus[i % len(gpus)] for i in range(jobs)]
        return [{"CUDA_VISIBLE_DEVICES": g, "VFILIB_DEVICE_SHARE": str(names.count(g))} for g in names]
    threads = str(max(1, (cpus or os.cpu_count() or 1) // jobs))
    return [{"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "CUDA_VISIBLE_DEVICES": ""}] * jobs


def _where(slot: dict[str, str]) -> str:
    gpu = slot.get("CUDA_VISIBLE_DEVICES")
    if gpu:
        return f"GPU {gpu}" + (f", {slot['VFILIB_DEVICE_SHARE']} rows share it" if slot.get("VFILIB_DEVICE_SHARE", "1") != "1" else "")
    return f"CPU, {slot.get('OMP_NUM_THREADS', '?')} thread(s)"


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def run_parallel(tasks: list[tuple[str, list[str], Path]], slots: list[dict[str, str]], poll: float = 0.5,
                 deadline: float = 0.0, min_start: float = 0.0, grace: float = GRACE_SECONDS) -> tuple[list[str], list[str]]:
    """Run ``(label, argv, log)`` tasks, as many at once as there are slots, each with its slot's environment
    and its output appended to its log. None starts within ``min_start`` seconds of ``deadline``; those still
    running ``grace`` seconds after it are stopped (SIGTERM). Returns ("label: reason (log)" of each failed task,
    labels of those not started or stopped). Ctrl-C (or any error here) stops the running ones."""
    pending, free, live, failed, stopped = list(tasks), list(range(len(slots))), {}, [], []
    try:
        while pending or live:
            if pending and deadline and time.time() > deadline - min_start:
                print(f"[grid] {len(pending)} row(s) not started: the time limit is near", flush=True)
                stopped += [label for label, _, _ in pending]
                pending.clear()
            while pending and free:
                _start(pending.pop(0), free.pop(0), slots, live)
            _pause(poll)
            if deadline and time.time() > deadline + grace:
                for proc, (label, *_rest) in live.items():
                    if label not in stopped:
                        print(f"[grid] {label}: still running {grace:.0f} s past the time limit: stopped", flush=True)
                        proc.terminate()
                        stopped.append(label)
            for proc in [p for p in live if p.poll() is not None]:
                _reap(proc, live.pop(proc), free, failed, stopped)
    finally:
        _stop(live)
    return failed, stopped


def _start(task, slot: int, slots, live: dict) -> None:
    label, argv, log = task
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        fh.write(f"\n[grid] {time.strftime('%Y-%m-%d %H:%M:%S')} {label} on {_where(slots[slot])}\n".encode())
        fh.flush()
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env={**os.environ, **slots[slot]}, stdout=fh, stderr=subprocess.STDOUT)
    live[proc] = (label, log, slot, time.perf_counter())
    print(f"[grid] {label}: started ({_where(slots[slot])}; log {log})", flush=True)


def _reap(proc, info, free: list, failed: list, stopped: list) -> None:
    label, log, slot, t0 = info
    free.append(slot)
    took = time.perf_counter() - t0
    if proc.returncode and label not in stopped:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        reason = lines[-1].removeprefix("[grid] FAILED: ") if lines else f"exit code {proc.returncode}"
        failed.append(f"{label}: {reason} ({log})")
        print(f"[grid] {label}: FAILED after {took:.0f} s: {reason}", flush=True)
    else:
        print(f"[grid] {label}: {'interrupted' if label in stopped else 'ended'} after {took:.0f} s", flush=True)


def _stop(live: dict) -> None:
    """Stop the running rows: SIGTERM (a row started in the background ignores SIGINT), then SIGKILL. Files
    stay whole (atomic writes, locks die with their process); a row resumes from its last checkpoint."""
    for proc in live:
        proc.terminate()
    for proc in live:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
