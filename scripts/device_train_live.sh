#!/usr/bin/env bash
# One device call of the live-action training (issue 17). On a warm machine that still holds
# runs/$EXP/last.pt it resumes exactly; otherwise it starts from $INIT (default: RIFE HDv3's flow,
# fresh backbone). What comes back in $OUT: the log, metrics and summary, the fp16 weights of best.pt
# (split in 15 MB parts). Triton's cache (over 100 MB) stays on the machine: chain calls within 30 s.
#   carry [".gpu", ".devdata"];  VFILIB_COMMIT=<sha> EXP=live_small LIMIT=420 bash scripts/device_train_live.sh
# Fine-tuning the shipped model (session 3): an earlier call of the chain copies weights/vfilib.pt to
# runs/init.pt (kept while warm), this one runs with the tracked weights moved out (the 64 MiB limit):
#   EXP=live_c INIT=runs/init.pt STEPS=1600 EXTRA="--lr 3e-5 --min_lr 1e-5 --warmup_steps 50 ..." 
# The N-frame comparison (issue 29): the same chain twice from runs/init.pt, the same steps (the frame bank
# draws the same triplets for both), the 4-frame arm adding its context mixer (gate zero: it starts as the 2-frame model):
#   X="--lr 5e-5 --min_lr 1e-5 --warmup_steps 50 --val_every 200 --reference="    (no RIFE gate on best.pt: one rule for both)
#   EXP=live_n2 INIT=runs/init.pt STEPS=600 EXTRA="$X";  EXP=live_n4 INIT=runs/init.pt STEPS=600 EXTRA="$X --context_frames 4"
set -uo pipefail
source scripts/device_env.sh
EXP=${EXP:-live_small}
LIMIT=${LIMIT:-420}
args=(--preset small --flow feature --data live --exp_name "$EXP" --crop 256 --window 9 --batch_size 32
      --amp bf16 --lr 2e-4 --min_lr 2e-5 --flow_lr_scale 0.25 --warmup_steps 300 --max_steps "${STEPS:-6000}"
      --ema_decay 0.999 --val_every 500 --ckpt_every 250 --val_samples 24 --perceptual_weight 0
      --reference rife_hdv3 --time_limit "$LIMIT" --num_workers 0 --no-progress ${EXTRA:-})
if [ -f "runs/$EXP/last.pt" ]; then args+=(--resume "runs/$EXP/last.pt"); elif [ -n "${INIT:-}" ]; then args+=(--resume "$INIT"); fi
python3 -m vfilib.train "${args[@]}" 2>&1 | tee "$OUT/train.log"
status=${PIPESTATUS[0]}
cp "runs/$EXP/metrics.csv" "runs/$EXP/summary.json" "runs/$EXP/reference.json" "$OUT/" 2>/dev/null
if [ -f "runs/$EXP/best.pt" ]; then
  python3 -c "from vfilib.models.weights.checkpoint import export_weights as e; print(e('runs/$EXP/best.pt', '/tmp/best_fp16.pt', card_path='$OUT/card_raw.json')['bytes'])"
  split -b 15M /tmp/best_fp16.pt "$OUT/best_fp16.pt.part-"
fi
exit $status
