"""The workbook frame: run the numbered notebooks with papermill, collect tables and figures.

Notebook sources are jupytext "percent" scripts (``notebooks/NN_name.py``): clean diffs, and
JupyterLab opens them as notebooks (jupytext is installed). To execute, a source is converted to
``.ipynb`` in the ignored ``runs/notebooks/`` folder and run there with papermill (``cwd`` = the
repository root), so executed copies never overwrite the sources.

    python -m vfilib.workbook run --profile cpu          # what ./run_all.sh calls
    python -m vfilib.workbook run --only 07_benchmarks   # one notebook
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import pandas as pd

from .core.tables import REPO_ROOT, atomic_write

NOTEBOOKS = REPO_ROOT / "notebooks"
RUNS = REPO_ROOT / "runs"
ORDER = ("01_stem_and_scan", "02_phase1_train", "03_phase1_ablations", "04_phase2_flow", "05_phase2_ablations",
         "06_phase3_curriculum", "07_benchmarks", "08_speed_memory", "09_xtest_4k")

#: Every real peer, in table order (the full profile drops minterpolate: slow at Vimeo90K's size).
ALL_PEERS = ["blend", "dis", "minterpolate", "rife_hdv3", "rife_v39", "rife_v39_refine"]

#: Parameters per profile and notebook (cpu: tiny preset, short runs, embedded data).
PROFILES: dict[str, dict[str, dict]] = {
    "cpu": {
        "01_stem_and_scan": {"erf_size": 128, "widgets": False},
        "02_phase1_train": {"preset": "tiny", "steps": 30, "crop": 48, "batch_size": 4, "val_samples": 4,
                            "val_crop": 96, "perceptual_weight": 0.0},
        "03_phase1_ablations": {"preset": "tiny", "steps": 30, "crop": 48, "batch_size": 4, "val_samples": 4,
                                "val_crop": 96, "perceptual_weight": 0.0},
        "04_phase2_flow": {"preset": "tiny", "steps": 40, "crop": 48, "batch_size": 4, "val_samples": 4, "val_crop": 96},
        "05_phase2_ablations": {"preset": "tiny", "steps": 40, "crop": 48, "batch_size": 4, "val_samples": 4,
                                "val_crop": 96},
        "06_phase3_curriculum": {"preset": "tiny", "steps": 30, "crop": 64, "batch_size": 4, "val_samples": 4,
                                 "val_crop": 96, "train_scale": 0.5},
        "07_benchmarks": {"bench": "embedded", "peers": ALL_PEERS, "max_samples": 4},
        "08_speed_memory": {"presets": ["tiny", "small"], "variants": [], "resolutions": ["256"], "iters": 3},
        "09_xtest_4k": {"preset": "tiny", "scale": 0.5, "video_frames": 5},
    },
    "gpu": {
        "01_stem_and_scan": {"erf_size": 128, "widgets": False},
        "02_phase1_train": {"preset": "small", "steps": 20000, "crop": 256, "batch_size": 16, "amp": "bf16",
                            "data": "film"},
        "03_phase1_ablations": {"preset": "small", "steps": 20000, "crop": 256, "batch_size": 16, "amp": "bf16",
                                "data": "film"},
        "04_phase2_flow": {"preset": "small", "steps": 20000, "crop": 256, "batch_size": 16, "amp": "bf16",
                           "freeze_backbone": 1, "data": "film"},
        "05_phase2_ablations": {"preset": "small", "steps": 20000, "crop": 256, "batch_size": 16, "amp": "bf16",
                                "data": "film"},
        "06_phase3_curriculum": {"preset": "small", "steps": 10000, "crop": 512, "batch_size": 8, "amp": "bf16",
                                 "train_scale": 0.5},
        "07_benchmarks": {"bench": "embedded", "path": "data/film", "max_samples": 0, "peers": ALL_PEERS},
        "08_speed_memory": {"presets": ["small", "base"], "variants": ["exp1a", "exp1b", "exp1d", "exp1h"],
                            "resolutions": ["256", "720p", "1080p", "4k"], "dtypes": ["fp32", "bf16"],
                            "iters": 50, "grid": True},
        "09_xtest_4k": {"preset": "small", "scale": 0.5, "video_frames": 49},
    },
    "full": {
        "01_stem_and_scan": {"erf_size": 128, "widgets": False},
        "02_phase1_train": {"preset": "small", "epochs": 300, "steps": 0, "crop": 256, "batch_size": 16,
                            "amp": "bf16", "data": "vimeo"},
        "03_phase1_ablations": {"preset": "small", "epochs": 300, "steps": 0, "crop": 256, "batch_size": 16,
                                "amp": "bf16", "data": "vimeo"},
        "04_phase2_flow": {"preset": "small", "epochs": 200, "steps": 0, "crop": 256, "batch_size": 16, "amp": "bf16",
                           "data": "vimeo", "freeze_backbone": 50},
        "05_phase2_ablations": {"preset": "small", "epochs": 200, "steps": 0, "crop": 256, "batch_size": 16,
                                "amp": "bf16", "data": "vimeo"},
        "06_phase3_curriculum": {"preset": "small", "epochs": 100, "steps": 0, "crop": 256, "batch_size": 8,
                                 "amp": "bf16", "data": "mixed", "train_scale": 0.5},
        "07_benchmarks": {"bench": "vimeo90k", "peers": [p for p in ALL_PEERS if p != "minterpolate"],
                          "max_samples": 0},
        "08_speed_memory": {"presets": ["small", "base"], "variants": ["exp1a", "exp1b", "exp1d", "exp1h"],
                            "resolutions": ["256", "720p", "1080p", "4k"], "dtypes": ["fp32", "bf16"],
                            "iters": 50, "grid": True},
        "09_xtest_4k": {"preset": "small", "scale": 0.25, "video_frames": 49},
    },
}


class NotebookFailed(RuntimeError):
    pass


def to_ipynb(name: str, out_dir: Path) -> Path:
    """notebooks/<name>.py (jupytext percent) -> out_dir/<name>.source.ipynb with python3 kernel metadata."""
    import jupytext

    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.source.ipynb"
    jupytext.write(nb, path, fmt="ipynb")
    return path


def execute(name: str, parameters: dict | None = None, out_dir: Path | None = None, tag: str = "") -> Path:
    """Run one notebook with papermill; the executed copy is ``out_dir/<name><tag>.ipynb``.
    A failure raises :class:`NotebookFailed` naming the notebook and the failing cell."""
    import papermill as pm

    out_dir = Path(out_dir or RUNS / "notebooks")
    src = to_ipynb(name, out_dir)
    out = out_dir / f"{name}{tag}.ipynb"
    try:
        pm.execute_notebook(str(src), str(out), parameters=parameters or {}, cwd=str(REPO_ROOT),
                            kernel_name="python3", progress_bar=False)
    except pm.PapermillExecutionError as e:
        raise NotebookFailed(f"notebook {name} failed in cell {e.exec_count} ({e.ename}: {e.evalue}); "
                             f"executed copy: {out}") from None
    return out


def save_figure(fig, name: str, results_dir: str | Path = "results", dpi: int = 150) -> list[Path]:
    """Write ``results/figures/<name>.png`` and ``.pdf`` atomically (thesis-ready)."""
    out = []
    for ext in ("png", "pdf"):
        path = Path(results_dir) / "figures" / f"{name}.{ext}"
        atomic_write(path, lambda f, ext=ext: fig.savefig(f, format=ext, dpi=dpi, bbox_inches="tight"), mode="wb")
        out.append(path)
    return out


def latex_table(df: pd.DataFrame, name: str, caption: str, results_dir: str | Path = "results",
                float_format: str = "{:.2f}") -> Path:
    """Write ``results/tables/<name>.tex`` (booktabs, includable as is)."""
    body = df.to_latex(index=False, float_format=float_format.format, escape=True)
    body = body.replace("\\begin{tabular}", "\\centering\n\\begin{tabular}")
    text = f"% generated by vfilib; {caption}\n\\begin{{table}}[t]\n{body}\\caption{{{caption}}}\n\\end{{table}}\n"
    return atomic_write(Path(results_dir) / "tables" / f"{name}.tex", lambda f: f.write(text))


def resume_point(runs_dir: str | Path, exp_name: str) -> Path | None:
    """The checkpoint a later phase starts from: ``<runs_dir>/<exp_name>/best.pt``, else ``last.pt``."""
    for name in ("best.pt", "last.pt"):
        path = Path(runs_dir) / exp_name / name
        if path.is_file():
            return path
    return None


def grid_figure(table: pd.DataFrame, main: str, title: str, steps: int | None = None):
    """Horizontal bars of validation PSNR per experiment (the main one in red), values printed."""
    import matplotlib.pyplot as plt

    order = table.sort_values("val_psnr")
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(order) + 1.4))
    bars = ax.barh(order["experiment"] + ": " + order["what"].fillna(""), order["val_psnr"],
                   color=["tab:red" if e == main else "tab:blue" for e in order["experiment"]])
    lo, hi = order["val_psnr"].min(), order["val_psnr"].max()
    ax.set_xlim(lo - 0.5, hi + 0.3)
    ax.bar_label(bars, fmt="%.2f", padding=3, fontsize=8)
    ax.set_xlabel("validation PSNR (dB)")
    note = "  SMOKE RUN: too short to rank the variants" if steps and steps < 5000 else ""
    ax.set_title(f"{title}\n(red: the main configuration){note}", fontsize=10)
    fig.tight_layout()
    return fig


def label_experiments(table: pd.DataFrame, preset: str, baseline: tuple[str | Path, str, str] | None = None):
    """A grid's result rows with ``experiment`` (id without the preset suffix) and ``what`` (its title)
    columns. ``baseline = (csv, from_exp, as_exp)`` first adds the earlier phase's ``from_exp`` row of
    ``csv`` renamed ``as_exp`` (Exp-2a is the Phase-1 main run, Exp-3a the Phase-2 one)."""
    from .config import ALL_EXPERIMENTS

    if baseline is not None:
        csv, src, dst = baseline
        base = pd.read_csv(csv)
        base = base[base["exp_name"] == f"{src}_{preset}"].assign(exp_name=f"{dst}_{preset}")
        table = pd.concat([base, table], ignore_index=True)
    titles = {e.id: e.title for e in ALL_EXPERIMENTS}
    table = table.assign(experiment=table["exp_name"].str.replace(f"_{preset}", "", regex=False))
    return table.assign(what=table["experiment"].map(titles))


def phase1_grid(experiments: list[str], params: dict, results_dir: str | Path = "results", force: bool = False,
                out_dir: Path | None = None) -> pd.DataFrame:
    """Run notebook 02 for each experiment id (skipping those already in results/phase<N>.csv with the
    same run size, unless ``force``); return the table of the grid's rows. ``params["phase"]`` (default
    1) picks the table; Phase 2/3 grids pass ``resume`` too."""
    table_path = Path(results_dir) / f"phase{params.get('phase', 1)}.csv"
    preset = params.get("preset", "tiny")
    for exp_id in experiments:
        name = f"{exp_id}_{preset}"
        done = pd.read_csv(table_path) if table_path.exists() else pd.DataFrame()
        if not force and not done.empty and ((done["exp_name"] == name) & (done["steps"] == params.get("steps"))).any():
            print(f"[grid] {name}: finished earlier, skipped (force=True re-runs it)")
            continue
        print(f"[grid] {name} ...", flush=True)
        execute("02_phase1_train", {**params, "experiment": exp_id, "results_dir": str(results_dir)},
                out_dir=out_dir or Path(params.get("runs_dir", RUNS)) / "notebooks", tag=f"_{exp_id}")
    table = pd.read_csv(table_path)
    return table[table["exp_name"].isin([f"{e}_{preset}" for e in experiments])]


def run(profile: str = "cpu", only: list[str] | None = None, results_dir: str = "results") -> dict[str, float]:
    """Run the notebooks of a profile in order; returns seconds per notebook."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    times = {}
    for name in only or ORDER:
        params = {**PROFILES[profile].get(name, {}), "results_dir": results_dir, "profile": profile}
        t0 = time.perf_counter()
        print(f"[workbook] {name} ({profile}) ...", flush=True)
        execute(name, params)
        times[name] = time.perf_counter() - t0
        print(f"[workbook] {name} done in {times[name]:.0f} s", flush=True)
    return times


