"""A run's text: one file as the tutorial reads it, or many documents joined into one corpus.

--text takes files, folders (searched recursively) and glob patterns ('src/**/*.py'). A file
named on its own is read, or refused, as it always was. A file found in a folder or by a
pattern is skipped, with one line naming it, when it is binary (a NUL byte in its first
8 KiB), not in the --encoding, or empty once prepared; hidden files and folders (.git) and
charlstm's own corpus caches are not looked at. Only regular files found are opened: a FIFO
(which would block the open), a socket, a device, a dangling link, a link loop and a file this
user cannot read are skipped too, each with its reason in that line.

Documents are joined in the order found (sources in the order given, each folder's files in
sorted order), with DOCUMENT_SEPARATOR between two documents, a character the model learns
like any other: in generated text it is where the model thinks one document ends and the next
begins. Windows may cross it, as GPT-2's packed documents cross its <|endoftext|>: the
character tells the model that what came before is another document, and a folder of many
small files (most source files are shorter than a few windows) keeps every window. A single
document has no separator, so wonderland.txt's figures stay the tutorial's.

With several documents, a held-out part (--validation-split F) is made of whole documents,
never a file split in two: documents are taken in the order of the sha256 of their names
until they hold a fraction F of the characters. That order does not depend on the order
found, and adding a file does not move the others between the parts.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> for name, text in (("a.py", "import os\\n"), ("b.py", "x = 1\\n"), ("c.bin", "\\0\\1")):
    ...     with open(os.path.join(folder, name), "w") as handle:
    ...         _ = handle.write(text)
    >>> corpus = load_sources(folder)
    >>> [document.name for document in corpus.documents], corpus.skipped
    (['a.py', 'b.py'], (('c.bin', 'binary'),))
    >>> corpus.text()
    'import os\\n\\x1cx = 1\\n'
"""

import dataclasses
import errno
import glob
import hashlib
import os
import stat
import statistics

import numpy as np

from .boilerplate import describe_boilerplate
from .items import ITEM_SEPARATOR, items_of
from .corpus import (CACHE_FILE, Corpus, EmptyText, NotInEncoding, encoding_label, load_corpus,
                     resolve_text_path, split_held_out)
from .rules import TextRules
from .vocabulary import Vocabulary, fingerprint
from ..errors import UserError, shown
from ..system.files import KINDS

DOCUMENT_SEPARATOR = "\x1c"  # ASCII's "file separator", which no ordinary text holds
BINARY_SNIFF_BYTES = 8192
SHOWN_NAMES = 10  # names a line lists before "and N more"


@dataclasses.dataclass(frozen=True)
class Document:
    """One file of a corpus: its name (relative to the folder it was found in, as a pattern
    matched it, or as given), its path, its size in bytes and its characters once prepared,
    and where those start in the corpus's indices."""

    name: str
    path: str
    size: int
    length: int
    start: int = 0

    def record(self):
        """What a checkpoint records of it."""
        return [self.name, self.size, self.length]


@dataclasses.dataclass
class Sources(Corpus):
    """A Corpus read from --text: its documents in order and the files skipped ((name,
    reason) pairs)."""

    documents: tuple = ()
    skipped: tuple = ()
    # --documents lines: the text is the items, each ended by ITEM_SEPARATOR; (how many, their
    # median length) for the log line. None: documents as they read.
    items: tuple = None

    @property
    def lines(self):
        return self.items is not None

    @property
    def boilerplate_removed(self):
        return [document for document, corpus in self._parts if corpus.boilerplate]

    _parts: tuple = ()  # (Document, its own Corpus) pairs, for the log lines


def source_list(text):
    """--text's value as a tuple of paths (one path, or several)."""
    return (text,) if isinstance(text, str) else tuple(text)


def describe_sources(text):
    """A --text value as messages name it."""
    return ", ".join(f"'{resolve_text_path(path)}'" for path in source_list(text))


def _hidden(name):
    return name.startswith(".") or name == "__pycache__"


def _walk(folder):
    """The files under a folder, recursively, sorted, hidden ones left out."""
    found = []
    for root, folders, files in os.walk(folder, followlinks=False):
        folders[:] = sorted(name for name in folders if not _hidden(name))
        for name in sorted(files):
            if not _hidden(name) and not CACHE_FILE.search(name):
                path = os.path.join(root, name)
                found.append((os.path.relpath(path, folder), path))
    return found


def candidates(sources):
    """[(name, path, named)] for the files the sources give, each once: named is True for a
    file given on its own (read or refused as before), False for one found in a folder or
    by a pattern (skipped if it is not a text). UserError for a source that gives nothing."""
    found, seen = [], set()
    for source in source_list(sources):
        source = resolve_text_path(source)
        if glob.has_magic(source) and not os.path.lexists(source):
            matched = sorted(path for path in glob.glob(source, recursive=True)
                             if os.path.isfile(path) and not CACHE_FILE.search(path))
            if not matched:
                raise UserError(f"--text pattern '{source}' matches no file")
            entries = [(path, path, False) for path in matched]
        elif os.path.isdir(source):
            entries = [(name, path, False) for name, path in _walk(source)]
            if not entries:
                raise UserError(f"--text folder '{source}' holds no file")
        else:
            entries = [(os.path.basename(source) or source, source, True)]
        for name, path, named in entries:
            key = os.path.realpath(path) if os.path.exists(path) else path
            if key not in seen:
                seen.add(key)
                found.append((name, path, named))
    return found


