"""The video tool: timing from timestamps, audio kept, files never half-written, flags validated."""
import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from vfilib.core.paths import DataPaths
from vfilib.data.io import write_image
from vfilib.eval.interpolators import Blend, Interpolator
from vfilib.tool import interpolate_file, main
from vfilib.tool.timing import interval_outputs
from vfilib.models.weights.checkpoint import SHIPPED

F = Fraction


def encode_into(c, stream, frames):
    """Encode ``frames`` (pts set) on ``stream`` into the open container ``c``, then flush the encoder."""
    for frame in [*frames, None]:
        for packet in stream.encode(frame):
            c.mux(packet)


def at(frame, pts, time_base=None):
    """``frame`` stamped with ``pts`` (and ``time_base``)."""
    frame.pts = pts
    if time_base is not None:
        frame.time_base = time_base
    return frame


def make_clip(path, times_ms=None, n=12, size=(48, 64), audio_s=None, deep=False, repeat=1, codec="libx264",
              rotation=0, pixel_aspect=None):
    """A clip whose frame i is a smooth texture moved i px; ``times_ms`` gives VFR timestamps,
    ``audio_s`` adds an AAC track of that length, ``deep`` writes 10-bit, ``repeat`` shows each frame
    that many times (animation on twos), ``rotation`` tags it as a phone does a portrait clip,
    ``pixel_aspect`` gives it non-square pixels (a DV or DVD source)."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (size[0], size[1] * 2, 3)).astype(np.float32), (7, 7), 2)
    times = times_ms or [40 * i for i in range(n * repeat)]
    with av.open(str(path), "w") as c:
        v = c.add_stream(codec, rate=25)
        v.width, v.height = size[1], size[0]
        v.pix_fmt = "yuv420p10le" if deep else "yuv420p"
        v.time_base = F(1, 1000)
        if rotation:
            v.set_display_rotation(rotation)
        if pixel_aspect:
            v.codec_context.sample_aspect_ratio = pixel_aspect
        a = None
        if audio_s:
            a = c.add_stream("aac", rate=48000)
        frames = []
        for k, t in enumerate(times):
            img = np.roll(base, 2 * (k // repeat), axis=1)[:, :size[1]]
            frame = (av.VideoFrame.from_ndarray((img * 257).astype(np.uint16), format="rgb48le") if deep
                     else av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24"))
            frames.append(at(frame.reformat(format=v.pix_fmt), t, F(1, 1000)))
        encode_into(c, v, frames)
        if a is not None:
            samples = int(48000 * audio_s)
            tone = (0.2 * np.sin(np.arange(samples) / 48000 * 2 * np.pi * 440)).astype(np.float32)
            chunks = []
            for s0 in range(0, samples, 1024):
                fr = av.AudioFrame.from_ndarray(tone[None, s0:s0 + 1024], format="flt", layout="mono")
                fr.sample_rate = 48000
                chunks.append(at(fr, s0))
            encode_into(c, a, chunks)
    return path


def probe(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        times = [float(f.time) for f in c.decode(v)]
    with av.open(str(path)) as c:
        audio = c.streams.audio[0] if c.streams.audio else None
        a_dur = None
        if audio is not None:
            pk = [p for p in c.demux(audio) if p.pts is not None]
            a_dur = float((pk[-1].pts + pk[-1].duration) * pk[-1].time_base)
        fmt = c.streams.video[0].codec_context.pix_fmt
    return times, a_dur, fmt


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "vfilib.interpolate", *map(str, args)], capture_output=True,
                          text=True, **kw)


# ----------------------------------------------------------------------------- timing
def output_times(times, factor=None, fps=None):
    """(i, t, T) of every output frame of input frames at ``times``, the last frame keeping its interval."""
    fps = F(fps) if fps else None
    ends = times[1:] + [times[-1] + (times[-1] - times[-2])]
    return [(i, t, T) for i, (a, b) in enumerate(zip(times, ends)) for t, T in interval_outputs(a, b, times[0], factor, fps)]


def test_output_times_for_24_to_60_fps_are_exact():
    times = [F(i, 24) for i in range(48)]                              # 2 s at 24 fps
    out = output_times(times, fps=60)
    assert len(out) == 120                                             # 2 s at 60 fps, the last frame's interval kept
    assert [T for _, _, T in out[:6]] == [F(k, 60) for k in range(6)]
    assert [t for _, t, _ in out[:6]] == [0, F(2, 5), F(4, 5), F(1, 5), F(3, 5), 0]
    two = output_times(times, factor=2)
    assert len(two) == 96 and two[-1][2] == F(47, 24) + F(1, 48)       # 2n frames, not 2n - 1


def test_factor_keeps_duration_and_doubles_the_frames(tmp_path):
    src = make_clip(tmp_path / "c.mp4", n=10)
    path, s = interpolate_file(src, None, Blend(), factor=2, quiet=True)
    assert path.name == "c_2x_50fps.mp4"                               # the default output name
    times, _, _ = probe(path)
    assert len(times) == 20 and s.frames_out == 20
    assert times[1] == pytest.approx(0.02) and times[-1] == pytest.approx(0.38)


def test_stats_file_reports_the_run(tmp_path):
    src = make_clip(tmp_path / "c.mp4", n=6)
    assert main([str(src), "--model", "blend", "--quiet", "--stats", str(tmp_path / "s.json")]) == 0
    st = json.loads((tmp_path / "s.json").read_text())
    assert (st["frames_in"], st["frames_out"], st["interpolated"]) == (6, 12, 5)      # the last interval holds its frame
    assert 0 < st["first_frame_s"] <= st["first_interp_s"] <= st["seconds"] and st["load_s"] >= 0
    from vfilib.tool.stats import MAIN_THREAD, STAGES
    stages = st["stages"]                    # wall seconds per pipeline stage (issue 31's profile)
    assert set(stages) == {f"{k}_s" for k in (*STAGES, "other", "convert", "codec", "mux")}
    assert all(v >= 0 for v in stages.values()) and stages["decode_s"] > 0 and stages["encode_s"] > 0
    assert stages["convert_s"] + stages["codec_s"] + stages["mux_s"] <= stages["encode_s"]
    main_thread = sum(stages[f"{k}_s"] for k in MAIN_THREAD) + stages["other_s"]
    assert st["seconds"] <= main_thread <= st["seconds"] + 1      # the main thread's stages cover its run


def test_variable_rate_clip_keeps_its_duration(tmp_path):
    src = make_clip(tmp_path / "vfr.mp4", times_ms=[0, 40, 80, 200, 240, 400])
    with av.open(str(src)) as c:
        last = list(c.decode(video=0))[-1]
        end = float((last.pts + last.duration) * last.time_base)              # 400 ms + the last frame's 40 ms
    path, st = interpolate_file(src, tmp_path / "o.mp4", Blend(), factor=2, quiet=True)
    times, _, _ = probe(path)
    assert times[:4] == pytest.approx([0, 0.02, 0.04, 0.06]) and any(abs(x - 0.14) < 1e-3 for x in times)   # 80 -> 200 ms: middle at 140
    assert st.duration_out == pytest.approx(end, abs=1e-3) and times[-1] < end


def test_aac_audio_is_copied_with_its_duration(tmp_path):
    src = make_clip(tmp_path / "a.mp4", n=25, audio_s=1.0)
    _, a_in, _ = probe(src)
    path, _ = interpolate_file(src, tmp_path / "o.mp4", Blend(), factor=2, quiet=True)
    times, a_out, _ = probe(path)
    assert a_out == pytest.approx(a_in, abs=1e-3) and len(times) == 50


def test_ten_bit_in_ten_bit_out(tmp_path):
    src = make_clip(tmp_path / "d.mkv", n=6, deep=True)
    assert probe(src)[2] == "yuv420p10le"
    path, _ = interpolate_file(src, tmp_path / "o.mkv", Blend(), factor=2, quiet=True)
    assert probe(path)[2] == "yuv420p10le"


def test_dedup_drops_repeats_and_retimes(tmp_path):
    src = make_clip(tmp_path / "twos.mp4", n=8, repeat=2, codec="ffv1")      # every drawing shown twice
    path, s = interpolate_file(src, tmp_path / "o.mkv", Blend(), fps=25, dedup=True, quiet=True)
    assert s.dropped_repeats == 8 and s.frames_in == 8                  # 16 frames, 8 distinct
    assert s.frames_out == 16 and s.interpolated > 0                    # the gaps are filled, not repeated


def test_preview_start_and_duration(tmp_path):
    src = make_clip(tmp_path / "c.mp4", n=50)
    path, s = interpolate_file(src, tmp_path / "p.mp4", Blend(), factor=2, start=0.4, duration=0.4, quiet=True)
    times, _, _ = probe(path)
    assert s.frames_in == 10 and len(times) == 20 and times[0] == pytest.approx(0.0)


def test_preview_of_an_mpeg_program_stream_starts_where_asked(tmp_path):
    """An .mpg starts at 0.54 s and seeks by bytes, landing past the target key frame (found with the
    Kivy examples' cityCC0.mpg: --start 2 --duration 1 gave 14 frames instead of 25). --start counts
    from the file's first frame, as ffmpeg's -ss does."""
    src = tmp_path / "c.mpg"
    with av.open(str(src), "w", format="mpeg") as c:
        v = c.add_stream("mpeg2video", rate=25)
        v.width, v.height, v.pix_fmt, v.gop_size = 64, 48, "yuv420p", 12
        encode_into(c, v, [at(av.VideoFrame.from_ndarray(np.full((48, 64, 3), min(2 * i, 255), np.uint8),
                                                         format="rgb24"), i) for i in range(125)])
    with av.open(str(src)) as c:
        assert c.start_time > 0                                # the muxer's 0.5 s offset: what made it wrong
    path, s = interpolate_file(src, tmp_path / "p.mp4", Blend(), factor=2, start=2.0, duration=1.0, quiet=True)
    assert s.frames_in == 25 and s.frames_out == 50
    with av.open(str(path)) as c:
        first = next(c.decode(video=0))
        level = first.to_ndarray(format="rgb24").mean()
    assert float(first.time) == pytest.approx(0.0) and abs(level - 100) < 3, level    # frame 50 of the input


# ----------------------------------------------------------------------------- never lose a file
def test_refuses_to_overwrite_and_replaces_only_with_overwrite(tmp_path):
    src = make_clip(tmp_path / "c.mp4")
    out = tmp_path / "o.mp4"
    out.write_bytes(b"an older result")
    r = run_cli(src, "-o", out, "--model", "blend")
    assert r.returncode == 2 and "exists; pass --overwrite" in r.stderr and out.read_bytes() == b"an older result"
    assert run_cli(src, "-o", out, "--model", "blend", "--overwrite", "--quiet").returncode == 0
    assert len(probe(out)[0]) == 24 and not list(tmp_path.glob(".*partial*"))


class Broken(Interpolator):
    name, supports_any_t = "broken", True

    def __init__(self, after=3):
        self.calls, self.after = 0, after

    def __call__(self, i0, i1, t, scale=1.0):
        self.calls += 1
        if self.calls > self.after:
            return torch.full_like(i0, float("nan"))
        return (i0 + i1) / 2


def test_a_failing_model_leaves_no_file_and_keeps_the_old_one(tmp_path):
    src = make_clip(tmp_path / "c.mp4")
    out = tmp_path / "o.mp4"
    out.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="non-finite pixels"):
        interpolate_file(src, out, Broken(), factor=2, overwrite=True, quiet=True)
    assert out.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4", "o.mp4"]


def test_folder_output_is_fresh(tmp_path):
    src = make_clip(tmp_path / "c.mp4", n=4)
    out = tmp_path / "frames"
    out.mkdir()
    for k in range(20):
        (out / f"{k:06d}.png").write_bytes(b"stale")
    interpolate_file(src, out, Blend(), factor=2, overwrite=True, quiet=True)
    assert len(list(out.glob("*.png"))) == 8


def _sigint_default():
    """A job started in the background (``nohup ... &``, as CI may run the suite) inherits SIGINT
    ignored, and Python then never raises KeyboardInterrupt: give the child the default, as a terminal does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# ----------------------------------------------------------------------------- flags and inputs
@pytest.mark.parametrize("flags, msg", [
    (["--factor", "0"], "--factor must be an integer from 2 to 64"),
    (["--factor", "-2"], "--factor must be an integer"),
    (["--fps", "0"], "--fps must be a number in (0, 1000]"),
    (["--fps", "nan"], "--fps must be a number"),
    (["--fps", "inf"], "--fps must be a number"),
    (["--fps", "-30"], "--fps must be a number"),
    (["--fps", "1000", "--in_fps", "10"], "at most 64x"),
    (["--tile", "-1"], "--tile must be 0 (off) or at least 64"),
    (["--scale", "0"], "--scale must lie in (0, 1]"),
    (["--crf", "99"], "--crf must lie in 0..51"),
    (["--batch", "0"], "--batch must be at least 1"),
    (["--duration", "-1"], "--duration must be > 0"),
    (["--device", "cuda:7"], "--device cuda:7: no such CUDA GPU"),
    (["--codec", "nope264"], "--codec nope264: not in this PyAV build"),
    (["--factor", "2", "--fps", "30"], "give --factor or --fps, not both"),
    (["--checkpoint", "missing.pt"], "--checkpoint missing.pt: no such file"),
    (["--adapt"], "--adapt: --model blend has no weights to adapt; these can: rife_hdv3, rife_v39"),
    (["--adapt_steps", "5"], "--adapt_steps goes with --adapt"),
    (["--model", "rife_425", "--adapt", "--adapt_frames", "2"], "--adapt_frames must be at least 3"),
    (["--model", "rife_425", "--adapt", "--adapt_steps", "0"], "not both 0"),
    (["--model", "rife_425", "--adapt", "--adapt_seconds", "-1"], "--adapt_seconds >= 0"),
])
def test_each_invalid_flag_is_one_clear_line(tmp_path, capsys, flags, msg):
    """In-process (a subprocess per case cost 7 s of imports); any exception other than argparse's
    exit 2 fails the test, as a traceback would."""
    src = make_clip(tmp_path / "c.mp4", n=5)
    with pytest.raises(SystemExit) as e:
        main([str(src), "-o", str(tmp_path / "o.mp4"), "--model", "blend", *flags])
    assert e.value.code == 2
    assert msg in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "o.mp4").exists()


