"""N-frame evaluation helpers: which window a method takes, and where the extra frames should help.

* :func:`context_frames_of`: N of a vfilib model or an interpolator (2: a pair, no context passed);
* :func:`narrow_context`: a wider window's context cut to the N a method takes (the inner frames).

Where the extra frames help (by motion and its non-linearity): :mod:`vfilib.eval.context_gain`.
"""
from __future__ import annotations

import torch


def context_frames_of(method) -> int:
    """N of a method: ``cfg.context_frames`` of a vfilib model, ``context_frames`` of an interpolator, else 2."""
    cfg = getattr(method, "cfg", None)
    if cfg is not None and hasattr(cfg, "context_frames"):
        return int(cfg.context_frames)
    return int(getattr(method, "context_frames", 2))


def narrow_context(context: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, M-2, ...) context of an M-frame window -> (B, N-2, ...) of the N = ``frames`` window inside it
    (the k-1 frames nearest before I0 and after I1); M < N is an error (the frames are not there)."""
    have = context.shape[1] + 2
    if frames > have:
        raise ValueError(f"a {frames}-frame method needs {frames - 2} context frames; the sample has {have - 2}")
    kh, k = have // 2, frames // 2
    return torch.cat([context[:, kh - k:kh - 1], context[:, kh - 1:kh - 1 + k - 1]], 1)
