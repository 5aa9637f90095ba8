import pytest
import torch

from vfilib.config import SCAN_MODES
from vfilib.models.vfi import scan as S

SIZES = [(1, 1), (3, 5), (5, 7), (7, 4), (9, 13)]


@pytest.mark.parametrize("mode", SCAN_MODES)              # every scan variant: a new one is tested too
@pytest.mark.parametrize("hw", SIZES)
def test_round_trip_is_exact(mode, hw):
    h, w = hw
    x = torch.randn(4, h, w, 3)                      # 2 pairs: B = 2
    seqs = S.scan(x, mode)
    per_dir = S.merge(seqs, h, w, mode, reduce=None)
    assert per_dir.shape == (4, *x.shape)
    for d in range(4):
        assert torch.equal(per_dir[d], x), f"direction {d} not undone"
    assert torch.equal(S.merge(seqs, h, w, mode), per_dir.sum(0))


@pytest.mark.parametrize("mode,length,batch", [("interleaved", 2, 4), ("sequential", 2, 4), ("per_frame", 1, 8)])
def test_shapes(mode, length, batch):
    x = torch.randn(2, 5, 7, 6)                      # B = 1
    assert S.scan(x, mode).shape == (batch, length * 35, 6)


def _ids(h, w):
    """(2, H, W, 1): token id f*HW + h*W + w, so a scanned sequence shows its own order."""
    return torch.arange(2 * h * w, dtype=torch.float64).reshape(2, h, w, 1)


def test_interleaved_order_alternates_frames():
    h, w = 2, 3
    seq = S.scan(_ids(h, w), "interleaved")[..., 0].long()     # (4, 12)
    hw = h * w
    assert seq[0].tolist() == [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]
    col = [0, 3, 1, 4, 2, 5]                                    # column-major positions
    assert seq[1].tolist() == [v for p in col for v in (p, p + hw)]
    assert seq[2].tolist() == seq[0].flip(0).tolist()
    assert seq[3].tolist() == seq[1].flip(0).tolist()


def test_sequential_order_concatenates_frames():
    seq = S.scan(_ids(2, 3), "sequential")[..., 0].long()
    assert seq[0].tolist() == list(range(12))
    assert seq[1].tolist() == [0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11]


def test_per_frame_never_mixes_frames():
    seq = S.scan(_ids(2, 3), "per_frame")[..., 0].long()       # (8, 6)
    for s in seq:
        frames = set((s // 6).tolist())
        assert len(frames) == 1


def test_odd_batch_rejected():
    with pytest.raises(ValueError, match="pairs"):
        S.scan(torch.randn(3, 2, 2, 1), "interleaved")


# ----------------------------------------------------------------------------- F-frame windows (N-frame context)
@pytest.mark.parametrize("frames", [1, 3, 4, 6])
@pytest.mark.parametrize("mode", ["interleaved", "sequential", "per_frame"])
@pytest.mark.parametrize("hw", [(1, 1), (3, 5), (5, 7), (7, 4)])
def test_round_trip_is_exact_for_f_frames(frames, mode, hw):
    h, w = hw
    x = torch.randn(frames * 2, h, w, 3)             # 2 windows of F frames
    seqs = S.scan(x, mode, frames)
    assert seqs.shape[1] == (h * w if mode == "per_frame" else frames * h * w)
    per_dir = S.merge(seqs, h, w, mode, reduce=None, frames=frames)
    for d in range(4):
        assert torch.equal(per_dir[d], x), f"direction {d} not undone ({frames} frames)"


def test_interleaved_order_alternates_f_frames():
    h, w, f = 2, 3, 4
    ids = torch.arange(f * h * w, dtype=torch.float64).reshape(f, h, w, 1)
    seq = S.scan(ids, "interleaved", f)[..., 0].long()           # (4, 24)
    hw = h * w
    assert seq[0].tolist()[:8] == [0, 6, 12, 18, 1, 7, 13, 19]  # the 4 frames' tokens at p0, then at p1
    col = [0, 3, 1, 4, 2, 5]
    assert seq[1].tolist() == [p + k * hw for p in col for k in range(f)]
    assert seq[2].tolist() == seq[0].flip(0).tolist()
    seq_s = S.scan(ids, "sequential", f)[..., 0].long()
    assert seq_s[0].tolist() == list(range(f * hw))


def test_two_frames_is_the_default():
    x = torch.randn(4, 3, 5, 2)
    assert torch.equal(S.scan(x, "interleaved"), S.scan(x, "interleaved", 2))
    assert torch.equal(S.scan_index("interleaved", 3, 5), S.scan_index("interleaved", 3, 5, 2))


def test_batch_not_a_multiple_of_frames_rejected():
    with pytest.raises(ValueError, match="windows of 4 frames"):
        S.scan(torch.randn(6, 2, 2, 1), "interleaved", 4)
