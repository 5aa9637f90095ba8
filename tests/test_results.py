import pandas as pd

from vfilib.core.tables import append_rows


def test_append_rows_replaces_by_key_and_keeps_the_rest(tmp_path):
    path = tmp_path / "t.csv"
    append_rows(path, [{"model": "small", "res": "720p", "note": None, "ms": 70.0},
                       {"model": "small", "res": "256", "note": None, "ms": 6.0}], key=["model", "res", "note"])
    # the CSV now holds an empty note (read back as NaN); the same key must still match
    table = append_rows(path, [{"model": "small", "res": "720p", "note": None, "ms": 31.0}], key=["model", "res", "note"])
    back = pd.read_csv(path)
    assert len(table) == len(back) == 2
    assert sorted(back["ms"]) == [6.0, 31.0]
    append_rows(path, [{"model": "small", "res": "720p", "note": "graph", "ms": 30.0}], key=["model", "res", "note"])
    assert len(pd.read_csv(path)) == 3                                # another key: appended
    assert not list(tmp_path.glob("*.tmp*"))                          # written atomically, nothing left over
