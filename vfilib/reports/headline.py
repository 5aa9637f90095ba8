"""The README's headline table, made from benchmark rows: ``python -m vfilib.reports.headline``.

Reads ``results/live/headline.csv`` (written by the command in :data:`MAKE`), pivots PSNR / SSIM /
LPIPS per level for every method, and writes ``results/tables/headline.md`` with the rows'
provenance; the same text replaces what stands between the ``headline`` markers in README.md, so
the README's numbers are never typed by hand.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..core.io import atomic_write
from ..core.paths import repo_path
from ..core.tables import read_table
from ..eval.peers import label
from .tables import LEVEL_ORDER, provenance_note

MAKE = ("python -m vfilib.eval --bench live --peers vfilib rife_hdv3 rife_v39 rife_v39_refine rife_425 dis blend "
        "--crop 384 --max_samples 48 --lpips alex --out results/live/headline.csv")
START, END = "<!-- headline:start -->", "<!-- headline:end -->"


def markdown(rows: pd.DataFrame, source: str = "results/live/headline.csv") -> str:
    """One line per method (best first by mean PSNR): PSNR per level, mean PSNR, SSIM and LPIPS means."""
    if rows.empty:
        raise ValueError("no benchmark rows: run " + MAKE)
    rows = rows.drop_duplicates(["method", "split"], keep="last")
    levels = [lv for lv in LEVEL_ORDER if lv in set(rows["split"])]
    psnr = rows.pivot(index="method", columns="split", values="psnr")[levels]
    table = psnr.assign(mean=psnr.mean(axis=1), ssim=rows.groupby("method")["ssim"].mean())
    if "lpips" in rows and rows["lpips"].notna().any():
        table["lpips"] = rows.groupby("method")["lpips"].mean()
    table = table.sort_values("mean", ascending=False)
    head = ["method", *[f"{lv} PSNR" for lv in levels], "mean PSNR", "SSIM"] + (["LPIPS"] if "lpips" in table else [])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for m, r in table.iterrows():
        name = (f"**{label(m)}**" if m == "vfilib" else
                f"**vfilib** `{m.split(':')[-1]}`" if m.startswith("vfilib:") else label(m))
        cells = [name] + [f"{r[lv]:.2f}" for lv in levels] + [f"{r['mean']:.2f}", f"{r['ssim']:.4f}"]
        cells += [f"{r['lpips']:.4f}"] if "lpips" in table else []
        lines.append("| " + " | ".join(cells) + " |")
    n = rows.groupby("split")["n"].first().reindex(levels)
    crop = rows["proto_crop"].dropna().unique() if "proto_crop" in rows else []
    note = (f"Held-out live-action test shots, {', '.join(f'{lv} {int(k)}' for lv, k in n.items())} triplets"
            + (f", centre crops of {int(crop[0])} px" if len(crop) else ", full frames")
            + f"; {provenance_note(rows)}; made by `python -m vfilib.reports.headline --table {source}`"
            + (f" from `{MAKE}`" if source.endswith("headline.csv") else "") + ".")
    return "\n".join(lines) + "\n\n*" + note + "*\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vfilib.reports.headline", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", type=Path, default=Path("results/live/headline.csv"),
                    help="benchmark rows (e.g. results/live/test_crop384_cpu_b.csv: the ship decision's rows)")
    ap.add_argument("--readme", type=Path, default=Path("README.md"))
    ap.add_argument("--out", type=Path, default=Path("results/tables/headline.md"))
    args = ap.parse_args(argv)
    text = markdown(read_table(repo_path(args.table)), str(args.table))
    atomic_write(repo_path(args.out), lambda f: f.write(text))
    readme = repo_path(args.readme)
    old = readme.read_text()
    if START in old and END in old:
        new = old.split(START)[0] + START + "\n" + text + END + old.split(END, 1)[1]
        atomic_write(readme, lambda f: f.write(new))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
