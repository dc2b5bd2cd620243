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
    [5, 10, 14, 9]

A corpus file of any size is read with load_corpus, a piece at a time, into one compact
index array (one byte a character for vocabularies up to 256): the text itself is never
held whole. Texts of CACHE_MIN_BYTES or more keep that array in a cache beside them
(TEXT.charlstm.npy and .json), reused while the text's size and modification time match.
"""

import codecs
import dataclasses
import hashlib
import json
import os
import sys
import unicodedata

import numpy as np

from .errors import UserError
from .files import atomic_output
from .logs import log


def normalise_text(text):
    """Drop a byte-order mark, fold CRLF and CR to LF, lower-case."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return _fold_and_lower(text)


def _fold_and_lower(text):
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
    """normalise_text, then strip_punctuation when asked: what a corpus goes through (a piece
    at a time, in read_prepared_pieces) and what generation does to a prime text."""
    text = normalise_text(text)
    return strip_punctuation(text) if strip else text


BUNDLED_NAME = "wonderland.txt"


def bundled_text():
    """The wonderland.txt that comes with charlstm: the repository root in a checkout (beside
    the package), or sys.prefix/share/charlstm after `pip install .`; None if neither."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for candidate in (os.path.join(package_parent, BUNDLED_NAME),
                      os.path.join(sys.prefix, "share", "charlstm", BUNDLED_NAME)):
        if os.path.isfile(candidate):
            return candidate
    return None


def resolve_text_path(path):
    """The path to read: the name wonderland.txt means the bundled text when the current folder
    has no file of that name (so the commands work from any folder); others are as given."""
    if path == BUNDLED_NAME and not os.path.exists(path):
        return bundled_text() or path
    return path


def split_held_out(indices, fraction):
    """(training part, held-out tail): the last `fraction` of the text, never trained on."""
    held_out = int(round(len(indices) * fraction))
    return indices[: len(indices) - held_out], indices[len(indices) - held_out :]


def _check_text_path(path):
    if not os.path.exists(path):
        raise UserError(f"text file '{path}' does not exist")
    if os.path.isdir(path):
        raise UserError(f"text file '{path}' is a directory")


def _empty_text(path, strip):
    return UserError(f"text file '{path}' is empty"
                     + (" once punctuation is stripped" if strip else ""))


def read_text(path, strip=False):
    """Read a corpus file as one prepared string (see prepare_text), through the same reader
    as load_corpus; UserError if it is missing, unreadable, not UTF-8 or empty."""
    path = resolve_text_path(path)
    _check_text_path(path)
    try:
        text = "".join(read_prepared_pieces(path, strip))
    except OSError as error:
        raise UserError(f"cannot read text file '{path}': {error.strerror}") from None
    if not text:
        raise _empty_text(path, strip)
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


CHUNK_BYTES = 1 << 22  # 4 MiB read at a time: about 16 MiB of transient arrays
CACHE_MIN_BYTES = 8 << 20
CACHE_VERSION = 1


def read_prepared_pieces(path, strip=False, chunk_bytes=CHUNK_BYTES):
    """Yield the prepared text of a file (see prepare_text) a piece at a time: a UTF-8
    sequence or a CRLF split between two reads is joined first, so the pieces add up to
    prepare_text of the whole file. UserError if the file is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    carried, offset, first = "", 0, True
    with open(path, "rb") as handle:
        while True:
            raw = handle.read(chunk_bytes)
            try:
                piece = carried + decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as error:
                raise UserError(
                    f"text file '{path}' is not UTF-8 (bad byte at offset "
                    f"{offset + error.start}); convert it first, for example with iconv -t utf-8"
                ) from None
            offset += len(raw)
            if first and piece:
                piece, first = (piece[1:] if piece.startswith("\ufeff") else piece), False
            # A CR at the end may be the first half of a CRLF: keep it for the next piece.
            carried = ""
            if raw and piece.endswith("\r"):
                piece, carried = piece[:-1], "\r"
            if piece:
                # Not prepare_text: a byte-order mark is dropped at the file's start only.
                piece = _fold_and_lower(piece)
                yield strip_punctuation(piece) if strip else piece
            if not raw:
                return


@dataclasses.dataclass
class Corpus:
    """A prepared text as indices: what training needs, and all it keeps in memory."""

    vocabulary: Vocabulary
    indices: np.ndarray  # may be a read-only memory map of the cache
    sha256: str  # fingerprint() of the prepared text

    def __len__(self):
        return len(self.indices)

    def text(self):
        """The prepared text as a string."""
        return self.vocabulary.decode_all(self.indices)


def _cache_paths(path, strip):
    base = f"{path}.charlstm{'-nopunct' if strip else ''}"
    return base + ".npy", base + ".json"


def _cache_key(path, strip):
    status = os.stat(path)
    return {"version": CACHE_VERSION, "size": status.st_size, "mtime_ns": status.st_mtime_ns,
            "strip_punctuation": strip}


