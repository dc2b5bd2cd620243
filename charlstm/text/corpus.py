"""Reading a corpus file: a piece at a time, into one compact index array, with a cache.

A text is read as text: UTF-8 (or --encoding), by its TextRules (charlstm.text.rules),
its Project Gutenberg header and footer removed (charlstm.text.boilerplate), into indices
in its Vocabulary (charlstm.text.vocabulary). A corpus file of any size is read with
load_corpus, a piece at a time, into one compact index array (one byte a character for
vocabularies up to 256): the text itself is never held whole. Texts of CACHE_MIN_BYTES or
more keep that array in a cache beside them (TEXT.charlstm.npy and .json), reused while the
text's size and modification time match. The name wonderland.txt finds the bundled text.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.txt")
    >>> with open(path, "w", encoding="utf-8", newline="") as handle:
    ...     _ = handle.write("\\ufeffCHAPTER I.\\r\\nDown")
    >>> corpus = load_corpus(path)
    >>> corpus.text(), corpus.vocabulary.chars, len(corpus)
    ('chapter i.\\ndown', '\\n .acdehinoprtw', 15)
"""

import codecs
import dataclasses
import hashlib
import json
import os
import re
import stat
import sys

import numpy as np

from ..errors import UserError, shown
from ..system.files import atomic_output
from ..logs import log
from .boilerplate import Boilerplate, find_boilerplate, within_book
from .rules import TextRules, apply_case, fold_line_ends, strip_punctuation
from .vocabulary import Vocabulary


BUNDLED_NAME = "wonderland.txt"


def bundled_text():
    """The wonderland.txt that comes with charlstm: the repository root in a checkout (beside
    the package), or sys.prefix/share/charlstm after `pip install .`; None if neither."""
    # Three folders up: charlstm/text/corpus.py -> charlstm/text -> charlstm -> its parent.
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


def _empty_text(path, rules, boilerplate=None):
    """EmptyText saying what emptied the file: the Project Gutenberg header and footer
    removed (boilerplate: what was found), punctuation stripped, or nothing."""
    removed = []
    if boilerplate is not None:
        removed.append("its Project Gutenberg header and footer are removed")
    if rules.strip_punctuation:
        removed.append("punctuation is stripped")
    hint = " (--keep-boilerplate keeps them)" if boilerplate is not None else ""
    return EmptyText(f"text file '{path}' is empty"
                     + (" once " + " and ".join(removed) if removed else "") + hint)


def read_text(path, rules=TextRules()):
    """Read a corpus file as one prepared string (see rules.prepare_text), through load_corpus;
    UserError if it is missing, unreadable, not in its encoding or empty."""
    return load_corpus(path, rules, cache=False).text()


CHUNK_BYTES = 1 << 22  # 4 MiB read at a time: about 16 MiB of transient arrays
CACHE_MIN_BYTES = 8 << 20
CACHE_VERSION = 2  # 2: the text rules in the key, the boilerplate removed


def encoding_label(encoding):
    """How messages name an encoding: UTF-8 as people write it, others as given."""
    return "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding


def _not_in_encoding(path, encoding, offset, error):
    """NotInEncoding for what a codec raised while decoding a file: UnicodeDecodeError names
    a byte; any other error (utf-16 without a byte-order mark on an odd length, the codec
    'undefined', which decodes nothing) is said in the codec's own words."""
    label = encoding_label(encoding)
    if isinstance(error, UnicodeDecodeError):
        what = f"is not {label} (bad byte at offset {offset + error.start})"
    else:
        what = f"cannot be read as {label} (the codec says: {error})"
    which = "its encoding" if label == "UTF-8" else "the encoding it is in"
    return NotInEncoding(
        f"text file '{path}' {what}: name {which} with --encoding (older "
        "Project Gutenberg files are often latin-1 or cp1252), or convert it with "
        "iconv -t utf-8")


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
            except (ValueError, TypeError, LookupError) as error:  # anything the codec says
                raise _not_in_encoding(path, encoding, offset, error) from None
            offset += len(raw)
            if first and piece:
                piece, first = (piece[1:] if piece.startswith("\ufeff") else piece), False
            # A CR at the end may be the first half of a CRLF: keep it for the next piece.
            carried = ""
            if raw and piece.endswith("\r"):
                piece, carried = piece[:-1], "\r"
            if piece:
                yield fold_line_ends(piece)
            if not raw:
                return


def _prepared(pieces, rules, boilerplate=None):
    """Decoded pieces as the rules prepare them: the book only, cased, punctuation."""
    for piece in within_book(pieces, boilerplate):
        piece = apply_case(piece, rules.keep_case)
        if rules.strip_punctuation:
            piece = strip_punctuation(piece)
        if piece:
            yield piece


def read_prepared_pieces(path, rules=TextRules(), chunk_bytes=CHUNK_BYTES, boilerplate=None):
    """Yield the prepared text of a file (see rules.prepare_text) a piece at a time, within
    boilerplate (boilerplate.find_boilerplate's answer; None: all of it): the pieces add up to
    rules.prepare_text of the whole file. UserError if the file is not in rules.encoding."""
    return _prepared(_decoded_pieces(path, rules.encoding, chunk_bytes), rules, boilerplate)


@dataclasses.dataclass
class Corpus:
    """A prepared text as indices: what training needs, and all it keeps in memory."""

    vocabulary: Vocabulary
    indices: np.ndarray  # may be a read-only memory map of the cache
    sha256: str  # vocabulary.fingerprint() of the prepared text
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
            # up to a limit (it could be endless: /dev/zero, `yes`). Opening a FIFO waits for
            # its writer, as cat does: say so, so that a wait is never silent.
            if stat.S_ISFIFO(os.stat(path).st_mode):
                log(f"reading text file '{shown(path)}', a pipe, until its writer closes it "
                    "(Ctrl-C stops)")
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
            raise _empty_text(path, rules, boilerplate)
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
