"""Time to quality, beside nanoGPT (issue 32): `--preset fast` and nanoGPT's CPU recipe, each
trained for the same wall-clock budget on the same lower-cased Alice and the same 90/10 split,
then scored on the same held-out targets.

The targets: the character after each 100-character window of the text's last 10% (14,334 for
Alice), scored by the tutorial's objective (mean cross-entropy in nats, probabilities clipped
below at 1e-7 as Keras does).

  fast     a process running the real command, train.py --preset fast --minutes M --seed S
           --checkpoint-dir TMP (the preset holds out 10% and keeps the checkpoint with the
           lowest val_loss); the checkpoint its last line names ("done: best checkpoint ...")
           is scored on every held-out window (as evaluate.py --all scores the held-out part,
           without also scoring the training part).
  nanogpt  nanoGPT's own train.py and model.py, from a checkout outside this project
           (--nanogpt DIR, env NANOGPT_DIR, default ../nanogpt beside the project), with the
           recipe of its README's "I only have a macbook" section on top of
           config/train_shakespeare_char.py: device cpu, no compile, 4 layers, 4 heads,
           128 wide, context (block size) 64, batch 12, no dropout, eval_iters 20; its data
           is charlstm's own preparation of the text and split, in our vocabulary, written
           as its train.bin, val.bin and meta.pkl. It keeps the checkpoint with the lowest
           validation loss (ckpt.pt), which is scored on the same targets, reading the 64
           characters before each.

nanoGPT has no time budget: it trains max_iters iterations with a cosine to lr_decay_iters.
So a probe of --probe-seconds (20) measures its seconds an iteration and an evaluation on this
machine first, and the run gets max_iters = lr_decay_iters = the iterations the budget holds
(rounded to a multiple of its eval interval, 250, so its last evaluation is at the cosine's
end), as our --minutes plans its cosine to end when the time is up. Neither counts start-up
(imports, reading the text) in the budget. A run that goes past twice its budget is stopped
(its best checkpoint so far is scored, and the record says so). nanoGPT's configurator has no
seed setting (it seeds torch with 1337), so it runs once per budget, recorded as seed 1337.

Runs go one at a time, budget by budget, seed by seed. Each run's result is one JSON line
appended to --results as soon as it is known, and runs already there are skipped, so a sweep
can stop and go on later. After each run the table (--output) is rewritten from all the lines.

torch is needed for nanoGPT only, never by the package: bench/requirements-peer.txt says how
to install it into an interpreter of its own (--peer-python, default this one).

    git clone <nanoGPT> ../nanogpt                      # once; any folder outside the project
    python -m venv ../venv-peer && ../venv-peer/bin/pip install -r bench/requirements-peer.txt
    python bench/peer_nanogpt.py --peer-python ../venv-peer/bin/python     # 5, 10, 20 minutes
    python bench/peer_nanogpt.py --minutes 10 --seeds 1 --recipes nanogpt --peer-python ...
    python bench/peer_nanogpt.py --table-only
    python bench/peer_nanogpt.py --minutes 0.3 --seeds 1 --results /tmp/x.jsonl \\
        --output /tmp/x.txt --peer-python ../venv-peer/bin/python        # a smoke run
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "time_to_quality.jsonl")
TABLE = os.path.join(ROOT, "bench", "results", "time_to_quality.txt")
NANOGPT_DIR = os.environ.get("NANOGPT_DIR") or os.path.join(os.path.dirname(ROOT), "nanogpt")

# nanoGPT's README, "I only have a macbook", on top of config/train_shakespeare_char.py
# (which sets eval_interval 250, warmup 100, learning rate 1e-3 to 1e-4, always_save_checkpoint
# False). max_iters and lr_decay_iters are replaced by the budget's plan.
NANOGPT_CONFIG = "config/train_shakespeare_char.py"
NANOGPT_RECIPE = {"device": "cpu", "compile": False, "eval_iters": 20, "log_interval": 1,
                  "block_size": 64, "batch_size": 12, "n_layer": 4, "n_head": 4,
                  "n_embd": 128, "max_iters": 2000, "lr_decay_iters": 2000, "dropout": 0.0}
NANOGPT_EVAL_INTERVAL = 250  # the config's
NANOGPT_SEED = 1337  # train.py's torch.manual_seed(1337 + rank); no setting changes it
DATASET = "charlstm_text"  # nanoGPT reads data/DATASET/ under its working folder
EPSILON = 1e-7  # Keras' clip, as charlstm.generation.evaluation applies it

# The goal, for the checkpoint the fast run names (mean over seeds).
GOALS = {10: 1.36, 20: 1.30}


# --- data --------------------------------------------------------------------------------

def charlstm_split():
    """(vocabulary, training indices, held-out indices, seq_length): the text train.py
    --preset fast reads, prepared and split as it does (charlstm.text.sources)."""
    from charlstm.config import resolve
    from charlstm.text.rules import TextRules
    from charlstm.text.sources import load_sources, split

    settings = resolve(dict(preset="fast"))
    corpus = load_sources(settings.text, TextRules.of(settings), settings.documents)
    training, held_out, _ = split(corpus, settings.validation_split)
    return corpus.vocabulary, training, held_out, settings.seq_length


def write_nanogpt_data(folder):
    """nanoGPT's data/DATASET/{train,val}.bin and meta.pkl under folder, in our vocabulary
    (as its data/shakespeare_char/prepare.py writes them); returns (held-out length,
    seq_length)."""
    import pickle

    import numpy as np

    vocabulary, training, held_out, seq_length = charlstm_split()
    data = os.path.join(folder, "data", DATASET)
    os.makedirs(data, exist_ok=True)
    np.asarray(training, np.uint16).tofile(os.path.join(data, "train.bin"))
    np.asarray(held_out, np.uint16).tofile(os.path.join(data, "val.bin"))
    chars = vocabulary.chars
    with open(os.path.join(data, "meta.pkl"), "wb") as handle:
        pickle.dump({"vocab_size": len(chars), "itos": dict(enumerate(chars)),
                     "stoi": {char: index for index, char in enumerate(chars)}}, handle)
    return len(held_out), seq_length


# --- scoring (each in a process of its own) ----------------------------------------------

def score_fast(weights):
    """The tutorial's objective on every window of the checkpoint's held-out part
    (step_budgets.held_out_loss); prints one JSON line."""
    from step_budgets import held_out_loss  # first: its `common` puts the project on the path

    from charlstm.checkpoints.format import load_checkpoint

    loss, windows = held_out_loss(weights)
    metadata = load_checkpoint(weights).metadata
    print(json.dumps(dict(held_out=loss, windows=windows, named_epoch=metadata["epoch"],
                          named_step=metadata.get("steps"))))


def score_nanogpt(checkpoint_path, val_bin, seq_length, nanogpt_dir):
    """nanoGPT's ckpt.pt (its own model.py) on the character after each seq_length window of
    val.bin, reading the block_size characters before it; prints one JSON line. Runs under
    the peer interpreter (torch), so it imports nothing of charlstm."""
    import numpy as np
    import torch

    sys.path.insert(0, nanogpt_dir)
    from model import GPT, GPTConfig

    saved = torch.load(checkpoint_path, map_location="cpu")
    model = GPT(GPTConfig(**saved["model_args"]))
    # as nanoGPT's sample.py: a compiled model's weights carry this prefix
    state = {key.removeprefix("_orig_mod."): value for key, value in saved["model"].items()}
    model.load_state_dict(state)
    model.eval()
    data = np.fromfile(val_bin, dtype=np.uint16).astype(np.int64)
    context = min(model.config.block_size, seq_length)
    targets = np.arange(seq_length, len(data))  # one per window: charlstm's pattern_count
    windows = np.lib.stride_tricks.sliding_window_view(data, context)
    losses = []
    with torch.no_grad():
        for first in range(0, len(targets), 512):
            chosen = targets[first : first + 512]
            inputs = torch.from_numpy(np.ascontiguousarray(windows[chosen - context]))
            logits, _ = model(inputs)  # without targets: the last position's logits only
            log_probabilities = torch.log_softmax(logits[:, -1, :].float(), dim=-1)
            picked = log_probabilities[torch.arange(len(chosen)),
                                       torch.from_numpy(data[chosen])]
            losses.append(torch.clamp(-picked, max=-np.log(EPSILON)).double().numpy())
    losses = np.concatenate(losses)
    print(json.dumps(dict(held_out=float(losses.mean()), windows=len(targets),
                          context=context, named_step=int(saved["iter_num"]),
                          best_val_loss=float(saved["best_val_loss"]))))


def child_json(command, **kwargs):
    """The last line of a child's stdout as JSON; RuntimeError with its stderr's tail if it
    failed."""
    child = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} ... exited {child.returncode}:\n"
                           f"{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


# --- runs --------------------------------------------------------------------------------

def run_fast(minutes, seed):
    """train.py --preset fast for the budget, and its named checkpoint scored."""
    folder = tempfile.mkdtemp(prefix=f"peer-fast-{minutes:g}-{seed}-")
    command = [sys.executable, os.path.join(ROOT, "train.py"), "--preset", "fast",
               "--minutes", f"{minutes:g}", "--seed", str(seed), "--checkpoint-dir", folder]
    started = time.perf_counter()
    child = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    log = child.stdout + child.stderr
    with open(os.path.join(folder, "train.log"), "w") as handle:
        handle.write(log)
    # The run's own last line names its best checkpoint: what it, charlstm.train() and
    # generate.py answer with (issue 32), whatever the monitor's default is at the time.
    named = re.findall(r"^done: best checkpoint (.+?) \((\w+) [-\d.]+\); history in", log,
                       re.MULTILINE)
    if child.returncode != 0 or not named:
        raise RuntimeError(f"train.py exited {child.returncode} without naming a checkpoint "
                           f"(log: {folder}/train.log):\n{log[-3000:]}")
    weights, monitor = named[-1]
    planned = re.findall(r"step (\d+) of (\d+) planned", log)
    training_seconds = sum(float(value) for value in re.findall(
        r"^epoch \d+ .* time ([\d.]+)s", log, re.MULTILINE))
    score = child_json([sys.executable, __file__, "--score-fast", weights])
    # Only the named checkpoint is kept (a run writes one each improving epoch, MBs each).
    for name in os.listdir(folder):
        if name.endswith(".hdf5") and os.path.join(folder, name) != weights:
            os.remove(os.path.join(folder, name))
    return dict(score, steps=int(planned[-1][0]) if planned else None, monitor=monitor,
                named_checkpoint=weights, seconds=round(seconds, 1),
                training_seconds=round(training_seconds, 1), command=" ".join(command[1:]))


def nanogpt_command(args, folder, overrides):
    settings = dict(NANOGPT_RECIPE, dataset=DATASET, **overrides)
    flags = [f"--{name}={value}" for name, value in settings.items()]
    return [args.peer_python, os.path.join(args.nanogpt, "train.py"),
            os.path.join(args.nanogpt, NANOGPT_CONFIG)] + flags


def nanogpt_environment(args):
    """Unbuffered output (the probe reads it as it comes), and --nanogpt-threads: torch's
    OpenMP threads spin while they wait, so on a machine busy with other work two threads can
    be 25 times slower a step than one (measured on 2 cores beside a training sweep)."""
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    if args.nanogpt_threads:
        environment["OMP_NUM_THREADS"] = str(args.nanogpt_threads)
    return environment


def nanogpt_folder(args):
    """A working folder for nanoGPT's train.py: our data under data/, and its configurator.py
    (which train.py reads from the working folder)."""
    folder = tempfile.mkdtemp(prefix="peer-nanogpt-")
    os.symlink(os.path.join(args.nanogpt, "configurator.py"),
               os.path.join(folder, "configurator.py"))
    held_out, seq_length = write_nanogpt_data(folder)
    return folder, held_out, seq_length


ITERATION = re.compile(r"^iter (\d+): loss [-\d.naif]+, time ([\d.]+)ms", re.MULTILINE)


def nanogpt_timing(args, folder):
    """(seconds an iteration, seconds an evaluation): nanoGPT's recipe run for
    --probe-seconds past its first iteration, evaluating every 25 iterations to time that
    too, from its own per-iteration times (an evaluating iteration's includes the evaluation)."""
    every = 25
    command = nanogpt_command(args, folder, dict(max_iters=10 ** 6, lr_decay_iters=10 ** 6,
                                                 eval_interval=every,
                                                 out_dir=os.path.join(folder, "probe")))
    child = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             env=nanogpt_environment(args))
    lines, first = [], None
    try:
        for line in child.stdout:
            lines.append(line)
            if first is None and line.startswith("iter "):
                first = time.perf_counter()
            if first is not None and time.perf_counter() - first > args.probe_seconds:
                break
    finally:
        child.kill()
        child.wait()
    times = [(int(step), float(ms) / 1000) for step, ms in ITERATION.findall("".join(lines))]
    steps = [seconds for step, seconds in times if step % every and step >= 5]
    evaluations = [seconds for step, seconds in times if step and not step % every]
    if not steps or not evaluations:
        raise RuntimeError("nanoGPT's probe logged too few iterations:\n"
                           + "".join(lines)[-3000:])
    step = statistics.median(steps)
    return step, max(statistics.median(evaluations) - step, 0.0)