def test_unreadable_input_and_unsupported_t_are_named(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    r = run_cli(bad, "--model", "blend")
    assert r.returncode == 1 and "bad.mp4: not a readable video" in r.stderr and "Traceback" not in r.stderr
    src = make_clip(tmp_path / "c.mp4", n=6)
    r = run_cli(src, "--fps", "60", "--model", "rife_hdv3", "-o", tmp_path / "o.mp4")
    assert r.returncode == 2 and "predicts t = 0.5 only" in r.stderr and not (tmp_path / "o.mp4").exists()


def test_the_default_command_works_for_2x_and_60_fps_and_help_says_which_model(tmp_path):
    shipped = SHIPPED.is_file()                  # the shipped vfilib weights run for any rate; else two RIFEs
    r = run_cli("--help")
    assert ("default here: vfilib" in r.stdout) if shipped else \
        "default here: rife_hdv3 for 2x/4x/8x, rife_v39 for other rates" in " ".join(r.stdout.split())
    src = make_clip(tmp_path / "c.mp4", n=3)
    r = run_cli(src, "--factor", "4", "--quiet", "-o", tmp_path / "o.mp4")
    assert r.returncode == 0 and ("vfilib:" if shipped else "rife_hdv3:") in r.stdout, r.stderr
    assert len(probe(tmp_path / "o.mp4")[0]) == 12
    if not shipped and os.environ.get("VFILIB_OFFLINE") == "1" and not (DataPaths().weights / "rife_v39.pkl").is_file():
        pytest.skip("no shipped weights and no rife_v39 weights on this offline machine (set-up fetches them)")
    r = run_cli(src, "--fps", "60", "--quiet")                         # 25 -> 60 fps, no flags: works
    assert r.returncode == 0 and ("vfilib:" if shipped else "rife_v39:") in r.stdout, r.stderr
    assert len(probe(tmp_path / "c_60fps.mp4")[0]) == 8                # 0.12 s at 60 fps, rounded up


def test_two_image_mode(tmp_path):
    a, b = np.zeros((16, 24, 3), np.float32), np.ones((16, 24, 3), np.float32)
    write_image(tmp_path / "a.png", a)
    write_image(tmp_path / "b.png", b)
    assert main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--times", "0.25", "0.75", "--model", "blend",
                 "-o", str(tmp_path / "mid")]) == 0
    got = sorted((tmp_path / "mid").glob("*.png"))
    assert [p.name for p in got] == ["a_t0.250.png", "a_t0.750.png"]
    assert abs(cv2.imread(str(got[0])).mean() - 0.25 * 255) < 1


