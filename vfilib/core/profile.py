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
