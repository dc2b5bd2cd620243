"""Every option of every command, declared once: a run's settings (train.py), and the options
of generate.py, evaluate.py, export.py and plot.py.

Each Option has its default, its help text, its flag, its check and, for a training setting,
its resume rule. The commands' flags, the Python API's keyword arguments, the checkpoint's
metadata, what --resume takes from a checkpoint, the tests' defaults and docs/flags.md are all
derived from these declarations, so adding an option is one entry here plus the code that
uses it. --bigger and the presets are applied in resolve(), and nowhere else.

A run's settings and a generation's options are frozen values (Settings, GenerationOptions):
a change makes a new value with dataclasses.replace, so what a run used is one value.

    >>> settings = resolve({"bigger": True})
    >>> settings.layers, settings.epochs, settings.batch_size
    (2, 50, 64)
    >>> resolve({"preset": "fast", "units": 64}).units   # explicit values beat a preset
    64
    >>> resolve({"minutes": 10}).epochs == UNBOUNDED_EPOCHS   # a budget alone: no epoch limit
    True
    >>> resolve({"minutes": 10, "epochs": 3}).epochs           # with --epochs: its upper bound
    3
    >>> resolve({"epochs": 0})
    Traceback (most recent call last):
    ...
    charlstm.errors.UserError: epochs: 0 must be 1 or more
    >>> resolve_options({"top_k": 5}, GENERATION).top_p   # the same defaults everywhere
    1.0
"""

import argparse
import codecs
import dataclasses
import json
import os
import re
from collections.abc import Callable

from .errors import UserError
from .model.cells import CELLS
from .presets import PRESETS
from .settings import (EvaluationOptions, ExportOptions, GenerationOptions,  # noqa: F401
                       ServeOptions, Settings)

# --- checked values: one parser per kind, shared by flags and keyword arguments -------------


# The longest text read as a number, from a flag or a file: more than any number in range
# needs (a loss of 1e308 written with six decimals is 316 characters), and far below the
# 4,300 digits beyond which Python refuses to convert a text to an int at all.
LONGEST_NUMBER = 400


def too_long_for_a_number(value, kind="a number"):
    """The words for a text too long to be read as a number (None when it is not): the
    length is checked before anything is converted."""
    if isinstance(value, str) and len(value) > LONGEST_NUMBER:
        return f"{value[:20]!r}... ({len(value):,} characters) is too long to be {kind}"
    return None


def _described(value):
    """A value as a message shows it: repr, which for an int of more than 4,300 digits
    Python refuses to write."""
    try:
        return repr(value)
    except ValueError:
        return f"a number of {value.bit_length() * 0.30103:,.0f} digits"


def _checked(convert, kind, accept, requirement, bounds=None):
    """Convert a value (a flag's text or a Python value), then check it; ValueError (an
    argparse.ArgumentTypeError) with one clear message on failure. kind, requirement and
    bounds (JSON Schema's words for the accepted range) stay on the checker, so that the
    server's schema and the page's checks take them from here."""

    def parse(value):
        if isinstance(value, bool):  # True is an int to Python, not to a user
            raise argparse.ArgumentTypeError(f"{value!r} is not {kind}")
        if too_long_for_a_number(value, kind):
            raise argparse.ArgumentTypeError(too_long_for_a_number(value, kind))
        try:
            number = convert(value)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{_described(value)} is not {kind}") from None
        if isinstance(value, float) and convert is int and number != value:
            raise argparse.ArgumentTypeError(f"{value!r} is not {kind}")
        if not accept(number):  # NaN fails every comparison, so it is refused too
            raise argparse.ArgumentTypeError(f"{_described(value)} must be {requirement}")
        return number

    parse.__name__ = kind  # argparse names the type in its messages
    parse.kind, parse.requirement, parse.bounds = kind, requirement, bounds or {}
    parse.whole = convert is int
    return parse


INFINITY = float("inf")
positive_int = _checked(int, "a whole number", lambda n: n >= 1, "1 or more", {"minimum": 1})
positive_float = _checked(float, "a number", lambda n: 0 < n < INFINITY, "above 0")
non_negative_float = _checked(float, "a number", lambda n: 0 <= n < INFINITY, "0 or more",
                              {"minimum": 0})
# --minutes: at most ten years, longer than any run is kept going, and short enough that the
# clock's arithmetic (the time the budget ends, shown by time.localtime) stays far inside what
# the platform's time_t holds: 1e308 minutes passed a bare "above 0" and overflowed it after
# the first step.
MOST_MINUTES = 10 * 365 * 24 * 60
budget_minutes = _checked(float, "a number", lambda n: 0 < n <= MOST_MINUTES,
                          f"above 0 and at most {MOST_MINUTES} (ten years)",
                          {"exclusiveMinimum": 0, "maximum": MOST_MINUTES})
non_negative_int = _checked(int, "a whole number", lambda n: n >= 0, "0 or more")
# A TCP port: 0 asks the system for a free one. Checked at the flag, before the models load
# (70000 used to pass here and fail at bind, after seconds of loading).
port_number = _checked(int, "a whole number", lambda n: 0 <= n <= 65535, "between 0 and 65535",
                       {"minimum": 0, "maximum": 65535})
