"""How far each part of a trained model moves its output: can an ablation of that part show at all?

A part is a set of parameters named by a prefix of the state dict (``backbone.stage3``) or by a piece of
their names (``.ssm.``). Its reach is the largest change of the model's output on a real pair when those
parameters are zero. A part whose reach is far below the spread between seeds cannot be ranked by
ablating it at that budget: e.g. the cpu profile's 30-step Exp-1c, whose zero-initialised head is still
near zero, moves by 1.8e-7 when both of its LGS stages are zeroed.
"""
from __future__ import annotations

import copy

import torch

#: The parts the Phase-1 and Phase-2 ablations change, and the whole network around them.
PARTS = {
    "LGS stages (stage3, stage4)": ("backbone.stage",),
    "SSM branches (Mamba)": (".ssm.",),
    "attention branches": (".attn.",),
    "channel attention (ECAB/CAB)": (".ca.",),
    "flow estimator": ("flow.",),
    "backbone": ("backbone.",),
    "output head": ("refine.head",),
}


def matches(name: str, keys: tuple[str, ...]) -> bool:
    """A key starting with '.' is a piece of the name (``.ssm.``); any other key is its prefix."""
    return any(name.startswith(k) if not k.startswith(".") else k in name for k in keys)


@torch.no_grad()
def part_reach(model: torch.nn.Module, i0: torch.Tensor, i1: torch.Tensor, t: float = 0.5,
               parts: dict[str, tuple[str, ...]] = PARTS) -> dict[str, tuple[int, float]]:
    """{part: (parameters zeroed, max |output change|)} on the pair ``i0``, ``i1`` (1, 3, H, W) in [0, 1];
    parts with no parameter in ``model`` are left out. The model is copied, never changed."""
    model = copy.deepcopy(model).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ref = model(i0, i1, t)
    out = {}
    for part, keys in parts.items():
        names = [k for k in state if matches(k, keys)]
        if not names:
            continue
        model.load_state_dict({k: torch.zeros_like(v) if k in names else v for k, v in state.items()})
        n = sum(state[k].numel() for k in names)
        out[part] = (n, float((model(i0, i1, t) - ref).abs().max()))
    return out