def _unopenable(path, error):
    """Why a file found cannot be opened, as the skipped line says it."""
    if error.errno == errno.ELOOP:
        return "a link loop"
    if error.errno == errno.ENOENT:
        return "a dangling link" if os.path.islink(path) else "gone"
    return f"unreadable ({error.strerror})"


def _not_regular(mode):
    return next((kind for test, kind in KINDS if test(mode)), "not a regular file")


def _sniff(path):
    """(its first BINARY_SNIFF_BYTES, None) for a regular file found, or (None, why it is
    skipped). Only a regular file is opened: opening a FIFO would wait for a writer, and a
    device could be anything. The open is non-blocking and checked again on the open file,
    so a file swapped for a FIFO after the first check cannot hang the read either."""
    try:
        mode = os.stat(path).st_mode  # through links: where a link leads is what is read
        if not stat.S_ISREG(mode):
            return None, _not_regular(mode)
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        return None, _unopenable(path, error)
    with os.fdopen(descriptor, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            return None, _not_regular(mode)
        try:
            return handle.read(BINARY_SNIFF_BYTES), None
        except OSError as error:
            return None, _unopenable(path, error)


def _read_found(name, path, rules):
    """(Corpus, None) for a file found in a folder or by a pattern, or (None, why it is
    skipped)."""
    head, reason = _sniff(path)
    if reason is not None:
        return None, reason
    if b"\0" in head:
        return None, "binary"
    try:
        return load_corpus(path, rules), None
    except NotInEncoding:
        return None, f"not {encoding_label(rules.encoding)}"
    except EmptyText:
        return None, "empty"


def load_sources(text, rules=TextRules(), documents="files"):
    """Read --text (one path or several: files, folders, patterns) into Sources by the
    TextRules, as documents or (documents="lines") as the items of a list; UserError for a
    missing or unreadable source, or when no text is left."""
    parts, skipped = [], []
    for name, path, named in candidates(text):
        if named:
            corpus, reason = load_corpus(path, rules), None
        else:
            corpus, reason = _read_found(name, path, rules)
        if corpus is None:
            skipped.append((name, reason))
            continue
        parts.append((Document(name, path, os.path.getsize(path) if os.path.isfile(path)
                               else 0, len(corpus)), corpus))
    if not parts:
        raise UserError(f"--text {describe_sources(text)} gave no text file: "
                        + describe_skipped(skipped))
    if documents == "lines":
        return as_items(parts, skipped, text)
    return join(parts, skipped)


def as_items(parts, skipped=(), text=None):
    """Sources of a list (--documents lines): every non-empty line of every file is one item,
    and the text the model learns is the items in order, each followed by ITEM_SEPARATOR.
    The last item has one too, so that the model learns to end every item, the last
    included. The documents stay the files, for the checkpoint's record."""
    items = []
    for _, corpus in parts:
        items += items_of(corpus.text())
    if not items:
        raise UserError(f"--documents lines: --text {describe_sources(text or '')} has no "
                        "line with a character other than a space")
    joined = ITEM_SEPARATOR.join(items) + ITEM_SEPARATOR
    vocabulary = Vocabulary.from_text(joined)
    indices = vocabulary.encode_known(joined).astype(vocabulary.dtype)
    median = statistics.median(len(item) for item in items)
    return Sources(vocabulary, indices, fingerprint(joined), None,
                   documents=tuple(document for document, _ in parts), skipped=tuple(skipped),
                   items=(len(items), median), _parts=tuple(parts))


def describe_items(corpus):
    """The log line of a list's items."""
    count, median = corpus.items
    return f"items: {count:,} lines, median length {median:g} characters"


def describe_held_out_items(corpus, held_out):
    """The log line of a list's items held out."""
    separator = corpus.vocabulary.char_to_index[ITEM_SEPARATOR]
    share = len(held_out) / max(len(corpus), 1)
    return (f"held out the last {int(np.count_nonzero(held_out == separator)):,} whole items, "
            f"{len(held_out):,} characters ({share:.1%} of the text)")


def split_items(indices, fraction, separator):
    """(training part, held-out part) of a list's indices: the last `fraction` of its
    characters, the cut moved back to the start of the item it falls in, so that no item is
    split in two and the held-out part holds at least the fraction (all of the text when
    the cut falls in the first item)."""
    cut = len(indices) - int(round(len(indices) * fraction))
    if 0 < cut < len(indices):
        ends = np.flatnonzero(indices[:cut] == separator)
        cut = int(ends[-1]) + 1 if len(ends) else 0
    return indices[:cut], indices[cut:]


def join(parts, skipped=()):
    """Sources from (Document, Corpus) pairs: one document as it is, several joined with
    DOCUMENT_SEPARATOR into one vocabulary. The sha256 is the joined text's."""
    if len(parts) == 1:
        (document, corpus), = parts
        return Sources(corpus.vocabulary, corpus.indices, corpus.sha256, corpus.boilerplate,
                       documents=(document,), skipped=tuple(skipped), _parts=tuple(parts))
    characters = set(DOCUMENT_SEPARATOR)
    for _, corpus in parts:
        characters.update(corpus.vocabulary.chars)
    vocabulary = Vocabulary(sorted(characters))
    separator = vocabulary.encode_known(DOCUMENT_SEPARATOR)
    pieces, documents, digest, position = [], [], hashlib.sha256(), 0
    for number, (document, corpus) in enumerate(parts):
        if number:
            pieces.append(separator)
            digest.update(DOCUMENT_SEPARATOR.encode("utf-8"))
            position += 1
        mapping = vocabulary.encode_known(corpus.vocabulary.chars)
        pieces.append(mapping[corpus.indices])
        digest.update(corpus.text().encode("utf-8"))
        documents.append(dataclasses.replace(document, start=position))
        position += len(corpus)
    indices = np.concatenate(pieces).astype(vocabulary.dtype)
    return Sources(vocabulary, indices, digest.hexdigest(), None, documents=tuple(documents),
                   skipped=tuple(skipped), _parts=tuple(parts))


def _names(names):
    listed = ", ".join(shown(name) for name in names[:SHOWN_NAMES])
    return listed + (f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES
                     else "")


def describe_skipped(skipped):
    """One line: how many files were skipped, why, and their names."""
    reasons = {}
    for name, reason in skipped:
        reasons.setdefault(reason, []).append(name)
    return (f"skipped {len(skipped)} file(s): "
            + "; ".join(f"{reason}: {_names(names)}" for reason, names in reasons.items()))


def describe_reading(corpus):
    """The log lines of what reading the text did: each Project Gutenberg header and footer
    removed, and the files skipped."""
    lines = []
    removed = corpus.boilerplate_removed
    if len(corpus.documents) == 1 and removed:
        lines.append(describe_boilerplate(corpus.documents[0].path, corpus._parts[0][1]
                                          .boilerplate))
    elif removed:
        before = sum(c.boilerplate.dropped[0] for _, c in corpus._parts if c.boilerplate)
        after = sum(c.boilerplate.dropped[1] for _, c in corpus._parts if c.boilerplate)
        lines.append(f"removed the Project Gutenberg header and footer of {len(removed)} "
                     f"file(s) ({before:,} and {after:,} characters): "
                     f"{_names([d.name for d in removed])}; --keep-boilerplate keeps them")
    if len(corpus.documents) > 1:
        lines.append(f"read {len(corpus.documents)} files "
                     f"({sum(d.size for d in corpus.documents):,} bytes), joined with "
                     "the separator \\x1c between two")
    if corpus.skipped:
        lines.append(describe_skipped(corpus.skipped))
    return lines


def list_documents(corpus):
    """--dry-run's listing: one line per document read."""
    return [f"  {document.name}: {document.size:,} bytes, {document.length:,} characters"
            for document in corpus.documents]


def held_out_documents(documents, fraction):
    """The documents held out for a fraction: in the order of their names' sha256, until
    they hold at least that share of the characters; never all of them."""
    if not fraction:
        return ()
    target = fraction * sum(document.length for document in documents)
    order = sorted(documents, key=lambda d: (hashlib.sha256(d.name.encode()).hexdigest(),
                                             d.name))
    chosen, held = [], 0
    for document in order[:-1]:
        if held >= target:
            break
        chosen.append(document)
        held += document.length
    return tuple(sorted(chosen, key=lambda d: d.start))


def split(corpus, fraction):
    """(training indices, held-out indices, the documents held out): one document's last
    fraction (corpus.split_held_out), whole documents when there are several, each part
    joined with the separator, or a list's last whole items (split_items)."""
    if getattr(corpus, "lines", False):
        separator = corpus.vocabulary.char_to_index[ITEM_SEPARATOR]
        training, held_out = split_items(corpus.indices, fraction, separator)
        return training, held_out, ()
    documents = getattr(corpus, "documents", ())
    if len(documents) < 2:
        training, held_out = split_held_out(corpus.indices, fraction)
        return training, held_out, ()
    held = held_out_documents(documents, fraction)
    separator = corpus.vocabulary.encode_known(DOCUMENT_SEPARATOR)

    def joined(chosen):
        pieces = []
        for document in chosen:
            if pieces:
                pieces.append(separator)
            pieces.append(corpus.indices[document.start : document.start + document.length])
        return np.concatenate(pieces) if pieces else corpus.indices[:0]

    held_names = {document.name for document in held}
    return (joined([d for d in documents if d.name not in held_names]), joined(held), held)


def describe_held_out(held, held_out_length, total_length):
    """The log line of the documents held out."""
    share = held_out_length / max(total_length, 1)
    return (f"held out {len(held)} whole file(s), {held_out_length:,} characters "
            f"({share:.1%} of the text): {_names([d.name for d in held])}")