# A dropout rate, a held-out share of the text.
fraction = _checked(float, "a number", lambda n: 0 <= n < 1, "at least 0 and below 1")
# A share of the probability (nucleus sampling): 1 keeps everything.
probability = _checked(float, "a number", lambda n: 0 < n <= 1, "above 0 and at most 1",
                       {"exclusiveMinimum": 0, "maximum": 1})
# A moving average's momentum: 0 would be no average, 1 would never move.
open_fraction = _checked(float, "a number", lambda n: 0 < n < 1, "above 0 and below 1")
# NumPy and the backends take seeds of 32 bits.
random_seed = _checked(int, "a whole number", lambda n: 0 <= n < 2**32,
                       "between 0 and 4294967295", {"minimum": 0, "maximum": 2**32 - 1})


def web_origin(value):
    """A web page's origin as a browser sends it in Origin: scheme://host[:port], nothing
    after (lower-cased, as browsers write it)."""
    if not isinstance(value, str):
        raise argparse.ArgumentTypeError(f"{value!r} is not a text")
    origin = value.strip().lower()
    if not re.fullmatch(r"https?://[^/?#\s:]+(:\d{1,5})?|https?://\[[0-9a-f:.]+\](:\d{1,5})?",
                        origin):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an origin: give scheme://host or scheme://host:port, as in "
            "http://localhost:3000 (no path, no trailing /)")
    return origin


def text_encoding(value):
    """A text encoding Python knows (utf-8, latin-1, cp1252, utf-16, gb18030...), as given."""
    try:
        known = codecs.lookup(value)
    except (LookupError, TypeError):
        raise argparse.ArgumentTypeError(f"{value!r} is not an encoding Python knows "
                                         "(utf-8, latin-1, cp1252, ...)") from None
    if not getattr(known, "_is_text_encoding", True):  # base64, rot13: bytes to bytes
        raise argparse.ArgumentTypeError(f"{value!r} is not a text encoding")
    try:  # 'undefined' is a text encoding that decodes nothing, not even no bytes
        codecs.getincrementaldecoder(value)().decode(b"", final=True)
    except Exception:  # noqa: BLE001 - a codec may raise anything; any is a refusal
        raise argparse.ArgumentTypeError(f"{value!r} is not an encoding that can read a "
                                         "text (utf-8, latin-1, cp1252, ...)") from None
    return value


text_encoding.__name__ = "an encoding"

# A stop text (--stop-at): long enough for a sentence or a closing tag, short enough that
# watching for it costs nothing a character.
LONGEST_STOP_TEXT = 200


def stop_text(value):
    """A text generation stops at: one character or more, at most LONGEST_STOP_TEXT."""
    if not isinstance(value, str):
        raise argparse.ArgumentTypeError(f"{_described(value)} is not a text")
    if not value:
        raise argparse.ArgumentTypeError("'' is empty: give at least one character")
    if len(value) > LONGEST_STOP_TEXT:
        raise argparse.ArgumentTypeError(f"a text of {len(value):,} characters is longer "
                                         f"than {LONGEST_STOP_TEXT}")
    return value


stop_text.__name__ = "a text"


def check_value(name, parse, value):
    """parse(value), or UserError "name: what is wrong": how a checked value that is not a
    flag (a keyword argument, a metadata field) reports a bad value."""
    try:
        return parse(value)
    except argparse.ArgumentTypeError as error:
        raise UserError(f"{name}: {error}") from None


# --- resume rules ------------------------------------------------------------------------------
# Declared here, with each Option; charlstm.training.resume applies them.

FIXED = "fixed"  # shapes the model, the data or the file names: taken from the checkpoint, and
#                 an explicit other value is refused
ADJUSTABLE = "adjustable"  # taken from the checkpoint unless given again
MACHINE = "machine"  # describes the machine, not the run: recorded, never inherited
CONTENT = "content"  # the text: the checkpoint's file if it is still there, and any path to
#                     the same text is accepted (its vocabulary and sha256 are checked)
COMMAND = "command"  # this invocation only (where to write, what to show): not recorded

RESUME_RULES = {
    FIXED: "taken from the checkpoint; another value is refused",
    ADJUSTABLE: "taken from the checkpoint unless given",
    MACHINE: "not inherited: it describes the machine",
    CONTENT: "the checkpoint's text; another path to the same text is accepted",
    COMMAND: "this command only",
}


# --- how a text names an option: a flag (the commands) or a JSON field (serve.py) -------------


@dataclasses.dataclass(frozen=True)
class Spelling:
    """How help texts and error words name the options: generate.py says --top-k, the
    server's schema and 4xx errors say top_k. An option's help is a template that writes a
    sibling option as {top_k} and the few phrases that differ as {reported} / {dropped}
    (Option.help_in); code that words an error takes a Spelling (generate.choose_primes).

    >>> FLAGS.name("top_k"), FIELDS.name("top_k")
    ('--top-k', 'top_k')
    >>> FLAGS.given("unknown", "drop"), FIELDS.given("unknown", "drop")
    ('--unknown drop', '"unknown": "drop"')
    """

    name: Callable[[str], str]  # an option's name as written: --top-k, top_k
    given: Callable[[str, object], str]  # an option given a value: --unknown drop
    words: dict  # {key: phrase} for a help template's phrases that are not names


def _flag(name):
    return "--" + name.replace("_", "-")


