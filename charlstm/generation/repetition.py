"""What a generated text says about its model: whether it loops (greedy decoding's known
failure: the tutorial's model repeats one sentence) and whether it is mostly whitespace or one
character (an undertrained model's output). Pure functions on strings; generate.py turns their
answers into one note each on stderr.

    >>> find_loop("Alice was beginning. " + "the queen said to the king, " * 5)
    Loop(start=20, period=28)
    >>> find_loop("Alice was beginning to get very tired of sitting by her sister") is None
    True
    >>> monotonous("        \\n        \\n   ")
    'whitespace'
"""

from collections import Counter
from typing import NamedTuple

import numpy as np

# A loop is a cycle of at most MAX_PERIOD characters that fills the text's end, at least twice
# and over at least MIN_LOOP characters: the tutorial's model loops on a sentence of about 150.
MAX_PERIOD = 400
MIN_LOOP = 100
# "Mostly": the share of whitespace (or of one character) above which a text is monotonous.
# Prose has about 20% whitespace and deeply indented code about 50%.
MONOTONOUS_SHARE = 0.8
MONOTONOUS_MIN_LENGTH = 20


class Loop(NamedTuple):
    """Where a loop starts (characters before its first cycle) and its cycle's length."""

    start: int
    period: int


def find_loop(text, max_period=MAX_PERIOD, min_loop=MIN_LOOP):
    """The loop the text ends in, or None: the earliest position p such that text[p:] is
    periodic (text[i] == text[i + q] for every i >= p) with a period q of 1 to max_period
    characters, where text[p:] holds at least two whole cycles and at least min_loop
    characters; of the periods that start earliest, the shortest. A loop must run to the
    text's end, as greedy decoding's does once it cycles, so a phrase said twice in passing
    is none, and a sampled text (temperature 1) ends in one only by a chance of about one in
    the vocabulary's size to the power min_loop.

    >>> find_loop("x" * 30 + "a looping sentence of some length. " * 4)
    Loop(start=30, period=35)
    >>> find_loop("a looping sentence of some length. " * 2)   # 70 characters: too short
    >>> find_loop(" " * 150)
    Loop(start=0, period=1)
    >>> find_loop("once upon a time " * 2 + "there was a story that did not repeat itself")
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    length = len(codes)
    best = None
    for period in range(1, min(max_period, length // 2) + 1):
        differ = np.flatnonzero(codes[:-period] != codes[period:])
        start = int(differ[-1]) + 1 if len(differ) else 0
        looped = length - start
        if looped >= max(2 * period, min_loop) and (best is None or start < best.start):
            best = Loop(start, period)
    return best


def monotonous(text, share=MONOTONOUS_SHARE, min_length=MONOTONOUS_MIN_LENGTH):
    """What a text of at least min_length characters mostly (share or more) is, when it is
    what an undertrained model writes: "whitespace", or the one character it repeats; None
    for any other text.

    >>> monotonous("eeeeeeeeeeeeeeeeeeeeeeeee the")
    'e'
    >>> monotonous("    def read(self):\\n        return self.buffer\\n") is None
    True
    >>> monotonous("   ") is None      # too short to say
    True
    """
    if len(text) < min_length:
        return None
    if sum(char.isspace() for char in text) >= share * len(text):
        return "whitespace"
    char, count = Counter(text).most_common(1)[0]
    return char if count >= share * len(text) else None
