"""Generation: load a checkpoint, pick a seed window, write characters as the tutorial does.

start() sets a generation up and returns its steps as an iterator; generate.py writes them with
write_samples(), charlstm.generate() and charlstm.stream() join or yield them.

    >>> import os
    >>> fixture = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "format2",
    ...                        "weights-improvement-06-2.8997.hdf5")   # a tiny test model
    >>> generation = start(fixture, length=19, temperature=1.0, seed=3)
    >>> "".join(generation.vocabulary.chars[step[0]] for step in generation.steps)
    'ask gh o eifloubnob'
"""

import argparse
import dataclasses
import sys

import numpy as np

from .backend import choose_seed
from .checkpoint import find_best_checkpoint, load_for_generation, strip_punctuation_of
from .config import non_negative_float, positive_int, probability, random_seed
from .corpus import prepare_text
from .decoders import StatefulDecoder, WindowDecoder
from .devices import report_device
from .errors import UserError
from .logs import log
from .sampling import generate_indices, make_chooser
from .windows import pattern_count

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


@dataclasses.dataclass
class Generation:
    """A generation under way: the checkpoint it reads, its primes (one row per sample), the
    random seed, and `steps`, an iterator of arrays of next-character indices (one per
    sample), `length` of them."""

    weights: str
    checkpoint: object
    vocabulary: object
    primes: np.ndarray
    seed: int
    steps: object


def _checked(name, checker, value):
    if value is None:
        return None
    try:
        return checker(value)
    except argparse.ArgumentTypeError as error:
        raise UserError(f"{name}: {error}") from None


def read_prime_file(path):
    """The text of --prime-file: UTF-8 (a byte-order mark is dropped), any length; UserError
    for a missing, unreadable or non-UTF-8 file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise UserError(f"prime file '{path}': {error.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"prime file '{path}' is not UTF-8 text (byte {error.start} is "
                        f"{data[error.start]:#04x})") from None


def start(weights=None, checkpoint_dir=".", length=1000, prime=None, temperature=0.0,
          top_k=None, seed=None, stateful=False, num_samples=1, text=None, seq_length=None,
          top_p=None, prime_file=None):
    """Load a checkpoint (weights, or the best one in checkpoint_dir) and set up generation as
    generate.py does; returns a Generation whose steps are computed as they are read.
    UserError for any mistake, before anything is generated."""
    length = _checked("length", positive_int, length)
    temperature = _checked("temperature", non_negative_float, temperature)
    top_k = _checked("top_k", positive_int, top_k)
    top_p = _checked("top_p", probability, top_p)
    if prime is not None and prime_file is not None:
        raise UserError("give --prime or --prime-file, not both")
    if prime_file is not None:
        prime = read_prime_file(prime_file)
    seed = _checked("seed", random_seed, seed)
    num_samples = _checked("num_samples", positive_int, num_samples)
    seq_length = _checked("seq_length", positive_int, seq_length)
    weights = weights or find_best_checkpoint(checkpoint_dir)
    model, checkpoint, pool = load_for_generation(weights, text, seq_length)
    vocabulary = checkpoint.vocabulary
    if top_k is not None and top_k > len(vocabulary):
        raise UserError(
            f"--top-k {top_k} is more than the model's {len(vocabulary)} characters"
        )
    seed = choose_seed(seed)
    rng = np.random.default_rng(seed)

    if prime is not None:
        # The prime is prepared as the training text was: lower-cased, and without punctuation
        # for a model trained with --strip-punctuation.
        prepared = prepare_text(prime, strip_punctuation_of(checkpoint))
        if not prepared:
            raise UserError(f"{'--prime-file' if prime_file else '--prime'} is empty: give at "
                            "least one character")
        primes = np.tile(vocabulary.encode(
            prepared, what=f"the prime file '{prime_file}'" if prime_file else "the prime text"), (num_samples, 1))
    elif pool is None:
        raise UserError(f"'{weights}' carries no text (trained with --no-text-in-checkpoint): "
                        "give --text FILE for a random seed window, or --prime TEXT")
    else:
        primes = random_seed_windows(pool, checkpoint.seq_length, num_samples, rng)

    report_device()  # once the inputs are known to be good: a mistake stays one line
    log(f"weights: {weights}; random seed: {seed}")
    decoder = make_decoder(model, checkpoint, stateful)
    choose = make_chooser(temperature, top_k, rng, top_p)
    steps = generate_indices(decoder, primes, length, choose)
    return Generation(weights, checkpoint, vocabulary, primes, seed, steps)


def write_samples(generation, raw, out=None, stop=None):
    """Write every sample as generate.py does: stream the first, then print the others.

    Output per sample: the tutorial's "Seed:", the seed in quotes, the text, "Done." (or the
    text alone with raw); samples after the first are introduced by a "--- sample K/N ---"
    line. Ctrl-C prints what every sample has so far, then raises KeyboardInterrupt again.
    stop, if given, is asked after every character: an exception it returns ends the loop the
    same way (generate.py turns Ctrl-C and SIGTERM into one, so that no signal lands inside a
    backend call, where it could surface as another exception).
    """
    out = out or sys.stdout
    vocabulary, primes = generation.vocabulary, generation.primes
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
    interrupted = None
    try:
        for indices in generation.steps:
            for row, index in enumerate(indices):
                generated[row].append(vocabulary.chars[index])
            out.write(generated[0][-1])
            out.flush()  # stream: a long --length shows its progress
            interrupted = stop() if stop is not None else None
            if interrupted is not None:
                break
    except KeyboardInterrupt as interrupt:
        interrupted = interrupt
    footer()
    for number in range(2, count + 1):
        header(number)
        out.write("".join(generated[number - 1]))
        footer()
    out.flush()
    if interrupted is not None:
        log(f"interrupted after {len(generated[0])} characters")
        raise interrupted