FLAGS = Spelling(_flag, lambda name, value: f"{_flag(name)} {value}",
                 {"reported": "printed on stderr", "dropped": ", and names them on stderr"})
FIELDS = Spelling(lambda name: name, lambda name, value: f"{json.dumps(name)}: "
                  f"{json.dumps(value)}",
                  {"reported": "sent back as the reply's \"seed\"",
                   "dropped": " (the reply's \"prime\" is the text read)"})


class _Spelled(dict):
    """str.format_map's mapping for a help template: a phrase, else an option's name."""

    def __init__(self, spelling):
        super().__init__(spelling.words)
        self.spelling = spelling

    def __missing__(self, key):
        return self.spelling.name(key)


PATH_METAVARS = ("FILE", "DIR", "PATH")
AS_DEFAULT = "the default"  # Option.before: files older than the option had its default


@dataclasses.dataclass(frozen=True)
class Option:
    """One option: a keyword argument of the API and a flag of a command."""

    name: str  # the keyword argument, and the attribute of the frozen value
    default: object
    # the help text; {other_option} and {reported}-like phrases are spelled by help_in
    help_template: str
    group: str  # the --help section (None: argparse's own "options")
    resume: str = None  # training settings: one of RESUME_RULES
    # checks and converts a flag's text or a keyword argument's value
    type: Callable[[object], object] = None
    choices: tuple = None
    const: bool | str = None  # a switch: the flag sets this value
    flag: str = None  # the command-line flag when it is not --name-with-dashes
    # A switch (const) with choices: a second flag that takes any of them, the switch's
    # flag being the older spelling of one value (--one-hot is --input-encoding one-hot).
    choice_flag: str = None
    metavar: str = None
    bigger: object = None  # the default under --bigger, where it differs
    metadata_key: str = None  # the checkpoint's key where it is not the name (older files)
    since: int = 2  # the checkpoint format that first recorded it: older files get the default
    required: bool = False  # a flag the command cannot do without
    exclusive: str = None  # options sharing this name cannot be given together
    positional: bool = False  # an argument, not a flag (one or more values)
    multiple: bool = False  # a flag taking one or more paths (a str for one, a tuple for more)
    repeat: bool = False  # with multiple: one value a flag, the flag given again for more
    before: object = AS_DEFAULT  # what files older than `since` did, where not the default
    init: bool = False  # shapes the model or its vocabulary: --init-from's file fixes it

    @property
    def help(self):
        """The help text as the commands say it (--flags)."""
        return self.help_in(FLAGS)

    def help_in(self, spelling):
        """The help text with other options and phrases spelled as `spelling` spells them
        (FLAGS, FIELDS)."""
        return self.help_template.format_map(_Spelled(spelling))

    @property
    def flag_name(self):
        return self.flag or "--" + self.name.replace("_", "-")

    def flag_for(self, value):
        """The flag a user types for this value: the switch's for its value, else the flag
        that takes the choices."""
        if self.choice_flag and value != self.const:
            return f"{self.choice_flag} {value}"
        return f"{self.flag_name} {value}"

    @property
    def key(self):
        return self.metadata_key or self.name

    @property
    def is_path(self):
        """A file or folder: the API takes a str or any os.PathLike for it."""
        return self.metavar in PATH_METAVARS or self.positional

    @property
    def older_files_value(self):
        """The value a checkpoint written before this option existed implies."""
        return self.default if self.before == AS_DEFAULT else self.before

    @property
    def recorded(self):
        """Whether checkpoints record it."""
        return self.resume is not None and self.resume != COMMAND

    def check(self, value):
        """The value, converted and checked as the flag would be; UserError otherwise."""
        if value is None and self.required:
            raise UserError(f"{self.name}: give a {self.metavar.lower()}")
        if value is None and (self.default is None or self.positional):
            return None
        if self.multiple and isinstance(value, (list, tuple)):
            if not value:
                raise UserError(f"{self.name}: give at least one")
            paths = tuple(self._one_of_several(item) for item in value)
            return paths[0] if len(paths) == 1 else paths
        if self.is_path:
            return self._path(value)
        if self.const is not None and self.choices is None:
            if value not in (self.default, self.const):
                raise UserError(f"{self.name}: {value!r} must be {self.default!r} or "
                                f"{self.const!r}")
            return value
        if self.choices is not None:
            if value not in self.choices:
                raise UserError(f"{self.name}: {value!r} must be one of "
                                + ", ".join(repr(choice) for choice in self.choices))
            return value
        if self.type is not None:
            return check_value(self.name, self.type, value)
        if not isinstance(value, str):
            raise UserError(f"{self.name}: {value!r} is not a text")
        return value

    def _one_of_several(self, value):
        """One value of a flag given several times: checked by its type, else a path."""
        return check_value(self.name, self.type, value) if self.type else self._path(value)

    def _path(self, value):
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise UserError(f"{self.name}: {value!r} is not a path")
        return value


def _switch(name, help, group, resume=None, const=True, **more):
    return Option(name, False if const is True else None, help, group, resume, const=const,
                  **more)


