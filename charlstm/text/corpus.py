"""Reading a corpus and its character vocabulary.

The tutorial ran under Python 2 and counted bytes: the file's UTF-8 byte-order mark and every
carriage return were "characters". Here the file is read as text, as a user would expect:
UTF-8 (or --encoding), the byte-order mark dropped, CRLF and CR folded to LF, a Project
Gutenberg header and footer removed (--keep-boilerplate keeps them), then lower-cased as the
tutorial does (--keep-case keeps capitals). TextRules says which of these a text goes
through. The vocabulary is sorted(set(text)), so a character's index is its rank.

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
import collections.abc
import dataclasses
import hashlib
import json
import os
import re
import sys
import unicodedata
from typing import NamedTuple

import numpy as np

from ..errors import UserError
from ..system.files import atomic_output
from ..logs import log


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
    return _case(_fold(text), keep_case)


def _fold(text):
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _case(text, keep_case):
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
    through (a piece at a time, in read_prepared_pieces) and what generation does to a prime
    text."""
    text = normalise_text(text, rules.keep_case)
    return strip_punctuation(text) if rules.strip_punctuation else text


# --- Project Gutenberg's header and footer -------------------------------------------------

# "*** START OF THE PROJECT GUTENBERG EBOOK ALICE'S ADVENTURES IN WONDERLAND ***" (today's
# form; "THIS" in files from before 2020), and the matching END line. They are looked for in
# the text's first and last MARKER_WINDOW characters only: the licence footer is about 18 KB.
GUTENBERG_START = re.compile(r"^\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b.*$",
                             re.IGNORECASE | re.MULTILINE)
GUTENBERG_END = re.compile(r"^\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b.*$",
                           re.IGNORECASE | re.MULTILINE)
# Older files end the book with this line just before the END marker.
GUTENBERG_CLOSING = re.compile(r"\n[ \t]*End of (?:the )?Project Gutenberg\b[^\n]*$",
                               re.IGNORECASE)
BLANK_LINES = re.compile(r"(?:[ \t]*\n)*")
MARKER_WINDOW = 1 << 20


class Boilerplate(NamedTuple):
    """The book inside a Project Gutenberg file: characters [start, end) of the text as read
    (decoded, line ends folded, case kept), and how many characters fall before and after."""

    start: int
    end: int
    length: int  # of the whole text

    @property
    def dropped(self):
        return self.start, self.length - self.end


def find_boilerplate(pieces):
    """The Boilerplate of a text given as pieces (see _decoded_pieces), or None when it has
    neither marker. The blank lines between a marker and the book go with the marker, so a
    wrapped book comes out exactly as it was.

    >>> text = ("Title: X\\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\\n\\nBook.\\n\\n"
    ...         "*** END OF THE PROJECT GUTENBERG EBOOK X ***\\nLicence")
    >>> found = find_boilerplate([text])
    >>> text[found.start:found.end], found.dropped
    ('Book.', (57, 54))
    """
    head, tail, length = "", "", 0
    for piece in pieces:
        if len(head) < MARKER_WINDOW:
            head += piece[: MARKER_WINDOW - len(head)]
        tail = (tail + piece)[-MARKER_WINDOW:]
        length += len(piece)
    tail_offset = length - len(tail)
    start, end = 0, length
    found = GUTENBERG_START.search(head)
    if found:
        start = BLANK_LINES.match(head, found.end() + 1).end() if found.end() < len(head) \
            else found.end()
    ending = None
    for match in GUTENBERG_END.finditer(tail):
        if tail_offset + match.start() >= start:
            ending = match
            break
    if ending:
        body = tail[max(start - tail_offset, 0) : ending.start()].rstrip()
        closing = GUTENBERG_CLOSING.search(body)
        if closing:
            body = body[: closing.start()].rstrip()
        end = tail_offset + max(start - tail_offset, 0) + len(body)
    if not (found or ending):
        return None
    return Boilerplate(start, max(end, start), length)


def _within(pieces, boilerplate):
    """The pieces, clipped to the book (boilerplate None: all of them)."""
    if boilerplate is None:
        yield from pieces
        return
    position = 0
    for piece in pieces:
        low, high = max(boilerplate.start - position, 0), boilerplate.end - position
        position += len(piece)
        if high > 0 and low < len(piece):
            yield piece[low:high]


