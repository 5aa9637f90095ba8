#!/usr/bin/env bash
# One call of an ablation notebook's grids on the lent GPU (issue 30): the rows still to do, ROWS_PER_GPU at
# once, for at most LIMIT seconds (rows still running then save last.pt and stop; the next call on the
# same warm machine resumes them exactly, and rows merged here before are skipped on a fresh one). What
# comes back in $OUT: grid.tar.gz (the rows' result and per-triplet test scores, metrics, logs, status,
# bundle.json) and grid.log. Merge it here:  python -m vfilib.grid merge <files_at>/grid.tar.gz
#   carry [".gpu", ".devdata"];  VFILIB_COMMIT=<sha> NOTEBOOK=03_phase1_ablations LIMIT=420 bash scripts/device_grid.sh
# .devdata: python scripts/pack_device_data.py --test 16 --test_crop 256  (the live set's training videos and
# the grid's test triplets; --test and --test_crop as the profile's settings say).
# Optional: PROFILE (h200), ROWS_PER_GPU (overrides the profile's), EXTRA (more arguments, e.g.
# '--set seeds=1 --set experiments=["exp1c"]' to measure throughput), OUTNAME (grid.tar.gz).
# LIMIT + about 60 s of grace for the last checkpoints + start-up must stay under the call's 600 s.
set -uo pipefail
source scripts/device_env.sh
NOTEBOOK=${NOTEBOOK:-03_phase1_ablations}
PROFILE=${PROFILE:-h200}
LIMIT=${LIMIT:-420}
args=(run "$NOTEBOOK" --profile "$PROFILE" --time_limit "$LIMIT" --bundle "$OUT/${OUTNAME:-grid.tar.gz}"
      --include "$OUT/grid.log")
[ -n "${ROWS_PER_GPU:-}" ] && args+=(--set "rows_per_gpu=$ROWS_PER_GPU")
# shellcheck disable=SC2206
args+=(${EXTRA:-})
python3 -m vfilib.grid "${args[@]}" 2>&1 | tee "$OUT/grid.log"
status=${PIPESTATUS[0]}
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader
echo "[device_grid] exit $status (0: grid complete, 3: rows left for the next call, 1: a row failed)"
exit "$status"
