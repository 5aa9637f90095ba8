"""A notebook run by hand takes its profile's values, as the workbook runner passes them."""
import pytest

from vfilib.core import profile as prof


def test_use_profile_fills_only_the_parameters_left_none(monkeypatch):
    monkeypatch.delenv(prof.ENV, raising=False)
    cpu = prof.profiles()["cpu"]["04_phase2_flow"]
    ns = {"profile": "cpu", "preset": None, "steps": 7, "settings": None, "smoke": None, "unrelated": None}
    report = prof.use_profile(ns, "04_phase2_flow", quiet=True)
    assert ns["preset"] == cpu["preset"] and ns["settings"] == cpu["settings"]     # from profiles.toml
    assert ns["steps"] == 7 and report["steps"] == (7, "set")                     # set by hand (or papermill): kept
    assert ns["smoke"] is True and ns["unrelated"] is None
    assert prof.current() == "cpu"


def test_auto_profile_follows_the_machine(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert prof.resolve("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert prof.resolve("auto") == "gpu"
    with pytest.raises(ValueError, match="unknown profile 'laptop'.*auto"):
        prof.resolve("laptop")


def _parameter_cells():
    """{notebook: {parameter: (value, comment)}} from each notebook's parameters cell."""
    import ast
    import re

    from vfilib.core.paths import REPO_ROOT

    out = {}
    for path in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        cell = path.read_text().split('tags=["parameters"]', 1)[1].split("\n# %%", 1)[0]
        params = {}
        for node in ast.parse(cell).body:
            name = node.targets[0].id
            line = cell.splitlines()[node.lineno - 1]
            comment = re.search(r"#.*$", line[node.end_col_offset:] if node.end_lineno == node.lineno else "")
            params[name] = (ast.literal_eval(node.value), comment.group(0) if comment else "")
        out[path.stem] = params
    return out


def test_a_notebook_opened_by_hand_runs_with_its_profile_values():
    """Issue 27: run as it opens, a notebook takes its profile's values (as run_all.sh passes them). So
    every value a profile sets is left None in the cell; every None is filled by each profile that has the
    notebook, unless its comment says what None means; and the cell after the parameters fills them."""
    from vfilib.core.paths import REPO_ROOT

    for nb, params in _parameter_cells().items():
        sections = {name: t[nb] for name, t in prof.profiles().items() if isinstance(t, dict) and nb in t}
        assert sections, f"{nb}: no profile has it"
        assert params["profile"][0] == "auto", nb
        src = (REPO_ROOT / "notebooks" / f"{nb}.py").read_text()
        assert f'use_profile(globals(), "{nb}")' in src.split('tags=["parameters"]', 1)[1].split("\n# %%", 2)[1], nb
        for name, table in sections.items():
            for key in table:
                assert key in params and params[key][0] is None, f"{nb}: profile {name} sets {key}, the cell must leave it None"
        for key, (value, comment) in params.items():
            if value is None and "None:" not in comment:
                missing = [name for name, table in sections.items() if key not in table]
                assert not missing or key == "smoke", f"{nb}: {key} is None and profile(s) {missing} do not set it"


def test_papermill_parameters_win_over_the_profile(monkeypatch):
    """The workbook runner injects a cell after the parameters: use_profile reports those values as set
    and fills nothing over them (cpu profile, notebook 10's crop)."""
    monkeypatch.delenv(prof.ENV, raising=False)
    ns = {"profile": "cpu", "crop": 32, "steps": None}
    report = prof.use_profile(ns, "10_nframe", quiet=True)
    assert ns["crop"] == 32 and report["crop"] == (32, "set")
    assert ns["steps"] == prof.profiles()["cpu"]["10_nframe"]["steps"]
