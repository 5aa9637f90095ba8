#!/usr/bin/env bash
# The GPU test suite on the lent GPU (issue 19): every test that needs CUDA, plus the video tool's and
# the robustness suite's files whole. Three pytest processes share the GPU, so the slow cold Triton
# autotuning of mamba_ssm at d_state 128 runs beside the rest instead of before it. Logs land in $OUT.
#   carry [".gpu", ".whl", ".devdata_a"];  LIMIT=480 bash scripts/device_tests.sh
# .whl/ holds the PyAV wheel for Python 3.12 (the device has none):
#   .venv/bin/pip download av==18.1.0 --python-version 3.12 --only-binary=:all: \
#     --platform manylinux_2_28_x86_64 --no-deps -d .whl
set -uo pipefail
source scripts/device_env.sh
LIMIT=${LIMIT:-480}
if ls .whl/av-*.whl >/dev/null 2>&1 && ! python3 -c "import av" 2>/dev/null; then
  python3 -m pip install -q --no-deps --target /tmp/site .whl/av-*.whl
fi
python3 -c "import av; print('PyAV', av.__version__)" || echo "no PyAV: tests/test_interpolate.py will not import"
run() {  # name, pytest args...
  local name=$1; shift
  timeout "$LIMIT" python3 -m pytest -q -s -rs -p no:cacheprovider --durations=15 "$@" >"$OUT/$name.log" 2>&1
  echo "[$name] exit $? : $(tail -1 "$OUT/$name.log")"
}
run parity_d128 tests/test_gpu_parity.py -k "64-128-64" &
run gpu tests/test_gpu_parity.py tests/test_kernels.py -k "not 64-128-64" &
run tool tests/test_interpolate.py tests/test_robustness.py &
wait
nvidia-smi --query-gpu=memory.used --format=csv,noheader
