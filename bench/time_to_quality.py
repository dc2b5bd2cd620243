"""Time to quality: which recipe reaches the lowest tutorial loss in a wall-clock budget.

With the last 10% of wonderland.txt held out, each recipe trains for --budget seconds of
wall-clock time (evaluation pauses the clock) and is scored at several marks by the tutorial's
own objective: the mean cross-entropy of the character after a full 100-character window,
without dropout, on the training part and on the held-out tail (the same fixed random sample of
windows for every recipe and mark). Recipes:

  a  the tutorial's small model: LSTM 256, scaled input, last-position targets, batch 128
  b  the tutorial's bigger model: 2 x LSTM 256, batch 64
  c  the TensorFlow text-generation tutorial's recipe, the strongest common peer:
     Embedding 256 -> GRU 1024 -> Dense, every-position targets, windows of 100, Adam, batch 64
  d  train.py --preset fast (charlstm.presets.FAST): our LSTM stack, tuned for this budget

    python bench/time_to_quality.py                       # all four, 10 minutes each
    python bench/time_to_quality.py --recipes d --budget 120

Prints a table and writes it to bench/results/time_to_quality.txt (with --output).
"""

import argparse
import os
import platform
import sys
import time

from common import ROOT, save_table

from charlstm.backend import import_keras  # noqa: E402

keras = import_keras()
import numpy as np  # noqa: E402

from charlstm.backend import set_random_seed  # noqa: E402
from charlstm.windows import training_data  # noqa: E402
from charlstm.corpus import load_corpus  # noqa: E402
from charlstm.decoders import StatefulDecoder, WindowDecoder  # noqa: E402
from charlstm.backend import compiled_forward  # noqa: E402
from charlstm.evaluation import window_losses  # noqa: E402
from charlstm.models import Topology, build_model, compile_model  # noqa: E402
from charlstm.presets import FAST  # noqa: E402
from charlstm.sampling import generate_indices, make_chooser  # noqa: E402
from charlstm.corpus import split_held_out  # noqa: E402
from charlstm.windows import WindowBatches, input_table  # noqa: E402

SEQ_LENGTH = 100


