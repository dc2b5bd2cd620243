"""The six commands: train.py, generate.py, evaluate.py, export.py, plot.py and serve.py (and
the console scripts charlstm-train, -generate, -evaluate, -export, -plot, -serve). Each
parses its flags (declared once, in charlstm.config), calls the Python API (charlstm.api),
prints what the command prints, and turns what it raises into one line and an exit status:

    0 done · 1 a mistake (UserError) or a diverged run · 2 a flag error (argparse)
    130 Ctrl-C · 143 SIGTERM

No Keras here, so --help answers at once.

    >>> settings = parse_train_args(["--bigger", "--epochs", "3"])
    >>> settings.layers, settings.epochs, sorted(settings.explicit)
    (2, 3, ['bigger', 'epochs'])
    >>> parse_generate_args(["--top-k", "5"]).top_p   # the API's default too
    1.0
"""

import argparse
import contextlib
import os
import signal
import sys

from . import api
from .config import (EVALUATE_COMMAND, EVALUATION, EXPORT, EXPORT_COMMAND,
                     GENERATE_COMMAND, GENERATION, PLOT, SERVE, SERVE_COMMAND, SETTINGS,
                     RESUME_RULES, add_arguments, describe_default, resolve,
                     resolve_options)
from .checkpoints.run_folder import recorded_loss
from .errors import UserError, shown
from .generation.repetition import find_loop, monotonous
from .logs import end_open_line, log, show_on_stderr
from .system.signals import StopRequests, Terminated, exit_status, sigterm_like_ctrl_c

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
each window of a text (no dropout), estimated with its standard error (±) from an even
sample of --windows windows of each part scored whole, out of a larger one read from their
last --context characters only, or over every window with --all. Works for any
checkpoint, legacy tutorial files included, whatever targets or input encoding it was
trained with. A checkpoint trained with --validation-split gets its held-out part apart.

    python evaluate.py                        # the lowest-loss checkpoint in this folder
    python evaluate.py --all                  # every window: the exact figure
    python evaluate.py --checkpoint-dir runs --held-out 0.1   # training part and tail apart
"""


EXPORT_DESCRIPTION = """\
Export a checkpoint for use outside charlstm (a Keras script, a TensorFlow server, another
runtime, a web page). The model takes character indices and returns next-character
probabilities; OUTPUT.json beside it holds the vocabulary and how to encode a text. --format
web writes a folder whose index.html writes text in any browser, from disk or a static host.

    python export.py --weights runs/weights-improvement-15-1.1234.hdf5 --output alice.keras
    python export.py --weights FILE --format savedmodel --output alice_savedmodel
    python export.py --weights FILE --format onestep --output alice-onestep.keras
    python export.py --format web --output alice-web      # the bundled model, in a browser
"""

SERVE_DESCRIPTION = """\
Serve trained models over HTTP: a page at / to play with them, and a JSON API (POST /generate,
POST /generate/stream, GET /models, GET /health; /docs describes it). Every client's text is
decoded in one batch, a character a step. Needs the serve extra: pip install -r
requirements-serve.txt.

    python serve.py                            # the bundled model (or this folder's best)
    python serve.py --weights runs/weights-improvement-20-1.2345.hdf5 --port 8080
    python serve.py --checkpoint-dir runs      # every checkpoint in runs/, picked by name
    curl -s -X POST localhost:8000/generate -H 'content-type: application/json' \\
         -d '{"prime": "alice was ", "length": 100}'
"""

PLOT_DESCRIPTION = """\
Draw history.csv files (train.py writes one per run) as a loss plot: training and validation
loss by epoch, checkpoints circled, the tutorial's losses as reference lines. Needs
matplotlib (pip install matplotlib).

    python plot.py runs/history.csv                      # runs/history.png
    python plot.py a/history.csv b/history.csv --output compare.png
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
        self.exit(2, _error_line(self.prog, f"{message} (see --help)") + "\n")

    def _print_message(self, message, file=None):
        """--help and --version into a full disk or a closed pipe: one line, exit status 1."""
        file = file or sys.stdout
        try:  # argparse's own version swallows the error: write, and flush, here
            if message:
                file.write(message)
            file.flush()
        except OSError as error:
            sys.exit(_output_failed(self.prog, error))