def describe_boilerplate(path, boilerplate):
    """The one line a removed header and footer gets."""
    before, after = boilerplate.dropped
    return (f"'{path}': removed its Project Gutenberg header ({before:,} characters) and "
            f"footer ({after:,} characters); --keep-boilerplate keeps them")


BUNDLED_NAME = "wonderland.txt"


def bundled_text():
    """The wonderland.txt that comes with charlstm: the repository root in a checkout (beside
    the package), or sys.prefix/share/charlstm after `pip install .`; None if neither."""
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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


class NotInEncoding(UserError):
    """A text file that is not in the encoding it is read in."""


class EmptyText(UserError):
    """A text file with no characters once prepared."""


def _empty_text(path, rules):
    return EmptyText(f"text file '{path}' is empty"
                     + (" once punctuation is stripped" if rules.strip_punctuation else ""))


def read_text(path, rules=TextRules()):
    """Read a corpus file as one prepared string (see prepare_text), through load_corpus;
    UserError if it is missing, unreadable, not in its encoding or empty."""
    return load_corpus(path, rules, cache=False).text()


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


CHUNK_BYTES = 1 << 22  # 4 MiB read at a time: about 16 MiB of transient arrays
CACHE_MIN_BYTES = 8 << 20
CACHE_VERSION = 2  # 2: the text rules in the key, the boilerplate removed


def encoding_label(encoding):
    """How messages name an encoding: UTF-8 as people write it, others as given."""
    return "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding


def _decoded_pieces(path, encoding="utf-8", chunk_bytes=CHUNK_BYTES):
    """Yield a file's text a piece at a time, decoded, its byte-order mark dropped and its
    line ends folded to LF, case kept: a multi-byte sequence or a CRLF split between two
    reads is joined first. UserError naming the byte offset if it is not in the encoding."""
    decoder = codecs.getincrementaldecoder(encoding)()
    carried, offset, first = "", 0, True
    with open(path, "rb") as handle:
        while True:
            raw = handle.read(chunk_bytes)
            try:
                piece = carried + decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as error:
                other = " another" if encoding_label(encoding) != "UTF-8" else ""
                raise NotInEncoding(
                    f"text file '{path}' is not {encoding_label(encoding)} (bad byte at offset "
                    f"{offset + error.start}): name its{other} encoding with --encoding (older "
                    "Project Gutenberg files are often latin-1 or cp1252), or convert it with "
                    "iconv -t utf-8"
                ) from None
            offset += len(raw)
            if first and piece:
                piece, first = (piece[1:] if piece.startswith("\ufeff") else piece), False
            # A CR at the end may be the first half of a CRLF: keep it for the next piece.
            carried = ""
            if raw and piece.endswith("\r"):
                piece, carried = piece[:-1], "\r"
            if piece:
                yield _fold(piece)
            if not raw:
                return


def _prepared(pieces, rules, boilerplate=None):
    """Decoded pieces as the rules prepare them: the book only, cased, punctuation."""
    for piece in _within(pieces, boilerplate):
        piece = _case(piece, rules.keep_case)
        if rules.strip_punctuation:
            piece = strip_punctuation(piece)
        if piece:
            yield piece


def read_prepared_pieces(path, rules=TextRules(), chunk_bytes=CHUNK_BYTES, boilerplate=None):
    """Yield the prepared text of a file (see prepare_text) a piece at a time, within
    boilerplate (find_boilerplate's answer; None: all of it): the pieces add up to
    prepare_text of the whole file. UserError if the file is not in rules.encoding."""
    return _prepared(_decoded_pieces(path, rules.encoding, chunk_bytes), rules, boilerplate)


@dataclasses.dataclass
class Corpus:
    """A prepared text as indices: what training needs, and all it keeps in memory."""

    vocabulary: Vocabulary
    indices: np.ndarray  # may be a read-only memory map of the cache
    sha256: str  # fingerprint() of the prepared text
    boilerplate: Boilerplate = None  # the Project Gutenberg header and footer removed

    def __len__(self):
        return len(self.indices)

    def text(self):
        """The prepared text as a string."""
        return self.vocabulary.decode_all(self.indices)


