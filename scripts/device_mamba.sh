#!/usr/bin/env bash
# Make mamba_ssm's Triton kernels (the Mamba2 SSD) importable on a GPU machine in seconds, without
# building its CUDA extension: the Python package goes into /tmp/site and `selective_scan_cuda` (Mamba1's
# compiled scan) is a stand-in that has no functions, so vfilib runs Mamba1 on its reference scan.
# A saved full wheel in .gpu/wheels/ is installed instead when present (Mamba1 then runs official too).
# Needs the sdist in .gpu/ (cp ../shared/gpu/* .gpu/) and carry [".gpu"].
set -euo pipefail
site=/tmp/site
if python3 -c "import sys; sys.path.insert(0, '$site'); import mamba_ssm" 2>/dev/null; then
  echo "[mamba] already in $site"; exit 0
fi
mkdir -p "$site"
if ls .gpu/wheels/mamba_ssm-*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-deps --target "$site" .gpu/wheels/mamba_ssm-*.whl
  echo "[mamba] installed the saved wheel"; exit 0
fi
work=$(mktemp -d)
tar xzf .gpu/mamba_ssm-*.tar.gz -C "$work"
cp -r "$work"/mamba_ssm-*/mamba_ssm "$site"/
cat > "$site/selective_scan_cuda.py" <<'PY'
"""Stand-in for mamba_ssm's compiled Mamba1 scan, which was not built on this machine."""


def __getattr__(name):
    raise AttributeError(f"selective_scan_cuda.{name}: mamba_ssm's CUDA extension is not built here")
PY
python3 -c "import sys; sys.path.insert(0, '$site'); from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined" \
  && echo "[mamba] Triton kernels ready in $site (Mamba1: reference scan)"
