# Source at the start of a command on the lent GPU machine:
#   carry [".gpu", ".devdata"];  source scripts/device_env.sh && python3 -m vfilib.train ...
# .devdata/ (ignored, made here by `python scripts/pack_device_data.py`) holds the prepared live-action
# manifest and lists, the source videos the run needs, and the RIFE HDv3 weights; nothing is downloaded.
# Triton's compiled kernels and autotuning results are kept in .triton/ (carry it to skip both next time).
export PYTHONUNBUFFERED=1
export VFILIB_OFFLINE=1
export VFILIB_LIVE=$PWD/.devdata/live VFILIB_DOWNLOADS=$PWD/.devdata/downloads VFILIB_WEIGHTS=$PWD/.devdata/weights
export TRITON_CACHE_DIR=$PWD/.triton TRITON_CACHE_AUTOTUNING=1
[ -f .devdata/COMMIT ] && export VFILIB_COMMIT=$(cat .devdata/COMMIT)
bash scripts/device_mamba.sh
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
