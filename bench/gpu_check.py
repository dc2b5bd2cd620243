"""GPU check, one Keras backend per process (KERAS_BACKEND): training speed of the tutorial's
small and bigger models and of --preset fast, each with and without --mixed-precision, and
generation speed (window and stateful decoding, 1 and 256 samples), on whatever device the
backend sees. bench/gpu_check.sh runs it for JAX and PyTorch on a lent GPU machine, then the
cross-device agreement check (a GPU-trained checkpoint's greedy text on the GPU and the CPU).

Every model is built and fed exactly as train.py builds and feeds it (train.parse_args and
charlstm.training.run.prepare), so the figures are train.py's own.

    KERAS_BACKEND=jax python bench/gpu_check.py --smoke          # a few steps, on a CPU too
    KERAS_BACKEND=torch python bench/gpu_check.py --output /tmp/gpu_check-torch.txt

Training: each recipe trains --warm-up untimed steps (the first compiles), then --steps timed
ones; s/epoch is steps per epoch times the measured seconds per step ("extrapolated"), except
for recipes whose epoch is no longer than --steps, which warm up a whole epoch (so that the
compile for its smaller last batch is not timed) and time the next one ("full epoch").
"lstm" says which implementation Keras' LSTM layer ran: cuDNN, or the generic loop.
The table is rewritten after every row, so a run cut short keeps what it measured.
"""

import argparse
import os
import platform
import tempfile
import time

from common import ROOT

TEXT = os.path.join(ROOT, "wonderland.txt")

# name: train.py flags. The tutorial's K520 figures are in the README (300 s and 700 s).
RECIPES = {
    "small": [],
    "bigger": ["--bigger"],
    "fast": ["--preset", "fast"],
}


def device_description(keras):
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"jax {jax.__version__}, {device.platform}: {device.device_kind}"
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return (f"torch {torch.__version__}, cuda: {torch.cuda.get_device_name(0)}, "
                    f"cuDNN {torch.backends.cudnn.version()}")
        return f"torch {torch.__version__}, cpu"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"tensorflow {tf.__version__}, {'gpu' if gpus else 'cpu'}"


class LstmPathRecorder:
    """Counts the LSTM calls that ran cuDNN and those that did not. keras.src.backend.lstm
    raises NotImplementedError when it cannot take its fused path, and the layer then runs
    Keras' generic loop ("loop"); on PyTorch it also falls back silently from cuDNN to a loop
    of its own ("torch loop"), so its two inner functions are counted there."""

    def __init__(self, keras):
        import keras.src.backend as keras_backend

        self.counts = {}
        original = keras_backend.lstm

        def recording(*args, **kwargs):
            try:
                result = original(*args, **kwargs)
            except NotImplementedError:
                self._count("loop")
                raise
            if keras.backend.backend() != "torch":
                self._count("cuDNN")
            return result

        keras_backend.lstm = recording
        if keras.backend.backend() == "torch":
            import importlib

            # The module: the package's own name "rnn" is a function of that module.
            rnn = importlib.import_module("keras.src.backend.torch.rnn")

            for name, label in (("_cudnn_lstm", "cuDNN"), ("_fallback_lstm", "torch loop")):
                setattr(rnn, name, self._counted(getattr(rnn, name), label))

    def _count(self, label):
        self.counts[label] = self.counts.get(label, 0) + 1

    def _counted(self, function, label):
        def counted(*args, **kwargs):
            result = function(*args, **kwargs)
            self._count(label)
            return result

        return counted

    def reset(self):
        self.counts = {}

    def describe(self):
        if len(self.counts) == 1:
            return next(iter(self.counts))
        return "/".join(f"{label} {count}" for label, count in sorted(self.counts.items()))


def make_step_timer(keras):
    class StepTimer(keras.callbacks.Callback):
        """Times steps warm_up + 1 .. warm_up + steps, then stops training. Overriding
        on_train_batch_end makes Keras turn each step's loss into a float, as train.py's
        progress bar does, so every step has finished on the device when the clock is read."""

        def __init__(self, warm_up, steps):
            super().__init__()
            self.warm_up, self.steps, self.done = warm_up, steps, 0
            self.began, self.started, self.ended, self.loss = time.perf_counter(), None, None, None

        def on_train_batch_end(self, batch, logs=None):
            self.done += 1
            if self.done == self.warm_up:
                self.started = time.perf_counter()
            if self.done == self.warm_up + self.steps:
                self.ended = time.perf_counter()
                self.loss = float((logs or {}).get("loss", float("nan")))
                self.model.stop_training = True

    return StepTimer


