"""Every registry entry is reachable: from the command lines' choices, the notebooks and their profiles,
and the docs; the config's names of a variant are exactly its registry's keys."""
import ast
import contextlib
import io
import re
import tomllib
from pathlib import Path

import pytest

from vfilib.eval.benchmark import BENCHMARKS
from vfilib.eval.peers import PEERS, label, make_peer
from vfilib.train.sets import TRAINING_SETS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def choices(parser, flag: str) -> set:
    action = next(a for a in parser._actions if flag in a.option_strings)
    return set(action.choices)


def test_cli_choices_are_the_registries():
    from vfilib.eval.__main__ import parser as eval_parser
    from vfilib.train.cli import CHOICES

    ap = eval_parser()
    assert choices(ap, "--peers") == set(PEERS)
    assert choices(ap, "--bench") == set(BENCHMARKS)
    assert set(CHOICES["data"]) == set(TRAINING_SETS)


def test_the_video_tool_offers_every_peer():
    from vfilib.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["interpolate", "--help"])
    text = " ".join(out.getvalue().split())
    assert all(name in text for name in PEERS), text


@pytest.mark.parametrize("name", [n for n in PEERS if n != "vfilib"])
def test_a_peer_entry_says_what_its_interpolator_does(name):
    """The entry's times and row name are those of the interpolator it builds (weights fetched)."""
    peer, interp = PEERS[name], make_peer(name)
    assert interp.supports_any_t == peer.any_t
    assert interp.name in (peer.name, peer.method)
    assert label(interp.name) == peer.label != ""


def test_profiles_name_only_registered_entries():
    profiles = tomllib.loads((ROOT / "notebooks" / "profiles.toml").read_text())
    named = {"peers": set(), "bench": set(), "data": set()}
    for prof in profiles.values():
        for params in (v for v in prof.values() if isinstance(v, dict)):
            named["peers"].update(params.get("peers", []))
            named["bench"].update([params["bench"]] if "bench" in params else [])
            named["data"].update([params["data"]] if "data" in params else [])
    assert named["peers"] and named["bench"] and named["data"]
    assert named["peers"] <= set(PEERS)
    assert named["bench"] <= set(BENCHMARKS)
    assert named["data"] <= set(TRAINING_SETS)


def _literals(path: Path) -> dict[str, list[str]]:
    """Names a notebook passes to make_peer / B.run / its peers and bench parameters."""
    found = {"peers": [], "bench": []}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "make_peer":
            found["peers"] += [a.value for a in node.args[:1] if isinstance(a, ast.Constant)]
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            key = {"peers": "peers", "bench": "bench"}.get(node.targets[0].id)
            if key and isinstance(node.value, (ast.List, ast.Tuple)):
                found[key] += [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
            elif key and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found[key].append(node.value.value)
    return found


def test_notebooks_name_only_registered_entries_and_default_to_the_registry():
    for nb in NOTEBOOKS:
        found = _literals(nb)
        assert set(found["peers"]) <= set(PEERS), nb.name
        assert set(found["bench"]) <= set(BENCHMARKS), nb.name
    for nb in ("07_benchmarks.py", "09_xtest_4k.py"):
        text = (ROOT / "notebooks" / nb).read_text()
        assert re.search(r"^peers = None\b", text, re.M), f"{nb}: the default peers come from PEERS"
        assert "PEERS" in text
    text = (ROOT / "notebooks" / "03_phase1_ablations.py").read_text()
    assert re.search(r"^experiments = None\b", text, re.M) and "PHASE1_EXPERIMENTS" in text


def test_docs_list_every_entry_and_are_current():
    from vfilib.reports.docs import stale

    assert stale() == [], "run python -m vfilib.reports.docs"
    readme, data_readme = (ROOT / "README.md").read_text(), (ROOT / "data" / "README.md").read_text()
    assert all(f"`{p.name}` | {p.label} |" in readme for p in PEERS.values())
    assert all(f"| `{b}` |" in data_readme for b in BENCHMARKS)
    assert all(f"| `{s}` |" in data_readme for s in TRAINING_SETS)


def test_a_stale_table_is_found(tmp_path, monkeypatch):
    """The check can fail: a README whose peers table lacks an entry is stale."""
    from vfilib.reports import docs

    readme = (ROOT / "README.md").read_text()
    (tmp_path / "README.md").write_text(readme.replace("| `rife_425` |", "| `rife_x` |"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "README.md").write_text((ROOT / "data" / "README.md").read_text())
    monkeypatch.setattr(docs, "repo_path", lambda rel: tmp_path / rel)
    assert docs.stale() == ["README.md"]
    assert docs.update() == ["README.md"] and docs.stale() == []


def test_an_unprepared_set_names_its_prepare_command(tmp_path, monkeypatch, capsys):
    """Issue 27 item 13: --bench live before the live set exists says so and names the command."""
    from vfilib.eval.__main__ import main

    monkeypatch.setenv("VFILIB_LIVE", str(tmp_path / "live"))
    assert main(["--bench", "live", "--peers", "blend", "--out", str(tmp_path / "rows.csv")]) == 1
    err = capsys.readouterr().err
    assert "python -m vfilib.data.prepare live" in err and "not prepared" in err
    assert "SNU-FILM" not in err
    for b in BENCHMARKS.values():
        if b.prepare:
            with pytest.raises(FileNotFoundError, match=re.escape(b.prepare)):
                b.root(tmp_path)


def test_config_names_are_the_variant_registries():
    """Every name a ModelConfig switch accepts builds a variant, and every variant has a config name."""
    from vfilib import config as C
    from vfilib.models.vfi.channel_attention import CHANNEL_ATTENTION
    from vfilib.models.vfi.lgs import BACKBONES
    from vfilib.models.vfi.mamba import MIXERS
    from vfilib.models.vfi.mhc import RESIDUALS
    from vfilib.models.vfi.model import FLOWS
    from vfilib.models.vfi.scan import SCANS

    pairs = [(C.BACKBONE_MODES, BACKBONES), (C.SCAN_MODES, SCANS), (C.RESIDUAL_MODES, RESIDUALS),
             (C.MAMBA_VERSIONS, MIXERS), (C.CHANNEL_ATTENTIONS, CHANNEL_ATTENTION), (C.FLOW_MODES, FLOWS)]
    for names, registry in pairs:
        assert set(names) == set(registry), (names, sorted(registry))
    assert {C.preset("tiny", use_ecab=v).channel_attention for v in (True, False)} == set(C.CHANNEL_ATTENTIONS)


@pytest.mark.parametrize("field,value,present,absent", [
    ("backbone_mode", "mamba2_only", "ssm.mixer", ".attn.qkv"), ("backbone_mode", "gated_attn_only", ".attn.qkv", "ssm."),
    ("mamba_version", 1, "ssm.mixer.x_proj", "ssm.mixer.norm"), ("residual", "mhc_lite", "hc.0.res_logits", None),
    ("flow", "flow_only", "context.levels", "backbone."), ("flow", "image", "flow.block0", "context.")])
def test_each_variant_builds_its_layers(field, value, present, absent):
    """A variant picked by name builds the layers that name stands for (state-dict keys)."""
    from vfilib.config import preset
    from vfilib.models import build_model

    keys = list(build_model(preset("tiny", **{field: value})).state_dict())
    assert any(present in k for k in keys)
    assert absent is None or not any(absent in k for k in keys)