SETTINGS = (
    # data
    Option("text", "wonderland.txt", "what to learn from: text files, folders (searched "
           "recursively) and glob patterns ('src/**/*.py'), several joined into one corpus "
           "(wonderland.txt: the one bundled with charlstm unless the current folder has "
           "one)", "data", CONTENT, metavar="FILE", metadata_key="text_path", multiple=True),
    Option("encoding", "utf-8", "the text files' encoding (latin-1 and cp1252 are common in "
           "older Project Gutenberg files); a UTF-8 byte-order mark is dropped", "data",
           ADJUSTABLE, type=text_encoding, metavar="NAME", since=5),
    _switch("keep_case", "keep capitals: the vocabulary tells 'A' from 'a' (the tutorial "
            "lower-cases; source code and most languages need this)", "data", FIXED, since=5,
            init=True),
    _switch("keep_boilerplate", "keep a Project Gutenberg header and footer (the lines before "
            "'*** START OF THE PROJECT GUTENBERG EBOOK' and from '*** END OF'), which are "
            "otherwise removed", "data", FIXED, since=5, before=True),
    Option("documents", "files", "files: each file is one document, as it reads (the "
           "tutorial); lines: each non-empty line is one item of a list (names, titles), the "
           "line break between items is what the model learns to end one, --validation-split "
           "holds out whole items and generate.py --items writes new ones", "data", FIXED,
           choices=("files", "lines"), metadata_key="documents_mode", since=6),
    Option("seq_length", 100, "characters in each input window", "data", FIXED,
           type=positive_int, metavar="N"),
    _switch("strip_punctuation", "remove punctuation from the text and so from the "
            "vocabulary (idea 2; dashes become spaces)", "data", FIXED, init=True),
    _switch("sentences", "train on sentences, right-padded to --seq-length, every position "
            "predicting its next character; padding is left out of the loss (idea 4)", "data",
            FIXED),
    # model
    _switch("bigger", "the tutorial's larger model: two LSTM (or GRU) layers, 50 epochs, "
            "batch 64, checkpoint names ending in -bigger.hdf5", "model", FIXED),
    Option("cell", "lstm", "the recurrent layers: lstm (the tutorial's) or gru (3 gates "
           "instead of 4: a quarter fewer weights a unit; the TensorFlow text-generation "
           "tutorial's)", "model", FIXED, choices=tuple(CELLS), since=5, init=True),
    Option("units", 256, "memory units per LSTM (or GRU) layer", "model", FIXED,
           type=positive_int, metavar="N", init=True),
    Option("layers", 1, "LSTM (or GRU) layers", "model", FIXED, type=positive_int,
           metavar="N", bigger=2, init=True),
    Option("dropout", 0.2, "dropout rate after each LSTM (or GRU) layer", "model", ADJUSTABLE,
           type=fraction, metavar="F"),
    Option("input_dropout", 0.0, "dropout rate on the visible input (with embedding: on its "
           "vectors), before the first LSTM (idea 6)", "model", FIXED, type=fraction,
           metavar="F", init=True),
    Option("input_encoding", "scaled", "what the model reads for a character: scaled, the "
           "tutorial's index divided by the vocabulary size; one-hot, a 1 among vocabulary-"
           "size features (idea 3; --one-hot is the short form); embedding, a learned vector "
           "of --embedding-size features (for large vocabularies: a text of thousands of "
           "distinct characters)", "model", FIXED, choices=("scaled", "one-hot", "embedding"),
           const="one-hot", flag="--one-hot", choice_flag="--input-encoding", init=True),
    Option("embedding_size", 64, "with --input-encoding embedding: features of each "
           "character's vector", "model", FIXED, type=positive_int, metavar="N", since=5,
           init=True),
    # training
    Option("epochs", 20, "passes over all patterns; with --minutes, the most it may do "
           "if given, else no limit", "training", ADJUSTABLE, type=positive_int,
           metavar="N", bigger=50),
    # A budget, not a count: see budget_epochs() for how it combines with --epochs, and
    # charlstm.training.callbacks.TimeBudget for the plan the cosine follows.
    Option("minutes", None, "train for M minutes of wall-clock time (from the end of the "
           "first step, which compiles) instead of a number of epochs; the last epoch, cut "
           "short, is checkpointed if it improved; with --lr-schedule cosine the cosine "
           "reaches 0 when the time is up (see docs/training.md; default: no budget)",
           "training", ADJUSTABLE, type=budget_minutes, metavar="M", since=5),
    Option("max_steps", None, "train for N optimizer steps in all (a resumed run's "
           "included) instead of a number of epochs: the last epoch, cut short, is "
           "checkpointed if it improved, and --lr-schedule cosine reaches 0 there; it "
           "replaces a preset's --minutes, and with --minutes given too the first to come "
           "ends the run", "training", ADJUSTABLE, type=positive_int, metavar="N", since=6),
    Option("steps_per_epoch", None, "end an epoch (and check for a better checkpoint) after "
           "this many batches, for texts too big for one pass an epoch; the next epoch "
           "carries on through the text (default: one pass)", "training", FIXED,
           type=positive_int, metavar="N"),
    Option("batch_size", 128, "patterns per gradient step", "training", FIXED,
           type=positive_int, metavar="N", bigger=64),
    Option("preset", None, "a tuned recipe that sets several settings at once; settings "
           "given explicitly still win (fast: see docs/training.md)", "training", ADJUSTABLE,
           choices=tuple(sorted(PRESETS))),
    Option("learning_rate", 0.001, "Adam's learning rate (Keras' default, the tutorial's)",
           "training", ADJUSTABLE, type=positive_float, metavar="F"),
    Option("clipnorm", None, "clip each gradient to this norm (default: no clipping)",
           "training", ADJUSTABLE, type=positive_float, metavar="F"),
    # The schedule decides whether the optimizer has a learning-rate variable (cosine has
    # none), and --ema adds a copy of every weight to its state: both fix the state's shape.
    Option("lr_schedule", "constant", "constant: --learning-rate throughout (the tutorial); "
           "cosine: from --learning-rate down to 0 over the run's --epochs or --minutes, "
           "after --warmup-steps; plateau: halve it after each epoch whose --monitor did not "
           "beat the best", "training", FIXED, choices=("constant", "cosine", "plateau"), since=4),
    Option("warmup_steps", 0, "with --lr-schedule cosine: rise linearly from 0 to "
           "--learning-rate over the first N steps", "training", ADJUSTABLE,
           type=non_negative_int, metavar="N", since=4),
    Option("weight_decay", 0.0, "decoupled weight decay (AdamW) on kernels, not biases; "
           "0 is plain Adam, the tutorial's", "training", ADJUSTABLE,
           type=non_negative_float, metavar="F", since=4),
    Option("ema", None, "keep an exponential moving average of the weights with this "
           "momentum (0.995, say): validation and checkpoints use the average, training "
           "the raw weights (default: off)", "training", FIXED, type=open_fraction,
           metavar="F", since=4),
    Option("early_stopping", None, "stop after N epochs in a row without a better "
           "--monitor; the best checkpoint stays the answer (default: run every epoch)",
           "training", ADJUSTABLE, type=positive_int, metavar="N", since=4),
    Option("targets", "last", "last: each stride-1 window teaches the character after it "
           "(the tutorial); every: non-overlapping windows, each position teaches its next "
           "character (about seq-length times the signal per step)", "training", FIXED,
           choices=("last", "every")),
    Option("validation_split", 0.0, "hold out this last fraction of the text, never trained "
           "on, and report val_loss each epoch", "training", FIXED, type=fraction,
           metavar="F"),
    Option("monitor", "loss", "what best-only checkpoints track (default: val_loss with "
           "--validation-split, so that the best checkpoint is the best on held-out text; "
           "else loss, the tutorial's)", "training", FIXED,
           choices=("loss", "val_loss")),
    _switch("stateful", "stateful LSTMs: the text is cut into --batch-size contiguous "
            "streams and the state carries from batch to batch, reset each epoch (idea 10; "
            "every position predicts its next character)", "training", FIXED),
    Option("resume", None, "continue a run from one of its checkpoints: weights, optimizer "
           "state, epoch count and best loss; its settings are the defaults", "training",
           COMMAND, metavar="FILE"),
    Option("init_from", None, "start a new run, on any text, from this checkpoint's weights "
           "(fine-tuning): its topology and vocabulary, a fresh optimizer, epochs from 1",
           "training", COMMAND, metavar="FILE"),
    Option("seed", None, "random seed; the same seed repeats a run on the same machine "
           "(default: a fresh one, printed at the start)", "training", FIXED,
           type=random_seed, metavar="N", metadata_key="random_seed"),
    _switch("dry_run", "print the data summary and model summary, train nothing, write "
            "nothing", "training", COMMAND),
    # devices
    _switch("distribute", "data-parallel training over every visible GPU (MirroredStrategy; "
            "MultiWorkerMirroredStrategy when TF_CONFIG is set; DataParallel on JAX); "
            "--batch-size stays the global batch", "devices", MACHINE),
    _switch("mixed_precision", "16-bit compute on GPUs (bfloat16, or float16 before compute "
            "capability 8.0) with float32 weights, softmax and loss; refused on a CPU, where "
            "it only slows training, and on JAX", "devices", MACHINE),
    # output
    Option("checkpoint_dir", ".", "folder for the .hdf5 checkpoints (with --resume: the "
           "checkpoint's)", "output", COMMAND, metavar="DIR"),
    Option("history", None, "CSV of epoch, loss, val_loss, learning rate, seconds, "
           "checkpoint and device (default: history.csv in the checkpoint folder; "
           "history-bigger.csv with --bigger)", "output",
           COMMAND, metavar="FILE"),
    Option("tensorboard", None, "write TensorBoard logs to DIR", "output", COMMAND,
           metavar="DIR"),
    Option("text_in_checkpoint", True, "leave the training text out of the checkpoints "
           "(they carry its first million characters, held-out part included, as "
           "generation's pool of seed windows; without it generate.py needs --text or "
           "--prime)", "output", ADJUSTABLE, const=False, flag="--no-text-in-checkpoint",
           since=3),
    _switch("overwrite", "start afresh in a checkpoint folder that holds another run's "
            "checkpoints: remove them and its history.csv first (without it such a run is "
            "refused)", "output", COMMAND),
    Option("sample_every", None, "every N epochs, log a greedy and a temperature-0.5 sample "
           "of the current model", "output", COMMAND, type=positive_int, metavar="N"),
    _switch("verbose_backend", "show the backend's start-up messages (oneDNN, CUDA probing)",
            "output", COMMAND),
)