def train_parser(prog=None):
    """train.py's flags: one a setting of charlstm.config.SETTINGS."""
    return add_arguments(ArgumentParser(description=TRAIN_DESCRIPTION, prog=prog), SETTINGS)


def parse_train_args(argv=None, prog=None):
    """train.py's flags as resolved Settings."""
    parser = train_parser(prog)
    given = vars(parser.parse_args(argv))
    try:
        return resolve(given)
    except UserError as error:  # a combination argparse cannot see: a flag error too
        parser.error(str(error))


def _parser(description, options, prog):
    return add_arguments(ArgumentParser(description=description, prog=prog), options,
                         given_only=False)


def generate_parser(prog=None):
    return _parser(GENERATE_DESCRIPTION, GENERATE_COMMAND, prog)


def evaluate_parser(prog=None):
    return _parser(EVALUATE_DESCRIPTION, EVALUATE_COMMAND, prog)


def export_parser(prog=None):
    return _parser(EXPORT_DESCRIPTION, EXPORT_COMMAND, prog)


def plot_parser(prog=None):
    return _parser(PLOT_DESCRIPTION, PLOT, prog)


def serve_parser(prog=None):
    return _parser(SERVE_DESCRIPTION, SERVE_COMMAND, prog)


def parse_generate_args(argv=None, prog=None):
    return generate_parser(prog).parse_args(argv)


def parse_evaluate_args(argv=None, prog=None):
    return evaluate_parser(prog).parse_args(argv)


def _options(args, options):
    """The parsed flags that are options of the API, as its frozen value."""
    return resolve_options({option.name: getattr(args, option.name) for option in options},
                           options)


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


def _train_table():
    """docs/flags.md's table of train.py's flags, with each setting's resume rule."""
    lines = ["| flag | default | resume | what it does |", "|---|---|---|---|"]
    for setting in SETTINGS:
        flag = setting.flag_name
        if setting.metavar:
            flag += f" {setting.metavar}" + (" ..." if setting.multiple and not setting.repeat
                                             else "")
        elif setting.choices and setting.const is None:
            flag += " " + "\\|".join(setting.choices)
        elif setting.choice_flag:
            flag = f"{setting.choice_flag} " + "\\|".join(setting.choices) + f"`, `{flag}"
        default = describe_default(setting) or ("off" if setting.const is not None else "none")
        lines.append(f"| `{flag}` | {default} | {setting.resume} | {setting.help} |")
    return "\n".join(lines)


def flag_reference():
    """docs/flags.md, derived from the declarations (charlstm.config) through the parsers;
    a test keeps the file equal to it. Regenerate with
    python -c "from charlstm.cli import flag_reference; print(flag_reference())" > docs/flags.md
    """
    rules = "\n".join(f"- **{rule}**: {meaning}" for rule, meaning in RESUME_RULES.items())
    return f"""# Flags

Generated from the code (`charlstm.cli.flag_reference()`); a test keeps this file equal to it.
Every flag of train.py is also a keyword argument of `charlstm.train()`, named without the
dashes (`--seq-length 50` is `seq_length=50`; `--one-hot` is `input_encoding="one-hot"`).

## train.py (charlstm-train)

{_train_table()}

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

## serve.py (charlstm-serve)

{_parser_table(serve_parser())}
"""


def _abandon_stdout():
    """Point stdout at /dev/null, dropping what it buffered, so that Python's final flush does
    not fail a second time."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stdout = open(os.devnull, "w")


def _output_failed(program, error):
    """Writing the output failed: exit status 1. A reader that went away (`| head`) needs no
    word; anything else (`> /dev/full`, a full disk) is said once. Either way stdout is
    pointed at /dev/null so that Python's final flush does not complain again."""
    _abandon_stdout()
    if not isinstance(error, BrokenPipeError):
        print(_error_line(program, f"cannot write the output: {error.strerror or error}"),
              file=sys.stderr)
    return 1


