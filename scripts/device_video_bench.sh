#!/usr/bin/env bash
# The video tool's benchmark on the lent GPU (issue 18): `vfilib interpolate` x2 of the 1080p Big Buck
# Bunny clip, the shipped vfilib model beside RIFE HDv3, output frames/s and time to the first
# interpolated frame with a cold and a warm compile cache (`python -m vfilib.bench video`).
#
# The device has no PyAV and a call carries at most 64 MiB, which the shipped weights (36 MB), the
# PyAV wheel (36 MB) and the clip (23 MB) exceed together. So two calls back to back (within 30 s,
# while /tmp/site and .devdata stay on the warm machine):
#   here:   .venv/bin/pip download av==18.1.0 --python-version 3.12 --only-binary=:all: \
#             --platform manylinux_2_28_x86_64 --no-deps -d .whl
#           python scripts/pack_device_data.py --sources bbb_1080p --no_weights
#           mv weights/vfilib.pt /tmp/ ; run: STAGE=install bash scripts/device_video_bench.sh
#             carry [".gpu", ".whl", ".devdata"] ; then mv /tmp/vfilib.pt weights/
#   then:   run: bash scripts/device_video_bench.sh   carry [".gpu"]
set -uo pipefail
source scripts/device_env.sh
if [ "${STAGE:-bench}" = install ]; then
  python3 -m pip install -q --no-deps --target /tmp/site .whl/av-*.whl && python3 -c "import av; print('av', av.__version__)"
  exit $?
fi
python3 -c "import av" || { echo "no PyAV on this machine: run the install stage first"; exit 1; }
python3 -m vfilib.bench video --source bbb_1080p --models ${MODELS:-rife_hdv3 vfilib} --out "$OUT/video_speed.csv" \
  --extra --amp bf16 ${EXTRA:-}
