"""evaluate.py on the bundled model: the default (two phases: an even sample of windows read
from their last --context characters, a smaller one of those scored whole, each figure with
its standard error) against the earlier plain sampling (--context 0 --windows 10000, every
sampled window scored whole) in the same run, each command's wall-clock and CPU seconds and
figures, and whether each exact figure lies within its ± (one standard error) and within two.

The exact figures (--all, every window) do not depend on the sampling code, and take over half
an hour on a busy 2-core machine: by default they are read from the run recorded in
bench/results/evaluate.txt at commit RECORD (git show), and the results say so.

    nice python bench/evaluate_speed.py                   # default and plain sampling
    nice python bench/evaluate_speed.py --rerun-all       # and --all, measured again (slow)
    python bench/evaluate_speed.py --windows 1000         # another --windows for the default
"""

import argparse
import os
import re
import resource
import subprocess
import sys
import time

import common

from charlstm.checkpoints.run_folder import BUNDLED_MODEL  # noqa: E402

# The merge whose bench/results/evaluate.txt records the bundled model's --all run.
RECORD = "c349883"
RECORD_FILE = "bench/results/evaluate.txt"
PLAIN = ["--context", "0", "--windows", "10000"]  # the default before two phases

LINE = re.compile(r"^(?P<part>[^:]+): loss (?P<loss>[\d.]+)(?: ± (?P<error>[\d.]+))? nats .*"
                  r"over (?:(?P<scored>[\d,]+) of )?(?P<windows>[\d,]+) windows"
                  r"(?:, (?P<short>[\d,]+) read from .*)?$")


def figures_of(output):
    """{part: (loss, standard error, scored whole, windows, read short)} of evaluate.py's
    output lines."""
    figures = {}
    for line in output.splitlines():
        match = LINE.match(line)
        if match:
            windows = int(match["windows"].replace(",", ""))
            scored = int(match["scored"].replace(",", "")) if match["scored"] else windows
            short = int(match["short"].replace(",", "")) if match["short"] else 0
            figures[match["part"]] = (float(match["loss"]), float(match["error"] or 0),
                                      scored, windows, short)
    return figures


def run(arguments):
    """(seconds, CPU seconds, figures, stdout) of one evaluate.py command on the bundled
    model, as a subprocess from start to exit."""
    command = [sys.executable, os.path.join(common.ROOT, "evaluate.py"),
               "--weights", BUNDLED_MODEL, *arguments]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run(command, check=True, cwd=common.ROOT, capture_output=True,
                              text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, figures_of(finished.stdout), finished.stdout.strip()


def recorded_exact():
    """The --all lines of the recorded run, and their figures."""
    text = subprocess.run(["git", "show", f"{RECORD}:{RECORD_FILE}"], check=True,
                          cwd=common.ROOT, capture_output=True, text=True).stdout
    block = text.split("python evaluate.py --all:", 1)[1].split("\n\n", 1)[0]
    lines = "\n".join(block.splitlines()[1:])
    return lines, figures_of(lines)


def comparison(name, sampled, exact):
    """One line a part: the estimate, the exact figure, and whether it lies within ±."""
    lines = []
    for part, (loss, *_) in exact.items():
        estimate, error, scored, windows, short = sampled[part]
        off = abs(estimate - loss)
        within = ("within ±" if off <= error
                  else "within 2 ±" if off <= 2 * error else "outside")
        read = f", {short:,} short" if short else ""
        lines.append(f"{part}: {name} {estimate:.4f} ± {error:.4f} ({scored:,} of {windows:,} "
                     f"windows whole{read}), exact {loss:.4f}: off by {off:.4f}, {within}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, help="evaluate.py --windows for the default "
                        "run (default: evaluate.py's own)")
    parser.add_argument("--rerun-all", action="store_true", help="measure --all again "
                        "instead of reading the recorded run's figures")
    parser.add_argument("--results", default=os.path.join(common.ROOT, "bench", "results",
                                                          "evaluate.txt"))
    options = parser.parse_args()
    flags = ["--windows", str(options.windows)] if options.windows else []
    load = os.getloadavg()
    default = run(flags)
    plain = run(PLAIN)
    if options.rerun_all:
        exact = run(["--all"])
        exact_head = (f"python evaluate.py --all: {exact[0]:.1f} s wall, {exact[1]:.1f} CPU s "
                      f"({exact[0] / default[0]:.1f} times the default's wall-clock)")
        exact_lines, exact_figures = exact[3], exact[2]
    else:
        exact_head = (f"python evaluate.py --all: not run again; its figures as recorded in "
                      f"{RECORD_FILE} at {RECORD} (they do not depend on the sampling code)")
        exact_lines, exact_figures = recorded_exact()
    load_after = os.getloadavg()
    lines = [
        f"machine: {common.cpu_name()}; shared and busy (other jobs running): load average "
        f"{load[0]:.1f} before, {load_after[0]:.1f} after",
        "measured: each command as a subprocess from start to exit (Python, TensorFlow and "
        "the model loaded included); CPU seconds are its user + system time",
        "standard error: two phases, per stratum sqrt(S_short^2/n1 (1 - n1/N) + S_diff^2/n2 "
        "(1 - n2/n1)); plain sampling, sqrt(S^2/n (1 - n/N)) (charlstm.generation.evaluation)",
        "",
        f"python evaluate.py {' '.join(flags)}".rstrip()
        + f": {default[0]:.1f} s wall, {default[1]:.1f} CPU s",
        default[3],
        "",
        f"python evaluate.py {' '.join(PLAIN)} (the earlier default, plain sampling): "
        f"{plain[0]:.1f} s wall, {plain[1]:.1f} CPU s ({plain[0] / default[0]:.1f} times the "
        f"default's wall-clock, {plain[1] / default[1]:.1f} times its CPU seconds)",
        plain[3],
        "",
        exact_head,
        exact_lines,
        "",
        *comparison("default", default[2], exact_figures),
        *comparison("plain", plain[2], exact_figures),
    ]
    common.save_table("\n".join(lines), options.results)


if __name__ == "__main__":
    main()
