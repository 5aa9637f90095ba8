"""Command line of the trainer; flags are generated from the config dataclasses (one source of truth).

    python -m vfilib.train --preset small --batch_size 8 --epochs 300 --exp_name exp1c_hybrid
    torchrun --nproc_per_node=4 -m vfilib.train --preset small --data vimeo --data_path /data/vimeo_septuplet
    python -m vfilib.train --backbone_mode mamba2_only --exp_name exp1a      # any ModelConfig field
    python -m vfilib.train --no-use_ecab --use_mhc --exp_name exp1h          # the seed's flags

Every field of :class:`TrainConfig` and of :class:`vfilib.config.ModelConfig` is a flag of the same
name. Booleans take ``--flag`` / ``--no-flag``; ``--use_mhc`` (the seed's name of ``--residual``) alone means ``mhc``;
``--preset`` picks the model preset the ModelConfig flags modify; ``--experiment exp1f`` applies one
row of the Phase-1 ablation grid.

Exact resume: ``--resume runs/<exp>/last.pt`` continues a run bit for bit on the CPU (the default there
is ``--deterministic``); on a GPU give ``--deterministic`` for that (it costs speed), else a resumed run
agrees with an uninterrupted one to float rounding (about 1e-8 in the weights).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import typing

from ..config import (AMP_MODES, BACKBONE_MODES, FLOW_MODES, MAMBA_VERSIONS, RESIDUAL_MODES, SCAN_MODES,
                      ModelConfig, preset)
from .config import DATA_CHOICES, TrainConfig
from .experiments import experiment_config

SKIP = {"model", "name"}
#: Fields whose values are names of a registry: the flag offers exactly those.
CHOICES = {"data": DATA_CHOICES, "amp": AMP_MODES, "backbone_mode": BACKBONE_MODES, "scan": SCAN_MODES,
           "residual": RESIDUAL_MODES, "flow": FLOW_MODES, "mamba_version": MAMBA_VERSIONS}
HELP = {"deterministic": "bit-exact runs and resumes: the same seed gives the same weights in any process, and a "
                         "run resumed from last.pt ends with the weights of one never stopped. Default: on the "
                         "CPU yes; on a GPU no (there it costs speed, and mamba_ssm's Triton kernels are "
                         "outside torch's deterministic algorithms: not measured bit-exact)",
        "resume": "a checkpoint, a run folder or a run name; the run's own last.pt continues it exactly "
                  "(see --deterministic)",
        "time_limit": "stop after this many seconds of training, saving last.pt (resume with --resume)"}


def _arg_type(tp):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    if typing.get_origin(tp) is tuple:
        return int, "+"
    return tp, None


def _add_fields(ap: argparse.ArgumentParser, cls, group: str) -> list[str]:
    g = ap.add_argument_group(group)
    hints = typing.get_type_hints(cls)
    names = []
    for f in dataclasses.fields(cls):
        if f.name in SKIP:
            continue
        tp, nargs = _arg_type(hints[f.name])
        names.append(f.name)
        if tp is bool:
            g.add_argument(f"--{f.name}", action=argparse.BooleanOptionalAction, default=None, help=HELP.get(f.name))
        elif f.name == "residual":
            g.add_argument("--residual", "--use_mhc", dest="residual", nargs="?", const="mhc", default=None,
                           choices=RESIDUAL_MODES, help="--use_mhc (the seed's flag) alone means mhc")
        else:
            g.add_argument(f"--{f.name}", type=tp, nargs=nargs, default=None, choices=CHOICES.get(f.name),
                           help=HELP.get(f.name))
    return names


def parse(argv=None) -> TrainConfig:
    ap = argparse.ArgumentParser(prog="python -m vfilib.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny", help="model preset: tiny | small | base")
    ap.add_argument("--experiment", help="a grid row (exp1a ... exp1i, exp2a ... exp2e, exp3a ... exp3d) "
                                         "applied to the preset and the training config")
    ap.add_argument("--print_config", action="store_true", help="print the resolved config and exit")
    train_names = _add_fields(ap, TrainConfig, "training")
    model_names = _add_fields(ap, ModelConfig, "model (ablation switches)")
    args = ap.parse_args(argv)
    overrides = {n: getattr(args, n) for n in model_names if getattr(args, n) is not None and n != "name"}
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    train_kw = {n: getattr(args, n) for n in train_names if getattr(args, n) is not None}
    try:
        if args.experiment:
            cfg = experiment_config(args.experiment, args.preset, **overrides, **train_kw)
        else:
            cfg = TrainConfig(model=preset(args.preset, **overrides), **train_kw)
    except ValueError as e:
        ap.error(str(e))
    if args.print_config:
        print(json.dumps(cfg.to_dict(), indent=1))
        raise SystemExit(0)
    return cfg