def test_model_rejects_nan_and_0_255_inputs():
    from vfilib.config import preset
    from vfilib.models import build_model
    m = build_model(preset("tiny"))
    x = torch.rand(1, 3, 32, 32)
    bad = x.clone()
    bad[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="I0 holds NaN or inf"):
        m(bad, x)
    with pytest.raises(ValueError, match=r"I1 must lie in \[0, 1\].*255"):
        m(x, x * 255)


def test_checkpoint_model_on_a_frame_folder(tmp_path):
    from vfilib.config import preset
    from vfilib.models import build_model
    from vfilib.models.weights.checkpoint import save
    model = build_model(preset("tiny"))
    save(tmp_path / "m.pt", {"model_config": model.cfg.to_dict(), "model": model.state_dict()})
    frames = tmp_path / "in"
    for k in range(3):
        write_image(frames / f"{k:03d}.png", np.full((20, 28, 3), k / 4, np.float32))
    r = run_cli(frames, "--in_fps", "10", "--checkpoint", tmp_path / "m.pt", "-o", f"{tmp_path / 'out'}/", "--quiet")
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "out").glob("*.png"))) == 6
    r = run_cli(frames, "--checkpoint", tmp_path / "m.pt", "-o", tmp_path / "out2")
    assert r.returncode == 2 and "give its rate with --in_fps" in r.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device)")
