"""Generation: load a checkpoint, pick a seed window, write characters as the tutorial does.

    >>> from types import SimpleNamespace                                  # doctest: +SKIP
    >>> generate(SimpleNamespace(weights="weights-improvement-19-1.9435.hdf5", checkpoint_dir=".",
    ...          text=None, seq_length=None, length=1000, seed=1, prime=None, raw=False))
"""

import sys

import numpy as np

from .checkpoint import find_best_checkpoint, fit_legacy_to_vocabulary, load_checkpoint
from .cli import choose_seed, log
from .corpus import Vocabulary, normalise_text, read_text
from .errors import UserError
from .models import build_model
from .sampling import WindowDecoder
from .windows import pattern_count

LEGACY_DEFAULT_TEXT = "wonderland.txt"
LEGACY_DEFAULT_SEQ_LENGTH = 100


def load_for_generation(weights, text_path=None, seq_length=None):
    """(model, checkpoint, seed pool indices) for a weights file, ours or a legacy one.

    Our files carry vocabulary, window length and the training text; --text then only
    replaces the pool of seed windows. Legacy files need the text for their vocabulary.
    """
    checkpoint = load_checkpoint(weights)
    if checkpoint.is_legacy:
        text_path = text_path or LEGACY_DEFAULT_TEXT
        text = read_text(text_path)
        fit_legacy_to_vocabulary(checkpoint, Vocabulary.from_text(text), text_path)
        checkpoint.seq_length = seq_length or checkpoint.seq_length or LEGACY_DEFAULT_SEQ_LENGTH
        pool = checkpoint.vocabulary.encode(text)
    else:
        if seq_length is not None and seq_length != checkpoint.seq_length:
            raise UserError(
                f"'{weights}' was trained on windows of {checkpoint.seq_length} characters; "
                "--seq-length is only for legacy files that do not say"
            )
        pool = checkpoint.seed_indices
        if text_path:
            pool = checkpoint.vocabulary.encode(read_text(text_path), what=f"text file '{text_path}'")
    model = build_model(checkpoint.topology)
    try:
        model.set_weights(checkpoint.weights)
    except ValueError as error:
        raise UserError(f"weights file '{weights}' does not fit its own topology: {error}") from None
    return model, checkpoint, pool


def random_seed_window(pool, seq_length, rng):
    """The tutorial's seed: a random pattern window of the text."""
    count = pattern_count(len(pool), seq_length)
    if count == 0:
        raise UserError(
            f"the seed text has {len(pool)} characters: it must be longer than the "
            f"{seq_length}-character window to give a random seed window"
        )
    start = int(rng.integers(0, count))
    return pool[start : start + seq_length]


def generate(args):
    weights = args.weights or find_best_checkpoint(args.checkpoint_dir)
    model, checkpoint, pool = load_for_generation(weights, args.text, args.seq_length)
    vocabulary = checkpoint.vocabulary
    seed = choose_seed(args.seed)
    rng = np.random.default_rng(seed)

    if args.prime is not None:
        prime = normalise_text(args.prime)
        if not prime:
            raise UserError("--prime is empty: give at least one character")
        prime_indices = vocabulary.encode(prime, what="the prime text")
    else:
        prime_indices = random_seed_window(pool, checkpoint.seq_length, rng)

    log(f"weights: {weights}; random seed: {seed}")
    decoder = WindowDecoder(model, vocabulary, checkpoint.seq_length)
    out = sys.stdout
    if not args.raw:
        print("Seed:")
        print('"', vocabulary.decode(prime_indices), '"')  # the tutorial's Python 2 print
    written = 0
    try:
        for index in decoder.generate_indices(prime_indices, args.length):
            out.write(vocabulary.chars[index])
            out.flush()  # stream: a long --length shows its progress
            written += 1
    except KeyboardInterrupt:
        out.write("\n")
        out.flush()
        log(f"interrupted after {written} characters")
        sys.exit(130)
    out.write("\n")
    if not args.raw:
        out.write("Done.\n")
    out.flush()
