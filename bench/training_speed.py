"""Training speed: seconds per step and per epoch of wonderland.txt for the tutorial's small
and bigger models and for --preset fast, timed over a fixed number of steps after warm-up.

    python bench/training_speed.py
    python bench/training_speed.py --steps 50

Prints a table and writes it to bench/results/training_speed.txt.
"""

import argparse
import os
import platform
import time

from common import ROOT, save_table

from charlstm.backend import import_keras  # noqa: E402

keras = import_keras()

from charlstm.backend import set_random_seed  # noqa: E402
from charlstm.windows import training_data  # noqa: E402
from charlstm.corpus import load_corpus  # noqa: E402
from charlstm.models import Topology, build_model, compile_model  # noqa: E402
from charlstm.presets import FAST  # noqa: E402
from charlstm.windows import WindowBatches, input_table  # noqa: E402

RECIPES = {
    "small (tutorial)": dict(layers=1, units=256, batch_size=128, targets="last", input_encoding="scaled",
                             dropout=0.2, learning_rate=0.001, clipnorm=None),
    "bigger (tutorial)": dict(layers=2, units=256, batch_size=64, targets="last", input_encoding="scaled",
                              dropout=0.2, learning_rate=0.001, clipnorm=None),
    "--preset fast": FAST,
}


class StepTimer(keras.callbacks.Callback):
    def __init__(self, warm_up):
        super().__init__()
        self.warm_up, self.started, self.steps = warm_up, None, 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps == self.warm_up:
            self.started = time.perf_counter()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per recipe")
    parser.add_argument("--warm-up", type=int, default=5, help="untimed steps first")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results",
                                                         "training_speed.txt"))
    args = parser.parse_args()

    corpus = load_corpus(os.path.join(ROOT, "wonderland.txt"))
    vocabulary, indices = corpus.vocabulary, corpus.indices
    rows = [f"# training speed on {platform.machine()}, {os.cpu_count()} CPUs, keras "
            f"{keras.__version__} ({keras.backend.backend()}); {args.steps} steps after "
            f"{args.warm_up} of warm-up, whole wonderland.txt",
            f"{'recipe':<20} {'batch':>6} {'steps/epoch':>12} {'ms/step':>9} {'s/epoch':>9}"]
    for name, recipe in RECIPES.items():
        set_random_seed(1)
        encoding = recipe["input_encoding"]
        topology = Topology(len(vocabulary), len(vocabulary), layers=recipe["layers"],
                            units=recipe["units"], dropout=recipe["dropout"],
                            input_encoding=encoding)
        model = compile_model(
            build_model(topology, 100, every_position=recipe["targets"] == "every"),
            recipe["learning_rate"], recipe["clipnorm"])
        batches = WindowBatches(indices, 100, recipe["batch_size"],
                                input_table(len(vocabulary), encoding), 1, recipe["targets"])
        timer = StepTimer(args.warm_up)
        total = args.warm_up + args.steps
        data, steps = training_data(batches, 1 + total // len(batches))
        model.fit(data, epochs=1, steps_per_epoch=total, shuffle=False, verbose=0,
                  callbacks=[timer])
        per_step = (time.perf_counter() - timer.started) / args.steps
        rows.append(f"{name:<20} {recipe['batch_size']:>6} {len(batches):>12} "
                    f"{per_step * 1000:>9.1f} {per_step * len(batches):>9.1f}")
        print(rows[-1], flush=True)
    save_table("\n".join(rows), args.output)


if __name__ == "__main__":
    main()