def test_graph_interpolator_matches_eager_and_keeps_its_outputs():
    from conftest import live_heads
    from vfilib.config import preset
    from vfilib.eval.interpolators import ModelInterpolator
    from vfilib.models import build_model
    model = live_heads(build_model(preset("tiny"))).cuda().eval()
    eager, graphed = ModelInterpolator(model), ModelInterpolator(model, graph=True)
    a, b = torch.rand(2, 1, 3, 40, 56, device="cuda")
    first = graphed(a, b, torch.tensor([0.5]))
    second = graphed(b, a, torch.tensor([0.5]))
    assert torch.allclose(first, eager(a, b, torch.tensor([0.5])), atol=1e-5)
    assert not torch.allclose(first, second)


def test_colour_tags_are_kept(tmp_path):
    src = tmp_path / "bt709.mp4"
    with av.open(str(src), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        cc = v.codec_context
        cc.color_range, cc.colorspace, cc.color_primaries, cc.color_trc = 1, 1, 1, 1      # limited, BT.709
        encode_into(c, v, [at(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
                              .reformat(format="yuv420p"), i) for i in range(4)])
    tags = lambda p: {k: getattr(av.open(str(p)).streams.video[0].codec_context, k)  # noqa: E731
                      for k in ("color_range", "colorspace", "color_primaries", "color_trc")}
    assert tags(src) == {"color_range": 1, "colorspace": 1, "color_primaries": 1, "color_trc": 1}
    path, _ = interpolate_file(src, tmp_path / "o.mp4", Blend(), factor=2, quiet=True)
    assert tags(path) == tags(src)


@pytest.mark.parametrize("rotation", [90, 270])
def test_a_phone_clips_rotation_is_kept_and_its_frames_come_out_upright(tmp_path, rotation):
    """A portrait phone clip is stored landscape with a display matrix. The output video keeps the
    tag (it plays upright); frames written as images are turned as players show them: OpenCV's
    auto-rotated decoding of the source is the reference."""
    src = make_clip(tmp_path / "phone.mp4", n=4, rotation=rotation)
    with av.open(str(src)) as c:
        assert next(c.decode(video=0)).rotation % 360 == rotation                # PyAV says -90 for 270
    path, _ = interpolate_file(src, tmp_path / "o.mp4", Blend(), factor=2, quiet=True)
    with av.open(str(path)) as c:
        assert next(c.decode(video=0)).rotation % 360 == rotation                # PyAV says -90 for 270
    folder, _ = interpolate_file(src, f"{tmp_path / 'frames'}/", Blend(), factor=2, quiet=True)
    ours = cv2.imread(str(folder / "000000.png")).astype(np.float32)          # the first real frame, BGR
    ok, shown = cv2.VideoCapture(str(src)).read()
    assert ok and ours.shape == shown.shape == (64, 48, 3)                     # portrait
    assert np.abs(ours - shown).mean() < 2                                     # colour conversion noise
    assert np.abs(ours[::-1, ::-1] - shown).mean() > 8                         # turned the other way: 13


def test_non_square_pixels_stay_non_square(tmp_path):
    src = make_clip(tmp_path / "dv.mp4", n=4, pixel_aspect=F(10, 11))       # NTSC DV: 4:3 from 720x480
    path, _ = interpolate_file(src, tmp_path / "o.mp4", Blend(), factor=2, quiet=True)
    with av.open(str(path)) as c:
        assert c.streams.video[0].sample_aspect_ratio == F(10, 11)


def make_interlaced(path, order, n=6):
    """An interlaced clip (x264, ``order`` 'tff' or 'bff') of a bar moving 8 px per field: the field
    shown first holds it at 16 i, the other at 16 i + 8, as a camera records 50 fields/s."""
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 128, 96, "yuv420p"
        v.options = {"x264-params": f"interlaced=1:{order}=1"}
        first = 0 if order == "tff" else 1                          # the top field is the even lines
        frames = []
        for i in range(n):
            img = np.zeros((96, 128, 3), np.uint8)
            img[first::2, 16 * i: 16 * i + 16] = 220
            img[1 - first::2, 16 * i + 8: 16 * i + 24] = 220
            frames.append(at(av.VideoFrame.from_ndarray(img, format="rgb24"), i))
        encode_into(c, v, frames)
    return path


@pytest.mark.parametrize("order", ["tff", "bff"])
def test_interlaced_video_is_read_a_field_at_a_time_in_field_order(tmp_path, order):
    from vfilib.data.video import VideoReader

    src = make_interlaced(tmp_path / f"{order}.mp4", order)
    bar = lambda img: int(np.argmax(img[48, :, 0] > 110))           # noqa: E731 - left edge on a middle line
    r = VideoReader(src)
    frames = list(r)
    assert r.info.fields == order and r.info.fps == 50
    assert [f.time for f in frames] == [F(k, 50) for k in range(12)]
    assert [bar(f.image) for f in frames] == [8 * k for k in range(12)]   # the wrong order would zigzag
    assert len(list(VideoReader(src, deinterlace="off"))) == 6
    path, st = interpolate_file(src, tmp_path / "o.mp4", Blend(), fps=60, quiet=True)
    assert st.fields == order and st.frames_in == 12 and st.in_fps == 50
    assert len(probe(path)[0]) == 15                                     # 0.24 s at 60 fps, the last interval kept


def test_progressive_video_is_not_deinterlaced(tmp_path):
    from vfilib.data.video import VideoReader

    r = VideoReader(make_clip(tmp_path / "p.mp4", n=4))
    assert r.info.fields is None and r.info.fps == 25 and len(list(r)) == 4


class Recorder(Interpolator):
    """Blend that records the t of every call (an any-t model)."""
    name = "recorder"

    def __init__(self, prefers_halving, any_t=True):
        self.ts, self.sizes, self.prefers_halving, self.supports_any_t = [], [], prefers_halving, any_t

    def __call__(self, i0, i1, t, scale=1.0):
        self.ts += [round(float(x), 4) for x in t.flatten()]
        self.sizes.append(len(t))
        return Blend()(i0, i1, t)


@pytest.mark.parametrize("prefers,mode,n,calls", [
    (True, "auto", 4, [0.5] * 3),                  # 1/2 batched, then 1/4 and 3/4 from it: one call each
    (True, "auto", 8, [0.5] * 7),                  # every midpoint of the pair made once, as many calls as direct
    (False, "auto", 4, [0.25, 0.5, 0.75]),         # any-t models without the preference: direct
    (True, "direct", 4, [0.25, 0.5, 0.75]),
    (False, "halve", 4, [0.5] * 3),
])
@pytest.mark.parametrize("batch", [8, 1, 2])              # 1: every job its own batch (the CPU default)
def test_dyadic_t_by_halving_where_the_model_does_better_that_way(prefers, mode, n, calls, batch):
    from vfilib.tool.engine import Engine
    interp = Recorder(prefers)
    engine = Engine(interp, torch.device("cpu"), batch=batch, scale=1.0, t_mode=mode)
    pairs = [(torch.full((1, 3, 4, 4), float(p)), torch.full((1, 3, 4, 4), p + 1.0)) for p in range(2)]
    jobs = [(p, k, engine.submit(a, b, Fraction(k, n))) for p, (a, b) in enumerate(pairs) for k in range(1, n)]
    engine.flush()
    assert sorted(interp.ts) == sorted(calls * 2)          # per pair, whatever the batches
    for p, k, j in jobs:                                   # blend halved is blend at t: same frames either way
        assert torch.allclose(j.out[0], torch.full((1, 3, 4, 4), p + k / n))


@pytest.mark.parametrize("any_t,n,calls", [(True, 4, [2, 4]), (True, 8, [2, 4, 8]), (False, 4, [2, 4]),
                                            (False, 8, [2, 4, 8])])
def test_halving_batches_a_depth_of_every_pair_in_one_call(any_t, n, calls):
    """Two pairs whose jobs share a batch: their midpoints in one call, then all quarter points, then all
    eighths (for a t = 0.5-only model like RIFE HDv3 too), not one call per frame."""
    from vfilib.eval.interpolators import bisection_path
    from vfilib.tool.engine import Engine
    assert bisection_path(Fraction(3, 8)) == [(0, 1, F(1, 2)), (0, F(1, 2), F(1, 4)), (F(1, 4), F(1, 2), F(3, 8))]
    assert len(bisection_path(F(1, 3))) == 6 and bisection_path(F(1, 3))[-1][2] == F(21, 64)   # nearest in 6 steps
    interp = Recorder(True, any_t)
    engine = Engine(interp, torch.device("cpu"), batch=16, scale=1.0)
    pairs = [(torch.full((1, 3, 4, 4), float(p)), torch.full((1, 3, 4, 4), p + 1.0)) for p in range(2)]
    jobs = [(p, k, engine.submit(a, b, Fraction(k, n))) for p, (a, b) in enumerate(pairs) for k in range(1, n)]
    engine.flush()
    assert interp.sizes == calls
    for p, k, j in jobs:
        assert torch.allclose(j.out[0], torch.full((1, 3, 4, 4), p + k / n))


def test_a_real_frame_is_written_before_its_interval_is_computed(tmp_path):
    """The first frame shows at once, not after the first pair's model calls (minutes on a CPU)."""
    from vfilib.data.video import VideoReader
    from vfilib.tool.engine import Engine
    from vfilib.tool.pipeline import Pipeline, Plan
    from vfilib.tool.stats import StageClock
    written = []

    class Sink:
        def write(self, image, when):
            written.append(when)

    class Watcher(Blend):
        seen = []

        def __call__(self, i0, i1, t, scale=1.0):
            self.seen.append(len(written))
            return super().__call__(i0, i1, t, scale)

    reader = VideoReader(make_clip(tmp_path / "c.mp4", n=3))
    try:
        Pipeline(Engine(Watcher(), torch.device("cpu"), 1, 1.0), Sink(), Plan(4, None, cuts=False, progress=False),
                 False, StageClock()).run(reader)
    finally:
        reader.close()
    assert Watcher.seen[0] == 1 and Watcher.seen[3] == 5     # frame 0 out before pair 0's calls, frame 1 before pair 1's
    assert len(written) == 12 and written == sorted(written)


def test_non_dyadic_t_stays_direct_and_direct_mode_needs_an_any_t_model(tmp_path):
    from vfilib.tool.engine import Engine
    interp = Recorder(True)
    engine = Engine(interp, torch.device("cpu"), batch=8, scale=1.0)
    engine.submit(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4), Fraction(5, 12))
    engine.flush()
    assert interp.ts == [0.4167]
    r = run_cli(make_clip(tmp_path / "c.mp4", n=3), "--model", "rife_hdv3", "--t_mode", "direct", "--factor", "4")
    assert r.returncode == 2 and "--t_mode direct: rife_hdv3 predicts t = 0.5 only" in r.stderr


