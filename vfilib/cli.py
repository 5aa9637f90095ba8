"""The ``vfilib`` command: one entry point for the tools.

    vfilib interpolate clip.mp4 --factor 2      # the video tool (python -m vfilib.interpolate)
    vfilib eval --bench live --peers rife_hdv3  # benchmarks (python -m vfilib.eval)
    vfilib train --preset small ...             # training (python -m vfilib.train)
    vfilib prepare live                         # prepare a frame set (python -m vfilib.data.prepare)
    vfilib bench speed ...                      # speed and memory (python -m vfilib.bench)
    vfilib workbook run --profile cpu           # the notebooks (python -m vfilib.workbook)
    vfilib doctor                               # what this machine can run, and what to do
    vfilib sequence --ckpt runs/n4/best.pt      # whole shots at x2 .. x16 (python -m vfilib.eval.sequence)
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "interpolate": ("vfilib.interpolate", "interpolate a video, a frame folder or two images"),
    "eval": ("vfilib.eval.__main__", "run a benchmark protocol on checkpoints and peers"),
    "train": ("vfilib.train.__main__", "train a model (also under torchrun)"),
    "prepare": ("vfilib.data.prepare", "prepare a frame set from the registered sources"),
    "bench": ("vfilib.bench", "latency, memory and profiles"),
    "workbook": ("vfilib.workbook", "run the numbered notebooks"),
    "doctor": ("vfilib.doctor", "check torch, CUDA, mamba_ssm and Triton; say which paths run"),
    "temporal": ("vfilib.eval.temporal", "whole-clip evaluation with temporal consistency"),
    "sequence": ("vfilib.eval.sequence", "whole shots at x2 .. x16: per-frame and temporal scores, 2- and N-frame"),
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(__doc__.strip())
        print("\ncommands:\n" + "\n".join(f"  {k:12s} {v[1]}" for k, v in COMMANDS.items()))
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    rc = module.main(argv[1:])
    return int(rc or 0)


if __name__ == "__main__":
    raise SystemExit(main())