def _checked_cache(info, indices, key):
    """The cache's Corpus when every field has its type and agrees with the text's key and
    the array; else what is wrong (a str)."""
    if not isinstance(info, dict) or info.get("key") != key:
        return "it is not the cache of this text as it is now"
    chars, length, sha256 = info.get("vocabulary"), info.get("length"), info.get("sha256")
    if not isinstance(chars, str) or not chars or len(set(chars)) != len(chars):
        return "its vocabulary is not a text of distinct characters"
    if not isinstance(sha256, str) or len(sha256) != 64:
        return "its sha256 is not a hash"
    if (indices.ndim != 1 or indices.dtype.kind not in "iu" or isinstance(length, bool)
            or length != len(indices)):
        return "its indices do not fit its length"
    if len(indices) and int(indices.max()) >= len(chars):
        return "its indices are outside its vocabulary"
    return Corpus(Vocabulary(chars), indices, sha256)


def _read_cache(path, strip):
    """The cached Corpus of a big text, or None: there is none, it is for the text as it
    was before, or it is damaged (then it is said, and the text read again)."""
    array_path, info_path = _cache_paths(path, strip)
    if not (os.path.isfile(info_path) and os.path.isfile(array_path)):
        return None
    try:
        with open(info_path, "rb") as handle:
            info = json.loads(handle.read(1 << 20).decode("utf-8"))
        indices = np.load(array_path, mmap_mode="r", allow_pickle=False)
        checked = _checked_cache(info, indices, _cache_key(path, strip))
    except (OSError, ValueError, TypeError) as error:
        checked = f"it cannot be read ({error})"
    if isinstance(checked, Corpus):
        return checked
    if not checked.startswith("it is not the cache of this text"):
        log(f"not using the cache '{info_path}': {checked}; reading the text instead")
    return None


def _write_cache(path, strip, corpus):
    """Best effort: a folder we cannot write to just means no cache."""
    array_path, info_path = _cache_paths(path, strip)
    info = {"key": _cache_key(path, strip), "length": len(corpus.indices),
            "vocabulary": corpus.vocabulary.chars, "sha256": corpus.sha256}
    try:
        for target, write in ((array_path, lambda h: np.save(h, corpus.indices)),
                              (info_path, lambda h: h.write(json.dumps(info).encode()))):
            # The .json last: it is what makes the cache valid. No fsync: a cache lost in a
            # crash is only read again.
            with atomic_output(target, sync=False, what="corpus cache") as handle:
                write(handle)
    except (OSError, UserError):  # a folder we cannot write, a node under the cache's name
        pass


# A text that is not a regular file is held in memory, so its size is bounded.
NON_REGULAR_TEXT_LIMIT = 1 << 28  # characters: 256 Mi


def _kept_pieces(path, pieces):
    kept, length = [], 0
    for piece in pieces:
        length += len(piece)
        if length > NON_REGULAR_TEXT_LIMIT:
            raise UserError(f"text file '{path}' is not a regular file and gave more than "
                            f"{NON_REGULAR_TEXT_LIMIT:,} characters: save it to a file first "
                            "(a file of any size is read a piece at a time)")
        kept.append(piece)
    return kept


def load_corpus(path, strip=False, chunk_bytes=CHUNK_BYTES, cache=True):
    """Read a text file into a Corpus; UserError if it is missing, unreadable, not UTF-8 or
    empty. Two passes over the file, a piece at a time: the vocabulary and fingerprint, then
    the indices, straight into their final array. The name wonderland.txt finds the bundled
    text (resolve_text_path)."""
    path = resolve_text_path(path)
    _check_text_path(path)
    regular = os.path.isfile(path)
    use_cache = cache and regular and os.path.getsize(path) >= CACHE_MIN_BYTES
    if use_cache:
        cached = _read_cache(path, strip)
        if cached is not None:
            return cached

    def pieces():
        return read_prepared_pieces(path, strip, chunk_bytes)

    try:
        if not regular:
            # A pipe or FIFO (`--text <(zcat book.gz)`) can be read once only: keep its text,
            # up to a limit (it could be endless: /dev/zero, `yes`).
            kept = _kept_pieces(path, pieces())

            def pieces():
                return iter(kept)

        characters, digest, length = set(), hashlib.sha256(), 0
        for piece in pieces():
            characters.update(piece)
            digest.update(piece.encode("utf-8"))
            length += len(piece)
        if not length:
            raise _empty_text(path, strip)
        vocabulary = Vocabulary(sorted(characters))
        indices = np.empty(length, dtype=vocabulary.dtype)
        position = 0
        for piece in pieces():
            if position + len(piece) > length:  # it grew since the first pass
                position = -1
                break
            indices[position : position + len(piece)] = vocabulary.encode_known(piece)
            position += len(piece)
    except UserError:  # not UTF-8, empty: already one clear line
        raise
    except OSError as error:
        raise UserError(f"cannot read text file '{path}': {error.strerror}") from None
    except (IndexError, KeyError, ValueError):  # a character the first pass did not see
        position = -1
    if position != length:
        raise UserError(f"text file '{path}' changed while it was read: read it again when it "
                        "is complete")
    corpus = Corpus(vocabulary, indices, digest.hexdigest())
    if use_cache:
        _write_cache(path, strip, corpus)
    return corpus
