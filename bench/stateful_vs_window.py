"""How stateful decoding's text differs from window decoding's, on a trained checkpoint.

For a number of random seed windows, both decoders write greedy text from the same seed. The
script prints where the two texts first differ (the stateful decoder sees the same 100
characters at the first step, then keeps everything before them in its state, which a model
trained on fixed windows never saw), and, as a rough quality figure for each mode, the share of
generated words that occur in the training text and the share of distinct 20-character chunks
(low when the text loops).

    python bench/stateful_vs_window.py --weights weights-improvement-20-1.9181.hdf5

Prints a table and writes it to bench/results/stateful_vs_window.txt.
"""

import argparse
import os
import re

from common import ROOT, save_table

from charlstm.system.backend import import_keras  # noqa: E402

keras = import_keras()
import numpy as np  # noqa: E402

from charlstm.checkpoints.run_folder import find_best_checkpoint  # noqa: E402
from charlstm.generation.decoders import StatefulDecoder, WindowDecoder  # noqa: E402
from charlstm.checkpoints.loading import load_for_generation  # noqa: E402
from charlstm.generation.generate import random_primes  # noqa: E402
from charlstm.generation.sampling import generate_indices  # noqa: E402

WORD = re.compile(r"[a-z]+")


def first_difference(first, second):
    for position, (a, b) in enumerate(zip(first, second)):
        if a != b:
            return position
    return min(len(first), len(second))


def quality(texts, known_words):
    words = [word for text in texts for word in WORD.findall(text)]
    real = sum(word in known_words for word in words) / max(len(words), 1)
    chunks = [text[i : i + 20] for text in texts for i in range(0, len(text) - 19, 20)]
    distinct = len(set(chunks)) / max(len(chunks), 1)
    return real, distinct


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="checkpoint (default: the best in .)")
    parser.add_argument("--samples", type=int, default=32, help="random seed windows")
    parser.add_argument("--length", type=int, default=500, help="characters per sample")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results",
                                                         "stateful_vs_window.txt"))
    args = parser.parse_args()

    weights = args.weights or find_best_checkpoint(".")
    model, checkpoint, seed_text = load_for_generation(weights)
    vocabulary = checkpoint.vocabulary
    primes = random_primes(seed_text, checkpoint.seq_length, args.samples,
                           np.random.default_rng(0))
    known_words = set(WORD.findall(vocabulary.decode(seed_text)))
    texts = {}
    for name, decoder in (("window", WindowDecoder(model, checkpoint.topology, checkpoint.seq_length)),
                          ("stateful", StatefulDecoder(model, checkpoint.topology))):
        steps = np.stack(list(generate_indices(decoder, primes, args.length)), axis=1)
        texts[name] = [vocabulary.decode(row) for row in steps]
    differences = [first_difference(a, b) for a, b in zip(texts["window"], texts["stateful"])]
    lines = [
        f"# {os.path.basename(weights)}: {args.samples} seed windows, {args.length} greedy characters each",
        f"first difference between the two texts: median {int(np.median(differences))}, "
        f"min {min(differences)}, max {max(differences)} characters",
        f"{'mode':<10} {'known words':>12} {'distinct 20-char chunks':>24}",
    ]
    for name in ("window", "stateful"):
        real, distinct = quality(texts[name], known_words)
        lines.append(f"{name:<10} {real:>11.1%} {distinct:>24.1%}")
    lines.append(f"window   sample: {texts['window'][0][:160]!r}")
    lines.append(f"stateful sample: {texts['stateful'][0][:160]!r}")
    save_table("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
