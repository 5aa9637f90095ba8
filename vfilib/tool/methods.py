"""Which method makes the frames: the choice, its facts (from the peer registry) and loading it.

The methods are the entries of :data:`vfilib.eval.peers.PEERS` (``--model`` NAME); whether one makes
any t directly or t = 1/2 only (then 1/4, 3/8, ... by halving) and its label come from its entry.
``--checkpoint`` runs a vfilib training checkpoint instead.
"""
from __future__ import annotations

import copy
import math
import os
from functools import lru_cache

import torch

from ..config import RuntimeConfig, amp_dtype
from ..core.paths import repo_path, user_cache_dir
from ..eval.interpolators import Interpolator
from ..eval.peers import PEERS, from_checkpoint, make_peer
from ..models.weights.checkpoint import CheckpointError
from .options import SHIPPED_MODEL, ModelOptions, UsageError

HEADLINE = "results/live/headline.csv"   # the README's headline table: quality and CPU seconds per frame
FASTER = 4                                # a model this many times faster is worth naming on a CPU ...
VISIBLE_DB = 0.5                          # ... unless it is this much worse (the README: a visible step)


@lru_cache(maxsize=None)
def makes_any_t(name: str) -> bool:
    """Whether the peer ``name`` makes any t directly (else t = 1/2 only): its registry entry says."""
    return PEERS[name].any_t


def label(name: str) -> str:
    """How the registry names a peer (``RIFE HDv3``), or the name itself."""
    return PEERS[name].label if name in PEERS else name


def any_t_models() -> list[str]:
    return [k for k in PEERS if makes_any_t(k)]


def times_help() -> str:
    """Which models make which times (the ``--help`` text): from the registry."""
    half = [k for k in PEERS if not makes_any_t(k)]
    return (f"any t directly (--fps 60, --factor 3, --times 0.3): {', '.join(any_t_models())}; t = 1/2 only, "
            f"so only --factor 2, 4, 8, ... (1/4, 3/8, ... by halving) and not --fps 60: {', '.join(half)}")


def load_method(m: ModelOptions) -> Interpolator:
    """The interpolator the command runs: ``--model`` (a registry entry) or ``--checkpoint``."""
    vfilib_model = m.checkpoint is not None or m.name == SHIPPED_MODEL
    if not vfilib_model and (m.graph or m.compile or m.ssm_dtype != "fp32" or m.tile):
        raise UsageError("--graph, --compile, --ssm_dtype and --tile apply to vfilib models, not to "
                         f"--model {m.name}")
    if (m.graph or m.compile) and m.device.type != "cuda":
        raise UsageError(f"--graph / --compile need a CUDA --device, got {m.device}")
    if not vfilib_model:
        return check_fits(make_peer(m.name, m.device), m)
    try:
        it = from_checkpoint(m.checkpoint, m.device, amp_dtype(m.amp), graph=m.graph,
                             runtime=RuntimeConfig(ssm_dtype=m.ssm_dtype))
    except CheckpointError as e:
        raise UsageError(str(e)) from None
    it.tile = m.tile
    if m.graph and it.context_frames > 2:
        raise UsageError(f"--graph captures the frame pair only; this model takes a {it.context_frames}-frame "
                         "window (run it without --graph)")
    return check_fits(it, m)


def compiled(interp: Interpolator, m: ModelOptions) -> Interpolator:
    """A copy of ``interp`` with its network under ``torch.compile`` when ``--compile`` asks for it (else
    ``interp``): made after ``--adapt`` (which trains the plain network), before the first frame."""
    if not m.compile or not hasattr(interp, "model"):
        return interp
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(user_cache_dir() / "torchinductor"))  # kept across runs
    os.environ.setdefault("TRITON_CACHE_DIR", str(user_cache_dir() / "triton"))
    out = copy.copy(interp)
    if isinstance(getattr(out, "_graphs", None), dict):
        out._graphs = {}                           # CUDA graphs are captured from the compiled network
    out.model = torch.compile(interp.model, dynamic=False)
    return out


def check_fits(interp: Interpolator, m: ModelOptions) -> Interpolator:
    """Refuse, before any work, what the method cannot do: a working scale it does not take, or
    ``--t_mode direct`` for a t = 1/2 model."""
    if interp.scales is not None and m.scale not in interp.scales:
        works = ", ".join(f"{s:g}" for s in interp.scales)
        raise UsageError(f"--scale {m.scale:g}: {interp.name} runs at --scale {works} only (the values of its "
                         f"published inference); vfilib models take any scale in (0, 1]")
    if m.t_mode == "direct" and not interp.supports_any_t:
        raise UsageError(f"--t_mode direct: {interp.name} predicts t = 0.5 only (use auto or halve)")
    return interp


def not_reachable(name: str, t) -> str:
    """The refusal of a t that halving cannot reach, with the models that can make it (best first in
    the README's table, where it has them)."""
    table = _headline()
    ranked = sorted(any_t_models(), key=lambda k: -table.psnr.get(k, float("-inf")) if table is not None else 0)
    return (f"{name} predicts t = 0.5 only, and this output rate needs t = {t}; use --model "
            + " or --model ".join(ranked) + " (any t; best first in the README's table), or a --factor of 2, 4, 8")


def cpu_advice(name: str, any_t: bool) -> str | None:
    """On a CPU: the best alternative to ``name`` among those at least ``FASTER`` times faster and less
    than ``VISIBLE_DB`` worse in the README's headline table (its seconds per frame and mean PSNR
    there), or None when the table is missing or there is none. ``any_t``: only models that make any t."""
    table = _headline()
    if table is None or name not in table.index:
        return None
    me = table.loc[name]
    faster = table[(table.sec_per_frame * FASTER < me.sec_per_frame) & (table.psnr > me.psnr - VISIBLE_DB)]
    faster = faster[[k in PEERS and (not any_t or makes_any_t(k)) for k in faster.index]]
    if faster.empty:
        return None
    best = faster.psnr.idxmax()
    alt, dq = faster.loc[best], faster.loc[best].psnr - me.psnr
    cost = f"{abs(dq):.2f} dB {'lower' if dq < 0 else 'higher'} mean PSNR"
    return (f"on a CPU, {label(best)} (--model {best}) is {me.sec_per_frame / alt.sec_per_frame:.0f}x faster than "
            f"{label(name)} ({alt.sec_per_frame:.2f} against {me.sec_per_frame:.2f} s per frame{_size(me)}) at {cost} "
            f"({alt.psnr:.2f} against {me.psnr:.2f} dB on the held-out live-action test, {HEADLINE}, the README's table)")


def _size(row) -> str:
    """Where the table's seconds were measured: its crop (the time per frame grows with the frame)."""
    crop = row.get("proto_crop", 0)
    return "" if not crop or math.isnan(crop) else f" on {int(crop)}x{int(crop)} crops"


@lru_cache(maxsize=1)
def _headline():
    """Mean PSNR and CPU seconds per frame per peer name, from the headline table's rows (None if absent)."""
    path = repo_path(HEADLINE)
    if not path.is_file():
        return None
    import pandas as pd

    rows = pd.read_csv(path)
    rows["method"] = rows["method"].map(lambda m: next((k for k in PEERS if m in (k, PEERS[k].method)), m))
    cols = ["psnr", "sec_per_frame"] + (["proto_crop"] if "proto_crop" in rows else [])
    return rows.groupby("method")[cols].mean()