BY_NAME = {setting.name: setting for setting in SETTINGS}
GROUPS = ("data", "model", "training", "devices", "output")
assert all(setting.group in GROUPS and setting.resume in RESUME_RULES for setting in SETTINGS)
assert all(name in BY_NAME for preset in PRESETS.values() for name in preset)

# --- the options of the other commands ------------------------------------------------------

# Which checkpoint: generate.py, evaluate.py and the API's generate/stream/samples/evaluate.
WEIGHTS = Option("weights", None, "checkpoint (.hdf5) to load (default: the best "
                 "weights-improvement-*.hdf5 in --checkpoint-dir)", "model", metavar="FILE")
CHECKPOINT_DIR = Option("checkpoint_dir", ".", "where to look for a checkpoint when --weights "
                        "is not given", "model", metavar="DIR")
LEGACY_SEQ_LENGTH = Option("seq_length", None, "window length for legacy weights-only files "
                           "that do not record it (default: 100)", "model", type=positive_int,
                           metavar="N")
VERBOSE_BACKEND = _switch("verbose_backend", "show the backend's start-up messages (oneDNN, "
                          "CUDA probing)", None)

# Generation: generate.py's flags, the keyword arguments of charlstm.generate, stream and
# samples, and whatever serves text next. GENERATE_COMMAND adds what only the command has.
GENERATION = (
    WEIGHTS, CHECKPOINT_DIR, LEGACY_SEQ_LENGTH,
    Option("text", None, "text to draw the random seed window from (default: the training "
           "text stored in our checkpoints; wonderland.txt for legacy files, which also take "
           "their vocabulary from it)", "model", metavar="FILE"),
    Option("length", 1000, "characters to generate", "generation", type=positive_int,
           metavar="N"),
    Option("seed", None, "random seed for the seed window and sampling (default: a fresh one, "
           "{reported})", "generation", type=random_seed, metavar="N"),
    Option("prime", None, "start from this text instead of a random window (lower-cased like "
           "the corpus unless it was trained with --keep-case; every character must be in the "
           "vocabulary, or see {unknown})", "generation", exclusive="prime"),
    Option("prime_file", None, "start from this UTF-8 file's text, of any length, by the same "
           "rules as {prime}", "generation", metavar="FILE", exclusive="prime"),
    Option("unknown", "error", "what to do with prime characters the model never saw: error "
           "refuses the prime and names them; drop leaves them out{dropped}",
           "generation", choices=("error", "drop")),
    Option("temperature", 0.0, "0 takes the most likely character (the tutorial); T > 0 "
           "samples from softmax(log p / T): below 1 safer, above 1 wilder", "generation",
           type=non_negative_float, metavar="T"),
    Option("top_k", None, "with {temperature} > 0, sample among the K most likely characters "
           "only (default: all)", "generation", type=positive_int, metavar="K"),
    Option("top_p", 1.0, "with {temperature} > 0, nucleus sampling: sample among the fewest "
           "most likely characters whose probabilities add up to P (after {temperature} and "
           "{top_k}); 1 keeps all (default: 1)", "generation", type=probability, metavar="P"),
    Option("num_samples", 1, "independent continuations, generated together in one batch "
           "(each from its own random seed window unless {prime} is given)", "generation",
           type=positive_int, metavar="N"),
    _switch("stateful", "feed one character a step and carry the LSTM state, instead of "
            "re-reading the last seq-length characters (much faster; see docs/decisions.md)",
            "generation"),
    Option("stop_at", None, "end each text at the first TEXT it writes, which is kept (or at "
           "{length}); give it again for more (a line break in bash: $'\\n')",
           "generation", type=stop_text, metavar="TEXT", multiple=True, repeat=True),
    Option("items", None, "write N whole items of a list, one a line: each from the model's "
           "state after a line break up to its next one, or to {length} characters (a note "
           "says so); always {stateful}; for a model trained on a list, one item a line",
           "generation", type=positive_int, metavar="N"),
    _switch("new_only", "with {items}: keep only items that are not in the training text, "
            "and say how many of those written were new", "generation"),
)
GENERATE_COMMAND = GENERATION + (
    _switch("raw", "print only the generated characters (no Seed: header, no Done.)",
            "generation"),
    VERBOSE_BACKEND,
)

