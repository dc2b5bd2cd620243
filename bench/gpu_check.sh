#!/bin/bash
# The GPU check, for a lent GPU machine with JAX and PyTorch but no TensorFlow, no Keras and no
# network (keras, namex and optree travel as wheels in .whl/, ignored by git). Within about
# 8 minutes, each part cut off by its own time limit so that the others still run:
#   1. bench/gpu_check.py under JAX, then PyTorch: training and generation speed;
#   2. agreement: train.py --preset fast (8 epochs) on the GPU under each backend, then
#      generate.py's greedy 1,000 characters from each checkpoint on the GPU and the CPU, under
#      both backends; bench/greedy_agreement.py counts the characters that agree.
# Results: $OUT/gpu_check.txt (tables), $OUT/gpu_check.log, $OUT/gpu_check-files.tar.gz
# (checkpoints, history.csv files, texts: compare them under TensorFlow at home).
#
#     bash bench/gpu_check.sh                 # OUT defaults to /tmp/gpu_check-out
#     SMOKE=1 bash bench/gpu_check.sh         # a few steps, on a CPU with jax and torch
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check-out}
WORK=/tmp/gpu_check
rm -rf "$WORK" && mkdir -p "$WORK/texts" "$OUT"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1 && ! python3 -c "import keras" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
SPEED=()
EPOCHS=8
if [ -n "${SMOKE:-}" ]; then SPEED=(--smoke); EPOCHS=1; fi
date; nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"

for backend in jax torch; do
    echo "=== speed, $backend"
    limit=${SPEED_LIMIT:-130}
    [ $backend = torch ] && limit=${SPEED_LIMIT:-110}
    KERAS_BACKEND=$backend timeout "$limit" python3 bench/gpu_check.py \
        --output "$WORK/speed-$backend.txt" "${SPEED[@]}" 2>&1 | grep -v "━"
done

for backend in jax torch; do
    echo "=== agreement: train on the GPU, $backend"
    KERAS_BACKEND=$backend timeout "${TRAIN_LIMIT:-60}" python3 train.py --preset fast \
        --epochs $EPOCHS --seed 1 --checkpoint-dir "$WORK/$backend-fast" 2>&1 | grep -v "━"
done

# generate CHECKPOINT RUNNER [generate.py flags]: greedy text to texts/CHECKPOINT__RUNNER.txt
generate() {
    local checkpoint=$1 runner=$2
    shift 2
    timeout "${GENERATE_LIMIT:-110}" python3 generate.py --checkpoint-dir "$WORK/$checkpoint" \
        --seed 1 --raw "$@" > "$WORK/texts/${checkpoint}__$runner.txt" 2> "$WORK/$checkpoint-$runner.err"
    echo "generate $checkpoint on $runner: exit $? ($(tail -1 "$WORK/$checkpoint-$runner.err"))"
}
echo "=== agreement: generate"
# The CPU runs go on beside the GPU ones (their own processes; the machine has cores to spare).
on_cpu=()
for checkpoint in jax-fast torch-fast; do
    JAX_PLATFORMS=cpu KERAS_BACKEND=jax GENERATE_LIMIT=160 generate $checkpoint jax-cpu-window &
    on_cpu+=($!)
    CUDA_VISIBLE_DEVICES= KERAS_BACKEND=torch GENERATE_LIMIT=160 generate $checkpoint torch-cpu-window &
    on_cpu+=($!)
done
for checkpoint in jax-fast torch-fast; do
    KERAS_BACKEND=jax generate $checkpoint jax-gpu-window
    KERAS_BACKEND=torch generate $checkpoint torch-gpu-window
done
KERAS_BACKEND=jax generate jax-fast jax-gpu-stateful --stateful
wait "${on_cpu[@]}"  # not a bare wait: that would also wait for the log's tee, for ever
python3 bench/greedy_agreement.py "$WORK/texts" --output "$WORK/agreement.txt"

# Only each run's best checkpoint travels back (the newest: best-only saving).
for checkpoint in jax-fast torch-fast; do
    ls -t "$WORK/$checkpoint"/*.hdf5 2>/dev/null | tail -n +2 | xargs -r rm
done
cat "$WORK"/speed-*.txt "$WORK/agreement.txt" > "$OUT/gpu_check.txt" 2>/dev/null
tar -czf "$OUT/gpu_check-files.tar.gz" -C "$WORK" --exclude='*.err' .
date