def run_nanogpt(args, minutes):
    """nanoGPT's recipe for the budget, and its best-validation checkpoint scored."""
    folder, held_out, seq_length = nanogpt_folder(args)
    step, evaluation = nanogpt_timing(args, folder)
    shutil.rmtree(os.path.join(folder, "probe"), ignore_errors=True)
    budget = minutes * 60
    iterations = max(int(budget / (step + evaluation / NANOGPT_EVAL_INTERVAL)), 1)
    if iterations >= NANOGPT_EVAL_INTERVAL:
        every = NANOGPT_EVAL_INTERVAL
        iterations = max(round(iterations / every), 1) * every
    else:
        every = iterations  # a smoke budget: evaluate (and keep a checkpoint) at its end
    out = os.path.join(folder, "out")
    command = nanogpt_command(args, folder, dict(max_iters=iterations,
                                                 lr_decay_iters=iterations,
                                                 eval_interval=every, out_dir=out))
    started = time.perf_counter()
    with open(os.path.join(folder, "train.log"), "w") as log:
        child = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                                 env=nanogpt_environment(args))
        try:
            child.wait(timeout=2 * budget + 120)
            stopped = False
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            stopped = True
    seconds = time.perf_counter() - started
    with open(os.path.join(folder, "train.log")) as log:
        text = log.read()
    checkpoint = os.path.join(out, "ckpt.pt")
    if (child.returncode != 0 and not stopped) or not os.path.exists(checkpoint):
        raise RuntimeError(f"nanoGPT exited {child.returncode} without a checkpoint "
                           f"(log: {folder}/train.log):\n{text[-3000:]}")
    times = ITERATION.findall(text)
    score = child_json([args.peer_python, __file__, "--score-nanogpt", checkpoint,
                        os.path.join(folder, "data", DATASET, "val.bin"), str(seq_length),
                        args.nanogpt])
    return dict(score, steps=int(times[-1][0]) + 1 if times else 0,
                planned_steps=iterations, probe_step_seconds=round(step, 4),
                probe_evaluation_seconds=round(evaluation, 3), stopped=stopped,
                named_checkpoint=checkpoint, seconds=round(seconds, 1),
                training_seconds=round(sum(float(ms) for _, ms in times) / 1000, 1),
                command=" ".join(command[1:]), threads=args.nanogpt_threads or None,
                nanogpt_commit=nanogpt_commit(args.nanogpt))


