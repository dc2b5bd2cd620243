"""Reading a corpus and its character vocabulary.

The tutorial ran under Python 2 and counted bytes: the file's UTF-8 byte-order mark and every
carriage return were "characters". Here the file is read as text, as a user would expect:
UTF-8, the byte-order mark dropped, CRLF and CR folded to LF, then lower-cased as the tutorial
does. The vocabulary is sorted(set(text)), so a character's index is its rank.

    >>> text = normalise_text("\\ufeffCHAPTER I.\\r\\nDown")
    >>> text
    'chapter i.\\ndown'
    >>> vocabulary = Vocabulary.from_text(text)
    >>> vocabulary.encode("down").tolist()
    [3, 9, 12, 7]
"""

import hashlib
import os
import sys
import unicodedata

import numpy as np

from .errors import UserError


def normalise_text(text):
    """Drop a byte-order mark, fold CRLF and CR to LF, lower-case."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n").lower()


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


def prepare_text(text, strip=False):
    """normalise_text, then strip_punctuation when asked: what training and generation both
    apply to a corpus or a prime text."""
    text = normalise_text(text)
    return strip_punctuation(text) if strip else text


def read_text(path, strip=False):
    """Read a corpus file as prepared text (see prepare_text); UserError if it is missing,
    unreadable or empty."""
    if not os.path.exists(path):
        raise UserError(f"text file '{path}' does not exist")
    if os.path.isdir(path):
        raise UserError(f"text file '{path}' is a directory")
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise UserError(f"cannot read text file '{path}': {error.strerror}") from None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(
            f"text file '{path}' is not UTF-8 (bad byte at offset {error.start}); "
            "convert it first, for example with iconv -t utf-8"
        ) from None
    text = prepare_text(decoded, strip)
    if not text:
        raise UserError(f"text file '{path}' is empty" + (" once punctuation is stripped" if strip else ""))
    return text


def fingerprint(text):
    """The sha256 of the normalised text, recorded in checkpoints to tell texts apart."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Vocabulary:
    """The characters a model knows, in index order (the tutorial's char_to_int / int_to_char)."""

    def __init__(self, chars):
        self.chars = "".join(chars)
        assert len(set(self.chars)) == len(self.chars), "vocabulary characters must be unique"
        self.char_to_index = {char: index for index, char in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text):
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.chars)

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.chars == other.chars

    def unknown_characters(self, text):
        """The characters of text that are not in the vocabulary, sorted."""
        return sorted(set(text) - set(self.chars))

    def encode(self, text, what="text"):
        """Text to an index array; UserError naming any character outside the vocabulary."""
        unknown = self.unknown_characters(text)
        if unknown:
            shown = ", ".join(repr(char) for char in unknown[:20])
            more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
            raise UserError(
                f"{what} has {len(unknown)} character(s) the model does not know: {shown}{more}"
            )
        # uint8 keeps a corpus at one byte a character when the vocabulary allows it.
        dtype = np.uint8 if len(self.chars) <= 256 else np.int32
        lookup = self.char_to_index
        return np.fromiter((lookup[char] for char in text), dtype=dtype, count=len(text))

    def decode(self, indices):
        return "".join(self.chars[index] for index in indices)
