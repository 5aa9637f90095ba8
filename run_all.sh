#!/usr/bin/env bash
# The whole workbook: ./run_all.sh [cpu|gpu|full]   (default cpu: tiny preset, short runs, embedded data)
#   1. sets up .venv if missing (./setup.sh, idempotent)
#   2. prepares the embedded data (gpu: also the Big Buck Bunny film) and the RIFE HDv3 peer weights
#   3. runs notebooks/01..08 in order with papermill; executed copies go to runs/notebooks/
#   4. collects results/: *.csv, tables/*.tex, figures/*.png|pdf, INDEX.md
# A failure names the notebook and the cell; results written before it stay; a re-run resumes
# (finished ablation runs are skipped).
set -euo pipefail
cd "$(dirname "$0")"
profile="${1:-cpu}"
start=$(date +%s)
./setup.sh
py=.venv/bin/python
"$py" -m vfilib.workbook prepare --profile "$profile"
"$py" -m vfilib.workbook run --profile "$profile"
echo "[run_all] profile $profile finished in $(( $(date +%s) - start )) s; see results/INDEX.md"