def nanogpt_commit(folder):
    try:
        return subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# --- results and table -------------------------------------------------------------------

def read_results(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def mean_spread(runs):
    losses = [run["held_out"] for run in runs]
    spread = statistics.stdev(losses) if len(losses) > 1 else 0.0
    return statistics.mean(losses), spread


def table(results):
    budgets = sorted({run["minutes"] for run in results} | {5, 10, 20})
    machines = sorted({run["machine"] for run in results}) or ["none yet"]
    windows = ", ".join(f"{count:,}" for count in sorted({run["windows"] for run in results}))
    lines = [
        "# time to quality: --preset fast (the checkpoint the run names) beside nanoGPT's CPU "
        "recipe, same wall-clock budget, same text and split (python bench/peer_nanogpt.py)",
        "# held-out loss: the tutorial's objective (mean cross-entropy, nats) of the character "
        f"after each 100-character window of the text's last 10% ({windows or '?'} targets); "
        "nanoGPT reads the 64 characters before each",
        f"# machine: {'; '.join(machines)}" + ("  (MIXED: figures not comparable)"
                                               if len(machines) > 1 else ""),
        "# fast: train.py --preset fast --minutes M --seed S, the checkpoint its last line names",
        "# nanogpt: its README's CPU recipe with its own code, max_iters = lr_decay_iters planned "
        "from a probe of its speed to end at the budget; seed 1337 (its configurator has none)",
        "",
        f"{'minutes':>7}  {'recipe':<8} {'held-out':>16}  runs",
    ]
    means = {}
    for minutes in budgets:
        for recipe in ("fast", "nanogpt"):
            runs = sorted((run for run in results
                           if run["minutes"] == minutes and run["recipe"] == recipe),
                          key=lambda run: run["seed"])
            if not runs:
                lines.append(f"{minutes:>7g}  {recipe:<8} {'not measured yet':>16}")
                continue
            mean, spread = mean_spread(runs)
            means[minutes, recipe] = mean
            lines.append(f"{minutes:>7g}  {recipe:<8} {mean:.4f} +- {spread:.4f}  {len(runs)}")
            for run in runs:
                note = " STOPPED at twice its budget" if run.get("stopped") else ""
                if recipe == "nanogpt":
                    note += (f", probe {run['probe_step_seconds']:.3f} s an iteration"
                             f"{', threads ' + str(run['threads']) if run.get('threads') else ''}")
                lines.append(
                    f"{'':>7}    seed {run['seed']:<5} {run['held_out']:.4f}  steps "
                    f"{run['steps']}, named checkpoint's step {run['named_step']}, "
                    f"{run['training_seconds']:.0f} s training ({run['seconds']:.0f} s in all), "
                    f"{run['date']}{note}")
    lines += ["", "goals (issue 32; fast: mean over its seeds):"] + goal_lines(means, budgets)
    return "\n".join(lines)


def goal_lines(means, budgets):
    lines = []
    for minutes, bound in GOALS.items():
        mean = means.get((minutes, "fast"))
        verdict = ("not measured yet" if mean is None else
                   f"{'met' if mean <= bound else 'missed'} ({mean:.4f})")
        lines.append(f"  {minutes} minutes at most {bound:.2f}: {verdict}")
    measured = [minutes for minutes in budgets if (minutes, "fast") in means]
    pairs = [(shorter, longer) for shorter, longer in zip(measured, measured[1:])]
    if not pairs:
        lines.append("  never worse with more time: not measured yet")
    for shorter, longer in pairs:
        before, after = means[shorter, "fast"], means[longer, "fast"]
        lines.append(f"  never worse with more time, {shorter:g} -> {longer:g} minutes: "
                     f"{'met' if after <= before else 'missed'} ({before:.4f} -> {after:.4f})")
    for minutes in budgets:
        ours, theirs = means.get((minutes, "fast")), means.get((minutes, "nanogpt"))
        verdict = ("not measured yet" if ours is None or theirs is None else
                   f"{'met' if ours < theirs else 'missed'} ({ours:.4f} against {theirs:.4f})")
        lines.append(f"  below nanoGPT at {minutes:g} minutes: {verdict}")
    return lines


def save_table(text, path):
    print(text, flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text + "\n")


def numbers(text, kind):
    return [kind(value) for value in text.split(",") if value.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", default="5,10,20", help="budgets, in order (5,10,20)")
    parser.add_argument("--seeds", default="1,2,3", help="fast's seeds (1,2,3)")
    parser.add_argument("--recipes", default="fast,nanogpt", help="fast,nanogpt")
    parser.add_argument("--results", default=RESULTS, help="the JSON lines file")
    parser.add_argument("--output", default=TABLE, help="the table")
    parser.add_argument("--table-only", action="store_true", help="only rewrite the table")
    parser.add_argument("--nanogpt", default=NANOGPT_DIR,
                        help=f"nanoGPT's checkout (env NANOGPT_DIR; default {NANOGPT_DIR})")
    parser.add_argument("--peer-python", default=sys.executable,
                        help="the interpreter with torch that runs nanoGPT (default: this one)")
    parser.add_argument("--nanogpt-threads", type=int, default=0,
                        help="torch's threads for nanoGPT (default: torch's own, all cores)")
    parser.add_argument("--probe-seconds", type=float, default=20.0,
                        help="how long nanoGPT's speed is measured before each run")
    parser.add_argument("--score-fast", help=argparse.SUPPRESS)
    parser.add_argument("--score-nanogpt", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.score_fast:
        return score_fast(args.score_fast)
    if args.score_nanogpt:
        checkpoint, val_bin, seq_length, nanogpt_dir = args.score_nanogpt
        return score_nanogpt(checkpoint, val_bin, int(seq_length), nanogpt_dir)
    recipes = [recipe for recipe in args.recipes.split(",") if recipe]
    unknown = set(recipes) - {"fast", "nanogpt"}
    if unknown:
        parser.error(f"unknown recipe(s): {', '.join(sorted(unknown))} (fast, nanogpt)")
    if "nanogpt" in recipes and not args.table_only and not os.path.exists(
            os.path.join(args.nanogpt, "train.py")):
        parser.error(f"no nanoGPT checkout at {args.nanogpt}: clone karpathy/nanoGPT there, "
                     "or give --nanogpt DIR")
    if "nanogpt" in recipes and not args.table_only and subprocess.run(
            [args.peer_python, "-c", "import numpy, torch"], capture_output=True).returncode:
        parser.error(f"{args.peer_python} cannot import torch and numpy: see "
                     "bench/requirements-peer.txt, or give --peer-python PATH")
    if args.table_only:
        return save_table(table(read_results(args.results)), args.output)
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from common import cpu_name

    ran = 0
    for minutes in numbers(args.minutes, float):
        for seed in numbers(args.seeds, int):
            for recipe in recipes:
                run_seed = seed if recipe == "fast" else NANOGPT_SEED
                done = {(r["minutes"], r["recipe"], r["seed"])
                        for r in read_results(args.results)}
                if (minutes, recipe, run_seed) in done:
                    continue
                print(f"{time.strftime('%H:%M:%S')} {recipe}, {minutes:g} minutes, seed "
                      f"{run_seed}", file=sys.stderr, flush=True)
                try:
                    result = (run_fast(minutes, seed) if recipe == "fast"
                              else run_nanogpt(args, minutes))
                except RuntimeError as error:
                    print(error, file=sys.stderr, flush=True)
                    continue
                record = dict(minutes=minutes, recipe=recipe, seed=run_seed, **result,
                              machine=cpu_name(), date=time.strftime("%Y-%m-%d %H:%M"))
                os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
                with open(args.results, "a") as handle:
                    handle.write(json.dumps(record) + "\n")
                save_table(table(read_results(args.results)), args.output)
                ran += 1
    if not ran:
        print("every run asked for is in the results already", file=sys.stderr)
        save_table(table(read_results(args.results)), args.output)


if __name__ == "__main__":
    main()
