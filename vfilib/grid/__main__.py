"""``python -m vfilib.grid``: run an ablation notebook's grids without the notebook (a lent GPU), merge
what such calls bring back, or train one row (what the grid's processes run).

    # on the GPU machine: the grids of notebook 03 in the h200 profile for at most 420 s, results in one file
    python -m vfilib.grid run 03_phase1_ablations --profile h200 --time_limit 420 --bundle $OUT/grid.tar.gz
    # here: add the rows it brought to results/ (then run the notebook here to make its tables and figures)
    python -m vfilib.grid merge path/to/grid.tar.gz
    python -m vfilib.grid row --spec '{...}' --experiment exp1c --seed 0

``run`` reads the notebook's parameters cell, then the profile's values (notebooks/profiles.toml), then
``--set name=JSON`` overrides; exit status 0 when every row is done, 3 when rows are left for the next
call (time limit), 1 when a row failed.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time

from .bundle import merge, write_bundle
from .runner import GridIncomplete, run_grids, run_row
from .spec import NOTEBOOK_PHASE, GridSpec, grid_specs, notebook_parameters


def cmd_run(args) -> int:
    from ..workbook import profile_params

    params = {**notebook_parameters(args.notebook), **profile_params(args.profile, args.notebook), "profile": args.profile}
    for item in args.set:
        name, _, value = item.partition("=")
        params[name] = json.loads(value)
    if args.time_limit is not None:
        params["time_limit"] = args.time_limit
    params["train"] = True                      # (a profile whose notebooks only make tables still trains here)
    known = set(inspect.signature(grid_specs).parameters) - {"phase"}
    specs = grid_specs(NOTEBOOK_PHASE[args.notebook], **{k: v for k, v in params.items() if k in known})
    started, status = time.time(), "complete"
    try:
        run_grids(specs)
    except GridIncomplete as e:
        status = "failed" if e.failed else "incomplete"
        print(f"[grid] {e}", flush=True)
    finally:
        if args.bundle:
            write_bundle(specs, started, args.bundle, status if sys.exc_info()[0] is None else "failed", args.include)
    return {"complete": 0, "incomplete": 3, "failed": 1}[status]


def cmd_row(args) -> int:
    spec = GridSpec.from_json(args.spec)
    try:
        run_row(spec, args.experiment, args.seed, resume=args.resume,
                device_share=int(os.environ.get("VFILIB_DEVICE_SHARE", "1")))
    except KeyboardInterrupt:
        print("[grid] interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the grid reads the last line of the log
        print(f"[grid] FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vfilib.grid", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="an ablation notebook's grids, no notebook (a GPU machine's call)")
    r.add_argument("notebook", choices=sorted(NOTEBOOK_PHASE))
    r.add_argument("--profile", default="cpu")
    r.add_argument("--time_limit", type=float, help="seconds for the whole call; rows still running save last.pt and stop")
    r.add_argument("--set", action="append", default=[], metavar="NAME=JSON", help="override a notebook parameter")
    r.add_argument("--bundle", help="write the call's results to this .tar.gz (what `merge` reads)")
    r.add_argument("--include", nargs="*", default=[], help="more files for the bundle (a log)")
    m = sub.add_parser("merge", help="add bundles' rows to results/ (keyed by run and config hash)")
    m.add_argument("bundles", nargs="+")
    m.add_argument("--results_dir", default="results")
    m.add_argument("--runs_dir", default="runs")
    w = sub.add_parser("row", help="train one grid row (what the grid's processes run)")
    w.add_argument("--spec", required=True, help="the grid, as GridSpec.to_json() writes it")
    w.add_argument("--experiment", required=True)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--resume")
    args = ap.parse_args(argv)
    if args.cmd == "merge":
        try:
            lines = merge(args.bundles, args.results_dir, args.runs_dir)
        except ValueError as e:
            print(f"python -m vfilib.grid merge: error: {e}", file=sys.stderr)
            return 1
        print("\n".join(lines))
        return 0
    return cmd_run(args) if args.cmd == "run" else cmd_row(args)


if __name__ == "__main__":
    raise SystemExit(main())
