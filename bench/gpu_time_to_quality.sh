#!/bin/bash
# Time to quality on a lent GPU (JAX; no TensorFlow there, Keras travels in .whl/), counting
# steps at the rates measured on the reference CPU (bench/results/cpu_step_rates.json): each
# recipe trains exactly the steps that CPU trains in 150, 300 and 600 s, for 3 seeds, 12 runs
# at once. It is how the training-control candidates were compared, and how the whole table
# gets its seeds in minutes instead of hours.
#
#     bash bench/gpu_time_to_quality.sh        # OUT defaults to /tmp/ttq-out
#     SMOKE=1 bash bench/gpu_time_to_quality.sh   # a check that it runs (scores ~200 windows)
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/ttq-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_time_to_quality.log") 2>&1
if ls .whl/*.whl >/dev/null 2>&1 && ! python3 -c "import keras" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
date; nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
A="epochs=fill,dropout=0.5,weight_decay=0.1,ema=0.995,lr_schedule=cosine"
RECIPES=${RECIPES:-"tutorial peer fast-old A:$A B:$A,learning_rate=0.004 \
C:$A,batch_size=32,learning_rate=0.004 K:$A,batch_size=64,learning_rate=0.004 \
K2:$A,batch_size=64,learning_rate=0.006 D:$A,units=384 E:$A,layers=3 \
J:$A,batch_size=8,learning_rate=0.0015 G:$A,ema=none"}
timeout "${LIMIT:-470}" python3 bench/time_to_quality.py --recipes "$RECIPES" \
    --seeds "${SEEDS:-1,2,3}" --marks "${MARKS:-150,300,600}" --clock steps \
    --step-rates bench/results/cpu_step_rates.json --jobs "${JOBS:-12}" \
    --json "$OUT/time_to_quality_gpu.json" --output "$OUT/time_to_quality_gpu.txt"
echo "exit $?"; date
