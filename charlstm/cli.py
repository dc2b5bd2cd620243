"""The three commands: train.py, generate.py and evaluate.py (and the console scripts
charlstm-train, charlstm-generate, charlstm-evaluate). Each parses its flags, then calls the
Python API (charlstm.api) and turns what it raises into one line and an exit status:

    0 done · 1 a mistake (UserError) or a diverged run · 2 a flag error (argparse)
    130 Ctrl-C · 143 SIGTERM

No Keras here, so --help answers at once.

    >>> settings = parse_train_args(["--bigger", "--epochs", "3"])
    >>> settings.layers, settings.epochs, sorted(settings.explicit)
    (2, 3, ['bigger', 'epochs'])
"""

import argparse
import contextlib
import os
import signal
import sys

from .config import (add_arguments, fraction, non_negative_float, positive_int, probability,
                     random_seed, resolve)
from .errors import UserError
from .logs import show_on_stderr

TRAIN_DESCRIPTION = """\
Train the tutorial's character-level LSTM on a text and write best-only .hdf5 checkpoints.

    python train.py                 # small model: LSTM(256), 20 epochs, batch 128
    python train.py --bigger        # stacked model: 2 x LSTM(256), 50 epochs, batch 64
    python train.py --preset fast --checkpoint-dir runs    # readable text in minutes on a CPU
    python train.py --text my.txt --epochs 5 --checkpoint-dir runs/mine
    python train.py --resume "$(ls runs/weights-improvement-*.hdf5 | tail -1)" --epochs 30
"""

GENERATE_DESCRIPTION = """\
Write text with a trained character LSTM, one character at a time, as the tutorial does.

    python generate.py                        # the lowest-loss checkpoint in this folder
    python generate.py --checkpoint-dir runs  # ... or in runs/
    python generate.py --weights "$(ls runs/weights-improvement-*.hdf5 | tail -1)"
    python generate.py --prime "alice was " --length 200 --raw
    python generate.py --temperature 0.5 --top-k 10 --num-samples 3 --seed 1
    python generate.py --temperature 0.8 --top-p 0.9 --prime-file opening.txt
    python generate.py --stateful --length 100000 > book.txt
"""

