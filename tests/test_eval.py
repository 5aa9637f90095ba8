import numpy as np
import pandas as pd
import pytest
import torch
from scipy import ndimage

from vfilib.data.datasets import snu_film
from vfilib.data.io import load_frames
from vfilib.eval import benchmark as B
from vfilib.eval.interpolators import Blend, DISFlow, Interpolator, Minterpolate
from vfilib.eval.metrics import LPIPS, interpolation_error, psnr, quantize, ssim_matlab
from vfilib.eval.interpolators import RecursiveT
from vfilib.models.warp import backward_warp

DATA = __import__("pathlib").Path(__file__).resolve().parent / "data"


def ssim_reference(a: np.ndarray, b: np.ndarray) -> float:
    """The same definition written directly: float64, a full 11x11x11 Gaussian, replicate borders."""
    x = np.arange(11) - 5
    g = np.exp(-x ** 2 / (2 * 1.5 ** 2))
    g /= g.sum()
    win = g[:, None, None] * g[None, :, None] * g[None, None, :]
    f = lambda v: ndimage.correlate(v, win, mode="nearest")  # noqa: E731
    L = 255.0 if a.max() > 128 else 1.0
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    mu1, mu2 = f(a), f(b)
    s11, s22, s12 = f(a * a) - mu1 ** 2, f(b * b) - mu2 ** 2, f(a * b) - mu1 * mu2
    return float((((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))).mean())


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_ssim_matches_direct_float64_definition(scale):
    rng = np.random.default_rng(0)
    a = rng.random((3, 23, 31)) * scale
    b = np.clip(a + rng.normal(0, 0.1 * scale, a.shape), 0, scale)
    got = ssim_matlab(torch.from_numpy(a)[None], torch.from_numpy(b)[None]).item()
    assert got == pytest.approx(ssim_reference(a, b), abs=1e-10)
    assert ssim_matlab(torch.from_numpy(a)[None], torch.from_numpy(a)[None]).item() == pytest.approx(1.0)


def test_psnr_hand_computed():
    gt = torch.zeros(2, 3, 4, 4)
    pred = gt.clone()
    pred[0] += 0.1                              # mse 0.01 -> 20 dB
    pred[1, :, :2] += 0.2                       # mse 0.02 -> 16.9897 dB
    assert torch.allclose(psnr(pred, gt), torch.tensor([20.0, 10 * np.log10(1 / 0.02)], dtype=torch.float64))


def test_interpolation_error_hand_computed():
    pred = torch.full((1, 3, 2, 2), 0.5)        # round(127.5) = 128
    gt = torch.full((1, 3, 2, 2), 100.0)
    gt[..., 0, 0] = 130
    assert interpolation_error(pred, gt).item() == pytest.approx((28 * 3 + 2) / 4)


def test_quantize_matches_8bit_png():
    x = torch.tensor([0.0, 0.5 / 255, 0.2, 1.0])
    assert torch.equal(quantize(x) * 255, torch.round(x * 255))


def test_lpips_alex_reference_values():
    ref, p0, p1 = load_frames([DATA / "lpips" / f for f in ("ex_ref.png", "ex_p0.png", "ex_p1.png")])
    m = LPIPS("alex")
    assert round(m(ref[None], p0[None]).item(), 3) == 0.722
    assert round(m(ref[None], p1[None]).item(), 3) == 0.138


def test_backward_warp_undoes_a_known_shift():
    img = torch.rand(1, 3, 20, 30)
    shifted = torch.roll(img, shifts=(2, -3), dims=(2, 3))     # shifted(y, x) = img(y - 2, x + 3)
    flow = torch.zeros(1, 2, 20, 30)
    flow[:, 0], flow[:, 1] = -3.0, 2.0                          # sample shifted at (x - 3, y + 2)
    back = backward_warp(shifted, flow)
    assert torch.allclose(back[..., 4:-4, 4:-4], img[..., 4:-4, 4:-4], atol=1e-5)


def test_dis_recovers_a_global_translation():
    rng = np.random.default_rng(0)
    base = torch.from_numpy(ndimage.gaussian_filter(rng.random((3, 80, 120)), (0, 2, 2))).float()
    i0, i1 = base[None], torch.roll(base, 4, dims=2)[None]
    gt = torch.roll(base, 2, dims=2)[None]
    pred = DISFlow()(i0, i1, torch.tensor([0.5]))
    inner = (..., slice(10, -10), slice(10, -10))
    assert psnr(pred[inner], gt[inner]) > psnr(Blend()(i0, i1, torch.tensor([0.5]))[inner], gt[inner]) + 5