# evaluate.py's phase one reads up to this many windows from their last --context characters
# for each one it scores whole (--windows). The cost-optimal ratio of double sampling is
# sqrt((S_short^2 - S_diff^2) / S_diff^2 / c), c a short window's cost over a full one's:
# 25.6 measured for the bundled model at --context 20 (S_short 1.61, S_diff 0.144, c 0.19 on
# 1,500 held-out windows; charlstm.generation.evaluation, docs/decisions.md).
SHORT_PER_FULL = 24

EVALUATION = (
    WEIGHTS, CHECKPOINT_DIR, LEGACY_SEQ_LENGTH,
    Option("text", None, "text to score on: files, folders or patterns, as train.py's --text "
           "(default: the training text stored in our checkpoints; wonderland.txt for legacy "
           "files)", "data", metavar="FILE", multiple=True),
    Option("held_out", None, "also score the training part and the held-out part separately, "
           "split as train.py --validation-split F splits: the last fraction F of one text, "
           "whole files of several (default: the checkpoint's own --validation-split on the "
           "text it stores; 0 scores the whole text only)", "data", type=fraction,
           metavar="F"),
    Option("windows", 500, "score an even sample of this many windows of each part whole, "
           f"out of up to {SHORT_PER_FULL} times as many read from their last --context "
           "characters, and print the estimate with its standard error (500 keeps the bundled model's held-out one "
           "under 0.01 nats)", "data", type=positive_int, metavar="N"),
    Option("context", 20, "characters of context for the cheap first reading of each "
           "sampled window, whose loss tracks the whole window's; 0 scores the --windows "
           "sample whole only (plain sampling)", "data", type=non_negative_int, metavar="K"),
    _switch("all", "score every window, for the exact figure (minutes on a CPU)", "data"),
    Option("batch_size", 256, "windows per forward call", "data", type=positive_int,
           metavar="N"),
)
EVALUATE_COMMAND = EVALUATION + (VERBOSE_BACKEND,)

