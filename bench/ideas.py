"""The tutorial's improvement ideas, each trained for the same short wall-clock budget.

Each line runs train.py's own preparation (charlstm.training.run.prepare) with the tutorial's
defaults plus one idea's flags, the last 10% of wonderland.txt held out, for --budget seconds
of training time, and then scores the tutorial's objective: the mean cross-entropy of the
character after a full 100-character window, without dropout, on a fixed random sample of
held-out windows. Ideas 1, 5 and 9 (generation length, more epochs, temperature) change no
short-budget training and are not run.

    python bench/ideas.py                          # every idea, 120 s each
    python bench/ideas.py --budget 30 --ideas base,3

Prints a table and writes it to bench/results/ideas.txt (with --output).
"""

import argparse
import os
import platform
import sys
import tempfile
import time

from common import ROOT, save_table

from charlstm.system.backend import import_keras  # noqa: E402

keras = import_keras()
import numpy as np  # noqa: E402

from charlstm.text.feeding import training_data  # noqa: E402
from charlstm.model.models import compiled_forward  # noqa: E402
from charlstm.generation.evaluation import window_losses  # noqa: E402
from charlstm.model.models import build_model  # noqa: E402
from charlstm.training.run import prepare  # noqa: E402

from train import parse_args  # noqa: E402

IDEAS = {
    "base": ("the tutorial's small model", []),
    "2": ("strip punctuation*", ["--strip-punctuation"]),
    "3": ("one-hot input", ["--one-hot"]),
    "4": ("padded sentences", ["--sentences"]),
    "6": ("input dropout 0.1", ["--input-dropout", "0.1"]),
    "7": ("batch size 32", ["--batch-size", "32"]),
    "8a": ("512 units", ["--units", "512"]),
    "8b": ("2 layers", ["--layers", "2"]),
    "10": ("stateful, batch 32", ["--stateful", "--batch-size", "32"]),
}


class Budget(keras.callbacks.Callback):
    """Stops training once the batches have taken `budget` seconds."""

    def __init__(self, budget):
        super().__init__()
        self.budget, self.elapsed, self.steps, self.started = budget, 0.0, 0, None

    def on_train_batch_begin(self, batch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.elapsed += time.perf_counter() - self.started
        self.steps += 1
        if self.elapsed >= self.budget:
            self.model.stop_training = True


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ideas", default=",".join(IDEAS), help="which ideas, comma-separated")
    parser.add_argument("--budget", type=float, default=120, help="training seconds per idea")
    parser.add_argument("--sample-windows", type=int, default=2000,
                        help="held-out windows scored (a fixed random sample)")
    parser.add_argument("--output", default=None, help="also write the table here")
    args = parser.parse_args()

    lines = [f"# ideas on {platform.machine()}, {os.cpu_count()} CPUs, keras {keras.__version__} "
             f"({keras.backend.backend()}); wonderland.txt, last 10% held out; "
             f"{args.budget:.0f} s of training each; tutorial loss on {args.sample_windows} "
             "held-out windows",
             f"{'idea':<5} {'what':<28} {'steps':>6} {'epochs':>7} {'held-out loss':>14}"]
    print("\n".join(lines), file=sys.stderr, flush=True)
    for key in args.ideas.split(","):
        description, flags = IDEAS[key]
        with tempfile.TemporaryDirectory() as directory:
            run_args = parse_args(["--text", os.path.join(ROOT, "wonderland.txt"), "--seed", "1",
                                   "--validation-split", "0.1", "--epochs", "100000",
                                   "--checkpoint-dir", directory, *flags])
            run = prepare(run_args)
        budget = Budget(args.budget)
        data, steps = training_data(run.batches, run_args.epochs)
        run.model.fit(data, epochs=run_args.epochs, steps_per_epoch=steps, shuffle=False,
                      verbose=0, callbacks=[budget])
        # The tutorial's objective: the character after a full window, dropout off.
        last = build_model(run.topology, run_args.seq_length)
        last.set_weights(run.model.get_weights())
        held_out = run.held_out_indices
        rng = np.random.default_rng(0)
        starts = np.sort(rng.choice(len(held_out) - run_args.seq_length,
                                    size=args.sample_windows, replace=False))
        loss = window_losses(compiled_forward(last), run.table, held_out, run_args.seq_length,
                             starts).mean()
        lines.append(f"{key:<5} {description:<28} {budget.steps:>6} "
                     f"{budget.steps / steps:>7.2f} {loss:>14.4f}")
        print(lines[-1], file=sys.stderr, flush=True)
    lines.append("* its vocabulary has no punctuation, so its loss is over fewer, easier "
                 "characters: not comparable with the others")
    save_table("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
