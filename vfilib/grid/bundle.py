"""What a grid call on a lent GPU brings back, and how it joins ``results/`` here.

    python -m vfilib.grid run 03_phase1_ablations --profile h200 --time_limit 420 --bundle $OUT/grid.tar.gz
    python -m vfilib.grid merge runs/device/grid.tar.gz [more bundles ...]

A bundle is one ``.tar.gz`` (a call returns at most 8 files of 16 MiB): the grids' tables (result rows
and per-triplet test scores, each row with its provenance), each row's ``metrics.csv``,
``summary.json``, ``test_scores.csv`` and log, the grids' status (``runs/grids/<table>.json``) and
``bundle.json``: when, where (device, GPUs), how many seconds, which rows are done.

``merge`` adds the rows to ``results/`` keyed by run and config hash (test scores by triplet too): a row
that two calls bring is kept once (the later), other tables are not touched, and a bundle merged twice
changes nothing. The rest is unpacked under ``runs/bundles/<bundle>/``; each call's seconds go to
``results/grid_calls.csv`` (the GPU time a phase took).
"""
from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path

from ..core.io import atomic_write
from ..core.paths import repo_path
from ..core.tables import append_rows, provenance, read_table
from ..train.testset import test_table
from .spec import GridSpec

LIMIT_BYTES = 16 * 2**20
KEYS = (("triplet", ["exp_name", "config_hash", "triplet"]), ("config_hash", ["exp_name", "config_hash"]))


def bundle_files(specs: list[GridSpec], since: float) -> dict[str, Path]:
    """Name in the bundle -> file: the grids' tables (and any phase table changed since ``since``: a later
    phase's grid may train the earlier phase's main row) under ``results/``, under ``runs/`` the grids'
    status and every row's records."""
    out: dict[str, Path] = {}
    for spec in specs:
        results, runs = repo_path(spec.results_dir), repo_path(spec.runs_dir)
        tables = [spec.table_path, test_table(spec.table_path)]
        tables += [p for p in results.glob("phase*.csv") if p.stat().st_mtime >= since]
        out.update({f"results/{p.name}": p for p in tables})
        kept = [runs / "grids" / f"{spec.table}.json"]
        for exp, seed in spec.rows():
            name = spec.run_dir(exp, seed).name
            kept += [runs / name / f for f in ("metrics.csv", "summary.json", "test_scores.csv")]
            kept.append(runs / "grids" / "logs" / f"{name}.log")
        out.update({f"runs/{p.relative_to(runs).as_posix()}": p for p in kept})
    return {k: p for k, p in out.items() if p.is_file()}


def write_bundle(specs: list[GridSpec], since: float, out: str | Path, status: str, extra: list[Path] = ()) -> Path:
    """``out`` (.tar.gz): the files of :func:`bundle_files`, ``extra`` files (a log) and bundle.json."""
    from .runner import visible_gpus

    files = {**bundle_files(specs, since), **{Path(p).name: Path(p) for p in extra if Path(p).is_file()}}
    grids = {}
    for spec in specs:
        state = repo_path(spec.runs_dir) / "grids" / f"{spec.table}.json"
        grids[spec.table] = json.loads(state.read_text())["rows"] if state.is_file() else {}
    info = {"made": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "seconds": round(time.time() - since, 1),
            "gpus": len(visible_gpus()), "status": status, "grids": grids, **throughput(specs, since),
            **provenance(None)}

    def write(f):
        with tarfile.open(fileobj=f, mode="w:gz") as tar:
            data = json.dumps(info, indent=1).encode()
            member = tarfile.TarInfo("bundle.json")
            member.size, member.mtime = len(data), int(time.time())
            tar.addfile(member, io.BytesIO(data))
            for arcname, p in files.items():
                tar.add(p, arcname=arcname, recursive=False)
    path = atomic_write(out, write, mode="wb")
    size = path.stat().st_size
    print(f"[grid] bundle {path}: {len(files)} files, {size / 2**20:.2f} MiB ({status})", flush=True)
    if size > LIMIT_BYTES:
        print(f"[grid] warning: {path} is over 16 MiB and will not come back from the device", flush=True)
    return path


def throughput(specs: list[GridSpec], since: float) -> dict:
    """Rows that trained in this call and their summed samples/s (rows running side by side: the total
    throughput of the device, what picks ``rows_per_gpu``)."""
    rates = []
    for spec in specs:
        for exp, seed in spec.rows():
            p = spec.run_dir(exp, seed) / "summary.json"
            if p.is_file() and p.stat().st_mtime >= since:
                rates.append(json.loads(p.read_text()).get("samples_per_s") or 0.0)
    return {"rows_trained": len(rates), "samples_per_s_sum": round(sum(rates), 2)}


def merge(bundles: list[str | Path], results_dir: str | Path = "results", runs_dir: str | Path = "runs") -> list[str]:
    """Add each bundle's grid tables to ``results_dir`` (keyed), unpack the rest under ``runs_dir/bundles/``,
    log the call in ``results_dir/grid_calls.csv``; returns one line per table merged."""
    results, lines = repo_path(results_dir), []
    for b in map(Path, bundles):
        if not b.is_file() or not tarfile.is_tarfile(b):
            raise ValueError(f"merge: {b} is not a grid bundle (.tar.gz from `python -m vfilib.grid run --bundle`)")
        with tarfile.open(b) as tar:
            if "bundle.json" not in tar.getnames():
                raise ValueError(f"merge: {b} has no bundle.json; not a grid bundle")
            try:
                made = json.load(tar.extractfile("bundle.json")).get("made", "")
            except (ValueError, AttributeError):
                raise ValueError(f"merge: {b}: its bundle.json is not readable; not a grid bundle") from None
            stamp = "".join(c for c in made if c.isdigit())[:14]
            dest = repo_path(runs_dir) / "bundles" / f"{stamp}_{b.name.removesuffix('.tar.gz')}"
            try:
                tar.extractall(dest, filter="data")        # refuses absolute paths, .., links out of dest
            except tarfile.TarError as e:
                raise ValueError(f"merge: {b}: refused ({e}); not a grid bundle") from None
        info = json.loads((dest / "bundle.json").read_text())
        for table in sorted((dest / "results").glob("*.csv")):
            lines.append(merge_table(table, results / table.name))
        done = sum(v == "done" for rows in info["grids"].values() for v in rows.values())
        total = sum(len(rows) for rows in info["grids"].values())
        append_rows(results / "grid_calls.csv", [{
            "bundle": b.name, "made": info["made"], "grids": " ".join(info["grids"]), "status": info["status"],
            "seconds": info["seconds"], "gpus": info["gpus"], "rows_done": done, "rows": total,
            "rows_trained": info.get("rows_trained"), "samples_per_s_sum": info.get("samples_per_s_sum"),
            "commit": info.get("commit", ""), "device": info.get("device", "")}], key=["bundle", "made"])
        lines.append(f"{b.name}: {info['status']}, {done} of {total} rows done, {info['seconds']:.0f} s on "
                     f"{info['gpus']} GPU(s) ({info.get('device', '?')}); files in {dest}")
    return lines


def merge_table(src: Path, dst: Path) -> str:
    """Rows of ``src`` into ``dst``, replacing rows with the same key (run, config hash[, triplet])."""
    new = read_table(src)
    key = next((k for col, k in KEYS if col in new), None)
    if new.empty or key is None:
        return f"{src.name}: skipped (no grid rows)"
    before = len(read_table(dst))
    after = len(append_rows(dst, new.to_dict("records"), key=key))
    return f"{dst.name}: {len(new)} rows merged ({after - before:+d})"
