import pandas as pd

from vfilib.core.tables import append_rows, read_table


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


def test_headline_table_is_made_from_rows_and_replaces_only_its_readme_block(tmp_path):
    from vfilib.reports import headline
    rows = pd.DataFrame({"bench": "live", "method": ["vfilib"] * 2 + ["rife_hdv3"] * 2, "split": ["easy", "hard"] * 2,
                         "n": [48, 40] * 2, "psnr": [39.0, 30.0, 38.0, 30.5], "ssim": [0.98, 0.94, 0.97, 0.95],
                         "lpips": [0.02, 0.06, 0.03, 0.05], "proto_crop": 384, "commit": "abc1234"})
    text = headline.markdown(rows)
    lines = text.splitlines()
    assert lines[2] == "| **vfilib (shipped)** | 39.00 | 30.00 | 34.50 | 0.9600 | 0.0400 |"     # mean 34.5 first
    assert lines[3].startswith("| RIFE HDv3 | 38.00 | 30.50 | 34.25 |")
    assert "easy 48, hard 40 triplets, centre crops of 384 px" in text and "commit: abc1234" in text
    rows.to_csv(tmp_path / "h.csv", index=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{headline.START}\nold numbers\n{headline.END}\noutro\n")
    assert headline.main(["--table", str(tmp_path / "h.csv"), "--readme", str(readme), "--out", str(tmp_path / "h.md")]) == 0
    assert (tmp_path / "h.md").read_text() == headline.markdown(rows, str(tmp_path / "h.csv"))
    new = readme.read_text()
    assert "old numbers" not in new and new.startswith("intro\n") and new.endswith("outro\n") and lines[3] in new


def test_commit_hashes_that_look_like_numbers_stay_text(tmp_path):
    # a short hash of digits only, or digits with one 'e', reads as a number unless told otherwise
    path = tmp_path / "t.csv"
    append_rows(path, [{"commit": "5023965", "psnr": 30.0}])
    append_rows(path, [{"commit": "1234e56", "psnr": 31.0}])
    back = read_table(path)
    assert list(back["commit"]) == ["5023965", "1234e56"]
    assert "5023965" in path.read_text() and "1234e56" in path.read_text()   # written back unchanged


def test_commit_is_dirty_for_code_changes_only(tmp_path, monkeypatch):
    import subprocess
    monkeypatch.delenv("VFILIB_COMMIT", raising=False)
    from vfilib.core.tables import git_commit
    git = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "t.csv").write_text("a\n1\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    clean = git_commit(tmp_path)
    assert len(clean) >= 7 and not clean.endswith("+dirty")
    (tmp_path / "results" / "t.csv").write_text("a\n2\n")           # a run rewrote a committed table
    assert git_commit(tmp_path) == clean
    (tmp_path / "code.py").write_text("x = 2\n")                     # the code changed
    assert git_commit(tmp_path) == clean + "+dirty"


def test_rows_and_figures_say_their_profile_and_smoke(tmp_path, monkeypatch):
    """A cpu-profile figure carries its provenance and SMOKE in the picture's metadata; a gpu-profile
    one carries no SMOKE; rows say the profile; outside the workbook they say none."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from vfilib.core.tables import provenance
    from vfilib.reports.figures import save_figure

    monkeypatch.delenv("VFILIB_PROFILE", raising=False)
    assert provenance()["profile"] == "none"
    for prof, smoke in (("cpu", True), ("gpu", False)):
        monkeypatch.setenv("VFILIB_PROFILE", prof)
        assert provenance()["profile"] == prof + (" (SMOKE)" if smoke else "")
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        png, pdf = save_figure(fig, f"fig_{prof}", tmp_path, vector=True)
        desc = Image.open(png).info["Description"]
        assert f"profile {prof}" in desc and provenance()["commit"] in desc
        assert ("SMOKE" in desc) is smoke
        assert pdf.read_bytes().startswith(b"%PDF")


def test_rows_keep_the_commit_their_process_started_with(monkeypatch):
    """A long run stamps every row with the code it runs, though the tree is committed meanwhile."""
    from vfilib.core import tables

    monkeypatch.delenv("VFILIB_COMMIT", raising=False)
    first = tables.provenance()["commit"]
    monkeypatch.setattr(tables, "git_commit", lambda root=None: "0000000+dirty")
    assert tables.provenance()["commit"] == first == tables.run_commit()


def test_the_footer_lies_below_the_pictures_of_a_laid_out_figure(tmp_path):
    """A wide strip of images under constrained layout: the layout ran again at saving and pulled the
    axes down over the footer (04_t_sweep.png). The footer's text lies below every axes as saved."""
    import matplotlib
    matplotlib.use("Agg")
    import torch

    from vfilib.reports.figures import save_figure, t_sweep_figure

    fig = t_sweep_figure([torch.rand(1, 3, 64, 128) for _ in range(5)], [0.125, 0.25, 0.5, 0.75, 0.875], "t sweep")
    axes = fig.axes
    save_figure(fig, "strip", tmp_path)
    fig.canvas.draw()
    footer = fig.texts[-1].get_window_extent()
    assert footer.y1 <= min(ax.get_window_extent().y0 for ax in axes)
