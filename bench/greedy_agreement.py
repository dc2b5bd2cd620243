"""How many greedy characters agree when one checkpoint generates on other devices or backends.

The tutorial's 2022 edition warns that weights trained on one machine "may generate garbage"
on another. Greedy decoding is a chain of argmaxes, so one near-tie rounded differently makes
two texts part for good; this counts where they part and how many positions still agree.

Texts lie in one folder, named CHECKPOINT__RUNNER.txt (bench/gpu_check.sh writes them, e.g.
jax-fast__jax-gpu-window.txt). For each checkpoint, the reference is the text its training
backend wrote on the GPU (CHECKPOINT's first word, then -gpu-window), or --reference.

    python bench/greedy_agreement.py /tmp/gpu_check/texts
    python bench/greedy_agreement.py texts --output bench/results/greedy_agreement.txt
"""

import argparse
import os
from collections import defaultdict

from common import save_table


def common_prefix(first, second):
    length = 0
    for a, b in zip(first, second):
        if a != b:
            break
        length += 1
    return length


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="folder of CHECKPOINT__RUNNER.txt texts")
    parser.add_argument("--reference", help="runner to compare against (default: the "
                                            "training backend's GPU window text)")
    parser.add_argument("--output", help="also write the table here")
    args = parser.parse_args()

    groups = defaultdict(dict)
    for name in sorted(os.listdir(args.folder)):
        if name.endswith(".txt") and "__" in name:
            checkpoint, runner = name[: -len(".txt")].split("__", 1)
            with open(os.path.join(args.folder, name), encoding="utf-8") as handle:
                groups[checkpoint][runner] = handle.read().rstrip("\n")
    rows = [f"{'checkpoint':<12} {'runner':<20} {'chars':>6} {'same prefix':>11} "
            f"{'same positions':>14}  reference"]
    for checkpoint, texts in groups.items():
        reference_name = args.reference or checkpoint.split("-")[0] + "-gpu-window"
        reference = texts.get(reference_name)
        if reference is None:
            rows.append(f"{checkpoint:<12} (no {reference_name} text to compare with)")
            continue
        for runner, text in texts.items():
            same = sum(a == b for a, b in zip(text, reference))
            rows.append(f"{checkpoint:<12} {runner:<20} {len(text):>6} "
                        f"{common_prefix(text, reference):>11} {same:>14}  {reference_name}")
    save_table("\n".join(rows), args.output)


if __name__ == "__main__":
    main()
