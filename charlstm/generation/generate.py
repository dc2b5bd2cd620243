"""Generation: load a checkpoint, pick its primes, write characters as the tutorial does.

start() sets a generation up from GenerationOptions (charlstm.config) and returns its steps as
an iterator; generate.py writes them with write_samples(), charlstm.generate() and
charlstm.stream() join or yield them. A prime is what generation starts from: a random
window of the seed text (the tutorial's "Seed:"), or the user's --prime.

    >>> import os
    >>> from charlstm.config import resolve_options
    >>> fixture = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "format2",
    ...                        "weights-improvement-06-2.8997.hdf5")   # a tiny test model
    >>> options = resolve_options({"weights": fixture, "length": 19, "temperature": 1.0,
    ...                            "seed": 3})
    >>> generation = start(options)
    >>> "".join(generation.vocabulary.chars[step[0]] for step in generation.steps)
    'ask gh o eifloubnob'
"""

import dataclasses
from collections.abc import Iterator

import numpy as np

from ..system.backend import choose_seed
from ..text.rules import prepare_text
from ..text.vocabulary import Vocabulary
from .decoders import StatefulDecoder, WindowDecoder
from ..system.devices import report_device
from ..errors import UserError
from ..checkpoints.run_folder import default_weights
from ..checkpoints.format import Checkpoint
from ..checkpoints.loading import load_for_generation
from ..config import FLAGS
from ..logs import log
from .sampling import generate_indices, make_chooser
from .stopping import stop_steps, stop_texts
from ..text.windows import pattern_count


def random_primes(seed_text, seq_length, count, rng):
    """The tutorial's start: a random pattern window of the seed text; one per sample."""
    patterns = pattern_count(len(seed_text), seq_length)
    if patterns == 0:
        raise UserError(
            f"the seed text has {len(seed_text)} characters: it must be longer than the "
            f"{seq_length}-character window to give a random seed window"
        )
    starts = rng.integers(0, patterns, size=count)
    return np.stack([seed_text[start : start + seq_length] for start in starts])


def make_decoder(model, checkpoint, stateful):
    if stateful:
        return StatefulDecoder(model, checkpoint.topology)
    return WindowDecoder(model, checkpoint.topology, checkpoint.seq_length)


@dataclasses.dataclass
class Generation:
    """A generation under way: the checkpoint it reads, its primes (one row per sample), the
    random seed, and `steps`, an iterator of arrays of next-character indices (one per
    sample), `length` of them, or fewer when every sample has met a --stop-at text (a
    sample that has stopped shows -1 until the others stop)."""

    weights: str
    checkpoint: Checkpoint
    vocabulary: Vocabulary
    primes: np.ndarray
    seed: int
    steps: Iterator[np.ndarray]


# A prime longer than this is never needed: window decoding reads its last seq_length
# characters, stateful decoding its last decoders.STATEFUL_PRIME_CONTEXT.
PRIME_FILE_LIMIT = 1_000_000  # bytes


def read_prime_file(path):
    """The text of --prime-file: UTF-8 (a byte-order mark is dropped), at most
    PRIME_FILE_LIMIT bytes, so that /dev/zero or a huge file cannot take all memory;
    UserError for a missing, unreadable, too long or non-UTF-8 file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(PRIME_FILE_LIMIT + 1)
    except OSError as error:
        raise UserError(f"prime file '{path}': {error.strerror}") from None
    if len(data) > PRIME_FILE_LIMIT:
        raise UserError(f"prime file '{path}' is longer than {PRIME_FILE_LIMIT:,} bytes, the "
                        "most a prime may be: give its last part")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"prime file '{path}' is not UTF-8 text (byte {error.start} is "
                        f"{data[error.start]:#04x})") from None


def check_top_k(top_k, vocabulary, spelling=FLAGS):
    """UserError for a top_k beyond the model's characters (words as `spelling` names it:
    generate.py's flag, or the server's field)."""
    if top_k is not None and top_k > len(vocabulary):
        raise UserError(f"{spelling.name('top_k')} {top_k} is more than the model's "
                        f"{len(vocabulary)} characters")


def choose_primes(options, prime, checkpoint, seed_text, rng, spelling=FLAGS, report=log):
    """(num_samples, t) indices to start from: the prime (the text of --prime or
    --prime-file), prepared as the training text was (lower-cased unless --keep-case, and
    without punctuation for a model trained with --strip-punctuation), or random windows of
    the seed text. Errors name the options as `spelling` does (config.FLAGS, or FIELDS for
    the server); `report` (None: nobody) hears which characters --unknown drop left out."""
    vocabulary = checkpoint.vocabulary
    if prime is not None:
        prepared = prepare_text(prime, checkpoint.text_rules)
        name = spelling.name("prime_file" if options.prime_file else "prime")
        what = (f"the prime file '{options.prime_file}'" if options.prime_file
                else "the prime text")
        unknown = vocabulary.unknown_characters(prepared)
        if unknown and options.unknown == "drop":
            prepared = "".join(char for char in prepared if char in vocabulary.char_to_index)
            if report:
                report(f"{spelling.given('unknown', 'drop')}: left out of {what} "
                       f"{len(unknown)} character(s) the model does not know: "
                       + " ".join(repr(char) for char in unknown[:30]))
        if not prepared:
            raise UserError(f"{name} is empty" + (" once the unknown characters are dropped"
                                                  if unknown else "")
                            + ": give at least one character")
        hint = f" ({spelling.given('unknown', 'drop')} leaves them out)"
        return np.tile(vocabulary.encode(prepared, what=what, hint=hint),
                       (options.num_samples, 1))
    if seed_text is None:
        raise UserError(f"'{checkpoint.path}' carries no text (trained with "
                        "--no-text-in-checkpoint): give --text FILE for a random seed "
                        "window, or --prime TEXT")
    return random_primes(seed_text, checkpoint.seq_length, options.num_samples, rng)


def start(options):
    """Load a checkpoint (options.weights, or the best one in options.checkpoint_dir, or the
    bundled model when that holds none: folder.default_weights) and set
    up generation as generate.py does; returns a Generation whose steps are computed as they
    are read. UserError for any mistake, before anything is generated."""
    if options.new_only or options.items:
        raise UserError(f"{FLAGS.name('new_only' if options.new_only else 'items')}: "
                        "items are written by generation.items.write_items (charlstm.items)")
    prime = options.prime
    if options.prime_file is not None:
        prime = read_prime_file(options.prime_file)
    weights = options.weights or default_weights(options.checkpoint_dir)
    model, checkpoint, seed_text = load_for_generation(weights, options.text,
                                                       options.seq_length)
    vocabulary = checkpoint.vocabulary
    check_top_k(options.top_k, vocabulary)
    seed = choose_seed(options.seed)
    rng = np.random.default_rng(seed)
    primes = choose_primes(options, prime, checkpoint, seed_text, rng)
    report_device()  # once the inputs are known to be good: a mistake stays one line
    log(f"weights: {weights}; random seed: {seed}")
    decoder = make_decoder(model, checkpoint, options.stateful)
    choose = make_chooser(options.temperature, options.top_k, rng, options.top_p)
    steps = stop_steps(generate_indices(decoder, primes, options.length, choose),
                       vocabulary.chars, stop_texts(options.stop_at), len(primes))
    return Generation(weights, checkpoint, vocabulary, primes, seed, steps)