class Spy(Interpolator):
    name = "spy"
    channel_order = "BGR"

    def __init__(self):
        self.seen = []

    def __call__(self, i0, i1, t, scale=1.0):
        self.seen.append((i0.clone(), t.clone(), scale))
        return i0


def test_protocol_channel_order_padding_and_scale():
    spy = Spy()
    i0 = torch.rand(1, 3, 20, 30)
    out = B.predict(spy, i0, i0, torch.tensor([0.5]), B.Protocol(pad_multiple=32, flow_scale=0.25, channel_order="RGB"))
    seen, _, scale = spy.seen[0]
    assert seen.shape[-2:] == (32, 32) and scale == 0.25
    assert torch.equal(seen[:, :, :20, :30], i0.flip(1))          # the method got BGR
    assert torch.equal(out, i0)                                    # and the harness flipped back, cropped


def test_tta_and_recursion_are_exact_for_linear_methods():
    i0, i1 = torch.rand(2, 1, 3, 16, 16)
    t = torch.tensor([0.25])
    direct = Blend()(i0, i1, t)
    assert torch.allclose(B.predict(Blend(), i0, i1, t, B.Protocol(tta=True)), direct, atol=1e-6)
    assert torch.allclose(RecursiveT(Blend())(i0, i1, t), direct, atol=1e-6)


def test_recursion_makes_each_midpoint_of_a_pair_once_across_samples():
    calls = []

    class Half(Blend):
        def __call__(self, i0, i1, t, scale=1.0):
            calls.append(scale)
            return super().__call__(i0, i1, t, scale)

    rec, (i0, i1) = RecursiveT(Half()), torch.rand(2, 1, 3, 8, 8)
    for k in range(1, 8):                                   # an 8x window: 7 samples, frames loaded anew
        out = rec(i0.clone(), i1.clone(), torch.tensor([k / 8]))
        assert torch.allclose(out, Blend()(i0, i1, torch.tensor([k / 8])), atol=1e-6)
    assert len(calls) == 7
    rec(i0 + 0.1, i1, torch.tensor([0.25]))                 # another pair: made afresh
    rec(i0, i1, torch.tensor([0.25]), 0.5)                  # another working scale: too
    assert len(calls) == 11


def test_recursion_passes_the_working_scale_and_channel_order_on():
    calls = []

    class Half(Blend):
        channel_order = "BGR"

        def __call__(self, i0, i1, t, scale=1.0):
            calls.append((t.tolist(), scale))
            return super().__call__(i0, i1, t, scale)

    rec = RecursiveT(Half())
    rec(*torch.rand(2, 1, 3, 8, 8), torch.tensor([0.375]), 0.25)   # 1/2, then 1/4 of [0, 1/2], then 3/8
    assert calls == [([0.5], 0.25)] * 3 and rec.channel_order == "BGR"


def test_minterpolate_peer_runs_through_pyav():
    base = torch.rand(1, 3, 32, 48)
    out = Minterpolate()(base, base, torch.tensor([0.5]))
    assert out.shape == base.shape and (out - base).abs().mean() < 0.02


def test_benchmark_rows_carry_provenance_and_replace_on_rerun(embedded_cache, tmp_path):
    cache, _ = embedded_cache
    out = tmp_path / "bench.csv"
    B.run("embedded", [Blend()], cache, ["easy"], max_samples=3, out=out, progress=False)
    B.run("embedded", [Blend()], cache, ["easy"], max_samples=3, out=out, progress=False)
    t = pd.read_csv(out)
    assert len(t) == 1
    for col in ("commit", "device", "date", "data", "proto_pad_multiple", "proto_round_uint8", "n", "psnr"):
        assert col in t.columns
    assert t["data"][0].startswith("embedded clips")