def _error_line(program, message):
    """The one line a command's error is: a UserError's message is one line already
    (errors.shown), and this is the last defence for any other (argparse's, an unforeseen
    exception's): nothing in it may split the line or colour the terminal."""
    return shown(f"{program}: error: {message}")


def run(command, program=None):
    """Call command(), turning what it raises into one line on stderr and an exit status
    (SystemExit). Everything the commands share (stderr logging, SIGTERM) is set up here."""
    program = program or os.path.basename(sys.argv[0]) or "charlstm"
    show_on_stderr(True)
    with sigterm_like_ctrl_c():
        try:
            status = command() or 0
        except UserError as error:
            sys.stdout.flush()
            end_open_line()  # a progress bar's, on a terminal: the error gets its own line
            print(_error_line(program, error), file=sys.stderr)
            status = 1
        except KeyboardInterrupt as interrupt:
            sys.stdout.flush()
            terminated = isinstance(interrupt, Terminated)
            print(f"\n{program}: {'terminated' if terminated else 'interrupted'}",
                  file=sys.stderr)
            status = exit_status(signal.SIGTERM if terminated else signal.SIGINT)
        except OSError as error:
            status = _output_failed(program, error)
        except Exception as error:  # noqa: BLE001 - the last resort: see unforeseen()
            if os.environ.get("CHARLSTM_DEBUG") == "1":
                raise
            sys.stdout.flush()
            end_open_line()
            print(_error_line(program, unforeseen(error, program)), file=sys.stderr)
            status = 1
    sys.exit(status)


def unforeseen(error, program):
    """The one line for an exception no check foresaw (a bug, or a case to add a check for):
    what failed, and the file where its full traceback was written. Checkpoints are safe:
    every one was written atomically."""
    import tempfile
    import traceback

    what = f"unexpected {type(error).__name__}: {error}".splitlines()[0][:300]
    try:
        handle = tempfile.NamedTemporaryFile(
            "w", prefix=f"charlstm-{os.path.splitext(program)[0]}-", suffix=".traceback.txt",
            delete=False)
        with handle:
            traceback.print_exception(error, file=handle)
    except OSError:
        return f"{what} (set CHARLSTM_DEBUG=1 to see the traceback)"
    return f"{what}; the full traceback is in {handle.name} (CHARLSTM_DEBUG=1 shows it here)"


def train_main(argv=None, prog=None):
    settings = parse_train_args(argv, prog)

    def command():
        result = api.run_training(settings)
        return exit_status(result.signal) if result.interrupted else 0

    run(command, prog)


def write_samples(generation, raw, out=None, stop=None):
    """Write every sample as generate.py does: stream the first, then print the others.

    Output per sample: the tutorial's "Seed:", the seed in quotes, the text, "Done." (or the
    text alone with raw); samples after the first are introduced by a "--- sample K/N ---"
    line. Ctrl-C prints what every sample has so far, then raises KeyboardInterrupt again.
    stop, if given, is asked after every character: an exception it returns ends the loop the
    same way (generate.py turns Ctrl-C and SIGTERM into one, so that no signal lands inside a
    backend call, where it could surface as another exception).
    """
    out = out or sys.stdout
    vocabulary, primes = generation.vocabulary, generation.primes
    count = len(primes)
    generated = [[] for _ in range(count)]

    def header(number):
        if count > 1:
            out.write(f"--- sample {number}/{count} ---\n")
        if not raw:
            out.write("Seed:\n")
            out.write(f'" {vocabulary.decode(primes[number - 1])} "\n')  # the tutorial's print

    def footer():
        out.write("\n" if raw else "\nDone.\n")

    header(1)
    out.flush()
    interrupted = None
    try:
        for indices in generation.steps:
            for row, index in enumerate(indices):
                if index >= 0:  # -1: the row has met a --stop-at text
                    generated[row].append(vocabulary.chars[index])
            if indices[0] >= 0:
                out.write(generated[0][-1])
                out.flush()  # stream: a long --length shows its progress
            interrupted = stop() if stop is not None else None
            if interrupted is not None:
                break
    except KeyboardInterrupt as interrupt:
        interrupted = interrupt
    footer()
    for number in range(2, count + 1):
        header(number)
        out.write("".join(generated[number - 1]))
        footer()
    out.flush()
    if interrupted is not None:
        log(f"interrupted after {len(generated[0])} characters")
        raise interrupted
    return ["".join(sample) for sample in generated]


