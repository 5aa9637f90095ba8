"""N-frame windows (vfilib.data.window): spacing, clip ends, cuts, context dropout, the streaming form."""
import pytest

from vfilib.data.window import (StreamWindows, context_of, cut_window, draw_cut, in_shot, window_indices)


def test_window_at_the_pairs_spacing():
    assert window_indices(10, 14, 4, in_shot(0, 100)) == [6, 10, 14, 18]
    assert window_indices(10, 14, 6, in_shot(0, 100)) == [2, 6, 10, 14, 18, 22]
    assert window_indices(10, 11, 2, in_shot(0, 100)) == [10, 11]


def test_clip_ends_repeat_the_nearest_frame():
    assert window_indices(0, 2, 4, in_shot(0, 10)) == [0, 0, 2, 4]           # nothing before the first frame
    assert window_indices(6, 9, 4, in_shot(0, 10)) == [3, 6, 9, 9]           # 12 is past the end
    assert window_indices(3, 5, 6, in_shot(0, 8)) == [1, 1, 3, 5, 7, 7]      # -1 and 9 missing: nearest kept
    assert window_indices(0, 1, 6, in_shot(0, 2)) == [0, 0, 0, 1, 1, 1]      # a 2-frame shot: the pair alone


def test_never_across_a_cut():
    # shots [0, 20) and [20, 40): the pair (17, 19) may not see 21 or 23 (another scene)
    assert window_indices(17, 19, 6, in_shot(0, 20)) == [13, 15, 17, 19, 19, 19]
    assert window_indices(20, 22, 6, in_shot(20, 40)) == [20, 20, 20, 22, 24, 26]


def test_a_gap_in_a_folder_stops_the_side():
    have = {0, 2, 4, 6, 10}                    # 8 is missing: 10 must not be used after it
    assert window_indices(4, 6, 6, have.__contains__) == [0, 2, 4, 6, 6, 6]


def test_bad_pairs_rejected():
    with pytest.raises(ValueError, match="N = 2k"):
        window_indices(0, 1, 3, in_shot(0, 5))
    with pytest.raises(ValueError, match="time order"):
        window_indices(3, 3, 4, in_shot(0, 5))


def test_context_dropout_cuts_like_a_clip_end():
    win = [2, 6, 10, 14, 18, 22]
    assert cut_window(win, 2, 2) == win
    assert cut_window(win, 0, 2) == [10, 10, 10, 14, 18, 22]
    assert cut_window(win, 1, 0) == [6, 6, 10, 14, 14, 14]
    assert context_of(win) == [2, 6, 18, 22]
    assert draw_cut(0.9, 0.0, 6, 0.25) == 2                  # kept whole
    assert draw_cut(0.1, 0.0, 6, 0.25) == 0 and draw_cut(0.1, 0.99, 6, 0.25) == 1
    assert draw_cut(0.1, 0.5, 4, 0.25) == 0                  # N = 4: dropped means I0 / I1 repeated


def _run(frames, cuts, n):
    sw, out = StreamWindows(frames), []
    for j in range(n):
        out += sw.push(f"f{j}", cut=j in cuts)
        assert len(sw._buf) <= frames + 1                     # bounded memory
    return out + sw.close()


def test_stream_windows_match_the_offline_rule():
    """Every interval once, in order; the window of each equals window_indices over its shot."""
    n, cuts = 12, {5, 9}
    bounds = [0, 5, 9, 12]
    shot = lambda j: max(s for s in range(3) if bounds[s] <= j)        # noqa: E731
    for frames in (2, 4, 6):
        out = _run(frames, cuts, n)
        assert [iv.index for iv in out] == list(range(n - 1))
        for iv in out:
            i, k = iv.index, frames // 2
            assert iv.cut == (i + 1 in cuts)
            s0, s1 = shot(i), shot(i + 1)
            want = (window_indices(i, i + 1, frames, in_shot(bounds[s0], bounds[s0 + 1]))[:k]
                    + window_indices(i, i + 1, frames, in_shot(bounds[s1], bounds[s1 + 1]))[k:])
            assert iv.indices == want
            assert iv.window == [f"f{j}" for j in want]


def test_stream_windows_come_out_as_soon_as_known():
    sw = StreamWindows(4)
    assert sw.push("a") == [] and sw.push("b") == []
    got = sw.push("c")                                        # interval 0 needs frame 2 (I1 + 1)
    assert [iv.index for iv in got] == [0] and got[0].indices == [0, 0, 1, 2]
    got = sw.push("d", cut=True)                              # a cut at 3: interval 1's after-side ends at 2
    assert [iv.index for iv in got] == [1] and got[0].indices == [0, 1, 2, 2]
    got = sw.close()
    assert [iv.index for iv in got] == [2] and got[0].cut and got[0].indices == [1, 2, 3, 3]


def test_windows_of_halving_steps_over_fractions():
    from fractions import Fraction as Fr

    made = {Fr(-1), Fr(0), Fr(1), Fr(2)}                       # the real 4-frame window
    assert window_indices(Fr(0), Fr(1), 4, made.__contains__) == [-1, 0, 1, 2]
    made.add(Fr(1, 2))
    assert window_indices(Fr(0), Fr(1, 2), 4, made.__contains__) == [0, 0, Fr(1, 2), 1]       # -1/2 never made
    assert window_indices(Fr(1, 2), Fr(1), 4, made.__contains__) == [0, Fr(1, 2), 1, 1]       # 3/2 never made
