#!/bin/bash
# Check every TensorRT engine against this runtime, then hand over to NVIDIA's entrypoint (which prints
# the banner, sets up CUDA compatibility and execs the command: tritonserver ...).
# The check reads the --model-repository of the command (or $MODEL_REPOSITORY). It runs with its own
# PYTHONPATH so the python backend's environment is left as NVIDIA ships it.
set -euo pipefail
PYTHONPATH=/opt/inferstack python3 -m inferstack.engine.check "$@"
exec /opt/nvidia/nvidia_entrypoint.sh "$@"
