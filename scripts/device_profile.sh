#!/usr/bin/env bash
# Where the H200's time goes (issues 30, 31), in one device call on random data (no pack needed):
#   1. the live-action training step (small + feature flow, batch 32, crop 256, bf16): stages, GPU idle,
#      top kernels, host syncs; and the Phase-1 step (no flow) the ablation grids train;
#   2. N Phase-1 training processes at once on the one GPU (N = 1, 2, 4, 8): total samples/s;
#   3. one 1080p inference call of the small + flow model: time per model part and top kernels;
#   4. the training step under torch.compile (if it compiles within its limit).
# Logs and result rows come back in $OUT.
#   mkdir -p .gpu && cp ../shared/gpu/* .gpu/;  carry [".gpu"]
#   VFILIB_COMMIT=$(git rev-parse --short HEAD) bash scripts/device_profile.sh
set -uo pipefail
source scripts/device_env.sh
part() {  # seconds, log name, command...
  local limit=$1 name=$2; shift 2
  echo "=== $name ($(date +%T), limit ${limit} s)"
  timeout "$limit" "$@" 2>&1 | grep -v -e "^USDT" -e "SyncActivityProfilerHandler" | tee "$OUT/$name.log"
  echo "=== $name: exit ${PIPESTATUS[0]}"
}
T="python3 -m vfilib.bench train --dtype bf16 --crop 256 --out $OUT/train_speed.csv"
part 200 train_feature $T --preset small --flow feature --batch 32 --profile --iters 20
part 70 train_phase1 $T --preset small --flow off --batch 32 --profile --iters 20
part 150 rows python3 -m vfilib.bench rows --n 1 2 4 8 --seconds 12 --out "$OUT/train_rows.csv" -- \
  --preset small --flow off --batch 16 --crop 256 --dtype bf16 --warmup 3
part 50 infer_modules python3 -m vfilib.bench profile --preset small --flow feature --res 1080p --dtype bf16 --by module
part 30 infer_kernels python3 -m vfilib.bench profile --preset small --flow feature --res 1080p --dtype bf16 --top 30
part 70 train_compiled $T --preset small --flow feature --batch 32 --compile --iters 20
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv,noheader
