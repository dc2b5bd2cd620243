"""Generation: load a checkpoint, pick a seed window, write characters as the tutorial does.

    >>> from generate import parse_args                                    # doctest: +SKIP
    >>> generate(parse_args(["--weights", "weights-improvement-19-1.9435.hdf5"]))  # doctest: +SKIP
"""

import sys

import numpy as np

from .checkpoint import find_best_checkpoint, fit_legacy_to_vocabulary, load_checkpoint
from .cli import choose_seed, log
from .corpus import load_corpus, prepare_text
from .errors import UserError
from .decoders import StatefulDecoder, WindowDecoder
from .models import build_model
from .sampling import generate_indices, make_chooser
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
        corpus = load_corpus(text_path)
        fit_legacy_to_vocabulary(checkpoint, corpus.vocabulary, text_path)
        checkpoint.seq_length = seq_length or checkpoint.seq_length or LEGACY_DEFAULT_SEQ_LENGTH
        pool = corpus.indices
    else:
        if seq_length is not None and seq_length != checkpoint.seq_length:
            raise UserError(
                f"'{weights}' was trained on windows of {checkpoint.seq_length} characters; "
                "--seq-length is only for legacy files that do not say"
            )
        pool = checkpoint.seed_indices
        if text_path:
            pool = pool_from_text(text_path, checkpoint)
    model = build_model(checkpoint.topology)
    try:
        model.set_weights(checkpoint.weights)
    except ValueError as error:
        raise UserError(f"weights file '{weights}' does not fit its own topology: {error}") from None
    return model, checkpoint, pool


def pool_from_text(text_path, checkpoint):
    """A text's indices in the checkpoint's vocabulary; UserError naming the characters the
    model does not know. The text is read as a compact corpus and its indices mapped."""
    corpus = load_corpus(text_path, strip_punctuation_of(checkpoint))
    # Each of the text's own characters in the model's vocabulary (UserError if unknown).
    mapping = checkpoint.vocabulary.encode(corpus.vocabulary.chars, what=f"text file '{text_path}'")
    return mapping[corpus.indices]


def strip_punctuation_of(checkpoint):
    """Whether the checkpoint's model was trained on text without punctuation."""
    return bool(checkpoint.metadata and checkpoint.metadata.get("strip_punctuation"))


def random_seed_windows(pool, seq_length, count, rng):
    """The tutorial's seed: a random pattern window of the text; one per sample."""
    patterns = pattern_count(len(pool), seq_length)
    if patterns == 0:
        raise UserError(
            f"the seed text has {len(pool)} characters: it must be longer than the "
            f"{seq_length}-character window to give a random seed window"
        )
    starts = rng.integers(0, patterns, size=count)
    return np.stack([pool[start : start + seq_length] for start in starts])


def make_decoder(model, checkpoint, stateful):
    if stateful:
        return StatefulDecoder(model, checkpoint.topology)
    return WindowDecoder(model, checkpoint.topology, checkpoint.seq_length)


def generate(args):
    weights = args.weights or find_best_checkpoint(args.checkpoint_dir)
    model, checkpoint, pool = load_for_generation(weights, args.text, args.seq_length)
    vocabulary = checkpoint.vocabulary
    if args.top_k is not None and args.top_k > len(vocabulary):
        raise UserError(
            f"--top-k {args.top_k} is more than the model's {len(vocabulary)} characters"
        )
    seed = choose_seed(args.seed)
    rng = np.random.default_rng(seed)

    if args.prime is not None:
        # The prime is prepared as the training text was: lower-cased, and without punctuation
        # for a model trained with --strip-punctuation.
        prime = prepare_text(args.prime, strip_punctuation_of(checkpoint))
        if not prime:
            raise UserError("--prime is empty: give at least one character")
        primes = np.tile(vocabulary.encode(prime, what="the prime text"), (args.num_samples, 1))
    else:
        primes = random_seed_windows(pool, checkpoint.seq_length, args.num_samples, rng)

    log(f"weights: {weights}; random seed: {seed}")
    decoder = make_decoder(model, checkpoint, args.stateful)
    choose = make_chooser(args.temperature, args.top_k, rng)
    write_samples(decoder, primes, args.length, choose, vocabulary, args.raw)


def write_samples(decoder, primes, length, choose, vocabulary, raw, out=None):
    """Generate all samples in one batch; stream the first, then print the others.

    Output per sample: the tutorial's "Seed:", the seed in quotes, the text, "Done." (or the
    text alone with raw); samples after the first are introduced by a "--- sample K/N ---"
    line. Ctrl-C prints what every sample has so far and exits with status 130.
    """
    out = out or sys.stdout
    count = len(primes)
    generated = [[] for _ in range(count)]

    def header(number):
        if count > 1:
            out.write(f"--- sample {number}/{count} ---\n")
        if not raw:
            out.write("Seed:\n")
            out.write(f'" {vocabulary.decode(primes[number - 1])} "\n')  # the tutorial's print

    def footer():
        out.write("\n" if raw else "\nDone.\n")

    header(1)
    out.flush()
    interrupted = False
    try:
        for indices in generate_indices(decoder, primes, length, choose):
            for row, index in enumerate(indices):
                generated[row].append(vocabulary.chars[index])
            out.write(generated[0][-1])
            out.flush()  # stream: a long --length shows its progress
    except KeyboardInterrupt:
        interrupted = True
    footer()
    for number in range(2, count + 1):
        header(number)
        out.write("".join(generated[number - 1]))
        footer()
    out.flush()
    if interrupted:
        log(f"interrupted after {len(generated[0])} characters")
        sys.exit(130)
