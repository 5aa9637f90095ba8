"""Ablation grids: rows (experiments x seeds) trained at one budget, several at once per GPU, within a
time limit and resumed exactly by the next call, scored per test triplet, merged from several calls.

    from vfilib.grid import grid_specs, run_grids
    results = run_grids(grid_specs(1, ["exp1a", "exp1c"], preset="tiny", steps=30, seeds=3,
                                   settings={"crop": 48, "test_samples": 4, "test_crop": 96}))
    results[0].compare("exp1c")           # mean difference to Exp-1c with a paired-bootstrap interval

Command line (what a lent GPU runs, and the merge here): ``python -m vfilib.grid --help``.
"""
from .bundle import merge, write_bundle
from .runner import (GridIncomplete, GridResult, grid_slots, main_checkpoint, run_grid, run_grids, run_parallel,
                     visible_gpus)
from .spec import GridSpec, deadline_after, grid_specs, notebook_parameters

__all__ = ["GridIncomplete", "GridResult", "GridSpec", "deadline_after", "grid_slots", "grid_specs", "main_checkpoint",
           "merge", "notebook_parameters", "run_grid", "run_grids", "run_parallel", "visible_gpus", "write_bundle"]
