#!/usr/bin/env bash
# The test command: set up the environment if needed, then run the whole suite (CUDA tests skip on CPU).
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
exec .venv/bin/python -m pytest -q "$@"
