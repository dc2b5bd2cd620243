"""Training speed on this machine: the tutorial's own fit against train.py's training step and
each attempt to make it faster, measured in one run, interleaved.

"tutorial fit" is the tutorial's script ported to Keras 3 (TensorFlow): its X of shape
(patterns, 100, 1) scaled by the vocabulary size and its one-hot y, both in memory, the same
Sequential model, categorical cross-entropy, Adam, model.fit(X, y, batch_size=128).
"train.py" is train.py's own preparation (charlstm.training.run.prepare): the same model and batch,
windows gathered on the fly, sparse targets. The attempts keep the model numerically the same
(the same equations and weights; only rounding may differ): XLA (jit_compile=True), an
unrolled LSTM (unroll=True: 100 copies of the step instead of a loop), both together, and the
JAX and PyTorch backends.

Each variant runs in its own process (the backend is fixed when Keras is imported), trains
--warm-up untimed steps, then --steps timed ones; the variants take turns, --rounds times, so
that a noisy neighbour slows them all alike. ms/step is the median over rounds; the ratio is
the tutorial's median over the variant's (above 1: faster than the tutorial).

    python bench/training_speed.py                      # small model, 3 rounds (~15 minutes)
    python bench/training_speed.py --model bigger --rounds 2

Prints a table and writes it to bench/results/training_speed.txt.
"""

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from common import ROOT, save_table

# name: (backend, how)
VARIANTS = {
    "tutorial fit": ("tensorflow", "tutorial"),
    "train.py": ("tensorflow", "ours"),
    "train.py + XLA": ("tensorflow", "xla"),
    "train.py unrolled": ("tensorflow", "unroll"),
    "train.py on JAX": ("jax", "ours"),
    "train.py on PyTorch": ("torch", "ours"),
    "train.py unrolled + XLA": ("tensorflow", "unroll-xla"),
}
MODELS = {"small": [], "bigger": ["--bigger"]}


def child(args):
    """Time one variant in this process; print {"ms_per_step": ...} as the last line."""
    sys.path.insert(0, ROOT)
    from charlstm.system.backend import import_keras
    from charlstm.training.run import set_random_seed

    keras = import_keras()
    import numpy as np

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.done, self.started, self.ended = 0, None, None

        def on_train_batch_end(self, batch, logs=None):
            self.done += 1
            if self.done == args.warm_up:
                self.started = time.perf_counter()
            if self.done == args.warm_up + args.steps:
                self.ended = time.perf_counter()
                self.model.stop_training = True

    timer = Timer()
    if args.how == "tutorial":
        from charlstm.text.corpus import load_corpus

        corpus = load_corpus(os.path.join(ROOT, "wonderland.txt"))
        indices, n_vocab = corpus.indices, len(corpus.vocabulary)
        n_patterns = len(indices) - 100
        windows = np.lib.stride_tricks.sliding_window_view(indices[:-1], 100)[:n_patterns]
        X = np.reshape(windows, (n_patterns, 100, 1)) / float(n_vocab)
        y = keras.utils.to_categorical(indices[100:], n_vocab)
        set_random_seed(1)
        layers = [keras.Input((100, 1))]
        if args.model == "bigger":
            layers += [keras.layers.LSTM(256, return_sequences=True), keras.layers.Dropout(0.2)]
        layers += [keras.layers.LSTM(256), keras.layers.Dropout(0.2),
                   keras.layers.Dense(n_vocab, activation="softmax")]
        model = keras.Sequential(layers)
        model.compile(loss="categorical_crossentropy", optimizer="adam")
        model.fit(X, y, epochs=1, batch_size=64 if args.model == "bigger" else 128, verbose=0,
                  callbacks=[timer])
    else:
        from charlstm.config import resolve
        from charlstm.model.models import build_model, compile_model
        from charlstm.training.run import prepare
        from charlstm.text.feeding import training_data

        settings = resolve({"seed": 1, "dry_run": True, "bigger": args.model == "bigger"})
        run = prepare(settings, verbose=0)
        model = run.model
        data, steps = training_data(run.batches, 1)
        if args.how == "xla":
            model.compile(optimizer=model.optimizer, loss=model.loss, jit_compile=True)
        if args.how in ("unroll", "unroll-xla"):
            import tensorflow as tf

            model = compile_model(build_model(run.topology, 100, unroll=True))
            if args.how == "unroll-xla":
                model.compile(optimizer=model.optimizer, loss=model.loss, jit_compile=True)
            width = run.batches.input_width
            data = data.map(lambda inputs, targets: (tf.ensure_shape(inputs, [None, 100, width]),
                                                     targets))
        model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer])
    print(json.dumps({"ms_per_step": (timer.ended - timer.started) / args.steps * 1000}))


def cpu_name():
    """The processor's model name (Linux), so that figures say which machine gave them."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def measure(name, args):
    backend, how = VARIANTS[name]
    command = [sys.executable, os.path.abspath(__file__), "--child", how, "--model", args.model,
               "--steps", str(args.steps), "--warm-up", str(args.warm_up)]
    environment = dict(os.environ, KERAS_BACKEND=backend)
    result = subprocess.run(command, env=environment, capture_output=True, text=True,
                            timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{name}: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["ms_per_step"]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(MODELS), default="small")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per turn")
    parser.add_argument("--warm-up", type=int, default=5, help="untimed steps first")
    parser.add_argument("--rounds", type=int, default=3, help="turns each variant takes")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated subset of: " + ", ".join(VARIANTS))
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results",
                                                         "training_speed.txt"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.how = args.child
        return child(args)

    names = [name for name in args.variants.split(",") if name]
    assert names[0] == "tutorial fit" and all(name in VARIANTS for name in names), names
    missing = [name for name in names if importlib.util.find_spec(VARIANTS[name][0]) is None]
    names = [name for name in names if name not in missing]
    times = {name: [] for name in names}
    for round_number in range(args.rounds):
        for name in names:
            times[name].append(measure(name, args))
            print(f"round {round_number + 1}: {name} {times[name][-1]:.1f} ms/step", flush=True)
    reference = statistics.median(times["tutorial fit"])
    steps_per_epoch = -(-(144342 - 100) // (64 if args.model == "bigger" else 128))
    rows = [f"# training speed, {args.model} model: {platform.machine()}, {os.cpu_count()} CPUs "
            f"({cpu_name()}); {args.rounds} interleaved rounds of "
            f"{args.steps} steps after {args.warm_up}; ratio = tutorial fit / variant",
            f"{'variant':<26} {'ms/step (each round)':<28} {'median':>8} {'s/epoch':>8} "
            f"{'ratio':>6}"]
    for name in names:
        median = statistics.median(times[name])
        each = " ".join(f"{value:.0f}" for value in times[name])
        rows.append(f"{name:<26} {each:<28} {median:>8.1f} "
                    f"{median * steps_per_epoch / 1000:>8.1f} {reference / median:>6.2f}")
    for name in missing:
        rows.append(f"{name:<26} (not measured: {VARIANTS[name][0]} is not installed)")
    save_table("\n".join(rows), args.output)


if __name__ == "__main__":
    main()