def test_rife_hdv3_beats_blend_and_dis(embedded_cache):
    """Proves the weights load right: on a few embedded triplets per level, HDv3 > blend on every
    level and > DIS on average."""
    from vfilib.eval.peers import make_peer
    cache, _ = embedded_cache
    rife, scores = make_peer("rife_hdv3"), {}
    for level in ("easy", "medium", "hard", "extreme"):
        ds = snu_film(cache, level)
        for m in (Blend(), DISFlow(), rife):
            per, _ = B.evaluate(m, ds, B.BENCHMARKS["embedded"].protocol, max_samples=5, progress=False)
            scores[(level, m.name)] = per["psnr"].mean()
    print("\n" + "\n".join(f"{k}: {v:.2f}" for k, v in scores.items()))
    levels = ("easy", "medium", "hard", "extreme")
    assert all(scores[(lv, "rife_hdv3")] > scores[(lv, "blend")] for lv in levels)
    assert np.mean([scores[(lv, "rife_hdv3")] for lv in levels]) > np.mean([scores[(lv, "dis_flow")] for lv in levels])


def test_rife_v39_loads_and_takes_t(embedded_cache):
    """Practical-RIFE v3.9 written from its state dict: strict load, beats blend on every level (with and
    without its context net + U-Net), and its timestep input moves the output from I0 towards I1."""
    from vfilib.eval.peers import make_peer
    cache, _ = embedded_cache
    fast, refine = make_peer("rife_v39"), make_peer("rife_v39_refine")
    proto = B.BENCHMARKS["embedded"].protocol
    for level in ("easy", "medium", "hard", "extreme"):
        ds = snu_film(cache, level)
        scores = {m.name: B.evaluate(m, ds, proto, max_samples=3, progress=False)[0]["psnr"].mean()
                  for m in (Blend(), fast, refine)}
        print(level, scores)
        assert scores["rife_v39"] > scores["blend"] and scores["rife_v39_refine"] > scores["blend"]
    s = snu_film(cache, "medium")[0]
    i0, i1 = s["I0"][None], s["I1"][None]
    d = lambda x, y: (x - y).abs().mean().item()  # noqa: E731
    early, late = fast(i0, i1, torch.tensor([0.2])), fast(i0, i1, torch.tensor([0.8]))
    assert d(early, i0) < d(early, i1) and d(late, i1) < d(late, i0)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\]"):
        fast(i0, i1, torch.tensor([1.5]))


def test_amp_change_pairs_each_checkpoint_and_split():
    from vfilib.config import amp_dtype
    from vfilib.eval.__main__ import amp_change
    table = pd.DataFrame({"split": ["easy", "hard", "easy", "hard", "easy"],
                          "method": ["m:a.pt@fp32", "m:a.pt@fp32", "m:a.pt@bf16", "m:a.pt@bf16", "blend"],
                          "psnr": [30.0, 20.0, 29.5, 20.25, 25.0]})
    out = amp_change(table, ["fp32", "bf16"]).set_index("split")
    assert list(out["amp"]) == ["bf16", "bf16"]
    assert out.loc["easy", "psnr_change_vs_fp32"] == -0.5 and out.loc["hard", "psnr_change_vs_fp32"] == 0.25
    assert amp_dtype("bf16") is torch.bfloat16 and amp_dtype("off") is None
    with pytest.raises(ValueError, match="amp 'fp8'"):
        amp_dtype("fp8")


def test_cli_runtime_variants_reach_the_model(embedded_cache, tmp_path, monkeypatch):
    """--ssm_dtype fp32 autocast evaluates the checkpoint under each setting: the setting reaches every
    mixer of the model that runs (the PSNR change itself is measured on a GPU, where it is not a no-op)."""
    from vfilib.config import RuntimeConfig, preset
    from vfilib.eval import __main__ as cli
    from vfilib.eval import peers
    from vfilib.models import build_model
    from vfilib.models.weights.checkpoint import load_model, save

    cache, _ = embedded_cache
    model = build_model(preset("tiny"))
    save(tmp_path / "m.pt", {"model_config": model.cfg.to_dict(), "model": model.state_dict()})
    loaded = load_model(tmp_path / "m.pt", runtime=RuntimeConfig(ssm_dtype="autocast"))
    assert {m.ssm_dtype for m in loaded.modules() if hasattr(m, "ssm_dtype")} == {"autocast"}
    seen = []
    real = peers.from_checkpoint
    monkeypatch.setattr(cli, "from_checkpoint", lambda *a, **k: seen.append(k["runtime"].ssm_dtype) or real(*a, **k))
    out = tmp_path / "b.csv"
    cli.main(["--bench", "embedded", "--path", str(cache), "--ckpt", str(tmp_path / "m.pt"), "--splits", "easy",
              "--max_samples", "2", "--ssm_dtype", "fp32", "autocast", "--device", "cpu", "--out", str(out)])
    assert seen == ["fp32", "autocast"] and len(pd.read_csv(out)) == 2
