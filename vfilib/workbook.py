"""The workbook runner: the numbered notebooks with papermill, the ablation grids, results/INDEX.md.

    python -m vfilib.workbook run --profile cpu          # what ./run_all.sh runs (CI too)
    python -m vfilib.workbook run --only 07_benchmarks   # one notebook
    python -m vfilib.workbook prepare --profile cpu      # data and peer weights the notebooks read

Notebooks are jupytext "percent" sources (``notebooks/NN_name.py``) paired with ``.ipynb`` copies
without outputs (JupyterLab opens either as a notebook). Executed copies go to ``runs/notebooks/``;
kernels start in ``notebooks/``, as in JupyterLab, and every path a notebook writes resolves from
the repository root. Profiles are data: ``notebooks/profiles.toml``.

A grid row is done only when its run folder holds a checkpoint made with the same config hash and
step count (:func:`vfilib.train.experiments.finished`); committed ``results/`` never decide what runs.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from .core.io import atomic_write
from .core.paths import REPO_ROOT, repo_path, runs_dir
from .core.profile import ENV as profile_env, profiles
from .core.tables import provenance, read_table

NOTEBOOKS = REPO_ROOT / "notebooks"
ORDER = ("01_stem_and_scan", "02_phase1_train", "03_phase1_ablations", "04_phase2_flow", "05_phase2_ablations",
         "06_phase3_curriculum", "07_benchmarks", "08_speed_memory", "09_xtest_4k", "10_nframe")


class NotebookFailed(RuntimeError):
    pass


def profile_params(profile: str, notebook: str) -> dict:
    table = profiles()
    if profile not in table:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(table)}")
    return dict(table[profile].get(notebook, {}))


def to_ipynb(name: str, out_dir: Path) -> Path:
    """notebooks/<name>.py -> out_dir/<name>.source.ipynb with python3 kernel metadata."""
    import jupytext

    src = NOTEBOOKS / f"{name}.py"
    if not src.is_file():
        raise NotebookFailed(f"no notebook {name!r}; the notebooks are: {', '.join(ORDER)}")
    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # atomic: grid rows running in parallel write the same source copy
    return atomic_write(out_dir / f"{name}.source.ipynb", lambda f: f.write(jupytext.writes(nb, fmt="ipynb")))


def execute(name: str, parameters: dict | None = None, out_dir: Path | None = None, tag: str = "",
            cell_timeout: int = 0) -> Path:
    """Run one notebook with papermill in ``notebooks/``; the executed copy is ``out_dir/<name><tag>.ipynb``.
    A failing or timed-out cell raises :class:`NotebookFailed` naming the notebook and the cell."""
    import papermill as pm

    out_dir = Path(out_dir or runs_dir() / "notebooks")
    src = to_ipynb(name, out_dir)
    out = out_dir / f"{name}{tag}.ipynb"
    os.environ["VFILIB_BATCH"] = "1"          # interactive widgets stay off in batch runs
    if (parameters or {}).get("profile"):     # the kernel's rows and figures say which profile made them
        os.environ[profile_env] = parameters["profile"]
    try:
        with kernel_stderr_to(out_dir / f"{name}{tag}.kernel.log"):
            pm.execute_notebook(str(src), str(out), parameters=parameters or {}, cwd=str(NOTEBOOKS),
                                kernel_name="python3", progress_bar=False, execution_timeout=cell_timeout or None)
    except pm.PapermillExecutionError as e:
        raise NotebookFailed(f"notebook {name} failed in cell {e.exec_count} ({e.ename}: {e.evalue}); "
                             f"executed copy: {out}") from None
    except Exception as e:  # noqa: BLE001 - nbclient's CellTimeoutError and kernel deaths
        if "timed out" in str(e).lower() or type(e).__name__ == "CellTimeoutError":
            raise NotebookFailed(f"notebook {name}: cell {_cell_of(src, str(e))} timed out after {cell_timeout} s "
                                 f"(profile cell_timeout); executed copy: {out}") from None
        raise NotebookFailed(f"notebook {name} stopped: {type(e).__name__}: {e}") from None
    return out


@contextlib.contextmanager
def kernel_stderr_to(path: Path):
    """Send what the child kernel process writes to its stderr (jupyter_client's start-up warnings) to a
    log file instead of the calling notebook; the cells' own output is in the executed copy."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _cell_of(src: Path, message: str) -> str:
    """The number (among code cells) of the cell whose source nbclient's timeout message previews."""
    import nbformat

    parts = message.split("-------------------")
    preview = parts[1].strip() if len(parts) > 2 else ""
    try:
        cells = [c for c in nbformat.read(src, as_version=4).cells if c.cell_type == "code"]
    except Exception:  # noqa: BLE001 - best effort
        return "?"
    for k, c in enumerate(cells):
        if preview and (preview in c.source or c.source.strip().startswith(preview.splitlines()[0])):
            return str(k + 1)
    return "?"


def is_batch() -> bool:
    """True inside a workbook run (no one is there to use a widget)."""
    return os.environ.get("VFILIB_BATCH") == "1"


# ----------------------------------------------------------------------------- grids
def run_grid(experiments: list[str], preset: str, phase: int = 1, steps: int | None = None, data: str | None = None,
             settings: dict | None = None, resume: str | None = None, results_dir: str | Path = "results",
             runs: str | Path = "runs", force: bool = False, profile: str = "cpu", jobs: int = 1) -> pd.DataFrame:
    """Train each grid row through notebook 02 unless its run is finished (same config hash and steps);
    return the rows of ``results/phase<phase>.csv`` made with exactly these configs.

    ``jobs``: rows at once. 1: one after the other in this process. N > 1: N processes, each row on a
    GPU of its own where there are GPUs (round robin), else on its share of the CPU cores. 0: one row
    per visible GPU (1 without GPUs). A failed row does not stop the others; the grid then raises,
    naming every failed row and its log."""
    from .train.experiments import experiment_config, finished

    results_dir, runs = repo_path(results_dir), repo_path(runs)
    hashes, todo = [], []
    for exp in experiments:
        cfg = experiment_config(exp, preset, steps=steps, data=data, phase=phase, resume=resume, out_dir=str(runs),
                                **(settings or {}))
        hashes.append(cfg.config_hash())
        if not force and finished(cfg):
            print(f"[grid] {cfg.exp_name}: finished ({cfg.run_dir / 'last.pt'}, config {hashes[-1]}), not re-run")
            continue
        todo.append((exp, cfg.exp_name, hashes[-1]))
    slots = grid_slots(jobs)
    out_dir = runs / "notebooks"
    params = lambda exp: {"experiment": exp, "preset": preset, "phase": phase, "steps": steps, "data": data,  # noqa: E731
                          "resume": resume, "settings": settings or {}, "results_dir": str(results_dir),
                          "runs_dir": str(runs), "profile": profile}
    if len(slots) > 1 and todo:
        print(f"[grid] {len(todo)} row(s), {len(slots)} at once", flush=True)
        failed = run_parallel([(f"{name} (config {h})",
                                execute_argv("02_phase1_train", params(exp), out_dir, f"_{exp}_{preset}"),
                                out_dir / f"02_phase1_train_{exp}_{preset}.log") for exp, name, h in todo], slots)
        if failed:
            raise NotebookFailed(f"{len(failed)} of {len(todo)} grid row(s) failed: " + "; ".join(failed))
    else:
        for exp, name, h in todo:
            print(f"[grid] {name} (config {h}) ...", flush=True)
            execute("02_phase1_train", params(exp), out_dir=out_dir, tag=f"_{exp}_{preset}")
    table = read_table(results_dir / f"phase{phase}.csv")
    if table.empty or "config_hash" not in table:
        raise NotebookFailed(f"{results_dir}/phase{phase}.csv has no rows of this grid")
    rows = table[table["config_hash"].isin(hashes)].drop_duplicates("config_hash", keep="last")
    missing = sorted(set(hashes) - set(rows["config_hash"]))
    if missing:
        raise NotebookFailed(f"finished runs without their result rows in phase{phase}.csv: configs {missing}; "
                             "re-run with force=True")
    return rows


def visible_gpus() -> list[str]:
    """CUDA devices this process may use, as CUDA_VISIBLE_DEVICES names them."""
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    names = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return (names or [str(i) for i in range(n)])[:n]


def grid_slots(jobs: int, gpus: list[str] | None = None, cpus: int | None = None) -> list[dict[str, str]]:
    """The environment of each of the grid's parallel places: ``CUDA_VISIBLE_DEVICES`` of one GPU each
    (jobs=0: one place per GPU; more jobs than GPUs share them round robin), or without GPUs the CPU
    cores split evenly (``OMP_NUM_THREADS``)."""
    if jobs < 0:
        raise ValueError(f"jobs={jobs}: use 1 (rows in order), N > 1 (N at once) or 0 (one per GPU)")
    gpus = visible_gpus() if gpus is None else gpus
    jobs = jobs or max(1, len(gpus))
    if gpus:
        return [{"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)]} for i in range(jobs)]
    threads = str(max(1, (cpus or os.cpu_count() or 1) // jobs))
    return [{"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "CUDA_VISIBLE_DEVICES": ""}] * jobs


def _where(slot: dict[str, str]) -> str:
    gpu = slot.get("CUDA_VISIBLE_DEVICES")
    return f"GPU {gpu}" if gpu else f"CPU, {slot.get('OMP_NUM_THREADS', '?')} thread(s)"


def execute_argv(name: str, parameters: dict, out_dir: Path, tag: str) -> list[str]:
    """The command that runs :func:`execute` in a process of its own."""
    return [sys.executable, "-m", "vfilib.workbook", "execute", name, "--params", json.dumps(parameters),
            "--out_dir", str(out_dir), "--tag", tag]


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def run_parallel(tasks: list[tuple[str, list[str], Path]], slots: list[dict[str, str]], poll: float = 0.5) -> list[str]:
    """Run ``(label, argv, log)`` tasks, as many at once as there are slots, each with its slot's
    environment and its output in its log; returns "label: reason (log)" for every task that failed.
    Ctrl-C (or any error here) interrupts the running ones and waits for them to stop."""
    pending, free, live, failed = list(tasks), list(range(len(slots))), {}, []
    try:
        while pending or live:
            while pending and free:
                (label, argv, log), slot = pending.pop(0), free.pop(0)
                log.parent.mkdir(parents=True, exist_ok=True)
                with open(log, "wb") as fh:
                    proc = subprocess.Popen(argv, cwd=REPO_ROOT, env={**os.environ, **slots[slot]}, stdout=fh,
                                            stderr=subprocess.STDOUT)
                live[proc] = (label, log, slot, time.perf_counter())
                print(f"[grid] {label}: started ({_where(slots[slot])}; log {log})", flush=True)
            _pause(poll)
            for proc in [p for p in live if p.poll() is not None]:
                label, log, slot, t0 = live.pop(proc)
                free.append(slot)
                took = time.perf_counter() - t0
                if proc.returncode:
                    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
                    reason = lines[-1].removeprefix("[workbook] FAILED: ") if lines else f"exit code {proc.returncode}"
                    failed.append(f"{label}: {reason} ({log})")
                    print(f"[grid] {label}: FAILED after {took:.0f} s: {reason}", flush=True)
                else:
                    print(f"[grid] {label}: done in {took:.0f} s", flush=True)
    finally:
        for proc in live:
            proc.send_signal(signal.SIGINT)
        for proc in live:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return failed


def main_checkpoint(exp: str, preset: str, phase: int, steps: int | None, data: str | None, settings: dict,
                    resume: str | None, results_dir, runs, profile: str = "cpu") -> str:
    """The checkpoint of a phase's main run (Exp-1c, Exp-2c), trained first if it is not finished."""
    from .train.experiments import experiment_config, finished

    run_grid([exp], preset, phase, steps, data, settings, resume, results_dir, runs, profile=profile)
    cfg = experiment_config(exp, preset, steps=steps, data=data, phase=phase, resume=resume,
                            out_dir=str(repo_path(runs)), **settings)
    return str(finished(cfg))


# ----------------------------------------------------------------------------- the whole workbook
def run(profile: str = "cpu", only: list[str] | None = None, results_dir: str = "results") -> dict[str, float]:
    """Run the notebooks of a profile in order; returns seconds per notebook."""
    table = profiles()
    if profile not in table:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(table)}")
    unknown = [n for n in only or [] if n not in ORDER]
    if unknown:
        raise NotebookFailed(f"unknown notebook(s) {unknown}; the notebooks are: {', '.join(ORDER)}")
    times = {}
    for name in only or ORDER:
        params = {**profile_params(profile, name), "results_dir": str(repo_path(results_dir)), "profile": profile}
        t0 = time.perf_counter()
        print(f"[workbook] {name} ({profile}) ...", flush=True)
        execute(name, params, cell_timeout=table[profile].get("cell_timeout", 0))
        times[name] = time.perf_counter() - t0
        print(f"[workbook] {name} done in {times[name]:.0f} s", flush=True)
    return times


def prepare(profile: str) -> None:
    """Everything the notebooks of a profile read: the embedded clips (gpu: also the film and the live set), the
    published weights of every peer (:data:`vfilib.eval.peers.PEERS`)."""
    from .data.prepare import prepare_set, summary
    from .eval.peers import fetch_all_weights

    for name in ("embedded", "film", "live") if profile == "gpu" else ("embedded",):
        print(f"[workbook] {name}:\n{summary(prepare_set(name))}")
    for name, path in fetch_all_weights().items():
        print(f"[workbook] {name} weights: {path}")


def _index_times(index: Path) -> dict[str, float]:
    text = index.read_text() if index.is_file() else ""
    line = next((ln for ln in text.splitlines() if ln.startswith("Notebook wall times: ")), "")
    return {m[1]: float(m[2]) for m in re.finditer(r"(\S+) (\d+(?:\.\d+)?) s(?:,|$)", line.split(": ", 1)[-1])}


def collect(results_dir: str | Path = "results", times: dict[str, float] | None = None, profile: str = "") -> Path:
    """``results/INDEX.md``: every table and figure, with size and date."""
    root = repo_path(results_dir)
    p = provenance(None)
    lines = [f"# results/ (collected {p['date']}, commit {p['commit']}" + (f", profile {profile}" if profile else "")
             + ")", ""]
    times = {**_index_times(root / "INDEX.md"), **(times or {})}
    if times:
        lines += ["Notebook wall times: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()), ""]
    for sub, pattern, what in (("", "*.csv", "tables (one row per run; provenance columns: commit, device, date)"),
                               ("tables", "*.tex", "LaTeX tables (captions carry their provenance)"),
                               ("figures", "*.png", "figures (line plots also as .pdf)"), ("", "*.md", "notes")):
        files = sorted(f for f in (root / sub).glob(pattern) if f.name != "INDEX.md")
        if files:
            lines.append(f"## {what}")
            lines += [f"- `{(Path(sub) / f.name).as_posix()}` ({f.stat().st_size / 1024:.0f} KiB, "
                      f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(f.stat().st_mtime))} UTC)" for f in files]
            lines.append("")
    return atomic_write(root / "INDEX.md", lambda f: f.write("\n".join(lines)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="vfilib workbook", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    names = sorted(profiles())
    r = sub.add_parser("run")
    r.add_argument("--profile", default="cpu", choices=names)
    r.add_argument("--only", nargs="*", help=f"notebooks to run: {', '.join(ORDER)}")
    r.add_argument("--results_dir", default="results")
    p = sub.add_parser("prepare", help="embedded data (+ film for gpu) and peer weights")
    p.add_argument("--profile", default="cpu", choices=names)
    c = sub.add_parser("collect", help="write results/INDEX.md")
    c.add_argument("--results_dir", default="results")
    e = sub.add_parser("execute", help="one notebook with parameters (what a parallel grid row runs)")
    e.add_argument("name", help=f"one of: {', '.join(ORDER)}")
    e.add_argument("--params", default="{}", help="JSON object of the notebook's parameters")
    e.add_argument("--out_dir", default=None, help="where the executed copy goes (default runs/notebooks)")
    e.add_argument("--tag", default="", help="suffix of the executed copy's name")
    args = ap.parse_args(argv)
    if args.cmd == "execute":
        try:
            out = execute(args.name, json.loads(args.params), Path(args.out_dir) if args.out_dir else None, args.tag)
        except (NotebookFailed, json.JSONDecodeError) as e:
            print(f"[workbook] FAILED: {e}", file=sys.stderr)
            return 1
        print(f"[workbook] executed {out}")
        return 0
    if args.cmd == "prepare":
        prepare(args.profile)
        return 0
    if args.cmd == "collect":
        print(f"[workbook] wrote {collect(args.results_dir)}")
        return 0
    try:
        times = run(args.profile, args.only, args.results_dir)
    except NotebookFailed as e:
        print(f"[workbook] FAILED: {e}\n[workbook] earlier results are intact; re-run to resume.", file=sys.stderr)
        return 1
    print("[workbook] " + ", ".join(f"{k} {v:.0f}s" for k, v in times.items()))
    print(f"[workbook] wrote {collect(args.results_dir, times, args.profile)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
