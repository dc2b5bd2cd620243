#!/bin/bash
# bench/gpu_check.py on a machine with JAX but no Keras and no network: keras and what it needs
# from .whl/ into /tmp/site, then the check; the table goes to $OUT/gpu_check.txt when OUT is
# set. Extra arguments go to gpu_check.py.
#
#     bash bench/gpu_check.sh
#     bash bench/gpu_check.sh --steps 20
set -e
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site
KERAS_BACKEND=jax python3 bench/gpu_check.py ${OUT:+--output "$OUT/gpu_check.txt"} "$@"
