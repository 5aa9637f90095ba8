"""A run's record: ``metrics.csv`` (one row per log or validation), TensorBoard, a progress bar and
``summary.json``. A run that continues its own checkpoint drops the rows written after it (a process
killed between logging a step and checkpointing it replays that step: each step is in the file once)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from tqdm.auto import tqdm

from ..core.io import atomic_write


def keep_metrics_until(path: Path, step: int | None, fields: list[str]) -> None:
    """Rewrite ``metrics.csv`` (atomically) with its header and the rows up to ``step`` (None: no rows)."""
    rows = []
    if step is not None and path.is_file():
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("step", "").isdigit() and int(r["step"]) <= step]

    def write(f):
        w = csv.DictWriter(f, fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    atomic_write(path, write)


class MetricsLog:
    """``metrics.csv`` (one row per log or validation), TensorBoard, a progress bar, ``summary.json``."""

    FIELDS = ["step", "samples", "loss", "lap", "vgg", "distill", "lr", "samples_per_s", "crop", "skipped",
              "val_psnr", "val_ssim", "val_levels"]

    def __init__(self, run_dir: Path, progress: bool, total: int, initial: int, name: str, resumed: bool = False):
        """``resumed``: the run continues its own checkpoint at step ``initial``: rows after that step (written
        before an interruption, replayed now) are dropped; otherwise the run starts a new ``metrics.csv``."""
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = run_dir
        self.tb = SummaryWriter(str(run_dir / "tb"), purge_step=initial if resumed else None)
        keep_metrics_until(run_dir / "metrics.csv", initial if resumed else None, self.FIELDS)
        self.file = open(run_dir / "metrics.csv", "a", newline="")
        self.csv = csv.DictWriter(self.file, self.FIELDS)
        self.bar = tqdm(total=total, initial=initial, disable=not progress, desc=name, unit="step")
        self.samples = 0

    def train(self, state, loss, parts: dict, lr: float, rate: float, crop: int) -> None:
        """One training log row; ``state``: the run's RunState (step, samples, skipped)."""
        loss_v = loss.item()
        self.bar.update(state.step - self.bar.n)
        self.bar.set_postfix(loss=f"{loss_v:.4f}", sps=f"{rate:.0f}")
        self.samples = state.samples
        self.tb.add_scalar("train/loss", loss_v, state.step)
        self.tb.add_scalar("train/lr", lr, state.step)
        self.tb.add_scalar("train/samples_per_s", rate, state.step)
        row = {"step": state.step, "samples": state.samples, "loss": f"{loss_v:.6f}", "lr": f"{lr:.3e}",
               "samples_per_s": f"{rate:.2f}", "crop": crop, "skipped": state.skipped}
        for k, v in parts.items():
            self.tb.add_scalar(f"train/{k}", v.item(), state.step)
            row[k] = f"{v.item():.6f}"
        self.csv.writerow(row)
        self.file.flush()

    def val(self, step: int, m: dict) -> None:
        for k, v in m.items():
            self.tb.add_scalar(f"val/{k}", v, step)
        levels = {k[5:]: round(v, 4) for k, v in m.items() if k.startswith("psnr_")}
        self.csv.writerow({"step": step, "samples": self.samples, "val_psnr": f"{m['psnr']:.4f}",
                           "val_ssim": f"{m['ssim']:.5f}", "val_levels": json.dumps(levels) if levels else ""})
        self.file.flush()
        self.bar.write(f"[val] step {step}: PSNR {m['psnr']:.3f} dB" + (f" {levels}" if levels else ""))

    def close(self, summary: dict) -> None:
        self.bar.close()
        self.tb.close()
        self.file.close()
        atomic_write(self.run_dir / "summary.json", lambda f: json.dump(summary, f, indent=1, default=str))
