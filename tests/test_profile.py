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
