"""Stop sequences (--stop-at TEXT, given once or more): a text ends at the first occurrence
of any of them, which is kept, or at its length.

Stopping only cuts: every row is decoded and drawn for exactly as without it, and its text is
the same text cut right after the first stop text that lies wholly in the generated
characters (the prime never counts). So a seed repeats the same text with or without
--stop-at, in every engine, and a row that stops never changes the rows beside it.

    >>> stop = StopAt(["\\n", "."], rows=2)
    >>> [stop.feed(0, char) for char in "no."], [stop.feed(1, char) for char in "ab"]
    ([False, False, True], [False, False])
    >>> stop.stopped.tolist()
    [True, False]
    >>> "".join(cut_at_stop("alice was. here", ["."]))
    'alice was.'
"""

import numpy as np

from ..errors import UserError

MOST_STOP_TEXTS = 16  # texts a generation may stop at, together


def stop_texts(value, name="stop_at"):
    """The stop texts of an option's value (None, a text, or several) as a tuple; UserError
    for more than MOST_STOP_TEXTS (each text was checked by its option: config.stop_text)."""
    if value is None:
        return ()
    texts = (value,) if isinstance(value, str) else tuple(value)
    if len(texts) > MOST_STOP_TEXTS:
        raise UserError(f"{name}: {len(texts)} texts, and a generation stops at "
                        f"{MOST_STOP_TEXTS} at most")
    return texts


class StopAt:
    """Each row's generated characters, watched for the stop texts: feed(row, char) says
    whether that character ends the row's text; `stopped` holds the rows that have ended."""

    def __init__(self, texts, rows):
        self.texts = tuple(texts)
        self.longest = max(map(len, self.texts), default=0)
        self.tails = [""] * rows
        self.stopped = np.zeros(rows, dtype=bool)

    def feed(self, row, char):
        if not self.texts or self.stopped[row]:
            return False
        tail = (self.tails[row] + char)[-self.longest:]
        self.tails[row] = tail
        if any(tail.endswith(text) for text in self.texts):
            self.stopped[row] = True
            return True
        return False


def cut_at_stop(chars, texts):
    """The characters of one row up to and including the first stop text (all of them when
    none occurs): the cut StopAt makes, for a text already written."""
    stop = StopAt(texts, 1)
    for char in chars:
        yield char
        if stop.feed(0, char):
            return


def stop_steps(steps, chars, texts, rows):
    """Generation steps (arrays of one index a row) with the stop texts applied: a row that
    has stopped shows -1 from the step after its stop text on, and the steps end when every
    row has stopped (or the length is reached). The arrays the decoder reads are never
    changed: each step shown is a copy."""
    if not texts:
        yield from steps
        return
    stop = StopAt(texts, rows)
    for indices in steps:
        shown = np.array(indices, copy=True)
        shown[stop.stopped] = -1
        for row in np.flatnonzero(~stop.stopped):
            stop.feed(row, chars[indices[row]])
        yield shown
        if stop.stopped.all():
            return
