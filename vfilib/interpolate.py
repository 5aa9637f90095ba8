"""``python -m vfilib.interpolate``: the video tool's command (the code is the :mod:`vfilib.tool` package)."""
from __future__ import annotations

from .tool import interpolate_file, main

__all__ = ["interpolate_file", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
