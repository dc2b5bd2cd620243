"""Lists, measured: a list nobody here wrote, trained with --documents lines --preset fast,
and 1,000 items written from the checkpoint the run names.

The list: the first names of the 1990 US census that the `names` package ships
(dist.female.first and dist.male.first, 5,163 different names once lower-cased), one a line,
in an order shuffled with a fixed seed (so that the held-out tenth is a fair sample of the
names, not the rarest ones). Install it for the bench only: `pip install names`.

For each seed: train.py --text names.txt --documents lines --preset fast, with 10% of the
items held out and the checkpoint chosen on them (--validation-split 0.1 --monitor
val_loss), for --minutes (or --max-steps); then
  - the held-out loss of the named checkpoint, on every held-out window (evaluate.py --all);
  - generate.py --items 1000 --seed S (temperature 1.0: the model's own distribution): the
    share of items that are not names of the list, and the items' median length against the
    list's;
  - 20 of those items, new ones marked with *.

    pip install names
    python bench/lists.py                                   # 3 seeds, 5 minutes each
    python bench/lists.py --seeds 1 --minutes 0.5 --output /tmp/lists.txt   # a smoke run
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

import common  # noqa: F401  (the project on the import path)

import charlstm  # noqa: E402
from charlstm.checkpoints.format import load_checkpoint  # noqa: E402
from charlstm.text.items import items_of  # noqa: E402

ROOT = common.ROOT
ITEMS = 1000
SHOWN = 20
TEMPERATURE = 1.0


def names_list(folder):
    """The names package's first names, lower-cased, once each, shuffled with seed 0, one a
    line in folder/names.txt; returns (path, names)."""
    try:
        import names
    except ImportError:
        sys.exit("bench/lists.py needs the names package: pip install names")
    package = os.path.dirname(names.__file__)
    found = set()
    for file_name in ("dist.female.first", "dist.male.first"):
        with open(os.path.join(package, file_name)) as handle:
            found.update(line.split()[0].lower() for line in handle if line.strip())
    ordered = sorted(found)
    random.Random(0).shuffle(ordered)
    path = os.path.join(folder, "names.txt")
    with open(path, "w") as handle:
        handle.write("\n".join(ordered) + "\n")
    return path, ordered


def one_run(path, known, seed, minutes, max_steps, folder):
    runs = os.path.join(folder, f"seed-{seed}")
    budget = {"max_steps": max_steps} if max_steps else {"minutes": minutes}
    started = time.perf_counter()
    # The held-out tenth and its monitor are spelled out, so the figures do not depend on
    # what the preset's defaults are at the time.
    result = charlstm.train(text=path, documents="lines", preset="fast", seed=seed,
                            validation_split=0.1, monitor="val_loss",
                            checkpoint_dir=runs, verbose=0, **budget)
    seconds = time.perf_counter() - started
    scores = charlstm.evaluate(result.best_checkpoint, all=True, verbose=0)
    held_out = next(score for score in scores if score.part.startswith("held-out"))
    written = charlstm.items(ITEMS, weights=result.best_checkpoint, seed=seed,
                             temperature=TEMPERATURE, verbose=0)
    new = [item for item in written if item not in known]
    # The steps up to the named checkpoint: its metadata records the run's clock.
    steps = load_checkpoint(result.best_checkpoint).metadata.get("steps")
    print(f"seed {seed}: held-out {held_out.loss:.4f} nats over {held_out.windows} windows, "
          f"{len(new)}/{len(written)} new, after {seconds:.0f} s", file=sys.stderr, flush=True)
    return dict(seed=seed, held_out=held_out.loss, windows=held_out.windows,
                epochs=len(result.history), steps=steps, seconds=seconds,
                checkpoint=os.path.basename(result.best_checkpoint), items=written,
                new_share=len(new) / len(written),
                median_length=statistics.median(len(item) for item in written))


def table(results, names, budget):
    def cell(key, form):
        values = [r[key] for r in results]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{form(statistics.mean(values))} +- {form(spread)}"

    percent = "{:.1%}".format
    lines = [f"--documents lines --preset fast, {budget} a run, seeds "
             f"{','.join(str(r['seed']) for r in results)}; machine: {common.cpu_name()}",
             f"list: {len(names):,} first names (the names package, 1990 US census), median "
             f"length {statistics.median(len(name) for name in names):g} characters", "",
             f"held-out loss, every held-out window ({results[0]['windows']:,}): "
             f"{cell('held_out', '{:.4f}'.format)} nats",
             f"new items among {ITEMS:,} (generate.py --items {ITEMS} --temperature "
             f"{TEMPERATURE:g}): {cell('new_share', percent)}",
             f"median item length: {cell('median_length', '{:.1f}'.format)} characters "
             f"(the list: {statistics.median(len(name) for name in names):g})", ""]
    for r in results:
        lines.append(f"seed {r['seed']}: {r['held_out']:.4f} nats, {r['new_share']:.1%} new, "
                     f"median {r['median_length']:g}; {r['epochs']} epochs, {r['steps']} steps "
                     f"in {r['seconds']:.0f} s; named checkpoint {r['checkpoint']}")
    known = set(names)
    first = results[0]
    lines += ["", f"{SHOWN} items of seed {first['seed']} (* new, not in the list):",
              ", ".join(item + ("*" if item not in known else "")
                        for item in first["items"][:SHOWN])]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N (default 3)")
    parser.add_argument("--minutes", type=float, default=5.0, help="budget of each run")
    parser.add_argument("--max-steps", type=int, help="a step budget instead of --minutes")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results",
                                                         "lists.txt"))
    args = parser.parse_args()
    results = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        path, names = names_list(folder)
        known = set(items_of("\n".join(names)))
        for seed in range(1, args.seeds + 1):
            results.append(one_run(path, known, seed, args.minutes, args.max_steps, folder))
    budget = f"{args.max_steps} steps" if args.max_steps else f"{args.minutes:g} minutes"
    # Other work on the machine slows the steps, and so a time budget's figures: say how busy.
    load = f"load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    common.save_table(table(results, names, budget) + "\n" + load, args.output)
    with open(os.path.splitext(args.output)[0] + ".json", "w") as handle:
        json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
