"""GPU check: seconds per step and per epoch of wonderland.txt on whatever device JAX sees, for
the tutorial's small model (1 LSTM of 256, batch 128) and bigger one (2 LSTMs of 256, batch
64), each with --targets last and --targets every, next to the tutorial's K520 figures.

For a lent GPU machine with JAX but no TensorFlow, no Keras and no network: keras and the
wheels it needs that JAX does not bring (namex, optree, typing_extensions) lie in .whl/
(ignored by git). From the repository root, in one command:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site && KERAS_BACKEND=jax python3 bench/gpu_check.py --output $OUT/gpu_check.txt

(bench/gpu_check.sh is that line.) A quick try on a CPU with JAX installed:

    KERAS_BACKEND=jax python bench/gpu_check.py --steps 3 --warm-up 2

Each recipe trains --warm-up untimed steps (the first one compiles), then --steps timed ones;
s/epoch is steps per epoch times the measured seconds per step. When the timed steps would
run past the first epoch (--targets every has 12 or 23 steps an epoch), warm-up takes the
whole first epoch, so that the compile for its smaller last batch is not timed. Prints a table
and writes it to --output, if given.
"""

import argparse
import os
import time

from common import ROOT, save_table

os.environ.setdefault("KERAS_BACKEND", "jax")

from charlstm.backend import import_keras  # noqa: E402

keras = import_keras()

import jax  # noqa: E402

from charlstm.backend import set_random_seed, training_data  # noqa: E402
from charlstm.corpus import load_corpus  # noqa: E402
from charlstm.models import Topology, build_model, compile_model  # noqa: E402
from charlstm.windows import WindowBatches, input_table  # noqa: E402

# name: (LSTM layers, batch size, the tutorial's seconds per epoch on a K520 for targets last)
MODELS = {"small": (1, 128, 300), "bigger": (2, 64, 700)}
SEQ_LENGTH = 100


class StepTimer(keras.callbacks.Callback):
    """Times steps warm_up + 1 .. warm_up + steps, then stops training. Overriding
    on_train_batch_end makes Keras turn each step's loss into a float, so every step has
    finished on the device when the clock is read."""

    def __init__(self, warm_up, steps):
        super().__init__()
        self.warm_up, self.steps, self.done = warm_up, steps, 0
        self.began, self.started, self.ended = time.perf_counter(), None, None

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done == self.warm_up:
            self.started = time.perf_counter()
        if self.done == self.warm_up + self.steps:
            self.ended = time.perf_counter()
            self.model.stop_training = True


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50, help="timed steps per recipe")
    parser.add_argument("--warm-up", type=int, default=5, help="untimed steps first (>= 1)")
    parser.add_argument("--output", help="also write the table here (e.g. $OUT/gpu_check.txt)")
    args = parser.parse_args()
    assert args.warm_up >= 1 and args.steps >= 1

    print(f"jax {jax.__version__} devices: {jax.devices()}", flush=True)
    corpus = load_corpus(os.path.join(ROOT, "wonderland.txt"))
    vocabulary, indices = corpus.vocabulary, corpus.indices
    rows = [f"# gpu check on {jax.devices()[0].device_kind} ({jax.default_backend()}), keras "
            f"{keras.__version__} ({keras.backend.backend()}), jax {jax.__version__}; "
            f"{args.steps} steps after warm-up, whole wonderland.txt, seq_length {SEQ_LENGTH}",
            f"{'model':<7} {'targets':<7} {'batch':>5} {'steps/epoch':>11} {'warm-up':>7} "
            f"{'warm-up s':>9} {'ms/step':>8} {'s/epoch':>8} {'K520 s/epoch':>12}"]
    print(rows[-1], flush=True)
    for name, (layers, batch_size, k520) in MODELS.items():
        for targets in ("last", "every"):
            set_random_seed(1)
            topology = Topology(len(vocabulary), len(vocabulary), layers=layers)
            model = compile_model(build_model(topology, SEQ_LENGTH,
                                              every_position=targets == "every"))
            batches = WindowBatches(indices, SEQ_LENGTH, batch_size,
                                    input_table(len(vocabulary)), 1, targets)
            warm_up = args.warm_up
            if warm_up + args.steps > len(batches):
                warm_up = max(warm_up, len(batches))
            timer = StepTimer(warm_up, args.steps)
            epochs = 1 + (warm_up + args.steps) // len(batches)
            data, steps = training_data(batches, epochs)
            model.fit(data, epochs=epochs, steps_per_epoch=steps, shuffle=False, verbose=0,
                      callbacks=[timer])
            per_step = (timer.ended - timer.started) / args.steps
            reference = k520 if targets == "last" else "-"
            rows.append(f"{name:<7} {targets:<7} {batch_size:>5} {len(batches):>11} "
                        f"{warm_up:>7} {timer.started - timer.began:>9.1f} "
                        f"{per_step * 1000:>8.1f} {per_step * len(batches):>8.1f} "
                        f"{reference:>12}")
            print(rows[-1], flush=True)
    save_table("\n".join(rows), args.output)


if __name__ == "__main__":
    main()
