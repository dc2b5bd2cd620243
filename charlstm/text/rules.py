"""Text rules: how a text file's characters become the ones a model learns.

The tutorial ran under Python 2 and counted bytes: the file's UTF-8 byte-order mark and every
carriage return were "characters". Here a text is read as a user would expect: the
byte-order mark dropped, CRLF and CR folded to LF, then lower-cased as the tutorial does
(--keep-case keeps capitals), and punctuation stripped with --strip-punctuation. TextRules
says which of these (and the encoding, and the Project Gutenberg boilerplate) a text goes
through; checkpoints record it, so that a prime is prepared as the training text was.

    >>> normalise_text("\\ufeffCHAPTER I.\\r\\nDown")
    'chapter i.\\ndown'
    >>> prepare_text("Don't, Rabbit-hole!", TextRules(strip_punctuation=True, keep_case=True))
    'Dont Rabbit hole'
"""

import collections.abc
import sys
import unicodedata
from typing import NamedTuple


class TextRules(NamedTuple):
    """How a text file becomes the characters a model learns: the settings of that name
    (charlstm.config), which checkpoints record, so that generation, primes and evaluation
    treat a text as training did."""

    strip_punctuation: bool = False
    keep_case: bool = False
    encoding: str = "utf-8"
    keep_boilerplate: bool = False

    @classmethod
    def of(cls, values):
        """The rules of Settings, or of {name: value} (a checkpoint's recorded settings);
        what is missing takes its default."""
        if isinstance(values, collections.abc.Mapping):
            return cls(**{name: values[name] for name in cls._fields if name in values})
        return cls(**{name: getattr(values, name) for name in cls._fields})


def normalise_text(text, keep_case=False):
    """Drop a byte-order mark, fold CRLF and CR to LF, lower-case (unless keep_case)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return apply_case(fold_line_ends(text), keep_case)


def fold_line_ends(text):
    """CRLF and CR to LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def apply_case(text, keep_case):
    """Lower-cased, unless keep_case (the tutorial lower-cases)."""
    return text if keep_case else text.lower()


# Every Unicode punctuation character (categories Pc Pd Pe Pf Pi Po Ps), in wonderland.txt
# ! " ' ( ) * , - . : ; ? [ ] _. Letters, digits, whitespace and symbols stay.
_PUNCTUATION = None


def strip_punctuation(text):
    """Remove punctuation (the tutorial's improvement idea 2): "don't," becomes "dont". Dashes
    become a space instead, because they separate words ("well--alice", "rabbit-hole")."""
    global _PUNCTUATION
    if _PUNCTUATION is None:
        _PUNCTUATION = {}
        for code in range(sys.maxunicode + 1):
            category = unicodedata.category(chr(code))
            if category.startswith("P"):
                _PUNCTUATION[code] = " " if category == "Pd" else None
    return text.translate(_PUNCTUATION)


def prepare_text(text, rules=TextRules()):
    """normalise_text, then strip_punctuation when the rules say so: what a corpus goes
    through (a piece at a time, in corpus.read_prepared_pieces) and what generation does to a prime
    text."""
    text = normalise_text(text, rules.keep_case)
    return strip_punctuation(text) if rules.strip_punctuation else text
