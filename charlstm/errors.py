"""The one exception type for mistakes a user can make, and shown(), which every message uses
to put a user's text (a path, a lock's command) on one line.

Commands catch UserError and print its message as one line on stderr, exit status 1; the
Python API raises it with the same words. It is a ValueError, so code that already catches
ValueError for bad input catches it too. Anything else is a bug and keeps its traceback.

A message is one line whatever a user names: UserError passes its message through shown(),
which writes a newline, a U+2028, an ANSI escape or any other character that is not
printable as Python's repr would (\\n, \\u2028, \\x1b), and leaves the rest as it is.

    >>> shown("runs/a\\nb\\u2028c\\x1b[31m.txt")
    'runs/a\\\\nb\\\\u2028c\\\\x1b[31m.txt'
    >>> raise UserError("text file 'x\\ny.txt' does not exist")
    Traceback (most recent call last):
    charlstm.errors.UserError: text file 'x\\ny.txt' does not exist
"""


def shown(text):
    """text as it is shown in a one-line message: every character that is not printable
    (controls, line and paragraph separators, format characters, lone surrogates from a
    file name that is not UTF-8) escaped as repr escapes it; the others as they are."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else repr(character)[1:-1]
                   for character in text)


class UserError(ValueError):
    """A problem the user can fix: a missing file, a bad flag value, a mismatched checkpoint.
    Its message is always one line (see shown)."""

    def __init__(self, message=""):
        super().__init__(shown(message))