def time_training(keras, name, flags, mixed, args, recorder, workdir):
    from train import parse_args

    from charlstm.text.feeding import training_data
    from charlstm.training.run import prepare

    argv = ["--text", TEXT, "--seed", "1", "--checkpoint-dir", workdir, *flags]
    if mixed:
        argv.append("--mixed-precision")
    run = prepare(parse_args(argv))
    per_epoch = len(run.batches)
    warm_up, how = args.warm_up, "extrapolated"
    if per_epoch <= args.steps:
        warm_up, steps, how = per_epoch, per_epoch, "full epoch"
    else:
        steps = args.steps
    recorder.reset()
    timer = make_step_timer(keras)(warm_up, steps)
    epochs = 1 + (warm_up + steps) // per_epoch
    data, steps_per_epoch = training_data(run.batches, epochs)
    run.model.fit(data, epochs=epochs, steps_per_epoch=steps_per_epoch, shuffle=False,
                  verbose=0, callbacks=[timer])
    per_step = (timer.ended - timer.started) / steps
    return (f"{name:<7} {'on' if mixed else 'off':<5} {run.batches.batch_size:>5} "
            f"{per_epoch:>6} {warm_up:>7} {timer.started - timer.began:>8.1f} {steps:>5} "
            f"{per_step * 1000:>8.2f} {per_step * per_epoch:>8.2f} {how:<12} "
            f"{recorder.describe():<10} {timer.loss:>7.4f}")


def time_generation(keras, args):
    import numpy as np

    from charlstm.text.corpus import load_corpus
    from charlstm.generation.decoders import StatefulDecoder, WindowDecoder
    from charlstm.model.models import Topology, build_model
    from charlstm.generation.sampling import generate_indices

    corpus = load_corpus(TEXT)
    vocabulary, seed_text = corpus.vocabulary, corpus.indices
    rng = np.random.default_rng(0)
    rows = []
    for name, layers in (("small", 1), ("bigger", 2)):
        keras.utils.set_random_seed(1)
        topology = Topology(len(vocabulary), len(vocabulary), layers=layers)
        model = build_model(topology)
        for decoding in ("window", "stateful"):
            started = time.perf_counter()
            decoder = (WindowDecoder(model, topology, 100) if decoding == "window"
                       else StatefulDecoder(model, topology))
            for samples, length in ((1, args.generate_length), (256, args.batch_length)):
                starts = rng.integers(0, len(seed_text) - 100, size=samples)
                primes = np.stack([seed_text[start : start + 100] for start in starts])
                list(generate_indices(decoder, primes, 2))  # trace and compile first
                first = time.perf_counter() - started
                began = time.perf_counter()
                for _ in generate_indices(decoder, primes, length):
                    pass
                rate = samples * length / (time.perf_counter() - began)
                rows.append(f"{name:<7} {decoding:<9} {samples:>7} {length:>6} "
                            f"{first:>9.1f} {rate:>10.0f}")
                yield rows[-1]
                started = time.perf_counter()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200,
                        help="timed training steps per recipe (a whole epoch if it is shorter)")
    parser.add_argument("--warm-up", type=int, default=10, help="untimed steps first (>= 1)")
    parser.add_argument("--generate-length", type=int, default=500,
                        help="characters timed for one sample")
    parser.add_argument("--batch-length", type=int, default=100,
                        help="steps timed for 256 samples")
    parser.add_argument("--smoke", action="store_true",
                        help="a quick try on any machine: 3 steps, short generation")
    parser.add_argument("--parts", default="training,generation",
                        help="comma-separated: training, generation")
    parser.add_argument("--output", help="also write the table here")
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.warm_up, args.generate_length, args.batch_length = 3, 2, 20, 5
    assert args.warm_up >= 1 and args.steps >= 1

    from charlstm.system.backend import import_keras

    keras = import_keras()
    recorder = LstmPathRecorder(keras)
    rows = [f"# gpu check: keras {keras.__version__} ({keras.backend.backend()}), "
            f"{device_description(keras)}; {platform.machine()}, {os.cpu_count()} CPUs; "
            "whole wonderland.txt, seq_length 100"]

    def show(row):
        rows.append(row)
        print(row, flush=True)
        if args.output:  # rewritten each row: a run cut short keeps what it measured
            with open(args.output, "w") as handle:
                handle.write("\n".join(rows) + "\n")

    parts = args.parts.split(",")
    if "training" in parts:
        show(f"{'recipe':<7} {'mixed':<5} {'batch':>5} {'steps':>6} {'warm-up':>7} "
             f"{'warm-up s':>8} {'timed':>5} {'ms/step':>8} {'s/epoch':>8} {'how':<12} "
             f"{'lstm':<10} {'loss':>7}")
        with tempfile.TemporaryDirectory() as workdir:
            for mixed in (False, True):
                for name, flags in RECIPES.items():
                    try:
                        show(time_training(keras, name, flags, mixed, args, recorder, workdir))
                    except Exception as error:  # one recipe's failure must not hide the rest
                        message = str(error).strip().splitlines()[-1:] or [""]
                        show(f"{name:<7} {'on' if mixed else 'off':<5} failed: "
                             f"{type(error).__name__}: {message[0][:160]}")
    if "generation" in parts:
        show(f"{'model':<7} {'decoding':<9} {'samples':>7} {'steps':>6} {'compile s':>9} "
             f"{'chars/s':>10}")
        try:
            for row in time_generation(keras, args):
                show(row)
        except Exception as error:
            show(f"generation failed: {type(error).__name__}: {str(error)[:160]}")


if __name__ == "__main__":
    main()
