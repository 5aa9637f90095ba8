import math

import pandas as pd

from vfilib.reports.figures import speed_grid


def _row(model, res, dtype, exe, ms, gib, scale=1.0, kernels="fused", device="NVIDIA H100 80GB HBM3", note=""):
    return dict(model=model, mode="infer", res=res, dtype=dtype, exec=exe, kernels=kernels, batch=1, tf32=False,
                scale=scale, tile=0, median_ms=ms, peak_gib=gib, device=device, note=note)


def test_speed_grid_places_cells_and_ratios():
    speed = pd.DataFrame([
        _row("small", "720p", "fp32", "eager", 50.4, 4.0),
        _row("small", "720p", "fp32", "eager", 99.0, 9.0, kernels="plain"),          # not the fused path
        _row("small", "720p", "fp32", "eager", 1.0, 1.0, device="CPU (x86_64)"),     # another device
        _row("small@ssm_autocast", "720p", "bf16", "compiled+graph", 12.6, 0.8),
        _row("small", "720p", "bf16", "compiled+graph", 13.0, 0.8),                  # bf16 without the suffix
        _row("small", "1080p", "fp32", "compiled+graph", 104.8, 0.3),
        _row("small+flow_feature@ssm_autocast", "4k", "bf16", "compiled+graph", 20.9, 1.4, scale=0.25),
    ])
    g = speed_grid(speed)
    assert list(g.index) == ["256", "720p", "1080p", "4k", "4k, flow at 0.25"]
    assert g.loc["720p", ("fp32", "eager", "ms")] == 50.4 and g.loc["720p", ("fp32", "eager", "GiB")] == 4.0
    assert math.isclose(g.loc["720p", ("fp32", "eager", "x VFIMamba_S")], 50.4 / 25.2)
    assert g.loc["720p", ("bf16", "compiled+graph", "ms")] == 12.6
    assert g.loc["1080p", ("fp32", "compiled+graph", "ms")] == 104.8
    assert g.loc["1080p", ("fp32", "compiled+graph", "GiB")] == 0.3
    assert math.isclose(g.loc["4k, flow at 0.25", ("bf16", "compiled+graph", "x VFIMamba_S")], 0.1)
    assert math.isnan(g.loc["4k", ("bf16", "compiled+graph", "ms")])           # never measured
