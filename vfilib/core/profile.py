"""Which workbook profile a process runs under, and whether its numbers are SMOKE.

The profiles are data (``notebooks/profiles.toml``). The workbook runner (and a notebook run by hand,
through its profile cell) sets ``VFILIB_PROFILE`` for the process; result rows and figures carry it,
so a cpu-profile table or picture says what it is wherever it ends up.
"""
from __future__ import annotations

import os
import tomllib
from functools import lru_cache

from .paths import REPO_ROOT

PROFILES_FILE = REPO_ROOT / "notebooks" / "profiles.toml"
ENV = "VFILIB_PROFILE"


@lru_cache(maxsize=1)
def profiles() -> dict:
    """Every profile's table: ``{"cpu": {"smoke": True, "cell_timeout": 900, "03_phase1_ablations": {...}}, ...}``."""
    with open(PROFILES_FILE, "rb") as f:
        return tomllib.load(f)


def current() -> str:
    """The profile this process runs under ("" outside the workbook and the notebooks)."""
    return os.environ.get(ENV, "")


def is_smoke(profile: str | None = None) -> bool:
    """True when ``profile`` (default: the current one) makes SMOKE numbers (its runs prove the code runs)."""
    name = current() if profile is None else profile
    return bool(profiles().get(name, {}).get("smoke", False))


def label(profile: str | None = None) -> str:
    """How rows and figures name a profile (default: the current one): "cpu (SMOKE)", "gpu", or "none"
    outside the workbook and the notebooks."""
    name = current() if profile is None else profile
    return (name + (" (SMOKE)" if is_smoke(name) else "")) if name else "none"


def resolve(name: str) -> str:
    """A profile name; ``auto`` is ``gpu`` on a machine with a CUDA GPU, else ``cpu``."""
    if name == "auto":
        import torch

        name = "gpu" if torch.cuda.is_available() else "cpu"
    if name not in profiles():
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(profiles())} or 'auto' "
                         f"(see {PROFILES_FILE})")
    return name


def use_profile(ns: dict, notebook: str, quiet: bool = False) -> dict:
    """Fill a notebook's parameters that are ``None`` with its profile's values, exactly as the
    workbook runner passes them; parameters already set (by papermill, or by hand) win.

    ``ns``: the notebook's globals, holding ``profile`` (cpu | gpu | full | auto). Sets the process's
    profile (rows and figures carry it) and returns ``{name: (value, "profile" | "set")}``."""
    name = resolve(ns.get("profile") or "auto")
    ns["profile"] = name
    os.environ[ENV] = name
    table = profiles()[name].get(notebook, {})
    report = {}
    for key, value in table.items():
        if key in ns and ns[key] is None:
            ns[key] = value
            report[key] = (value, "profile")
        elif key in ns:
            report[key] = (ns[key], "set")
    if "smoke" in ns and ns["smoke"] is None:
        ns["smoke"] = is_smoke(name)
    if not quiet:
        given = ", ".join(f"{k}={v!r}" for k, (v, how) in report.items() if how == "set")
        print(f"[profile] {notebook}: profile {name}" + (" (SMOKE)" if is_smoke(name) else "")
              + f"; {sum(how == 'profile' for _, how in report.values())} parameter(s) from notebooks/profiles.toml"
              + (f"; set here: {given}" if given else ""))
    return report
