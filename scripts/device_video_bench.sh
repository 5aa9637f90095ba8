#!/usr/bin/env bash
# The video tool's benchmark on the lent GPU (issue 18): `vfilib interpolate` x2 of the 1080p Big Buck
# Bunny clip, the shipped vfilib model beside RIFE HDv3, output frames/s and time to the first
# interpolated frame with a cold and a warm compile cache (`python -m vfilib.bench video`).
#
# The device has no PyAV, and one call carries at most 64 MiB: the shipped weights (36 MB, tracked),
# the PyAV wheel (36 MB), the RIFE weights (12 MB) and the clip (23 MB) do not fit together. So the
# wheel and RIFE's weights go in an earlier call (scripts/device_tests.sh, weights/vfilib.pt moved out of
# the tree), and this call, back to back while the machine is warm, carries a 20 s stream-copied excerpt:
#   here:   python scripts/pack_device_data.py --out .devdata_v --clip bbb_1080p --seconds 20
#   run:    VFILIB_COMMIT=<sha> bash scripts/device_video_bench.sh        carry [".gpu", ".devdata_v"]
set -uo pipefail
source scripts/device_env.sh
if ls .whl/av-*.whl >/dev/null 2>&1 && ! python3 -c "import av" 2>/dev/null; then
  python3 -m pip install -q --no-deps --target /tmp/site .whl/av-*.whl
fi
python3 -c "import av" || { echo "no PyAV on this machine: carry .whl (see scripts/device_tests.sh)"; exit 1; }
clip=$(ls .devstore/downloads/bbb_1080p_first*.mp4 2>/dev/null | head -1)
src=(--source bbb_1080p); [ -n "$clip" ] && src=(--clip "$clip")
for flags in "--amp bf16" "--amp bf16 --graph"; do
  python3 -m vfilib.bench video "${src[@]}" --models ${MODELS:-vfilib rife_hdv3} --out "$OUT/video_speed.csv" \
    --extra $flags ${EXTRA:-}
done