EXPORT_FORMATS = ("keras", "savedmodel", "onestep", "web")
EXPORT = (
    Option("weights", None, "the checkpoint to export (.hdf5; default: the best "
           "weights-improvement-*.hdf5 in this folder, else the bundled model)", "export",
           metavar="FILE"),
    Option("format", "keras", "keras: a .keras file of the window model; savedmodel: a "
           "TensorFlow SavedModel folder (TensorFlow backend); onestep: a .keras file stepping "
           "one character, the state in and out; web: a static folder whose page writes text "
           "in any browser, no server needed (default: keras)", "export",
           choices=EXPORT_FORMATS),
    Option("output", None, "where to write (a .keras file, or a folder for savedmodel and "
           "web); PATH.json is written beside a .keras file or SavedModel", "export",
           metavar="PATH", required=True),
    Option("text", None, "legacy tutorial files only: the text whose characters are their "
           "vocabulary (default: wonderland.txt)", "export", metavar="FILE"),
    Option("seq_length", None, "legacy files that do not record it: their window (default: "
           "100)", "export", type=positive_int, metavar="N"),
)
EXPORT_COMMAND = EXPORT + (VERBOSE_BACKEND,)

# serve.py: which models to serve, where to listen, and a limit for every size a client sends.
SERVE = (
    Option("weights", None, "a checkpoint to serve; give several to serve several, picked by "
           "a request's \"model\" (default: the best checkpoint in this folder, else the "
           "bundled model)", "models", metavar="FILE", multiple=True),
    Option("checkpoint_dir", None, "serve every checkpoint in this folder", "models",
           metavar="DIR"),
    Option("host", "127.0.0.1", "the address to listen on: 127.0.0.1 is this machine only; "
           "0.0.0.0 opens it to the network", "server"),
    Option("port", 8000, "the port to listen on; 0 takes a free one, which the start-up line "
           "names", "server", type=port_number, metavar="N"),
    Option("allow_origin", None, "a web site whose pages may call this server (its origin, "
           "as http://localhost:3000; give it again for more); other sites' requests get 403",
           "server", type=web_origin, metavar="ORIGIN", multiple=True),
    Option("max_length", 10_000, "the longest text a request may ask for (its length)",
           "limits", type=positive_int, metavar="N"),
    Option("max_samples", 8, "the most texts one request may ask for (its num_samples)",
           "limits", type=positive_int, metavar="N"),
    Option("max_items", 100, "the most items one request may ask for (its items); with "
           "new_only, up to 20 times as many may be written to find them", "limits",
           type=positive_int, metavar="N"),
    Option("max_prime", 4_000, "the longest prime a request may give, in characters (each is "
           "one step of decoding before the first character)", "limits", type=positive_int,
           metavar="N"),
    Option("max_body", 65_536, "the largest request body, in bytes", "limits",
           type=positive_int, metavar="BYTES"),
    Option("max_streams", 256, "the most texts decoded at once, all requests together; a "
           "request beyond it gets 429", "limits", type=positive_int, metavar="N"),
)
SERVE_COMMAND = SERVE + (VERBOSE_BACKEND,)

PLOT = (
    Option("history", None, "history.csv files, one line each", None, positional=True),
    Option("output", None, "the PNG to write (default: beside the first file: history.png "
           "for one file, compare.png for several)", None, metavar="FILE"),
)


# --- frozen values -----------------------------------------------------------------------------


# The values themselves are written out in charlstm/settings.py, one typed field per option
# (tests/test_config.py keeps the two equal); each declaration tuple is paired with its value
# class here, once.
VALUE_CLASSES = ((SETTINGS, Settings), (GENERATION, GenerationOptions),
                 (EVALUATION, EvaluationOptions), (EXPORT, ExportOptions), (SERVE, ServeOptions))


def value_class_for(options):
    """The frozen value class whose fields are these options, in order (a changed copy of a
    declaration tuple finds its class too)."""
    names = tuple(option.name for option in options)
    for declared, value_class in VALUE_CLASSES:
        if tuple(option.name for option in declared) == names:
            return value_class
    raise ValueError(f"no value class has the fields {names}")


def _checked_values(given, options, what):
    """{name: checked value} of the given ones; UserError naming an unknown one."""
    by_name = {option.name: option for option in options}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise UserError(f"unknown {what} {unknown[0]!r}: the {what}s are "
                        + ", ".join(by_name))
    return {name: by_name[name].check(value) for name, value in given.items()}


