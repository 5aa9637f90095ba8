"""What changes between the phases of the plan: where a run's weights start, and the flow teacher.

* :func:`start_weights`: a run that resumes another run's checkpoint (Phase 1 -> 2 -> 3) loads it
  strictly, except the modules its own config adds (:data:`NEW_MODULES`), which start fresh; what
  starts fresh is printed.
* :func:`init_flow`: a new flow estimator starts from RIFE HDv3's weights (or a given state dict).
* :func:`teacher_flow` / :func:`distill_loss`: Exp-2e's flow distillation from RIFE HDv3 (FlowFormer++
  has no offline weights; RIFE HDv3 is the honest substitute).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ..models.weights.checkpoint import load_weights

#: Modules a later phase's model may add on top of an earlier checkpoint (they start fresh).
NEW_MODULES = ("flow.", "hires.", "context.", "temporal.")   # temporal: the N-frame context mixer


def start_weights(model, state: dict, path: str | Path) -> list[str]:
    """Load another run's weights: modules this config adds start fresh, modules it drops (Exp-2d's
    flow-only model has no backbone) are left out; both are said, any other mismatch is an error."""
    own = {k.split(".")[0] for k in model.state_dict()}
    dropped = tuple(sorted({k.split(".")[0] + "." for k in state} - {m + "." for m in own}))
    fresh = load_weights(model, state, path, allow_new=NEW_MODULES, allow_unused=dropped)
    if fresh:
        groups = sorted({k.split(".")[0] for k in fresh})
        print(f"[train] from {path}: {len(fresh)} tensors start fresh (new modules: {groups})")
    if dropped:
        print(f"[train] from {path}: not used by this model: {[d.rstrip('.') for d in dropped]}")
    return fresh


def init_flow(model, source: str) -> list[str]:
    """Initialise ``model.flow`` from ``source``: 'rife_hdv3' (its pretrained IFNet) or a file holding a
    state dict with RIFE HDv3's ``block0..2`` keys."""
    from ..eval.peers import PEERS
    from ..models.vfi.flow import init_from_rife_hdv3
    from ..models.weights.fetch import fetch_weights

    path = Path(source) if Path(source).is_file() else None
    if path is None and source != "rife_hdv3":
        raise ValueError(f"flow_init {source!r}: 'rife_hdv3', a weights file, or '' for random")
    state = torch.load(path or fetch_weights(PEERS["rife_hdv3"].weights), map_location="cpu", weights_only=True)
    return init_from_rife_hdv3(model.flow, state)


def load_teacher(device):
    """RIFE HDv3's IFNet, frozen."""
    from ..eval.peers import PEERS
    from ..models.published.rife_hdv3 import load_ifnet_hdv3
    from ..models.weights.fetch import fetch_weights

    return load_ifnet_hdv3(fetch_weights(PEERS["rife_hdv3"].weights), device).requires_grad_(False)


@torch.no_grad()
def teacher_flow(teacher, i0: torch.Tensor, i1: torch.Tensor, t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """RIFE's flows at t = 0.5 scaled linearly to t (F_t->0 = 2t F_.5->0, F_t->1 = 2(1-t) F_.5->1), computed
    on the full frames and resized to ``size`` (the student's working size, e.g. at ``scale`` < 1).
    (B, 3, H, W) RGB pair -> (B, 4, *size)."""
    from ..core.tensors import pad_to
    from ..data.io import rgb_to_bgr
    from ..models.warp import resize_flow

    h, w = i0.shape[-2:]
    a, _ = pad_to(rgb_to_bgr(i0.float()), 32)
    b, _ = pad_to(rgb_to_bgr(i1.float()), 32)
    flow = resize_flow(teacher(a, b)[1][..., :h, :w], size)
    tt = t.float().view(-1, 1, 1, 1)
    return torch.cat([flow[:, :2] * 2 * tt, flow[:, 2:4] * 2 * (1 - tt)], 1)


def distill_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean end-point error between the student's and the teacher's flows (pixels)."""
    if student.shape != teacher.shape:
        teacher = F.interpolate(teacher, size=student.shape[-2:], mode="bilinear", align_corners=False)
    return (student - teacher).pow(2).sum(1).add(1e-6).sqrt().mean()
