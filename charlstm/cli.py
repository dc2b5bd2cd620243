"""What train.py and generate.py share as commands: argument parsing and error reporting.

No Keras here, so --help answers at once.

    >>> parser = ArgumentParser(description="demo")
    >>> _ = parser.add_argument("--epochs", type=positive_int, default=20, help="epochs")
    >>> parser.parse_args(["--epochs", "3"]).epochs
    3
"""

import argparse
import os
import sys

from .errors import UserError


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows '(default: X)' after each flag that has a meaningful default."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse with defaults in --help and one-line errors (no usage dump)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(**kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(value):
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be 1 or more")
    return number


def positive_float(value):
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} must be above 0")
    return number


def non_negative_float(value):
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not number >= 0.0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} must be 0 or more")
    return number


def fraction(value):
    """A number in [0, 1): a dropout rate, a held-out share of the text."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= number < 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 0 and below 1")
    return number


def choose_seed(seed):
    """The user's --seed, or a fresh one (which the caller prints, so a run can be repeated)."""
    return seed if seed is not None else int.from_bytes(os.urandom(4), "little") >> 1


def log(message):
    """A progress or status line: stderr, so that stdout stays the tutorial's output."""
    print(message, file=sys.stderr, flush=True)


def run(main, args):
    """Call main(args); a UserError becomes one line on stderr and exit status 1."""
    program = sys.argv[0].rsplit("/", 1)[-1]
    try:
        main(args)
    except UserError as error:
        sys.stdout.flush()
        print(f"{program}: error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stdout.flush()
        print(f"\n{program}: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (for example `| head`): nothing more to say, and stdout is
        # pointed at /dev/null so that Python's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