def _cache_paths(path, rules):
    """TEXT.charlstm.npy and .json, with a suffix for each rule that is not the default,
    so that runs with other rules keep their own cache (see CACHE_FILE)."""
    suffixes = [name for name, on in (("nopunct", rules.strip_punctuation),
                                      ("case", rules.keep_case),
                                      ("boilerplate", rules.keep_boilerplate)) if on]
    if codecs.lookup(rules.encoding).name != "utf-8":
        suffixes.append(codecs.lookup(rules.encoding).name)
    base = f"{path}.charlstm" + "".join("-" + suffix for suffix in suffixes)
    return base + ".npy", base + ".json"


# The name of a cache file (_cache_paths), which is never read as a text.
CACHE_FILE = re.compile(r"\.charlstm(?:-[\w-]+)*\.(?:npy|json)$")


def _cache_key(path, rules):
    status = os.stat(path)
    return {"version": CACHE_VERSION, "size": status.st_size, "mtime_ns": status.st_mtime_ns,
            **rules._asdict()}


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
    boilerplate = info.get("boilerplate")
    if boilerplate is not None:
        if (not isinstance(boilerplate, list) or len(boilerplate) != 3
                or not all(isinstance(n, int) and n >= 0 for n in boilerplate)):
            return "its boilerplate is not three character offsets"
        boilerplate = Boilerplate(*boilerplate)
    return Corpus(Vocabulary(chars), indices, sha256, boilerplate)


def _read_cache(path, rules):
    """The cached Corpus of a big text, or None: there is none, it is for the text as it
    was before, or it is damaged (then it is said, and the text read again)."""
    array_path, info_path = _cache_paths(path, rules)
    if not (os.path.isfile(info_path) and os.path.isfile(array_path)):
        return None
    try:
        with open(info_path, "rb") as handle:
            info = json.loads(handle.read(1 << 20).decode("utf-8"))
        indices = np.load(array_path, mmap_mode="r", allow_pickle=False)
        checked = _checked_cache(info, indices, _cache_key(path, rules))
    except (OSError, ValueError, TypeError) as error:
        checked = f"it cannot be read ({error})"
    if isinstance(checked, Corpus):
        return checked
    if not checked.startswith("it is not the cache of this text"):
        log(f"not using the cache '{info_path}': {checked}; reading the text instead")
    return None


def _write_cache(path, rules, corpus):
    """Best effort: a folder we cannot write to just means no cache."""
    array_path, info_path = _cache_paths(path, rules)
    info = {"key": _cache_key(path, rules), "length": len(corpus.indices),
            "vocabulary": corpus.vocabulary.chars, "sha256": corpus.sha256,
            "boilerplate": list(corpus.boilerplate) if corpus.boilerplate else None}
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


def load_corpus(path, rules=TextRules(), chunk_bytes=CHUNK_BYTES, cache=True):
    """Read a text file into a Corpus by the TextRules; UserError if it is missing,
    unreadable, not in its encoding or empty. Passes over the file, a piece at a time: the
    Project Gutenberg markers (unless rules.keep_boilerplate), the vocabulary and
    fingerprint, then the indices, straight into their final array. The name wonderland.txt
    finds the bundled text (resolve_text_path)."""
    path = resolve_text_path(path)
    _check_text_path(path)
    regular = os.path.isfile(path)
    use_cache = cache and regular and os.path.getsize(path) >= CACHE_MIN_BYTES
    if use_cache:
        cached = _read_cache(path, rules)
        if cached is not None:
            return cached
    try:
        if regular:
            boilerplate = None
            if not rules.keep_boilerplate:
                boilerplate = find_boilerplate(_decoded_pieces(path, rules.encoding, chunk_bytes))

            def pieces():
                return read_prepared_pieces(path, rules, chunk_bytes, boilerplate)
        else:
            # A pipe or FIFO (`--text <(zcat book.gz)`) can be read once only: keep its text,
            # up to a limit (it could be endless: /dev/zero, `yes`).
            kept = _kept_pieces(path, _decoded_pieces(path, rules.encoding, chunk_bytes))
            boilerplate = None if rules.keep_boilerplate else find_boilerplate(kept)

            def pieces():
                return _prepared(iter(kept), rules, boilerplate)

        characters, digest, length = set(), hashlib.sha256(), 0
        for piece in pieces():
            characters.update(piece)
            digest.update(piece.encode("utf-8"))
            length += len(piece)
        if not length:
            raise _empty_text(path, rules)
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
    corpus = Corpus(vocabulary, indices, digest.hexdigest(), boilerplate)
    if use_cache:
        _write_cache(path, rules, corpus)
    return corpus
