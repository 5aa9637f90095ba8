"""The training benchmark's stage profile and its rows-at-once aggregation (CPU)."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import torch

from vfilib.bench import train as trainbench
from vfilib.config import preset
from vfilib.train import TrainConfig
from vfilib.train.loop import setup_model
from vfilib.train.losses import VFILoss


def _step(clock):
    device = torch.device("cpu")
    cfg = TrainConfig(exp_name="tb", model=preset("tiny"), batch_size=1, crop=32, flow_init="", perceptual_weight=0.0,
                      progress=False)
    tr = setup_model(cfg, device, True)
    g = torch.Generator().manual_seed(0)
    batch = {k: torch.rand(1, 3, 32, 32, generator=g) for k in ("I0", "I1", "gt")}
    batch["t"] = torch.full((1,), 0.5)
    before = [p.detach().clone() for p in tr.model.parameters()]
    step = trainbench.staged_step(lambda: batch, tr.model, VFILoss(0.0), tr, cfg, None, clock)
    return step, tr, before


def test_staged_step_trains_and_its_stages_add_up_to_the_wall_time():
    clock = trainbench.StageClock(torch.device("cpu"))
    step, tr, before = _step(clock)
    step()
    assert any(not torch.equal(a, b) for a, b in zip(before, tr.model.parameters())), "the step changed no weight"
    prof = trainbench.profile_step(step, clock, torch.device("cpu"), iters=2, top=5)
    stages = prof["stages"].set_index("stage")["ms"]
    assert set(trainbench.STAGES) <= set(stages.index)
    assert all(stages[s] >= 0 for s in trainbench.STAGES)
    assert stages["backward"] > stages["data"]             # a backward pass costs more than handing over a tensor
    # on a CPU the spans cover the step from its first mark to its last: together about the wall time
    assert math.isclose(sum(stages[s] for s in trainbench.STAGES), stages["(wall per step)"], rel_tol=0.25)
    assert len(prof["kernels"]) == 5 and (prof["kernels"]["ms"] > 0).all()


def test_rows_sums_the_processes_windows(monkeypatch, capsys):
    """``bench rows`` adds up what each of its N processes measured in the common window."""
    launched = []

    class FakeProc:
        def __init__(self, cmd):
            launched.append(cmd)
            self.returncode = 0
            self.rate = 10.0 * len(launched)

        def communicate(self):
            return "warming up\n[window] " + json.dumps({"steps": 5, "seconds": 1.0, "samples_per_s": self.rate}) + "\n", None

    monkeypatch.setattr(trainbench, "launch", FakeProc)
    args = SimpleNamespace(n=[1, 2], seconds=1.0, out="", train_args=["--preset", "tiny"])
    trainbench.rows(args)
    out = capsys.readouterr().out
    assert "[rows] 1 at once: 10.0 samples/s in all" in out
    assert "[rows] 2 at once: 50.0 samples/s in all, 25.0 per row (5.00x the first)" in out     # 20 + 30
    assert all("--ready_n" in c and c[c.index("--ready_n") + 1] in ("1", "2") for c in launched)
