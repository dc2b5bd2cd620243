"""Generation speed, characters per second, four ways on the same weights and seed windows:

  (a) the tutorial's loop: model.predict for every character
  (b) window decoding (generate.py's default): the same characters, a compiled forward pass
  (c) stateful decoding (generate.py --stateful): one character a step, LSTM state carried
  (d) window decoding of 32 samples in one batch (--num-samples 32): all characters counted
  (e) stateful decoding of 32 samples in one batch

for the tutorial's small and bigger topologies (fresh weights: speed does not depend on them)
or for the checkpoints given. "same" says whether (b) wrote exactly (a)'s characters.

    python bench/generation_speed.py
    python bench/generation_speed.py --weights weights-improvement-19-1.9435.hdf5

Prints a table and writes it to bench/results/generation_speed.txt.
"""

import argparse
import os
import platform
import time

from common import ROOT, save_table, tutorial_loop

from charlstm.system.backend import import_keras  # noqa: E402

keras = import_keras()
import numpy as np  # noqa: E402

from charlstm.text.corpus import load_corpus  # noqa: E402
from charlstm.generation.decoders import StatefulDecoder, WindowDecoder  # noqa: E402
from charlstm.checkpoints.loading import load_for_generation  # noqa: E402
from charlstm.model.models import Topology, build_model  # noqa: E402
from charlstm.generation.sampling import generate_indices  # noqa: E402


def timed(decoder, primes, length):
    """(characters per second over all rows, first row's indices); traced before timing."""
    list(generate_indices(decoder, primes, 2))
    started = time.perf_counter()
    steps = list(generate_indices(decoder, primes, length))
    seconds = time.perf_counter() - started
    return primes.shape[0] * length / seconds, [int(step[0]) for step in steps]


def measure(name, model, topology, seq_length, seed_text, args):
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(seed_text) - seq_length, size=32)
    batch = np.stack([seed_text[start : start + seq_length] for start in starts])
    single = batch[:1]

    model.predict(single[..., None].astype(np.float32), verbose=0)  # build predict once
    started = time.perf_counter()
    reference = tutorial_loop(model, single[0], topology.vocab_size, args.predict_length)
    predict_rate = args.predict_length / (time.perf_counter() - started)

    window = WindowDecoder(model, topology, seq_length)
    stateful = StatefulDecoder(model, topology)
    window_rate, window_text = timed(window, single, args.length)
    stateful_rate, _ = timed(stateful, single, args.length)
    window_batch_rate, _ = timed(window, batch, args.batch_length)
    stateful_batch_rate, _ = timed(stateful, batch, args.batch_length)
    same = window_text[: args.predict_length] == reference
    rates = [predict_rate, window_rate, stateful_rate, window_batch_rate, stateful_batch_rate]
    cells = " ".join(f"{rate:>9.0f} {rate / predict_rate:>6.1f}x" for rate in rates[1:])
    return f"{name:<24} {predict_rate:>9.1f} {cells} {'yes' if same else 'NO':>5}"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", action="append", default=[],
                        help="checkpoint to time (repeatable; default: fresh small and bigger models)")
    parser.add_argument("--length", type=int, default=1000, help="characters for (b) and (c)")
    parser.add_argument("--predict-length", type=int, default=1000,
                        help="characters for (a), the slow predict loop")
    parser.add_argument("--batch-length", type=int, default=200,
                        help="steps for the batched runs (d) and (e), 32 characters each")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results",
                                                         "generation_speed.txt"))
    args = parser.parse_args()

    rows = []
    if args.weights:
        for path in args.weights:
            model, checkpoint, seed_text = load_for_generation(path)
            rows.append(measure(os.path.basename(path), model, checkpoint.topology,
                                checkpoint.seq_length, seed_text, args))
    else:
        corpus = load_corpus(os.path.join(ROOT, "wonderland.txt"))
        vocabulary, seed_text = corpus.vocabulary, corpus.indices
        for name, layers in (("small (1 x LSTM 256)", 1), ("bigger (2 x LSTM 256)", 2)):
            keras.utils.set_random_seed(1)
            topology = Topology(len(vocabulary), len(vocabulary), layers=layers)
            rows.append(measure(name, build_model(topology), topology, 100, seed_text, args))

    header = (
        f"# generation chars/s and ratio to (a); {platform.machine()}, {os.cpu_count()} CPUs, "
        f"keras {keras.__version__} ({keras.backend.backend()}); (a) {args.predict_length} chars, "
        f"(b)(c) {args.length}, (d)(e) 32 x {args.batch_length}\n"
        f"{'model':<24} {'(a) predict':>10} {'(b) window':>17} {'(c) stateful':>17} "
        f"{'(d) window x32':>17} {'(e) stateful x32':>17} {'same':>5}"
    )
    save_table("\n".join([header, *rows]), args.output)


if __name__ == "__main__":
    main()
