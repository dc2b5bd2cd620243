"""Peak memory and preparation time of train.py on generated corpora of 1, 10 and 100 MB.

Each corpus is wonderland.txt's paragraphs in a seeded random order, repeated to the size.
For each, train.py runs the tutorial's small model (window targets, stride 1, batch 128) for
--steps steps in two epochs of --steps-per-epoch, twice: the first run reads the text and
writes its index cache, the second reads the cache. Peak resident memory is the child
process's own (wait4's ru_maxrss); "read" is train.py's own figure for reading the text.

    python bench/memory.py                          # 1, 10 and 100 MB, 200 steps each
    python bench/memory.py --sizes 1,10 --steps 20

Prints a table and writes it to bench/results/memory.txt (with --output).
"""

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from common import ROOT, save_table


def generate_corpus(path, megabytes, seed=0):
    """Write about `megabytes` MB of Alice: her paragraphs, shuffled, again and again."""
    with open(os.path.join(ROOT, "wonderland.txt"), encoding="utf-8-sig") as handle:
        paragraphs = [p for p in handle.read().replace("\r\n", "\n").split("\n\n") if p.strip()]
    rng = np.random.default_rng(seed)
    target, written = megabytes * 1_000_000, 0
    with open(path, "w", encoding="utf-8") as handle:
        while written < target:
            for index in rng.permutation(len(paragraphs)):
                chunk = paragraphs[index] + "\n\n"
                handle.write(chunk)
                written += len(chunk.encode("utf-8"))
                if written >= target:
                    break


def measured_run(arguments):
    """(peak resident MB, seconds, stderr) of one train.py run."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "train.py"), *arguments],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"train.py failed ({process.returncode}):\n{stderr[-2000:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started, stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100", help="corpus sizes in MB")
    parser.add_argument("--steps", type=int, default=200, help="training steps per run")
    parser.add_argument("--output", default=None, help="also write the table here")
    args = parser.parse_args()

    lines = [f"# train.py memory on {platform.machine()}, {os.cpu_count()} CPUs; small model, "
             f"--targets last (stride 1), batch 128, {args.steps} steps",
             f"{'corpus':>8} {'characters':>12} {'read (text)':>12} {'read (cache)':>13} "
             f"{'peak RSS':>10} {'peak RSS, cache':>16} {'s/step':>7}"]
    print("\n".join(lines), file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(size) for size in args.sizes.split(",")):
            text = os.path.join(folder, f"corpus-{size}mb.txt")
            generate_corpus(text, size)
            flags = ["--text", text, "--epochs", "2", "--steps-per-epoch", str(args.steps // 2),
                     "--seed", "1", "--checkpoint-dir", os.path.join(folder, f"run-{size}")]
            results = [measured_run(flags) for _ in range(2)]  # text, then cache
            reads = [float(re.search(r"read '.*' in ([\d.]+)s", err).group(1))
                     for _, _, err in results]
            epoch_seconds = [float(x) for x in re.findall(r"^epoch 2/2 .* time ([\d.]+)s",
                                                          results[1][2], re.M)]
            characters = os.path.getsize(text)  # ASCII: a byte a character
            lines.append(f"{size:>6} MB {characters:>12,} {reads[0]:>11.2f}s {reads[1]:>12.2f}s "
                         f"{results[0][0]:>7.0f} MB {results[1][0]:>13.0f} MB "
                         f"{epoch_seconds[0] / (args.steps // 2):>7.3f}")
            print(lines[-1], file=sys.stderr, flush=True)
    lines.append("characters: bytes of the generated file (ASCII, so one character each); "
                 "s/step from the second run's second epoch")
    save_table("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
