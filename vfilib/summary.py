"""Parameter and size table of the presets and the Phase-1 ablation variants.

    python -m vfilib.summary                 # the presets
    python -m vfilib.summary --variants small   # every Exp-1 variant of one preset
    python -m vfilib.summary --flops 256 720p   # + GFLOPs of one inference call at those sizes

FLOPs are counted with ``torch.utils.flop_counter`` on the pure-PyTorch path (``ssm_impl="torch"``):
matrix products, convolutions and attention (one multiply-add = 2 FLOPs). The chunked SSD is made of
einsums, so the SSM's matrix work is included; elementwise work (norms, gates, activations) is not,
as in the usual fvcore/thop counts.
"""
from __future__ import annotations

import argparse

import pandas as pd

from .config import PHASE1_EXPERIMENTS, PRESETS, ModelConfig, RuntimeConfig, preset
from .models import build_model


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def size_row(cfg: ModelConfig, label: str | None = None) -> dict:
    m = build_model(cfg)
    bb = m.backbone
    total = count(m)
    return {
        "model": label or cfg.name,
        "dims": "/".join(map(str, cfg.dims)),
        "depths": "/".join(map(str, cfg.depths)),
        "stem (M)": count(bb.stem) / 1e6,
        "LGS 1/8 (M)": (count(bb.stage3) + count(bb.down3)) / 1e6,
        "LGS 1/16 (M)": (count(bb.stage4) + count(bb.down4)) / 1e6,
        "refine (M)": count(m.refine) / 1e6,
        "total (M)": total / 1e6,
        "fp32 MiB": total * 4 / 2**20,
    }


def gflops(cfg: ModelConfig, res: tuple[int, int], **call) -> float:
    """GFLOPs of one forward at ``res`` = (H, W), batch 1 (see the module docstring)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(cfg, RuntimeConfig(ssm_impl="torch")).eval()
    i0, i1 = torch.rand(1, 3, *res), torch.rand(1, 3, *res)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(i0, i1, 0.5, **call)
    return counter.get_total_flops() / 1e9


def preset_table() -> pd.DataFrame:
    return pd.DataFrame([size_row(cfg) for cfg in PRESETS.values()]).set_index("model")


def variant_table(base: str = "small") -> pd.DataFrame:
    rows = [size_row(preset(base, **e.overrides), f"{e.id}: {e.title}") for e in PHASE1_EXPERIMENTS]
    return pd.DataFrame(rows).set_index("model")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", metavar="PRESET", help="list the Phase-1 ablation variants of PRESET")
    ap.add_argument("--flops", nargs="*", default=[], metavar="RES", help="also GFLOPs at 256 | 720p | 1080p | 4k")
    args = ap.parse_args(argv)
    table = variant_table(args.variants) if args.variants else preset_table()
    if args.flops:
        from .eval.timing import RESOLUTIONS

        cfgs = ([preset(args.variants, **e.overrides) for e in PHASE1_EXPERIMENTS] if args.variants
                else list(PRESETS.values()))
        for r in args.flops:
            table[f"GFLOPs {r}"] = [gflops(c, RESOLUTIONS[r]) for c in cfgs]
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 200):
        print(table.to_string())


if __name__ == "__main__":
    main()