@pytest.mark.parametrize("dtype,deep", [(np.uint8, False), (np.uint16, True)])
def test_frames_to_tensors_and_back_are_exact(dtype, deep):
    from vfilib.tool.engine import to_image as _to_image, to_tensor as _to_tensor
    top = np.iinfo(dtype).max
    img = np.random.default_rng(0).integers(0, top + 1, (6, 10, 3)).astype(dtype)
    img[0, 0], img[0, 1] = 0, top                                   # both ends of the range
    x = _to_tensor(img, torch.device("cpu"))
    assert x.shape == (1, 3, 6, 10) and x.dtype == torch.float32 and 0 <= x.min() and x.max() == 1
    back = _to_image(x, deep)
    assert back.dtype == dtype and np.array_equal(back, img)


# ----------------------------------------------------------------------------- reliability (issue 27)
def _usage_error(capsys, argv) -> str:
    """The last stderr line of a command that must end in argparse's exit 2."""
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    assert e.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("name", ["rife_hdv3", "rife_v39"])
def test_every_scale_a_model_takes_works_and_others_are_refused_up_front(tmp_path, capsys, name):
    """--scale 0.3 with RIFE HDv3 crashed with a tensor size mismatch (and 0.25 did at most frame sizes):
    each scale a model says it takes runs at a size that is no multiple of 64, with large motion (Practical-
    RIFE's coarser second pass); another is refused before any work, naming the values that work."""
    from vfilib.eval.peers import make_peer
    interp = make_peer(name)
    a = torch.rand(1, 3, 40, 72)
    for scale in interp.scales:
        assert interp(a, torch.roll(a, 30, -1), torch.tensor([0.5]), scale).shape == a.shape
    src = make_clip(tmp_path / "c.mp4", n=3, size=(40, 72))
    msg = _usage_error(capsys, [src, "-o", tmp_path / "o.mp4", "--model", name, "--scale", "0.3"])
    assert f"--scale 0.3: {name} runs at --scale 1, 0.5, 0.25 only" in msg and not (tmp_path / "o.mp4").exists()
    assert main([str(src), "-o", str(tmp_path / "q.mp4"), "--model", name, "--scale", "0.25", "--quiet"]) == 0