def peer_model(vocab_size):
    """The TensorFlow text-generation tutorial's model, on our (batch, time, 1) index input."""
    inputs = keras.Input((None, 1))
    indices = keras.layers.Reshape((-1,))(inputs)
    hidden = keras.layers.Embedding(vocab_size, 256)(indices)
    hidden = keras.layers.GRU(1024, return_sequences=True)(hidden)
    outputs = keras.layers.Dense(vocab_size, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    last = keras.Model(inputs, keras.layers.Lambda(lambda t: t[:, -1])(outputs))
    return compile_model(model), last


def fast_topology(vocab_size):
    """The topology of --preset fast (recipe d)."""
    return Topology(vocab_size, vocab_size, layers=FAST["layers"], units=FAST["units"],
                    dropout=FAST["dropout"],
                    input_encoding=FAST["input_encoding"])


def recipe(name, vocab_size):
    """(training model, model for the tutorial objective, input table, targets, batch size,
    description) for one recipe."""
    if name == "c":
        model, last = peer_model(vocab_size)
        table = np.arange(vocab_size, dtype=np.float32)[:, None]  # raw indices for Embedding
        return model, last, table, "every", 64, "peer: Embedding 256 -> GRU 1024, every, batch 64"
    if name in ("a", "b"):
        layers, batch = (1, 128) if name == "a" else (2, 64)
        topology = Topology(vocab_size, vocab_size, layers=layers)
        model = compile_model(build_model(topology, SEQ_LENGTH))
        return (model, model, input_table(vocab_size), "last", batch,
                f"tutorial {'small' if layers == 1 else 'bigger'}: {layers} x LSTM 256, batch {batch}")
    topology = fast_topology(vocab_size)
    model = compile_model(build_model(topology, SEQ_LENGTH, every_position=True),
                          FAST["learning_rate"], clipnorm=FAST["clipnorm"])
    last = build_model(topology, SEQ_LENGTH)
    description = "--preset fast: " + ", ".join(f"{k} {v}" for k, v in FAST.items())
    return (model, last, input_table(vocab_size, topology.input_encoding), FAST["targets"],
            FAST["batch_size"], description)


class Budget(keras.callbacks.Callback):
    """Stops training after `budget` seconds of training time; scores at each mark."""

    def __init__(self, budget, marks, score):
        super().__init__()
        self.budget, self.marks, self.score = budget, list(marks), score
        self.elapsed, self.started, self.results = 0.0, None, []

    def on_train_batch_begin(self, batch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.elapsed += time.perf_counter() - self.started
        while self.marks and self.elapsed >= self.marks[0] * self.budget:
            self.results.append((self.elapsed, *self.score()))
            self.marks.pop(0)
        if not self.marks:
            self.model.stop_training = True


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", default="abcd", help="which recipes, in order")
    parser.add_argument("--budget", type=float, default=600, help="training seconds per recipe")
    parser.add_argument("--marks", default="0.1,0.25,0.5,0.75,1",
                        help="fractions of the budget at which to score")
    parser.add_argument("--sample-windows", type=int, default=3000,
                        help="windows scored in each part (a fixed random sample)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--override", default="",
                        help="for exploring: key=value,... replacing the fast preset's settings")
    parser.add_argument("--output", default=None, help="also write the table here")
    args = parser.parse_args()

    for item in filter(None, args.override.split(",")):
        key, value = item.split("=")
        FAST[key] = type(FAST[key])(eval(value)) if key in FAST else value
    corpus = load_corpus(os.path.join(ROOT, "wonderland.txt"))
    vocabulary, indices = corpus.vocabulary, corpus.indices
    training, held_out = split_held_out(indices, 0.1)
    rng = np.random.default_rng(0)
    probes = {name: np.sort(rng.choice(len(part) - SEQ_LENGTH, size=min(args.sample_windows,
                                       len(part) - SEQ_LENGTH), replace=False))
              for name, part in (("train", training), ("held-out", held_out))}
    marks = [float(mark) for mark in args.marks.split(",")]
    lines = [f"# time to quality on {platform.machine()}, {os.cpu_count()} CPUs, keras "
             f"{keras.__version__} ({keras.backend.backend()}); last 10% of wonderland.txt held "
             f"out; tutorial loss on {args.sample_windows} windows of each part; budget "
             f"{args.budget:.0f} s"]
    samples = []
    for name in args.recipes:
        set_random_seed(args.seed)
        model, last, table, targets, batch_size, description = recipe(name, len(vocabulary))
        batches = WindowBatches(training, SEQ_LENGTH, batch_size, table, args.seed,
                                targets=targets)

        forward = compiled_forward(last)

        def score():
            if last is not model and name != "c":
                last.set_weights(model.get_weights())
            return tuple(float(window_losses(forward, table, part, SEQ_LENGTH, probes[key]).mean())
                         for key, part in (("train", training), ("held-out", held_out)))

        budget = Budget(args.budget, marks, score)
        epochs = 100000
        data, steps = training_data(batches, epochs)
        model.fit(data, epochs=epochs, steps_per_epoch=steps, shuffle=False, verbose=0,
                  callbacks=[budget])
        lines.append(f"({name}) {description}")
        for elapsed, train_loss, held_out_loss in budget.results:
            lines.append(f"    {elapsed:7.0f} s   train {train_loss:.4f}   held-out {held_out_loss:.4f}")
        print("\n".join(lines[-1 - len(budget.results):]), file=sys.stderr, flush=True)  # progress
        if name == "d":
            topology = fast_topology(len(vocabulary))
            prime = held_out[None, :SEQ_LENGTH]
            for label, decoder, temperature in (
                ("greedy", WindowDecoder(last, topology, SEQ_LENGTH), 0.0),
                ("temperature 0.5", StatefulDecoder(last, topology), 0.5),
            ):
                choose = make_chooser(temperature, rng=np.random.default_rng(args.seed))
                steps_out = np.stack(list(generate_indices(decoder, prime, 300, choose)), axis=1)
                samples.append(f"({name}) {label} from the held-out tail's first window:\n"
                               + vocabulary.decode(steps_out[0]))
    save_table("\n".join(lines + samples), args.output)


if __name__ == "__main__":
    main()
