#!/usr/bin/env bash
# On a machine with a CUDA GPU: the tests that need CUDA, then the GPU benchmark (minidl's fit
# against a plain torch loop and the book's recipe, MLP and softmax), in under 3 minutes.
#
#     bash benchmarks/gpu.sh            # from the checkout; writes benchmarks/results/gpu.json
#
# It needs a torch build with CUDA in $PYTHON's environment (the pinned CPU build of `make setup`
# has none): e.g. `pip install torch==2.13.0` (the default CUDA wheel) in a venv of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
if [ -z "${MINIDL_DATA_DIR:-}" ] && [ -d ../shared/data/fashion-mnist ]; then
  export MINIDL_DATA_DIR="$(cd ../shared/data/fashion-mnist && pwd)"
fi
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu.sh: torch sees no CUDA GPU here')"
"$PYTHON" -c "import torch; print('GPU:', torch.cuda.get_device_name(), '| torch', torch.__version__)"
# the CUDA subset: every test that skips without a GPU (the loader on the device, fit on cuda, NCCL)
timeout 90 "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_loader.py::test_data_lives_on_the_device_and_order_matches_cpu \
  tests/test_distributed.py -k "cuda or nccl"
timeout 120 "$PYTHON" benchmarks/bench_gpu.py "$@"