def _faststart_cut(src, dst, keep):
    """``src`` remuxed with its index first (as a web download), then cut after ``keep`` video packets."""
    whole = dst.with_name("whole_" + dst.name)
    with av.open(str(src)) as i, av.open(str(whole), "w", options={"movflags": "faststart"}) as o:
        out = o.add_stream_from_template(i.streams.video[0])
        for packet in i.demux(i.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                o.mux(packet)
    with av.open(str(whole)) as c:
        starts = [p.pos for p in c.demux(video=0) if p.size]
    dst.write_bytes(whole.read_bytes()[:starts[keep]])
    return dst


def test_a_cut_short_file_says_it_ended_early(tmp_path, capsys):
    src = _faststart_cut(make_clip(tmp_path / "c.mp4", n=40, size=(96, 128)), tmp_path / "cut.mp4", keep=20)
    assert main([str(src), "--model", "blend", "--quiet", "--stats", str(tmp_path / "s.json")]) == 0
    err = capsys.readouterr().err
    assert "cut.mp4: the input ended early: 20 frames read (0.8" in err and "the stream says 40 frames, 1.60 s" in err
    assert json.loads((tmp_path / "s.json").read_text())["ended_early"].startswith(str(src))
    assert main([str(tmp_path / "whole_cut.mp4"), "--model", "blend", "--quiet"]) == 0      # the whole file: quiet
    assert "ended early" not in capsys.readouterr().err


def test_an_unwritable_output_folder_is_named(tmp_path, capsys, monkeypatch):
    """A read-only folder (a mounted card, a share): writing there is refused by the system. FFmpeg opens
    its output lazily and reported a bare "[Errno 30] Read-only file system" at the first frame."""
    import errno
    ro = tmp_path / "card"
    ro.mkdir()
    real_open, real_mkdir, real_av_open = os.open, os.mkdir, av.open

    def refused(path):
        return os.path.dirname(os.path.abspath(path)) == str(ro) and not os.path.exists(path)

    def os_open(path, flags, *a, **k):
        if refused(path) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *a, **k)

    def os_mkdir(path, *a, **k):
        if refused(path):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_mkdir(path, *a, **k)

    def av_open(path, mode="r", *a, **k):
        if mode == "w" and refused(path):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_av_open(path, mode, *a, **k)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "mkdir", os_mkdir)
    monkeypatch.setattr(av, "open", av_open)
    src = make_clip(tmp_path / "c.mp4", n=3)
    for out in (ro / "o.mp4", f"{ro}/frames/"):
        assert main([str(src), "-o", str(out), "--model", "blend", "--quiet"]) == 1
        err = capsys.readouterr().err
        assert f"into {ro}: Read-only file system (choose another -o)" in err, err
    assert list(ro.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_leaves_no_output_and_an_older_file_intact(tmp_path, sig):
    """Ctrl-C and SIGTERM (a service manager, ``kill``, a cluster's time limit) alike."""
    src = make_clip(tmp_path / "long.mp4", n=400, size=(192, 256))   # about a minute of work on 2 cores
    out = tmp_path / "o.mp4"
    out.write_bytes(b"keep me")
    p = subprocess.Popen([sys.executable, "-m", "vfilib.interpolate", str(src), "-o", str(out), "--model", "dis",
                          "--factor", "8", "--overwrite", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=_sigint_default)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and not list(tmp_path.glob(".o.mp4.*.partial.mp4")):
        time.sleep(0.05)
    assert p.poll() is None, f"the run ended before it could be interrupted: {p.communicate()}"
    time.sleep(0.5)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "interrupted" in err, (p.returncode, err)
    assert out.read_bytes() == b"keep me" and not list(tmp_path.glob(".*partial*"))


def test_partial_files_of_killed_runs_are_removed_by_the_next_run(tmp_path, capsys):
    """SIGKILL (or a power cut) leaves the temporary; the next run on the same target removes those whose
    process is gone, and leaves a running one's."""
    src = make_clip(tmp_path / "c.mp4", n=3)
    gone = tmp_path / ".o.mp4.4194305-0badc0de.partial.mp4"          # above Linux's largest process id
    old = tmp_path / ".o.mp4.0badc0de.partial.mp4"                   # an older version's name, two days old
    live = tmp_path / f".o.mp4.{os.getpid()}-c0ffee00.partial.mp4"   # a run writing now (this process)
    for p in (gone, old, live):
        p.write_bytes(b"half a video")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    folder = tmp_path / ".frames.4194305-0badc0de.partial"
    (folder / "sub").mkdir(parents=True)
    assert main([str(src), "-o", str(tmp_path / "o.mp4"), "--model", "blend", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "removed 2 partial output(s) of earlier runs" in err and f"left in place: {live.name}: another run" in err
    assert not gone.exists() and not old.exists() and live.exists() and folder.exists()
    assert main([str(src), "-o", f"{tmp_path / 'frames'}/", "--model", "blend", "--quiet"]) == 0
    assert not folder.exists() and len(list((tmp_path / "frames").glob("*.png"))) == 6


def test_an_output_name_says_video_file_or_folder(tmp_path, capsys):
    src = make_clip(tmp_path / "c.mp4", n=3)
    msg = _usage_error(capsys, [src, "-o", tmp_path / "out.xyz", "--model", "blend"])
    assert "-o " in msg and "out.xyz: unknown extension '.xyz'; give a video file (.avi, .m4v, .mkv, .mov, .mp4" in msg
    msg = _usage_error(capsys, [src, "-o", tmp_path / "out", "--model", "blend"])
    assert "out: no extension; give a video file" in msg and "a trailing / (out/)" in msg
    assert not list(tmp_path.glob("out*"))
    assert main([str(src), "-o", f"{tmp_path / 'out'}/", "--model", "blend", "--quiet"]) == 0
    (tmp_path / "existing").mkdir()
    assert main([str(src), "-o", str(tmp_path / "existing"), "--model", "blend", "--quiet", "--overwrite"]) == 0
    assert len(list((tmp_path / "out").glob("*.png"))) == len(list((tmp_path / "existing").glob("*.png"))) == 6


def test_a_sixteen_bit_pair_gives_sixteen_bit_frames(tmp_path):
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 65536, (16, 24, 3)).astype(np.uint16) for _ in range(2))
    for name, img in (("a.png", a), ("b.png", b)):
        cv2.imwrite(str(tmp_path / name), img[..., ::-1])
    assert main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--model", "blend", "-o", str(tmp_path / "mid")]) == 0
    mid = cv2.imread(str(tmp_path / "mid" / "a_t0.500.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert mid.dtype == np.uint16
    assert np.abs(mid.astype(np.int64) - (a.astype(np.int64) + b) / 2).max() <= 1     # not 8-bit levels (257 apart)


def test_one_image_alone_is_a_usage_error(tmp_path, capsys):
    write_image(tmp_path / "a.png", np.zeros((16, 24, 3), np.float32))
    msg = _usage_error(capsys, [tmp_path / "a.png", "--model", "blend"])
    assert "a.png: one image; give two images" in msg and not list(tmp_path.glob("a_*"))


def test_a_rife_pickle_as_checkpoint_points_to_model(tmp_path, capsys):
    torch.save({"module.block0.conv0.0.0.weight": torch.zeros(1)}, tmp_path / "flownet.pkl")
    src = make_clip(tmp_path / "c.mp4", n=3)
    msg = _usage_error(capsys, [src, "--checkpoint", tmp_path / "flownet.pkl"])
    assert "flownet.pkl: not a vfilib checkpoint" in msg and "vfilib interpolate --model rife_hdv3" in msg
    assert "--peer " not in msg


# ----------------------------------------------------------------------------- the first ten minutes
def test_help_says_which_models_make_which_times(capsys):
    from vfilib.eval.peers import PEERS, make_peer
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    tail = text.split("which models make which times:")[1]
    any_t, half = tail.split("; t = 1/2 only")
    assert "not --fps 60: " in half and "rife_hdv3" in half.split("not --fps 60:")[1] and "rife_hdv3" not in any_t
    for name in PEERS:                                 # every model, on the side its interpolator says
        assert name in (any_t if make_peer(name).supports_any_t else half).replace(",", " ").split()


def test_on_a_cpu_the_faster_model_is_named_with_the_readme_tables_numbers():
    import pandas as pd
    from vfilib.core.paths import repo_path
    from vfilib.tool.methods import HEADLINE, cpu_advice
    table = pd.read_csv(repo_path(HEADLINE)).groupby("method")[["psnr", "sec_per_frame"]].mean()
    msg = cpu_advice("vfilib", any_t=False)
    me = table.loc["vfilib"]
    faster = table[(table.sec_per_frame * 4 < me.sec_per_frame) & (table.psnr > me.psnr - 0.5)]
    best = faster.psnr.idxmax()
    assert f"(--model {best})" in msg and f"{faster.psnr[best]:.2f} against {me.psnr:.2f} dB" in msg
    assert f"{faster.sec_per_frame[best]:.2f} against {me.sec_per_frame:.2f} s per frame" in msg
    assert "s per frame on 384x384 crops)" in msg                     # the size the seconds were measured at
    assert "frame blend" not in msg and cpu_advice("blend", any_t=False) is None    # a blend is fast, not an answer
    assert cpu_advice("rife_hdv3", any_t=False) is None             # nothing 4x faster and less than 0.5 dB worse


def test_the_progress_bar_moves_from_the_first_made_frame(tmp_path):
    """The time left is estimated from the average rate since the start: counted from a real frame alone
    (written at once) it promised seconds while the first pair took minutes on a CPU."""
    from vfilib.data.video import VideoReader
    from vfilib.tool.engine import Engine
    from vfilib.tool.pipeline import Pipeline, Plan
    from vfilib.tool.stats import StageClock
    seen = []

    class Watcher(Blend):
        def __call__(self, i0, i1, t, scale=1.0):
            seen.append(pipe.bar.n)
            return super().__call__(i0, i1, t, scale)

    class Sink:
        def write(self, image, when):
            pass

    pipe = Pipeline(Engine(Watcher(), torch.device("cpu"), 1, 1.0), Sink(), Plan(2, None, cuts=False, total=6),
                    False, StageClock())
    reader = VideoReader(make_clip(tmp_path / "c.mp4", n=3))
    try:
        stats = pipe.run(reader)
    finally:
        reader.close()
    assert seen == [0, 3] and pipe.bar.n == stats.frames_out == 6 and pipe.bar.smoothing == 0   # 0, 1/2, 1 before pair 2
