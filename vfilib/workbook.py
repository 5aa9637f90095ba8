"""The workbook runner: the numbered notebooks with papermill, the ablation grids, results/INDEX.md.

    python -m vfilib.workbook run --profile cpu          # what ./run_all.sh runs (CI too)
    python -m vfilib.workbook run --only 07_benchmarks   # one notebook
    python -m vfilib.workbook prepare --profile cpu      # data and peer weights the notebooks read

Notebooks are jupytext "percent" sources (``notebooks/NN_name.py``) paired with ``.ipynb`` copies
without outputs (JupyterLab opens either as a notebook). Executed copies go to ``runs/notebooks/``;
kernels start in ``notebooks/``, as in JupyterLab, and every path a notebook writes resolves from
the repository root. Profiles are data: ``notebooks/profiles.toml``.

The ablation grids of notebooks 03, 05 and 06 run through :mod:`vfilib.grid` (rows at once per GPU,
time limits, resume, per-triplet test scores, merging calls from a lent GPU).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path


from .core.io import atomic_write
from .core.paths import REPO_ROOT, repo_path, runs_dir
from .core.profile import ENV as profile_env, profiles, resolve
from .core.tables import provenance

NOTEBOOKS = REPO_ROOT / "notebooks"
ORDER = ("01_stem_and_scan", "02_phase1_train", "03_phase1_ablations", "04_phase2_flow", "05_phase2_ablations",
         "06_phase3_curriculum", "07_benchmarks", "08_speed_memory", "09_xtest_4k", "10_nframe")


class NotebookFailed(RuntimeError):
    pass


def profile_params(profile: str, notebook: str) -> dict:
    return dict(profiles()[resolve(profile)].get(notebook, {}))


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
    os.environ["PYTHONPATH"] = kernel_path()  # the kernel imports this tree's vfilib, wherever it starts
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


def kernel_path() -> str:
    """``PYTHONPATH`` with the repository root first: a kernel started in ``notebooks/`` imports this
    tree's vfilib (not another copy installed in the environment, nor none in a plain clone)."""
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(REPO_ROOT)]
    return os.pathsep.join([str(REPO_ROOT), *rest])


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


# ----------------------------------------------------------------------------- the whole workbook
def run(profile: str = "cpu", only: list[str] | None = None, results_dir: str = "results") -> dict[str, float]:
    """Run the notebooks of a profile in order; returns seconds per notebook."""
    profile, table = resolve(profile), profiles()
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
    e = sub.add_parser("execute", help="one notebook with parameters, in a process of its own")
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