def write_items(options, verbose_backend=False, out=None):
    """generate.py --items: one item a line on stdout as each is made (--raw is implied: an
    item list is for other programs too), the notes on stderr."""
    out = out or sys.stdout

    def print_item(item):
        out.write(item + "\n")
        out.flush()

    with StopRequests() as requests:
        def on_item(item):
            print_item(item)
            interrupted = requests.exception()
            if interrupted is not None:
                raise interrupted

        written = api.start_items(options, verbose_backend, on_item=on_item)
    for line in written.notes(options.length):
        log(line)


def text_notes(generation, texts, temperature):
    """generate.py's notes on what it wrote (stderr lines, stdout untouched): a model that
    writes mostly whitespace or one character is undertrained; greedy text (temperature 0,
    the tutorial's decoding) that loops says where (generation.repetition)."""
    lines = []
    sameness = monotonous("".join(texts))
    if sameness is not None:
        what = "whitespace" if sameness == "whitespace" else f"the character {sameness!r}"
        loss = recorded_loss(generation.checkpoint)
        lines.append(f"note: the model writes mostly {what}: it is undertrained"
                     + (f" ({loss} in its checkpoint)" if loss else "")
                     + "; train it longer (--minutes, --epochs) or with --preset fast")
    elif temperature == 0:
        loop = find_loop(texts[0])
        if loop is not None:
            lines.append(f"note: greedy text loops after {loop.start} characters (a "
                         f"{loop.period}-character cycle); --temperature 0.7 writes varied "
                         "text")
    return lines


def generate_main(argv=None, prog=None):
    args = parse_generate_args(argv, prog)

    def command():
        options = _options(args, GENERATION)
        if options.items or options.new_only:
            write_items(options, args.verbose_backend)
            return
        generation = api.start_generation(options, args.verbose_backend)
        # Ctrl-C and SIGTERM only record a request, read between two characters.
        with StopRequests() as requests:
            texts = write_samples(generation, args.raw, stop=requests.exception)
        for line in text_notes(generation, texts, options.temperature):
            log(line)

    run(command, prog)


def print_results(results):
    """evaluate.py's output: one line a part."""
    for score in results:
        if score.loss is None:
            print(f"{score.part}: too short for one {score.seq_length}-character window")
        elif score.exact:
            print(f"{score.part}: loss {score.loss:.4f} nats ({score.bits_per_character:.4f} "
                  f"bits) a character over {score.windows} windows", flush=True)
        else:  # sampled: the estimate ± its standard error
            also = (f", {score.short_scored:,} read from their last {score.context} characters"
                    if score.short_scored else "")
            print(f"{score.part}: loss {score.loss:.4f} ± {score.standard_error:.4f} nats "
                  f"({score.bits_per_character:.4f} ± {score.standard_error_bits:.4f} bits) a "
                  f"character over {score.scored:,} of {score.windows:,} windows{also}",
                  flush=True)


def evaluate_main(argv=None, prog=None):
    args = parse_evaluate_args(argv, prog)

    def command():
        print_results(api.run_evaluation(_options(args, EVALUATION),
                                         verbose_backend=args.verbose_backend))

    run(command, prog)


def export_main(argv=None, prog=None):
    args = export_parser(prog).parse_args(argv)

    def command():
        print(api.run_export(_options(args, EXPORT), args.verbose_backend))

    run(command, prog)


def plot_main(argv=None, prog=None):
    args = plot_parser(prog).parse_args(argv)

    def command():
        print(api.plot(*args.history, output=args.output))

    run(command, prog)


def serve_main(argv=None, prog=None):
    args = serve_parser(prog).parse_args(argv)

    def command():
        api.run_serve(_options(args, SERVE), args.verbose_backend)

    run(command, prog)
