"""The live-action training record: ``python -m vfilib.reports.live`` (results/live/ -> figure + table).

Reads what the device runs wrote (``results/live/*_metrics.csv``, the ``[val]`` lines of
``*_train.log`` where a call's metrics file did not come back, the RIFE HDv3 reference on the same
validation samples: ``<run>_reference.json``, else ``reference_rife_hdv3_val.json``) and writes ``results/figures/live_learning_curve.png`` and
``results/live/learning_curve.csv`` (held-out PSNR per level against samples seen, minus RIFE HDv3's).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ..core.io import atomic_write
from ..core.paths import results_dir
from .figures import learning_curve_figure, save_figure

VAL_LINE = re.compile(r"\[val\] step (\d+): PSNR ([\d.]+) dB (\{.*\})")


def log_rows(path: Path, batch: int = 32) -> pd.DataFrame:
    rows = []
    for m in VAL_LINE.finditer(path.read_text()):
        levels = json.loads(m[3].replace("'", '"'))
        rows.append({"step": int(m[1]), "samples": int(m[1]) * batch, "val_psnr": float(m[2]),
                     "val_levels": json.dumps(levels)})
    return pd.DataFrame(rows)


def curves(folder: Path) -> dict[str, pd.DataFrame]:
    """Validation rows per run name (metrics files and logs of calls of the same run joined)."""
    runs: dict[str, list[pd.DataFrame]] = {}
    for f in sorted(folder.glob("*_metrics.csv")) + sorted(folder.glob("*_train.log")):
        name = f.name.split("_call")[0]
        df = pd.read_csv(f) if f.suffix == ".csv" else log_rows(f)
        runs.setdefault(name, []).append(df.dropna(subset=["val_psnr"])[["step", "samples", "val_psnr", "val_levels"]])
    return {k: pd.concat(v).drop_duplicates("step").sort_values("step") for k, v in runs.items()}


def main(argv=None) -> int:
    folder = results_dir() / "live"
    shared = json.loads((folder / "reference_rife_hdv3_val.json").read_text())
    table = []
    for name, val in curves(folder).items():
        own = folder / f"{name}_reference.json"     # a run validated on other samples brings its own reference
        ref = json.loads(own.read_text()) if own.exists() else shared
        fig = learning_curve_figure(val, ref, f"{name}: held-out live-action validation shots, minus RIFE HDv3 "
                                    f"({ref['psnr']:.3f} dB mean)")
        save_figure(fig, f"live_learning_curve_{name}", results_dir(), vector=True)
        for _, r in val.iterrows():
            lv = json.loads(r["val_levels"]) if isinstance(r["val_levels"], str) and r["val_levels"] else {}
            table.append({"run": name, "step": r["step"], "samples": r["samples"], "val_psnr": r["val_psnr"],
                          "minus_rife_hdv3": r["val_psnr"] - ref["psnr"],
                          **{f"{k}_minus_rife": v - ref[f"psnr_{k}"] for k, v in lv.items()}})
    df = pd.DataFrame(table)
    atomic_write(folder / "learning_curve.csv", lambda f: df.to_csv(f, index=False))
    print(df.round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
