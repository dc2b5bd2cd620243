"""What train.py and generate.py share as commands: argument parsing and error reporting.

No Keras here, so --help answers at once.

    >>> parser = ArgumentParser(description="demo")
    >>> _ = parser.add_argument("--epochs", type=positive_int, default=20, help="epochs")
    >>> parser.parse_args(["--epochs", "3"]).epochs
    3
"""

import argparse
import importlib
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


def _checked_number(convert, kind, accept, requirement):
    """An argparse type: convert the text, then check it, each failure one clear message."""

    def parse(value):
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not {kind}") from None
        if not accept(number):  # NaN fails every comparison, so it is refused too
            raise argparse.ArgumentTypeError(f"{value!r} must be {requirement}")
        return number

    return parse


def explicit_flags(parser, argv):
    """The destinations of the flags given on the command line (not left at their default):
    parse again with every default replaced by a marker that no typed value can equal."""
    marker = object()
    saved = {action.dest: action.default for action in parser._actions}
    try:
        for action in parser._actions:
            action.default = marker
        again = parser.parse_args(argv)
    finally:
        for action in parser._actions:
            action.default = saved[action.dest]
    return {dest for dest, value in vars(again).items() if value is not marker}


INFINITY = float("inf")
positive_int = _checked_number(int, "a whole number", lambda n: n >= 1, "1 or more")
positive_float = _checked_number(float, "a number", lambda n: 0 < n < INFINITY, "above 0")
non_negative_float = _checked_number(float, "a number", lambda n: 0 <= n < INFINITY, "0 or more")
# A dropout rate, a held-out share of the text.
fraction = _checked_number(float, "a number", lambda n: 0 <= n < 1, "at least 0 and below 1")


def add_checkpoint_arguments(parser):
    """The flags that pick a checkpoint, shared by generate.py and evaluate.py."""
    group = parser.add_argument_group("model")
    group.add_argument("--weights", default=None,
                       help="checkpoint (.hdf5) to load (default: the best "
                            "weights-improvement-*.hdf5 in --checkpoint-dir)")
    group.add_argument("--checkpoint-dir", default=".",
                       help="where to look for a checkpoint when --weights is not given")
    group.add_argument("--seq-length", type=positive_int, default=None,
                       help="window length for legacy weights-only files that do not record it "
                            "(default: 100)")
    return group


def choose_seed(seed):
    """The user's --seed, or a fresh one (which the caller prints, so a run can be repeated)."""
    return seed if seed is not None else int.from_bytes(os.urandom(4), "little") >> 1


def log(message):
    """A progress or status line: stderr, so that stdout stays the tutorial's output."""
    print(message, file=sys.stderr, flush=True)


def run(target, args):
    """Import Keras (quietly unless args.verbose_backend), then call target(args), named as
    "module:function" so that nothing heavy is imported before the flags are parsed. A
    UserError becomes one line on stderr and exit status 1."""
    program = sys.argv[0].rsplit("/", 1)[-1]
    try:
        from .backend import import_keras, request_multi_worker

        if getattr(args, "distribute", False) and os.environ.get("TF_CONFIG"):
            request_multi_worker()  # its strategy must exist before TensorFlow's first tensor
        import_keras(verbose=args.verbose_backend)
        module_name, function_name = target.split(":")
        getattr(importlib.import_module(module_name), function_name)(args)
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