EVALUATE_DESCRIPTION = """\
Score a checkpoint by the tutorial's own loss: the mean cross-entropy of the character after
each window, over every window of a text (no dropout). Works for any checkpoint, legacy
tutorial files included, whatever targets or input encoding it was trained with.

    python evaluate.py                        # the lowest-loss checkpoint in this folder
    python evaluate.py --checkpoint-dir runs --held-out 0.1   # training part and tail apart
"""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows '(default: X)' after each flag that has a meaningful default."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or "(default:" in text or action.default in (
                None, False, argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse with defaults in --help and one-line errors (no usage dump), exit status 2."""

    def __init__(self, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(**kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def train_parser(prog=None):
    """train.py's flags: one a setting of charlstm.config.SETTINGS."""
    return add_arguments(ArgumentParser(description=TRAIN_DESCRIPTION, prog=prog))


def parse_train_args(argv=None, prog=None):
    """train.py's flags as resolved Settings."""
    parser = train_parser(prog)
    given = vars(parser.parse_args(argv))
    try:
        return resolve(given)
    except UserError as error:  # a combination argparse cannot see: a flag error too
        parser.error(str(error))


def add_checkpoint_arguments(parser):
    """The flags that pick a checkpoint, shared by generate.py and evaluate.py."""
    group = parser.add_argument_group("model")
    group.add_argument("--weights", metavar="FILE", default=None,
                       help="checkpoint (.hdf5) to load (default: the best "
                            "weights-improvement-*.hdf5 in --checkpoint-dir)")
    group.add_argument("--checkpoint-dir", metavar="DIR", default=".",
                       help="where to look for a checkpoint when --weights is not given")
    group.add_argument("--seq-length", metavar="N", type=positive_int, default=None,
                       help="window length for legacy weights-only files that do not record it "
                            "(default: 100)")
    return group


def add_backend_argument(parser):
    parser.add_argument("--verbose-backend", action="store_true",
                        help="show the backend's start-up messages (oneDNN, CUDA probing)")


def generate_parser(prog=None):
    parser = ArgumentParser(description=GENERATE_DESCRIPTION, prog=prog)
    model = add_checkpoint_arguments(parser)
    model.add_argument("--text", metavar="FILE", default=None,
                       help="text to draw the random seed window from (default: the training "
                            "text stored in our checkpoints; wonderland.txt for legacy files, "
                            "which also take their vocabulary from it)")
    output = parser.add_argument_group("generation")
    output.add_argument("--length", metavar="N", type=positive_int, default=1000,
                        help="characters to generate")
    output.add_argument("--seed", metavar="N", type=random_seed, default=None,
                        help="random seed for the seed window and sampling (default: a fresh "
                             "one, printed on stderr)")
    primes = output.add_mutually_exclusive_group()
    primes.add_argument("--prime", default=None,
                        help="start from this text instead of a random window (lower-cased like "
                             "the corpus; every character must be in the vocabulary)")
    primes.add_argument("--prime-file", metavar="FILE", default=None,
                        help="start from this UTF-8 file's text, of any length, by the same "
                             "rules as --prime")
    output.add_argument("--temperature", metavar="T", type=non_negative_float, default=0.0,
                        help="0 takes the most likely character (the tutorial); T > 0 samples "
                             "from softmax(log p / T): below 1 safer, above 1 wilder")
    output.add_argument("--top-k", metavar="K", type=positive_int, default=None,
                        help="with --temperature > 0, sample among the K most likely characters "
                             "only (default: all)")
    output.add_argument("--top-p", metavar="P", type=probability, default=1.0,
                        help="with --temperature > 0, nucleus sampling: sample among the fewest "
                             "most likely characters whose probabilities add up to P (after "
                             "--temperature and --top-k); 1 keeps all (default: 1)")
    output.add_argument("--num-samples", metavar="N", type=positive_int, default=1,
                        help="independent continuations, generated together in one batch "
                             "(each from its own random seed window unless --prime is given)")
    output.add_argument("--stateful", action="store_true",
                        help="feed one character a step and carry the LSTM state, instead of "
                             "re-reading the last seq-length characters (much faster; see "
                             "docs/decisions.md)")
    output.add_argument("--raw", action="store_true",
                        help="print only the generated characters (no Seed: header, no Done.)")
    add_backend_argument(parser)
    return parser


def parse_generate_args(argv=None, prog=None):
    return generate_parser(prog).parse_args(argv)


def evaluate_parser(prog=None):
    parser = ArgumentParser(description=EVALUATE_DESCRIPTION, prog=prog)
    add_checkpoint_arguments(parser)
    data = parser.add_argument_group("data")
    data.add_argument("--text", metavar="FILE", default=None,
                      help="text to score on (default: the training text stored in our "
                           "checkpoints; wonderland.txt for legacy files)")
    data.add_argument("--held-out", metavar="F", type=fraction, default=0.0,
                      help="also score the training part and this last fraction of the text "
                           "separately (the split train.py --validation-split makes)")
    data.add_argument("--batch-size", metavar="N", type=positive_int, default=256,
                      help="windows per forward call")
    add_backend_argument(parser)
    return parser


def parse_evaluate_args(argv=None, prog=None):
    return evaluate_parser(prog).parse_args(argv)


def _parser_table(parser):
    lines = ["| flag | default | what it does |", "|---|---|---|"]
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        flag = action.option_strings[-1] + (f" {action.metavar}" if action.metavar else "")
        default = "off" if action.default is False else (
            "none" if action.default is None else str(action.default))
        lines.append(f"| `{flag}` | {default} | {action.help} |")
    return "\n".join(lines)


def flag_reference():
    """docs/flags.md, derived from the schema (train.py) and the parsers (generate.py,
    evaluate.py); a test keeps the file equal to it. Regenerate with
    python -c "from charlstm.cli import flag_reference; print(flag_reference())" > docs/flags.md
    """
    from .config import RESUME_RULES, flag_reference as train_table

    rules = "\n".join(f"- **{rule}**: {meaning}" for rule, meaning in RESUME_RULES.items())
    return f"""# Flags

Generated from the code (`charlstm.cli.flag_reference()`); a test keeps this file equal to it.
Every flag of train.py is also a keyword argument of `charlstm.train()`, named without the
dashes (`--seq-length 50` is `seq_length=50`; `--one-hot` is `input_encoding="one-hot"`).

## train.py (charlstm-train)

{train_table()}

The resume column says what `--resume FILE` does with each setting:

{rules}

## generate.py (charlstm-generate)

{_parser_table(generate_parser())}

## evaluate.py (charlstm-evaluate)

{_parser_table(evaluate_parser())}

## export.py (charlstm-export)

{_parser_table(export_parser())}

## plot.py (charlstm-plot)

{_parser_table(plot_parser())}
"""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would raise KeyboardInterrupt (exit status 143)."""


def _raise_terminated(signal_number, frame):
    raise Terminated


def _abandon_stdout():
    """Point stdout at /dev/null, dropping what it buffered, so that Python's final flush does
    not fail a second time."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stdout = open(os.devnull, "w")


def run(command, program=None):
    """Call command(), turning what it raises into one line on stderr and an exit status
    (SystemExit). Everything the commands share (stderr logging, SIGTERM) is set up here."""
    program = program or os.path.basename(sys.argv[0]) or "charlstm"
    show_on_stderr(True)
    previous_handler = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        status = command() or 0
    except UserError as error:
        sys.stdout.flush()
        print(f"{program}: error: {error}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt as interrupt:
        sys.stdout.flush()
        terminated = isinstance(interrupt, Terminated)
        print(f"\n{program}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        status = 143 if terminated else 130
    except BrokenPipeError:
        # The reader went away (for example `| head`): nothing more to say, and stdout is
        # pointed at /dev/null so that Python's final flush does not complain either.
        _abandon_stdout()
        status = 1
    except OSError as error:
        # Writing the output failed (`> /dev/full`, a full disk): say so once.
        _abandon_stdout()
        print(f"{program}: error: cannot write the output: {error.strerror or error}",
              file=sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    sys.exit(status)


def _stop_for(caught):
    """The exception a caught signal ends a command with, or None."""
    if not caught:
        return None
    return Terminated() if caught[0] == signal.SIGTERM else KeyboardInterrupt()


def train_main(argv=None, prog=None):
    settings = parse_train_args(argv, prog)

    def command():
        from . import api, training

        api.start_backend(settings.verbose_backend, settings.distribute)
        result = training.train(settings)
        if result.interrupted:
            return 143 if result.signal == signal.SIGTERM else 130
        return 0

    run(command, prog)


def generate_main(argv=None, prog=None):
    args = parse_generate_args(argv, prog)

    def command():
        from . import api, generation

        api.start_backend(args.verbose_backend)
        run_ = generation.start(args.weights, checkpoint_dir=args.checkpoint_dir,
                                length=args.length, prime=args.prime,
                                temperature=args.temperature, top_k=args.top_k, seed=args.seed,
                                stateful=args.stateful, num_samples=args.num_samples,
                                text=args.text, seq_length=args.seq_length, top_p=args.top_p,
                                prime_file=args.prime_file)
        # Ctrl-C and SIGTERM only set a flag, read between two characters.
        caught = []
        previous = {number: signal.signal(number, lambda number, frame: caught.append(number))
                    for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            generation.write_samples(run_, args.raw, stop=lambda: _stop_for(caught))
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    run(command, prog)


def evaluate_main(argv=None, prog=None):
    args = parse_evaluate_args(argv, prog)

    def command():
        from . import api, evaluation

        api.start_backend(args.verbose_backend)
        results = evaluation.evaluate(args.weights, checkpoint_dir=args.checkpoint_dir,
                                      text=args.text, held_out=args.held_out,
                                      batch_size=args.batch_size, seq_length=args.seq_length)
        evaluation.print_results(results)

    run(command, prog)


EXPORT_DESCRIPTION = """\
Export a checkpoint for use outside charlstm (a Keras script, a TensorFlow server, another
runtime). The model takes character indices and returns next-character probabilities;
OUTPUT.json beside it holds the vocabulary and how to encode a text.

    python export.py --weights runs/weights-improvement-15-1.1234.hdf5 --output alice.keras
    python export.py --weights FILE --format savedmodel --output alice_savedmodel
    python export.py --weights FILE --format onestep --output alice-onestep.keras
"""

PLOT_DESCRIPTION = """\
Draw history.csv files (train.py writes one per run) as a loss plot: training and validation
loss by epoch, checkpoints circled, the tutorial's losses as reference lines. Needs
matplotlib (pip install matplotlib).

    python plot.py runs/history.csv                      # runs/history.png
    python plot.py a/history.csv b/history.csv --output compare.png
"""


def export_parser(prog=None):
    from .exporting import FORMATS

    parser = ArgumentParser(description=EXPORT_DESCRIPTION, prog=prog)
    group = parser.add_argument_group("export")
    group.add_argument("--weights", metavar="FILE", required=True,
                       help="the checkpoint to export (.hdf5)")
    group.add_argument("--format", choices=FORMATS, default="keras",
                       help="keras: a .keras file of the window model; savedmodel: a "
                            "TensorFlow SavedModel folder (TensorFlow backend); onestep: a "
                            ".keras file stepping one character, the state in and out "
                            "(default: keras)")
    group.add_argument("--output", metavar="PATH", required=True,
                       help="where to write (a .keras file, or a folder for savedmodel); "
                            "PATH.json is written beside it")
    group.add_argument("--text", metavar="FILE", default=None,
                       help="legacy tutorial files only: the text whose characters are their "
                            "vocabulary (default: wonderland.txt)")
    group.add_argument("--seq-length", metavar="N", type=positive_int, default=None,
                       help="legacy files that do not record it: their window (default: 100)")
    add_backend_argument(parser)
    return parser


def export_main(argv=None, prog=None):
    args = export_parser(prog).parse_args(argv)

    def command():
        from . import api, exporting

        api.start_backend(args.verbose_backend)
        print(exporting.export(args.weights, args.output, args.format, text=args.text,
                            seq_length=args.seq_length))

    run(command, prog)


def plot_parser(prog=None):
    parser = ArgumentParser(description=PLOT_DESCRIPTION, prog=prog)
    parser.add_argument("history", nargs="+", help="history.csv files, one line each")
    parser.add_argument("--output", metavar="FILE", default=None,
                        help="the PNG to write (default: beside the first file: history.png "
                             "for one file, compare.png for several)")
    return parser


def plot_main(argv=None, prog=None):
    args = plot_parser(prog).parse_args(argv)

    def command():
        from .plotting import plot_histories

        print(plot_histories(args.history, args.output))

    run(command, prog)
