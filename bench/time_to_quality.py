"""Time to quality: how low each recipe gets the held-out loss in a training-time budget,
over several seeds.

The last 10% of wonderland.txt is held out and never trained on. Each recipe trains from
scratch, once per seed, and is scored at fixed marks of training time (scoring stops the
clock) on every held-out window, by the tutorial's own objective: the mean cross-entropy of
the character after a full 100-character window, without dropout (with --ema: the average's).
At the last mark it also writes 2,000 characters at temperature 0.5 (4 streams of 500 from
the first held-out windows) and reports the share of its words (of two letters or more) that
are words of the book.
Runs go seed by seed, every recipe within a seed, so that a slow spell of a shared machine
does not fall on one recipe only.

Recipes:
  tutorial   the tutorial's small model: LSTM 256, scaled input, last-position targets,
             batch 128 (train.py's defaults)
  peer       the TensorFlow text-generation tutorial's recipe as train.py settings (PEER):
             --cell gru --units 1024 --input-encoding embedding --embedding-size 256
             --targets every --batch-size 64 --dropout 0 (windows of 100, Adam)
  fast-old   --preset fast as it was before the training controls (15 epochs of 2 x 256,
             dropout 0.3, batch 16, constant learning rate 0.002)
  fast       train.py --preset fast (charlstm.presets) as it was measured: its cosine over
             15 epochs, about its ten minutes on the 2-core CPU (the preset now states the
             ten minutes themselves, --minutes 10, which this script's own clock replaces)
  NAME:key=value,...  a charlstm recipe: the fast preset with these settings replaced
             (epochs=fill: as many epochs as fit the budget)

    python bench/time_to_quality.py                          # the four, 3 seeds, 10 minutes
    python bench/time_to_quality.py --recipes fast --seeds 1 --budget 120 --marks 60,120

The clock is wall-clock training time by default. --clock steps --step-rates FILE counts
steps instead, at the rate FILE gives for each recipe (measured on the reference CPU with
--measure-rates FILE): a fast machine (a GPU) then trains exactly the steps the reference
CPU trains in each mark's time, and the scores are those of that CPU's runs up to the
numerics of another device. --jobs N runs N (recipe, seed) runs at once, for a GPU.

Prints a table and writes it to --output.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from common import ROOT, cpu_name, save_table

from charlstm.system.backend import import_keras  # noqa: E402

keras = import_keras()
import numpy as np  # noqa: E402

from charlstm.model.models import compiled_forward  # noqa: E402
from charlstm.config import resolve  # noqa: E402
from charlstm.text.corpus import load_corpus, split_held_out  # noqa: E402
from charlstm.generation.evaluation import window_losses  # noqa: E402
from charlstm.model.models import build_model  # noqa: E402
from charlstm.model.keras_compat import moving_averages  # noqa: E402
from charlstm.generation.sampling import make_chooser  # noqa: E402
from charlstm.training.run import prepare, set_random_seed  # noqa: E402
from charlstm.text.feeding import training_data  # noqa: E402
from charlstm.text.windows import encode_inputs, pattern_count  # noqa: E402

SEQ_LENGTH = 100
HELD_OUT = 0.1
TEXT = os.path.join(ROOT, "wonderland.txt")
# --preset fast as measured: the budget in epochs (this script times the run itself, and a
# --minutes plan needs train.py's callbacks).
FAST_MEASURED = {"preset": "fast", "minutes": None, "epochs": 15}
# --preset fast before issue 13, kept here so that the table can compare against it.
FAST_OLD = dict(epochs=15, targets="every", input_encoding="one-hot", layers=2, units=256,
                dropout=0.3, batch_size=16, learning_rate=0.002, clipnorm=5.0)
# The TensorFlow text-generation tutorial's recipe, as train.py settings (docs/training.md):
# Embedding 256 -> GRU 1024 -> Dense, every position of windows of 100, Adam at Keras'
# default rate, batch 64, and no dropout (the tutorial has none); epochs until the budget
# ends. The tutorial keeps case; here, like every recipe of this table, the text is
# lower-cased, so that the held-out losses compare.
PEER = dict(cell="gru", units=1024, input_encoding="embedding", embedding_size=256,
            targets="every", batch_size=64, dropout=0.0, epochs=10_000)
SAMPLE_STREAMS, SAMPLE_LENGTH = 4, 500
# SMOKE=1 (a check that the script runs, not a result): score about 200 windows.
SCORE_WINDOWS = 200 if os.environ.get("SMOKE") else None


def parse_value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"none": None, "true": True, "false": False}.get(text.lower(), text)


def recipe_settings(recipe):
    """(name, {setting: value}) of a recipe."""
    if recipe == "peer":
        return "peer", dict(PEER)
    if recipe == "tutorial":
        return "tutorial", {}
    if recipe == "fast-old":
        return "fast-old", dict(FAST_OLD)
    if recipe == "fast":
        return "fast", dict(FAST_MEASURED)
    name, _, changes = recipe.partition(":")
    values = dict(FAST_MEASURED)
    for item in filter(None, changes.split(",")):
        key, value = item.split("=")
        values[key] = parse_value(value)
    return name, values


class CharlstmRun:
    """A charlstm recipe, set up by the training code itself (charlstm.training.run.prepare):
    the same model, optimizer, schedule and batches as train.py."""

    def __init__(self, values, seed, budget_steps, folder):
        values = dict(values, text=TEXT, validation_split=HELD_OUT, seed=seed,
                      checkpoint_dir=folder)
        if values.get("epochs") == "fill":
            steps = prepare(resolve(dict(values, epochs=1, dry_run=True)), verbose=0).batches.steps
            # Without a step budget (timing only), any long run will do.
            values["epochs"] = max(1, int(budget_steps // steps)) if budget_steps < float(
                "inf") else 1000
        self.settings = resolve(values)
        run = prepare(self.settings, verbose=0)
        self.model, self.batches, self.table = run.model, run.batches, run.table
        self.topology, self.epochs = run.topology, self.settings.epochs
        self.last = build_model(run.topology, SEQ_LENGTH)

    def scorer(self):
        # The average's weights where --ema keeps one: what validation and checkpoints use.
        averages = moving_averages(self.model)
        self.last.set_weights([keras.ops.convert_to_numpy(averages.get(v.path, v))
                               for v in self.model.trainable_variables])
        return compiled_forward(self.last)


class Clock(keras.callbacks.Callback):
    """Stops training at the last mark; scores at each mark. Marks are seconds of training
    (wall clock, batches only) or, with a rate, that many seconds' worth of steps."""

    def __init__(self, marks, score, steps_per_second=None):
        super().__init__()
        self.marks, self.score, self.rate = list(marks), score, steps_per_second
        self.elapsed, self.steps, self.started, self.results = 0.0, 0, None, []

    def on_train_batch_begin(self, batch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.elapsed += time.perf_counter() - self.started
        self.steps += 1
        position = self.steps / self.rate if self.rate else self.elapsed
        while self.marks and position >= self.marks[0]:
            if hasattr(self.model, "jax_state_sync"):  # JAX keeps the variables apart mid-epoch
                self.model.jax_state_sync()
            self.results.append(dict(mark=self.marks.pop(0), seconds=self.elapsed,
                                     steps=self.steps, held_out=self.score()))
        if not self.marks:
            self.model.stop_training = True

    def finish(self):
        """A run whose epochs ended before the last mark keeps its final model for the rest."""
        for mark in self.marks:
            held_out = self.results[-1]["held_out"] if self.results and self.results[-1][
                "steps"] == self.steps else self.score()
            self.results.append(dict(mark=mark, seconds=self.elapsed, steps=self.steps,
                                     held_out=held_out, finished=True))
        self.marks = []


def words_of(text):
    """Its words of two letters or more: single letters pass for words too easily."""
    return [word for word in re.findall(r"[a-z]+(?:'[a-z]+)*", text.lower()) if len(word) > 1]


def word_share(text, book_words):
    words = words_of(text)
    return sum(word in book_words for word in words) / max(len(words), 1), len(words)


def sample(forward, table, held_out, seed):
    """SAMPLE_STREAMS x SAMPLE_LENGTH characters at temperature 0.5, each continuing one of
    the first held-out windows, by sliding windows."""
    starts = np.arange(SAMPLE_STREAMS) * SEQ_LENGTH
    windows = np.stack([held_out[s : s + SEQ_LENGTH] for s in starts])
    choose = make_chooser(0.5, rng=np.random.default_rng(seed))
    out = []
    for _ in range(SAMPLE_LENGTH):
        chosen = choose(forward(encode_inputs(windows, table)))
        out.append(chosen)
        windows = np.concatenate([windows[:, 1:], chosen[:, None]], axis=1)
    return np.stack(out, axis=1)


def one_run(recipe, seed, marks, rate, folder):
    corpus = load_corpus(TEXT)
    vocabulary, indices = corpus.vocabulary, corpus.indices
    training, held_out = split_held_out(indices, HELD_OUT)
    starts = np.arange(pattern_count(len(held_out), SEQ_LENGTH))
    if SCORE_WINDOWS:  # a smoke test's shortcut: every SCORE_WINDOWS-th window only
        starts = starts[:: max(1, len(starts) // SCORE_WINDOWS)]
    name, values = recipe_settings(recipe)
    set_random_seed(seed)
    budget_steps = marks[-1] * rate if rate else float("inf")
    run = CharlstmRun(values, seed, budget_steps, folder)

    def score():
        forward = run.scorer()
        return float(window_losses(forward, run.table, held_out, SEQ_LENGTH, starts,
                                   batch_size=1024).mean())

    clock = Clock(marks, score, rate)
    data, steps = training_data(run.batches, run.epochs)
    run.model.fit(data, epochs=run.epochs, steps_per_epoch=steps, shuffle=False, verbose=0,
                  callbacks=[clock])
    clock.finish()
    generated = sample(run.scorer(), run.table, held_out, seed)
    text = "\n".join(vocabulary.decode(row) for row in generated)
    book_words = set(words_of(vocabulary.decode(indices)))
    share, words = word_share(text, book_words)
    described = ", ".join(f"{k} {v}" for k, v in sorted(values.items())) or "train.py defaults"
    described += f" (epochs {run.epochs})"
    if name == "peer":
        described = "peer: Embedding 256 -> GRU 1024, every position, batch 64: " + described
    return dict(recipe=name, seed=seed, description=described, marks=clock.results,
                word_share=share, words=words, sample=text[:300],
                held_out_windows=len(starts))


def measure_rates(recipes, seconds, rounds, path):
    """Steps per second of each recipe's training on this machine, interleaved rounds."""
    rates = {}
    with tempfile.TemporaryDirectory() as folder:
        corpus = load_corpus(TEXT)
        training, _ = split_held_out(corpus.indices, HELD_OUT)
        for _ in range(rounds):
            for recipe in recipes:
                name, values = recipe_settings(recipe)
                set_random_seed(1)
                run = CharlstmRun(values, 1, float("inf"), folder)
                data, steps = training_data(run.batches, 10_000)
                warm = Clock([5], lambda: 0.0, steps_per_second=1.0)  # compile, first steps
                run.model.fit(data, epochs=1, steps_per_epoch=5, verbose=0, callbacks=[warm])
                clock = Clock([seconds], lambda: 0.0)
                run.model.fit(data, epochs=10_000, steps_per_epoch=steps, verbose=0,
                              callbacks=[clock], initial_epoch=0)
                rates.setdefault(name, []).append(clock.steps / clock.elapsed)
                print(f"{name}: {clock.steps / clock.elapsed:.2f} steps/s", file=sys.stderr,
                      flush=True)
    result = {name: statistics.median(values) for name, values in rates.items()}
    result["_machine"] = machine()
    with open(path, "w") as handle:
        json.dump(result, handle, indent=1)
    return result


def machine():
    return f"{cpu_name()}, keras {keras.__version__} ({keras.backend.backend()})"


def table(results, marks, clock_line):
    lines = [clock_line, f"held-out loss on all {results[0]['held_out_windows']} held-out "
             "windows (mean +- standard deviation over seeds), and the share of words in "
             f"{SAMPLE_STREAMS * SAMPLE_LENGTH} characters at temperature 0.5 that are words "
             "of the book (words of two letters or more)", ""]
    header = f"{'recipe':10} " + " ".join(f"{f'{m:g} s':>16}" for m in marks) + \
        f" {'book words':>14}  seeds"
    lines.append(header)
    recipes = list(dict.fromkeys(r["recipe"] for r in results))
    for recipe in recipes:
        runs = [r for r in results if r["recipe"] == recipe]
        cells = []
        for index in range(len(marks)):
            values = [r["marks"][index]["held_out"] for r in runs]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.4f} +- {spread:.4f}")
        shares = [r["word_share"] for r in runs]
        share_spread = statistics.stdev(shares) if len(shares) > 1 else 0.0
        lines.append(f"{recipe:10} " + " ".join(f"{c:>16}" for c in cells)
                     + f" {statistics.mean(shares):6.1%} +- {share_spread:4.1%}  "
                     + ",".join(str(r["seed"]) for r in runs))
    lines.append("")
    for recipe in recipes:
        runs = [r for r in results if r["recipe"] == recipe]
        lines.append(f"{recipe}: {runs[0]['description']}")
        for r in runs:
            last = r["marks"][-1]
            finished = " (its epochs ended first)" if last.get("finished") else ""
            lines.append(f"    seed {r['seed']}: " + " ".join(
                f"{m['held_out']:.4f}" for m in r["marks"])
                + f"; {last['steps']} steps in {last['seconds']:.0f} s{finished}; "
                f"words {r['word_share']:.1%} of {r['words']}")
    lines.append("")
    for recipe in recipes:
        run = next(r for r in results if r["recipe"] == recipe)
        lines.append(f"{recipe}, seed {run['seed']}, temperature 0.5: "
                     + run["sample"].split("\n")[0][:200])
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", default="tutorial peer fast-old fast",
                        help="space-separated recipes (see above)")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    parser.add_argument("--marks", default="150,300,600",
                        help="seconds of training at which to score; the last is the budget")
    parser.add_argument("--clock", choices=("wall", "steps"), default="wall",
                        help="wall: this machine's training time; steps: --step-rates'")
    parser.add_argument("--step-rates", help="JSON of steps per second by recipe name")
    parser.add_argument("--measure-rates", metavar="FILE",
                        help="measure this machine's steps per second for --recipes, write "
                             "them to FILE, and stop")
    parser.add_argument("--rate-seconds", type=float, default=30,
                        help="seconds of training per recipe and round for --measure-rates")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (a GPU)")
    parser.add_argument("--single", help=argparse.SUPPRESS)  # RECIPE@SEED, for --jobs
    parser.add_argument("--json", help="also write the raw results (JSON) here")
    parser.add_argument("--from-json", nargs="+", metavar="FILE",
                        help="train nothing: draw the table of earlier raw results (JSON lists "
                             "or JSON lines), for --recipes and --seeds, under --title")
    parser.add_argument("--title", default="", help="with --from-json: the table's first line")
    parser.add_argument("--output", default=None, help="also write the table here")
    args = parser.parse_args()
    recipes = args.recipes.split()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    marks = [float(mark) for mark in args.marks.split(",")]
    if args.measure_rates:
        measure_rates(recipes, args.rate_seconds, 2, args.measure_rates)
        return
    if args.from_json:
        results = []
        for path in args.from_json:
            with open(path) as handle:
                text = handle.read().strip()
            results += json.loads(text) if text.startswith("[") else [
                json.loads(line) for line in text.splitlines()]
        # The last result of each (recipe, seed) wins: a rerun replaces a run.
        chosen = {(r["recipe"], r["seed"]): r for r in results
                  if r["recipe"] in recipes and r["seed"] in seeds}
        ordered = [chosen[(recipe, seed)] for recipe in recipes for seed in seeds
                   if (recipe, seed) in chosen]
        save_table(table(ordered, marks, args.title), args.output)
        return
    rates = {}
    if args.clock == "steps":
        with open(args.step_rates) as handle:
            rates = json.load(handle)

    def rate_of(recipe):
        return rates[recipe_settings(recipe)[0]] if args.clock == "steps" else None

    if args.single:
        recipe, seed = args.single.rsplit("@", 1)
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(one_run(recipe, int(seed), marks, rate_of(recipe), folder)))
        return

    order = [(recipe, seed) for seed in seeds for recipe in recipes]
    results = []
    if args.jobs == 1:
        for recipe, seed in order:
            with tempfile.TemporaryDirectory() as folder:
                results.append(one_run(recipe, seed, marks, rate_of(recipe), folder))
            print(json.dumps({k: v for k, v in results[-1].items() if k != "sample"}),
                  file=sys.stderr, flush=True)
    else:
        pending, running = list(order), []
        finished = {}
        base = [sys.executable, os.path.abspath(__file__), "--marks", args.marks,
                "--clock", args.clock] + (["--step-rates", args.step_rates]
                                          if args.step_rates else [])
        while pending or running:
            while pending and len(running) < args.jobs:
                recipe, seed = pending.pop(0)
                process = subprocess.Popen(base + ["--single", f"{recipe}@{seed}"],
                                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                           text=True)
                running.append(((recipe, seed), process))
            time.sleep(1)
            for item in list(running):
                key, process = item
                if process.poll() is not None:
                    running.remove(item)
                    out = process.stdout.read().strip().splitlines()
                    if process.returncode == 0 and out:
                        finished[key] = json.loads(out[-1])
                        if args.json:  # as they come, in case the whole is cut off
                            with open(args.json + ".partial", "a") as handle:
                                handle.write(out[-1] + "\n")
                        print(f"done {key}: " + " ".join(
                            f"{m['held_out']:.4f}" for m in finished[key]["marks"]),
                            file=sys.stderr, flush=True)
                    else:
                        print(f"failed {key}: exit {process.returncode}", file=sys.stderr,
                              flush=True)
        results = [finished[key] for key in order if key in finished]
    if args.clock == "steps":
        clock_line = (f"# time to quality, clock: steps at the rates measured on "
                      f"{rates.get('_machine', '?')}; trained on {machine()}")
    else:
        clock_line = f"# time to quality, clock: wall-clock training time on {machine()}"
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    save_table(table(results, marks, clock_line), args.output)


if __name__ == "__main__":
    main()
