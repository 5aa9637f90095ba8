"""Ship a trained checkpoint as the default model: ``python -m vfilib.ship CKPT [--minutes M]``.

Only a better version ships. The checkpoint's rows in ``results/benchmarks.csv`` on the held-out
live-action benchmark (``python -m vfilib.eval --bench live --ckpt CKPT --peers rife_hdv3 ...``) must
not lose to RIFE HDv3 on any level, and its mean must beat the version shipped now. Then its weights
go to ``weights/vfilib.pt`` (fp16, model config inside), with ``weights/card.json`` (data, steps,
samples seen, device minutes, commit, every benchmark row of it, sha256) and ``weights/MODEL_CARD.md``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from .core.io import atomic_write
from .core.paths import results_dir
from .core.tables import provenance, read_table
from .models.weights import checkpoint as ckpt
from .reports.tables import by_level


def decide(rows: pd.DataFrame, method: str, peer: str = "rife_hdv3", current: float | None = None) -> tuple[bool, str]:
    """(ship?, why) from a benchmark's rows of ``method`` and ``peer``."""
    ours, theirs = rows[rows["method"] == method], rows[rows["method"] == peer]
    if ours.empty or theirs.empty:
        return False, f"no rows of both {method} and {peer} on this benchmark: evaluate first"
    a, b = by_level(ours).iloc[0], by_level(theirs).iloc[0]
    delta = (a - b).round(4)
    lost = [lv for lv in delta.index if lv != "mean" and delta[lv] < 0]
    if lost:
        return False, f"loses to {peer} on {lost}: {delta.to_dict()}"
    if current is not None and round(a["mean"] - current, 4) <= 0:     # by_level's sum order differs across pandas
        return False, f"mean {a['mean']:.3f} dB does not beat the shipped version's {current:.3f} dB"
    return True, f"beats {peer} on every level: {delta.to_dict()}"


def card_markdown(card: dict) -> str:
    def cell(v, fmt):
        return "" if v is None or v != v else format(v, fmt)

    rows = "\n".join(f"| {r['bench']} | {r['split']} | {r['psnr']:.3f} | {cell(r.get('rife_hdv3_psnr'), '.3f')} | "
                     f"{cell(r.get('ssim'), '.4f')} | {cell(r.get('lpips'), '.4f')} | {r['n']} | "
                     f"{cell(r.get('proto_crop'), '.0f') or 'full'} | {r.get('device', '')} |" for r in card["scores"])
    return f"""# vfilib model card

- file: `weights/{card['file']}` ({card['bytes'] / 2**20:.1f} MiB, {card['dtype']}), sha256 `{card['sha256']}`
- model: `{card['model_config']['name']}` preset, flow `{card['model_config']['flow']}`
- trained on: {card['data']}; {card.get('step', card.get('steps'))} steps, {card['samples']} samples seen, {card['device_minutes']} device minutes
- from checkpoint `{card['checkpoint']}`, commit {card['commit']}, {card['date']}
- shipped because it {card['decision']}

| benchmark | level | PSNR | RIFE HDv3 PSNR | SSIM | LPIPS | n | crop | device |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{rows}
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vfilib.ship", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--bench", default="live")
    ap.add_argument("--table", type=Path, default=None,
                    help="the benchmark rows to decide on (default results/benchmarks.csv)")
    ap.add_argument("--minutes", type=float, default=0.0, help="device minutes spent training it")
    ap.add_argument("--steps", type=int, help="training steps, for weights exported without their training state")
    ap.add_argument("--samples", type=int, help="samples seen, likewise")
    ap.add_argument("--data", help="training data, likewise")
    args = ap.parse_args(argv)
    table = args.table or results_dir() / "benchmarks.csv"
    all_rows = read_table(table)
    rows = all_rows[all_rows["bench"] == args.bench] if not all_rows.empty else all_rows
    method = next((m for m in rows.get("method", []) if str(args.checkpoint) in m), None) if not rows.empty else None
    current = None
    if ckpt.SHIPPED_CARD.is_file():
        live = [r for r in ckpt.shipped_card().get("scores", []) if r["bench"] == args.bench]
        current = sum(r["psnr"] for r in live) / len(live) if live else None
    ok, why = decide(rows, method or "", current=current) if method else (False, "no benchmark rows of this checkpoint")
    print(f"[ship] {args.checkpoint}: {why}")
    if not ok:
        return 1
    ck = ckpt.read(args.checkpoint)
    scores = all_rows[all_rows["method"] == method][["bench", "split", "psnr", "ssim", "n"]
                                                    + [c for c in ("lpips", "proto_crop", "device") if c in all_rows]]
    # RIFE HDv3 on the same samples, so the card shows the margin
    peer = all_rows[all_rows["method"] == "rife_hdv3"].set_index(["bench", "split"])["psnr"]
    scores = [{**r, "rife_hdv3_psnr": peer.get((r["bench"], r["split"]))} for r in scores.to_dict("records")]
    tc = ck.get("train_config", {})
    st = ck.get("state") or {}
    if (args.steps or st.get("step")) is None:
        print(f"[ship] {args.checkpoint} does not say how long it trained: pass --steps and --samples")
        return 2
    # the same keys export_weights derives from a checkpoint's own state (overridden here when it has none)
    card = {"data": args.data or tc.get("data"), "step": args.steps or st.get("step"),
            "samples": args.samples or st.get("samples"),
            "device_minutes": args.minutes, "checkpoint": str(args.checkpoint), "decision": why, "scores": scores,
            **{k: v for k, v in provenance().items() if k in ("commit", "date")}}
    card = ckpt.export_weights(args.checkpoint, ckpt.SHIPPED, card=card)
    atomic_write(ckpt.SHIPPED.with_name("MODEL_CARD.md"), lambda f: f.write(card_markdown(card)))
    print(f"[ship] wrote {ckpt.SHIPPED} ({card['bytes'] / 2**20:.1f} MiB) and its card")
    return 0


if __name__ == "__main__":
    sys.exit(main())
