"""Step budgets: which regularisation the fast recipe wants at 1,300, 4,000 and 8,000 steps
(issue 32). Steps, not minutes, so the figures do not depend on the machine or its load.

Each run is train.py --preset fast --max-steps N --seed S with a recipe's settings replaced,
10% of the book held out and the checkpoint chosen on it (--validation-split 0.1 --monitor
val_loss, spelled out), scored by the tutorial's objective on every held-out window
(charlstm.evaluate(all=True)) for the checkpoint the run names. Each run is a process of
its own, and its result is a JSON line appended to --results as soon as it is known, so a
sweep can stop and go on later: runs already there are skipped. The table is written from
all the lines.

Recipes (on top of --preset fast, which is `base`):
  base  dropout 0.2, no input dropout or weight decay (the preset as tuned for 1,300 steps)
  R1    dropout 0.3, input dropout 0.1, weight decay 0.05
  R2    dropout 0.4, input dropout 0.1, weight decay 0.1

    python bench/step_budgets.py --runs 4000:R1:1,1300:base:1
    python bench/step_budgets.py --table-only
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import ROOT, cpu_name, save_table

# Every recipe spells its three settings out: explicit settings win over the preset's own
# choice by steps (presets.BY_STEPS), which this sweep is for.
RECIPES = {
    "base": {"dropout": 0.2, "input_dropout": 0.0, "weight_decay": 0.0},
    "R1": {"dropout": 0.3, "input_dropout": 0.1, "weight_decay": 0.05},
    "R2": {"dropout": 0.4, "input_dropout": 0.1, "weight_decay": 0.1},
}
RESULTS = os.path.join(ROOT, "bench", "results", "step_budgets.jsonl")
TABLE = os.path.join(ROOT, "bench", "results", "step_budgets.txt")


def held_out_loss(weights):
    """(loss, windows): the tutorial's objective on every window of the checkpoint's held-out
    part, as evaluate.py --all scores it, without scoring the training part too."""
    from types import SimpleNamespace

    from charlstm.generation.evaluation import split_parts, tutorial_loss
    from charlstm.checkpoints.loading import load_for_generation

    model, checkpoint, indices = load_for_generation(weights, None, None)
    fraction = checkpoint.metadata.setting("validation_split")
    (_, _, _), (_, held_out, _) = split_parts(SimpleNamespace(text=None), checkpoint, indices,
                                             fraction)
    return tutorial_loss(model, checkpoint.topology, held_out, checkpoint.seq_length)


def one_run(steps, recipe, seed):
    """Train and score one run in this process; print its result as one JSON line."""
    import charlstm
    from charlstm.checkpoints.format import load_checkpoint

    folder = tempfile.mkdtemp(prefix=f"steps-{steps}-{recipe}-{seed}-")
    started = time.perf_counter()
    result = charlstm.train(preset="fast", max_steps=steps, seed=seed, validation_split=0.1,
                            monitor="val_loss", checkpoint_dir=folder, verbose=0,
                            **RECIPES[recipe])
    seconds = time.perf_counter() - started
    loss, windows = held_out_loss(result.best_checkpoint)
    metadata = load_checkpoint(result.best_checkpoint).metadata
    last = result.history[-1]
    print(json.dumps(dict(
        steps=steps, recipe=recipe, seed=seed, settings=RECIPES[recipe],
        held_out=loss, windows=windows,
        named_checkpoint=os.path.basename(result.best_checkpoint),
        named_epoch=metadata["epoch"], named_step=metadata.get("steps"),
        epochs=len(result.history), last_val_loss=last.get("val_loss"),
        seconds=round(seconds, 1), machine=cpu_name())))


def read_results(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def table(results):
    lines = [f"# step budgets: --preset fast --max-steps N with the recipe's settings, 10% "
             f"held out, checkpoint chosen on val_loss (python bench/step_budgets.py)",
             "# held-out loss of the named checkpoint, tutorial objective, every held-out "
             "window; mean +- standard deviation over seeds",
             f"# machines: {', '.join(sorted({r['machine'] for r in results}))}; budgets in "
             "steps, so a run's figure does not depend on the machine's load (these shared "
             "it with other work: their seconds in the JSON lines are not speeds)", "",
             f"{'steps':>6} {'recipe':<6} {'held-out':>18}  seeds  named step / epochs"]
    keys = sorted({(r["steps"], r["recipe"]) for r in results})
    for steps, recipe in keys:
        runs = [r for r in results if (r["steps"], r["recipe"]) == (steps, recipe)]
        losses = [r["held_out"] for r in runs]
        spread = statistics.stdev(losses) if len(losses) > 1 else 0.0
        where = ", ".join(f"{r['named_step']}/{r['epochs']}" for r in runs)
        lines.append(f"{steps:>6} {recipe:<6} {statistics.mean(losses):.4f} +- {spread:.4f}"
                     f"  {','.join(str(r['seed']) for r in runs):<5}  {where}")
    lines += ["", "recipes:"] + [f"  {name}: {settings}" for name, settings in RECIPES.items()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="", help="STEPS:RECIPE:SEED,... to run in order")
    parser.add_argument("--results", default=RESULTS, help="the JSON lines file")
    parser.add_argument("--output", default=TABLE, help="the table")
    parser.add_argument("--table-only", action="store_true", help="only write the table")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        steps, recipe, seed = args.one.split(":")
        one_run(int(steps), recipe, int(seed))
        return
    for run in filter(None, args.runs.split(",")):
        steps, recipe, seed = run.split(":")
        done = {(r["steps"], r["recipe"], r["seed"]) for r in read_results(args.results)}
        if (int(steps), recipe, int(seed)) in done:
            continue
        print(f"{time.strftime('%H:%M:%S')} run {run}", file=sys.stderr, flush=True)
        child = subprocess.run([sys.executable, __file__, "--one", run], capture_output=True,
                               text=True)
        if child.returncode != 0:
            print(child.stderr[-3000:], file=sys.stderr)
            continue
        line = child.stdout.strip().splitlines()[-1]
        with open(args.results, "a") as handle:
            handle.write(line + "\n")
        print(line, file=sys.stderr, flush=True)
        save_table(table(read_results(args.results)), args.output)
    if args.table_only:
        save_table(table(read_results(args.results)), args.output)


if __name__ == "__main__":
    main()
