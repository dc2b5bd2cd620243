"""The one exception type for mistakes a user can make.

Commands catch UserError and print its message as one line on stderr, exit status 1; the
Python API raises it with the same words. It is a ValueError, so code that already catches
ValueError for bad input catches it too. Anything else is a bug and keeps its traceback.

    >>> raise UserError("text file 'x.txt' does not exist")
    Traceback (most recent call last):
    charlstm.errors.UserError: text file 'x.txt' does not exist
"""


class UserError(ValueError):
    """A problem the user can fix: a missing file, a bad flag value, a mismatched checkpoint."""