def prepare(profile: str) -> None:
    """Everything the notebooks of a profile read, made once: the embedded clips (and, for ``gpu``, the
    film) and the RIFE HDv3 and v3.9 peer weights."""
    from .data.prepare import main as prepare_data
    from .models.rife import fetch_weights

    prepare_data(["--film"] if profile == "gpu" else [])
    for name in ("rife_hdv3", "rife_v39"):
        print(f"[workbook] {name} weights: {fetch_weights(name)}")


def _index_times(index: Path) -> dict[str, float]:
    """The notebook wall times an earlier ``INDEX.md`` recorded ({} if none)."""
    text = index.read_text() if index.is_file() else ""
    line = next((ln for ln in text.splitlines() if ln.startswith("Notebook wall times: ")), "")
    return {m[1]: float(m[2]) for m in re.finditer(r"(\S+) (\d+(?:\.\d+)?) s(?:,|$)", line.split(": ", 1)[-1])}


def collect(results_dir: str | Path = "results", times: dict[str, float] | None = None) -> Path:
    """``results/INDEX.md``: every table and figure the workbook wrote, with size and date, so a reader
    sees what exists and when it was made (each CSV row carries its own commit/device provenance)."""
    from .core.tables import provenance

    root = Path(results_dir)
    lines = [f"# results/ (collected {provenance(None)['date']}, commit {provenance(None)['commit']})", ""]
    times = {**_index_times(root / "INDEX.md"), **(times or {})}   # a partial run keeps the others' times
    if times:
        lines += ["Notebook wall times: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()), ""]
    for sub, pattern, what in (("", "*.csv", "tables (one row per run; provenance columns: commit, device, date)"),
                               ("tables", "*.tex", "LaTeX tables (booktabs)"), ("figures", "*.png", "figures (+ .pdf)")):
        files = sorted((root / sub).glob(pattern))
        if files:
            lines.append(f"## {what}")
            lines += [f"- `{(Path(sub) / f.name).as_posix()}` ({f.stat().st_size / 1024:.0f} KiB, "
                      f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(f.stat().st_mtime))} UTC)" for f in files]
            lines.append("")
    return atomic_write(root / "INDEX.md", lambda f: f.write("\n".join(lines)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--profile", default="cpu", choices=sorted(PROFILES))
    r.add_argument("--only", nargs="*")
    r.add_argument("--results_dir", default="results")
    p = sub.add_parser("prepare", help="embedded data (+ film for gpu) and peer weights")
    p.add_argument("--profile", default="cpu", choices=sorted(PROFILES))
    c = sub.add_parser("collect", help="write results/INDEX.md")
    c.add_argument("--results_dir", default="results")
    args = ap.parse_args(argv)
    if args.cmd == "prepare":
        return prepare(args.profile)
    if args.cmd == "collect":
        return print(f"[workbook] wrote {collect(args.results_dir)}")
    try:
        times = run(args.profile, args.only, args.results_dir)
    except NotebookFailed as e:
        print(f"[workbook] FAILED: {e}\n[workbook] earlier results are intact; re-run to resume.", file=sys.stderr)
        raise SystemExit(1)
    print("[workbook] " + ", ".join(f"{k} {v:.0f}s" for k, v in times.items()))
    print(f"[workbook] wrote {collect(args.results_dir, times)}")


if __name__ == "__main__":
    main()
