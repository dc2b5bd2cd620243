"""Greedy generation speed: the tutorial's model.predict-per-character loop vs our decoder.

Both write the same characters from the same seed window and weights (checked here); the
figures are characters per second, measured in one run on this machine.

    python bench/generation_speed.py                         # fresh small and bigger models
    python bench/generation_speed.py --weights weights-improvement-19-1.9435.hdf5

Prints a table and writes it to bench/results/generation_speed.txt.
"""

import argparse
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from charlstm.backend import import_keras  # noqa: E402

keras = import_keras()
import numpy as np  # noqa: E402

from charlstm.corpus import Vocabulary, read_text  # noqa: E402
from charlstm.generation import load_for_generation  # noqa: E402
from charlstm.models import Topology, build_model  # noqa: E402
from charlstm.sampling import WindowDecoder  # noqa: E402


def tutorial_loop(model, pattern, n_vocab, length):
    """The tutorial's loop: reshape, scale, model.predict, argmax, slide."""
    pattern = list(pattern)
    result = []
    for _ in range(length):
        x = np.reshape(pattern, (1, len(pattern), 1)) / float(n_vocab)
        index = int(np.argmax(model.predict(x, verbose=0)))
        result.append(index)
        pattern.append(index)
        pattern = pattern[1:]
    return result


def measure(name, model, vocabulary, pattern, length, predict_length):
    decoder = WindowDecoder(model, vocabulary, len(pattern))
    list(decoder.generate_indices(pattern, 2))  # trace once, outside the timing
    model.predict(np.zeros((1, len(pattern), 1), np.float32), verbose=0)
    started = time.perf_counter()
    ours = list(decoder.generate_indices(pattern, length))
    ours_rate = length / (time.perf_counter() - started)
    started = time.perf_counter()
    theirs = tutorial_loop(model, pattern, len(vocabulary), predict_length)
    theirs_rate = predict_length / (time.perf_counter() - started)
    same = ours[:predict_length] == theirs
    return (f"{name:<34} {theirs_rate:>12.1f} {ours_rate:>12.1f} {ours_rate / theirs_rate:>8.1f}x"
            f" {'yes' if same else 'NO':>6}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", action="append", default=[],
                        help="checkpoint to time (repeatable; default: fresh small and bigger models)")
    parser.add_argument("--length", type=int, default=1000, help="characters for our decoder")
    parser.add_argument("--predict-length", type=int, default=1000,
                        help="characters for the predict loop (slow: about 40 s per 1,000)")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results", "generation_speed.txt"))
    args = parser.parse_args()

    text = read_text(os.path.join(ROOT, "wonderland.txt"))
    rows = []
    if args.weights:
        for path in args.weights:
            model, checkpoint, pool = load_for_generation(path)
            pattern = pool[1000 : 1000 + checkpoint.seq_length]
            rows.append(measure(os.path.basename(path), model, checkpoint.vocabulary, pattern,
                                args.length, args.predict_length))
    else:
        vocabulary = Vocabulary.from_text(text)
        pattern = vocabulary.encode(text[1000:1100])
        for name, layers in (("small (LSTM 256, fresh weights)", 1), ("bigger (2 x LSTM 256, fresh)", 2)):
            keras.utils.set_random_seed(1)
            model = build_model(Topology(len(vocabulary), len(vocabulary), layers=layers))
            rows.append(measure(name, model, vocabulary, pattern, args.length, args.predict_length))

    header = (f"# greedy generation, chars/s, {platform.machine()} {os.cpu_count()} CPUs, "
              f"keras {keras.__version__} ({keras.backend.backend()}), "
              f"{args.length} chars (ours) / {args.predict_length} (predict loop)\n"
              f"{'model':<34} {'predict loop':>12} {'ours':>12} {'speedup':>9} {'same':>6}")
    table = "\n".join([header, *rows])
    print(table)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        handle.write(table + "\n")


if __name__ == "__main__":
    main()