def resolve_options(given, options=GENERATION, value_class=None):
    """A frozen value of options (GENERATION or EVALUATION) from {name: value}: the defaults,
    then the given values, each checked; UserError for a bad or unknown one, or for two
    options that exclude each other."""
    checked = _checked_values(given, options, "option")
    exclusive = {}
    for option in options:
        if option.exclusive and checked.get(option.name) is not None:
            exclusive.setdefault(option.exclusive, []).append(option.flag_name)
    for flags in exclusive.values():
        if len(flags) > 1:
            raise UserError(f"give {' or '.join(flags)}, not both")
    return (value_class or value_class_for(options))(**checked)


def with_derived(settings):
    """What some settings imply: --sentences and --stateful train every position, so their
    targets are "every" unless given (checks.check_settings refuses --targets last); a
    held-out part makes best-only checkpoints track val_loss unless --monitor is given, as
    Keras' ModelCheckpoint does (without one, loss: the tutorial's)."""
    if (settings.sentences or settings.stateful) and "targets" not in settings.explicit:
        settings = dataclasses.replace(settings, targets="every")
    if settings.validation_split and "monitor" not in settings.explicit:
        settings = dataclasses.replace(settings, monitor="val_loss")
    return settings


def resolve(given, explicit=None):
    """Settings from {name: value}: the defaults, then --bigger's, then the preset's, then the
    given values, each checked (UserError naming the setting). explicit defaults to the
    given names."""
    checked = _checked_values(given, SETTINGS, "setting")
    values = {setting.name: setting.default for setting in SETTINGS}
    if checked.get("bigger"):
        values.update({s.name: s.bigger for s in SETTINGS if s.bigger is not None})
    preset = PRESETS[checked["preset"]] if checked.get("preset") else {}
    values.update(preset)
    values.update(checked)
    if checked.get("max_steps") and "minutes" not in checked:
        values["minutes"] = None  # a step budget was asked for: not the preset's time budget
    _budget_epochs(values, set(checked) | set(preset))
    explicit = frozenset(given if explicit is None else explicit)
    return with_derived(Settings(**values, explicit=explicit))


# How --minutes and --epochs combine: a command that gives --minutes without --epochs trains
# as many epochs as the budget allows (recorded as UNBOUNDED_EPOCHS, which no run reaches);
# given with it, --epochs is the upper bound. A resumed run that gives neither keeps its
# checkpoint's. docs/training.md#a-time-budget---minutes says what users see.
UNBOUNDED_EPOCHS = 1_000_000


def unbounded(epochs):
    """Whether a run's epochs are no limit (a --minutes run without --epochs)."""
    return epochs >= UNBOUNDED_EPOCHS


def _budget_epochs(values, given):
    """values with --minutes' (and --max-steps') rule for --epochs applied: no epoch limit
    unless given."""
    if (values.get("minutes") or values.get("max_steps")) and "epochs" not in given:
        values["epochs"] = UNBOUNDED_EPOCHS
    return values


def defaults():
    """The tutorial's run: every setting at its default."""
    return resolve({})


# --- command-line flags -------------------------------------------------------------------------


def describe_default(setting):
    if (setting.const is not None and setting.choices is None) or setting.default is None:
        return None
    text = f"{setting.default}"
    if setting.bigger is not None:
        text += f"; {setting.bigger} with --bigger"
    return text


def add_arguments(parser, options=SETTINGS, given_only=True):
    """One flag per option, in its group (argparse's own section for group None).

    given_only (train.py): flags not given are absent from the parsed namespace
    (argparse.SUPPRESS), so that the namespace is exactly what was given, and each help
    text names the default itself. Otherwise each flag has its default, which the help
    formatter shows."""
    groups, exclusive = {None: parser}, {}
    for option in options:
        if option.group not in groups:
            groups[option.group] = parser.add_argument_group(option.group)
        target = groups[option.group]
        if option.exclusive:
            if option.exclusive not in exclusive:
                exclusive[option.exclusive] = target.add_mutually_exclusive_group()
            target = exclusive[option.exclusive]
        if option.positional:
            target.add_argument(option.name, nargs="+", help=option.help)
            continue
        help_text, default = option.help, option.default
        if given_only:
            shown = describe_default(option)
            help_text += f" (default: {shown})" if shown else ""
            default = argparse.SUPPRESS
        arguments = dict(dest=option.name, default=default, help=help_text)
        if option.required:
            arguments["required"] = True
        if option.choice_flag:  # two spellings of one option: give one of them
            target = target.add_mutually_exclusive_group()
            target.add_argument(option.choice_flag, choices=option.choices, **arguments)
            arguments.update(help=f"the same as {option.choice_flag} {option.const}")
        if option.const is not None:
            arguments.update(action="store_const", const=option.const)
        else:
            arguments.update(type=option.type, choices=option.choices, metavar=option.metavar)
            if option.repeat:  # --stop-at a --stop-at b: a value may start with '-'
                arguments.update(action="append")
            elif option.multiple:  # --text a b, and --text a --text b too
                arguments.update(nargs="+", action="extend")
        target.add_argument(option.flag_name, **arguments)
    return parser
