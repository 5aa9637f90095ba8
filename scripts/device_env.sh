# Source at the start of a command on the lent GPU machine:
#   carry [".gpu", ".devdata"];  VFILIB_COMMIT=<sha> source scripts/device_env.sh && python3 -m vfilib.train ...
# The device's copy of the tree has no .git, so the code's commit for result rows comes from the command:
# write `VFILIB_COMMIT=$(git rev-parse --short HEAD)` expanded here (add +dirty if the tree is) in front of
# the script. A pack's COMMIT says when the pack was made, not which code runs: it is not used for rows.
# Packs made here by `python scripts/pack_device_data.py` (.devdata, .devdata_a, ...: git-ignored) are
# merged into .devstore/, which stays on the machine while it is warm: calls back to back can each carry
# a different pack (the 64 MiB limit) and the last one sees them all. It holds the prepared live-action
# manifest and lists, the source videos, the RIFE HDv3 weights; nothing is downloaded.
# Triton's compiled kernels and autotuning results are kept in .triton/ (also kept while warm).
export PYTHONUNBUFFERED=1
export VFILIB_OFFLINE=1
mkdir -p .devstore
for pack in .devdata*/; do
  [ -d "$pack" ] && cp -r "$pack". .devstore/ && echo "[devstore] merged $pack (packed at $(cat "$pack/COMMIT" 2>/dev/null))"
done
export VFILIB_LIVE=$PWD/.devstore/live VFILIB_DOWNLOADS=$PWD/.devstore/downloads VFILIB_WEIGHTS=$PWD/.devstore/weights
if [ -z "${VFILIB_COMMIT:-}" ]; then
  export VFILIB_COMMIT=unknown
  echo "[device_env] VFILIB_COMMIT not given: result rows will say commit 'unknown' (see the top of this file)"
fi
echo "[device_env] code commit for result rows: $VFILIB_COMMIT"
export TRITON_CACHE_DIR=$PWD/.triton TRITON_CACHE_AUTOTUNING=1
bash scripts/device_mamba.sh
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
