"""Parameter and FLOP counts."""
import torch

from vfilib.config import preset
from vfilib.summary import gflops, size_row


def test_flops_of_a_single_conv_model_are_exact(monkeypatch):
    conv = torch.nn.Conv2d(6, 3, 3, padding=1)

    class One(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = conv

        def forward(self, a, b, t):
            return self.conv(torch.cat([a, b], 1))

    monkeypatch.setattr("vfilib.summary.build_model", lambda cfg, runtime=None: One())
    assert gflops(preset("tiny"), (10, 20)) * 1e9 == 2 * 3 * 6 * 9 * 10 * 20       # 2 x MACs


def test_model_flops_grow_with_pixels_and_params_add_up():
    small, big = gflops(preset("tiny"), (64, 64)), gflops(preset("tiny"), (128, 128))
    assert 0 < small and 3.5 < big / small < 4.5
    row = size_row(preset("tiny"))
    parts = row["stem (M)"] + row["LGS 1/8 (M)"] + row["LGS 1/16 (M)"] + row["refine (M)"]
    assert abs(parts - row["total (M)"]) < 1e-9
