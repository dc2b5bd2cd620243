"""A model's vocabulary: the characters it knows, in index order, and a text's fingerprint.

The vocabulary is sorted(set(text)), so a character's index is its rank (the tutorial's
char_to_int and int_to_char). Texts are told apart by the sha256 of their prepared text.

    >>> vocabulary = Vocabulary.from_text("chapter i.\\ndown")
    >>> vocabulary.encode("down").tolist()
    [5, 10, 14, 9]
    >>> vocabulary.decode([5, 10, 14, 9])
    'down'
    >>> fingerprint("down")[:12]
    '908aec4512d8'
"""

import hashlib

import numpy as np

from ..errors import UserError


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

    def encode(self, text, what="text", hint=""):
        """Text to an index array; UserError naming any character outside the vocabulary
        (and then the hint)."""
        unknown = self.unknown_characters(text)
        if unknown:
            shown = ", ".join(repr(char) for char in unknown[:20])
            more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
            raise UserError(
                f"{what} has {len(unknown)} character(s) the model does not know: "
                f"{shown}{more}{hint}"
            )
        return self.encode_known(text)

    def decode(self, indices):
        return "".join(self.chars[index] for index in indices)

    def _lookup(self):
        """Code point -> index (-1 for characters outside the vocabulary), as a NumPy table."""
        if getattr(self, "_table", None) is None:
            code_points = np.array([ord(char) for char in self.chars], dtype=np.int64)
            self._table = np.full(int(code_points.max(initial=0)) + 1, -1, dtype=np.int32)
            self._table[code_points] = np.arange(len(self.chars), dtype=np.int32)
        return self._table

    @property
    def dtype(self):
        # uint8 keeps a corpus at one byte a character when the vocabulary allows it.
        return np.uint8 if len(self.chars) <= 256 else np.int32

    def encode_known(self, text):
        """Text whose characters are all in the vocabulary to indices, vectorised."""
        code_points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        indices = self._lookup()[code_points]  # IndexError past the highest code point
        if indices.size and indices.min() < 0:
            raise KeyError("a character outside the vocabulary")
        return indices.astype(self.dtype)

    def decode_all(self, indices):
        """A whole index array back to text, without a Python object per character."""
        code_points = np.array([ord(char) for char in self.chars], dtype=np.uint32)
        return code_points[np.asarray(indices)].tobytes().decode("utf-32-le")
