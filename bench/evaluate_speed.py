"""evaluate.py on the bundled model, the default (an even sample of --windows windows of each
part, each figure with its standard error) against --all (every window, the exact figure), in
the same run: each command's wall-clock and CPU seconds, its figures, and whether each exact
figure lies within the default's ± (one standard error) and within two.

    nice python bench/evaluate_speed.py                 # both (--all takes minutes)
    python bench/evaluate_speed.py --windows 2000       # another sample size for the default
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

LINE = re.compile(r"^(?P<part>[^:]+): loss (?P<loss>[\d.]+)(?: ± (?P<error>[\d.]+))? nats .*"
                  r"over (?:(?P<scored>[\d,]+) of )?(?P<windows>[\d,]+) windows$")


def run(arguments):
    """(seconds, CPU seconds, {part: (loss, standard error, scored, windows)}) of one
    evaluate.py command on the bundled model."""
    command = [sys.executable, os.path.join(common.ROOT, "evaluate.py"),
               "--weights", BUNDLED_MODEL, *arguments]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run(command, check=True, cwd=common.ROOT, capture_output=True,
                              text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures = {}
    for line in finished.stdout.splitlines():
        match = LINE.match(line)
        if match:
            windows = int(match["windows"].replace(",", ""))
            scored = int(match["scored"].replace(",", "")) if match["scored"] else windows
            figures[match["part"]] = (float(match["loss"]), float(match["error"] or 0),
                                      scored, windows)
    return seconds, cpu, figures, finished.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, help="evaluate.py --windows for the default "
                        "run (default: evaluate.py's own)")
    parser.add_argument("--results", default=os.path.join(common.ROOT, "bench", "results",
                                                          "evaluate.txt"))
    options = parser.parse_args()
    sampled_flags = ["--windows", str(options.windows)] if options.windows else []
    load = os.getloadavg()
    sampled = run(sampled_flags)
    exact = run(["--all"])
    load_after = os.getloadavg()
    lines = [
        f"machine: {common.cpu_name()}; shared and busy (other jobs running): load average "
        f"{load[0]:.1f} before, {load_after[0]:.1f} after",
        "measured: each command as a subprocess from start to exit (Python, TensorFlow and "
        "the model loaded included); CPU seconds are its user + system time",
        "standard error: the sampled windows' standard deviation / sqrt(sampled), with the "
        "finite-population correction sqrt(1 - sampled/windows), per stratum",
        "",
        f"python evaluate.py {' '.join(sampled_flags)}".rstrip()
        + f": {sampled[0]:.1f} s wall, {sampled[1]:.1f} CPU s",
        sampled[3],
        "",
        f"python evaluate.py --all: {exact[0]:.1f} s wall, {exact[1]:.1f} CPU s "
        f"({exact[0] / sampled[0]:.1f} times the default's wall-clock)",
        exact[3],
        "",
    ]
    for part, (loss, _, _, windows) in exact[2].items():
        estimate, error, scored, _ = sampled[2][part]
        off = abs(estimate - loss)
        within = "within ±" if off <= error else ("within 2 ±" if off <= 2 * error else "outside")
        lines.append(f"{part}: default {estimate:.4f} ± {error:.4f} ({scored:,} of {windows:,} "
                     f"windows), exact {loss:.4f}: off by {off:.4f}, {within}")
    common.save_table("\n".join(lines), options.results)


if __name__ == "__main__":
    main()
