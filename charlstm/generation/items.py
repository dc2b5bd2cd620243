"""Whole items of a list (generate.py --items N, charlstm.items, the server's "items"): each
item is written from the model's state after the item separator (a line break) up to the next
one, and --new-only keeps the items that are not in the training text.

The order of the random draws is fixed, so that every engine writes the same items for a seed
(the web page's decoder follows it too): one generator, numpy's default_rng(seed), for the
whole call; items one after another, each from zero state fed the separator, then one draw a
sampled character (sampling.make_chooser) until the separator is drawn (not part of the item)
or the item reaches `length` characters. An empty item (the separator drawn first) is no item
and is not counted. --stop-at ends an item too, its stop text kept.

Items are always sampled: greedy choice would write one item N times, so a temperature of 0
(generate.py's default, the tutorial's) draws at temperature 1, the model's own distribution.

    >>> import os
    >>> from charlstm.config import resolve_options
    >>> fixture = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "format2",
    ...                        "weights-improvement-06-2.8997.hdf5")   # a tiny test model
    >>> written = write_items(resolve_options({"weights": fixture, "items": 3, "seed": 1,
    ...                                        "length": 20}))
    >>> len(written.items), all("\\n" not in item and item for item in written.items)
    (3, True)
"""

import dataclasses

import numpy as np

from ..checkpoints.loading import load_for_generation
from ..checkpoints.run_folder import default_weights
from ..config import FLAGS
from ..errors import UserError
from ..logs import log
from ..system.backend import choose_seed
from ..system.devices import report_device
from ..text.items import ITEM_SEPARATOR, items_of
from .decoders import StatefulDecoder
from .generate import check_top_k
from .sampling import make_chooser
from .stopping import StopAt, stop_texts

ITEMS_TEMPERATURE = 1.0  # what a temperature of 0 draws items at


def attempts_for(count):
    """How many items --new-only may write to find `count` new ones before it gives up."""
    return 20 * count + 100


@dataclasses.dataclass
class WrittenItems:
    """What write_items made: the items kept, how many non-empty items were written in all
    (`generated`; with --new-only, more than kept), how many reached the length cap, and
    the weights and seed."""

    items: list
    generated: int
    capped: int
    weights: str
    seed: int
    temperature: float
    new_only: bool = False
    gave_up: bool = False
    model: str = None  # serve.py's name of the model

    def notes(self, length):
        """The stderr lines: the cap, the share of new items, giving up."""
        lines = []
        if self.capped:
            lines.append(f"note: {self.capped} item(s) reached {length} characters without "
                         "a line break and were cut there")
        if self.new_only:
            share = len(self.items) / self.generated if self.generated else 0.0
            lines.append(f"new: {len(self.items)} of {self.generated} generated items "
                         f"({share:.0%})")
        if self.gave_up:
            lines.append(f"note: only {len(self.items)} new item(s) in "
                         f"{self.generated} written: the model mostly repeats its list")
        return lines


def known_items(checkpoint, seed_text):
    """The items of the training text (the one the checkpoint stores, or --text), as a set;
    UserError when there is none to compare with."""
    if seed_text is None:
        raise UserError(f"'{checkpoint.path}' carries no text (trained with "
                        "--no-text-in-checkpoint), so new_only has nothing to compare "
                        "with: give the list it was trained on as its text")
    return set(items_of(checkpoint.vocabulary.decode_all(seed_text)))


def check_items_options(options, spelling=FLAGS):
    """UserError for options that do not go with items (words as `spelling` names them)."""
    if options.new_only and not options.items:
        raise UserError(f"{spelling.name('new_only')} keeps new items: give "
                        f"{spelling.name('items')} N too")
    if not options.items:
        return
    for name in ("prime", "prime_file"):
        if getattr(options, name) is not None:
            raise UserError(f"{spelling.name('items')} writes each item from a line break: "
                            f"{spelling.name(name)} does not go with it")
    if options.num_samples != 1:
        raise UserError(f"{spelling.name('items')} N writes N items: "
                        f"{spelling.name('num_samples')} does not go with it")


def write_items(options, report=log, on_item=None):
    """WrittenItems for GenerationOptions with options.items set (see the module's words);
    on_item, if given, hears each item kept as it is made. UserError for options that do not
    go with items and a model that cannot write them."""
    check_items_options(options)
    weights = options.weights or default_weights(options.checkpoint_dir)
    model, checkpoint, seed_text = load_for_generation(weights, options.text,
                                                       options.seq_length)
    return make_items(StatefulDecoder(model, checkpoint.topology), checkpoint, seed_text,
                      options, weights, report, on_item)


def make_items(decoder, checkpoint, seed_text, options, weights, report=None, on_item=None,
               spelling=FLAGS):
    """write_items with the model loaded: a StatefulDecoder of its own (serve.py's engine
    gives each request a copy), the checkpoint and its seed text (indices, or None)."""
    vocabulary = checkpoint.vocabulary
    if ITEM_SEPARATOR not in vocabulary.char_to_index:
        raise UserError(f"'{weights}' has no line break in its vocabulary, so it cannot write "
                        "items of a list (train it with --documents lines)")
    check_top_k(options.top_k, vocabulary, spelling)
    known = known_items(checkpoint, seed_text) if options.new_only else None
    if report and checkpoint.documents_mode != "lines":
        report(f"note: '{weights}' was not trained with --documents lines: its items are "
               "whatever it writes between two line breaks")
    seed = choose_seed(options.seed)
    if report:
        report_device()
        report(f"weights: {weights}; random seed: {seed}")
    temperature = options.temperature or ITEMS_TEMPERATURE
    rng = np.random.default_rng(seed)
    choose = make_chooser(temperature, options.top_k, rng, options.top_p)
    separator = vocabulary.char_to_index[ITEM_SEPARATOR]
    texts = stop_texts(options.stop_at)
    written = WrittenItems([], 0, 0, weights, seed, temperature, options.new_only)
    for _ in range(attempts_for(options.items)):
        if len(written.items) == options.items:
            break
        item, capped = one_item(decoder, choose, separator, vocabulary.chars,
                                options.length, texts)
        written.capped += capped
        if not item:
            continue
        written.generated += 1
        if known is None or item not in known:
            written.items.append(item)
            if on_item is not None:
                on_item(item)
    else:
        written.gave_up = len(written.items) < options.items
    return written


def one_item(decoder, choose, separator, chars, length, texts=()):
    """(item, whether it reached `length`): characters drawn from the state after the
    separator until the separator is drawn, a stop text is written, or `length`."""
    probabilities = decoder.start(np.array([[separator]]))
    stop = StopAt(texts, 1)
    item = []
    for step in range(length):
        index = int(choose(probabilities)[0])
        if index == separator:
            return "".join(item), False
        item.append(chars[index])
        if stop.feed(0, chars[index]):
            return "".join(item), False
        if step + 1 < length:
            probabilities = decoder.advance(np.array([index]))
    return "".join(item), True
