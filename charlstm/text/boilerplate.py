"""Project Gutenberg's header and footer: where the book starts and ends in a file.

A Project Gutenberg file wraps its book in a header (title, licence note, a START marker)
and a footer (an END marker and about 18 KB of licence). find_boilerplate finds the book
between them in a text given a piece at a time; a run trains on the book alone unless
--keep-boilerplate.

    >>> text = ("Title: X\\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\\n\\nBook.\\n\\n"
    ...         "*** END OF THE PROJECT GUTENBERG EBOOK X ***\\nLicence")
    >>> found = find_boilerplate([text])
    >>> "".join(within_book([text[:30], text[30:]], found))
    'Book.'
"""

import re
from typing import NamedTuple


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
    """The Boilerplate of a text given as pieces (decoded, line ends folded, case kept:
    charlstm.text.corpus reads them), or None when it has
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


def within_book(pieces, boilerplate):
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
