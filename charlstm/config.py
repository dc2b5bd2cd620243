"""A training run's settings, declared once.

Each Setting has its default, its help text, its flag and its resume rule. train.py's flags,
the checkpoint's metadata, what --resume takes from a checkpoint, charlstm.train()'s keyword
arguments, the tests' defaults and docs/flags.md are all derived from SETTINGS, so adding a
setting is one entry here plus the code that uses it. --bigger and the presets are applied in
resolve(), and nowhere else.

    >>> settings = resolve({"bigger": True})
    >>> settings.layers, settings.epochs, settings.batch_size
    (2, 50, 64)
    >>> resolve({"preset": "fast", "units": 64}).units   # explicit values beat a preset
    64
    >>> resolve({"epochs": 0})
    Traceback (most recent call last):
    ...
    charlstm.errors.UserError: epochs: 0 must be 1 or more
"""

import argparse
import dataclasses
import types

from .errors import UserError
from .presets import PRESETS

# --- checked values: one parser per kind, shared by flags and keyword arguments -------------


def _checked(convert, kind, accept, requirement):
    """Convert a value (a flag's text or a Python value), then check it; ValueError (an
    argparse.ArgumentTypeError) with one clear message on failure."""

    def parse(value):
        if isinstance(value, bool):  # True is an int to Python, not to a user
            raise argparse.ArgumentTypeError(f"{value!r} is not {kind}")
        try:
            number = convert(value)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{value!r} is not {kind}") from None
        if isinstance(value, float) and convert is int and number != value:
            raise argparse.ArgumentTypeError(f"{value!r} is not {kind}")
        if not accept(number):  # NaN fails every comparison, so it is refused too
            raise argparse.ArgumentTypeError(f"{value!r} must be {requirement}")
        return number

    parse.__name__ = kind  # argparse names the type in its messages
    return parse


INFINITY = float("inf")
positive_int = _checked(int, "a whole number", lambda n: n >= 1, "1 or more")
positive_float = _checked(float, "a number", lambda n: 0 < n < INFINITY, "above 0")
non_negative_float = _checked(float, "a number", lambda n: 0 <= n < INFINITY, "0 or more")
non_negative_int = _checked(int, "a whole number", lambda n: n >= 0, "0 or more")
# A dropout rate, a held-out share of the text.
fraction = _checked(float, "a number", lambda n: 0 <= n < 1, "at least 0 and below 1")
# A share of the probability (nucleus sampling): 1 keeps everything.
probability = _checked(float, "a number", lambda n: 0 < n <= 1, "above 0 and at most 1")
# A moving average's momentum: 0 would be no average, 1 would never move.
open_fraction = _checked(float, "a number", lambda n: 0 < n < 1, "above 0 and below 1")
# NumPy and the backends take seeds of 32 bits.
random_seed = _checked(int, "a whole number", lambda n: 0 <= n < 2**32,
                       "between 0 and 4294967295")

# --- resume rules ------------------------------------------------------------------------------

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


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str  # the keyword argument of charlstm.train() and the attribute of Settings
    default: object
    help: str
    group: str  # the --help section
    resume: str  # one of RESUME_RULES
    type: object = None  # checks and converts a flag's text or a keyword argument's value
    choices: tuple = None
    const: object = None  # a switch: the flag sets this value
    flag: str = None  # the command-line flag when it is not --name-with-dashes
    metavar: str = None
    bigger: object = None  # the default under --bigger, where it differs
    metadata_key: str = None  # the checkpoint's key where it is not the name (older files)
    since: int = 2  # the checkpoint format that first recorded it: older files get the default

    @property
    def flag_name(self):
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def key(self):
        return self.metadata_key or self.name

    @property
    def recorded(self):
        """Whether checkpoints record it."""
        return self.resume != COMMAND

    def check(self, value):
        """The value, converted and checked as the flag would be; UserError otherwise."""
        if value is None and self.default is None:
            return None
        if self.const is not None:
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
            try:
                return self.type(value)
            except argparse.ArgumentTypeError as error:
                raise UserError(f"{self.name}: {error}") from None
        if not isinstance(value, str):
            raise UserError(f"{self.name}: {value!r} is not a text")
        return value


def _switch(name, help, group, resume, const=True):
    return Setting(name, False if const is True else None, help, group, resume, const=const)


SETTINGS = (
    # data
    Setting("text", "wonderland.txt", "UTF-8 text file to learn from (wonderland.txt: the one "
            "bundled with charlstm unless the current folder has one)", "data", CONTENT,
            metavar="FILE", metadata_key="text_path"),
    Setting("seq_length", 100, "characters in each input window", "data", FIXED,
            type=positive_int, metavar="N"),
    _switch("strip_punctuation", "remove punctuation from the text and so from the "
            "vocabulary (idea 2; dashes become spaces)", "data", FIXED),
    _switch("sentences", "train on sentences, right-padded to --seq-length, every position "
            "predicting its next character; padding is left out of the loss (idea 4)", "data",
            FIXED),
    # model
    _switch("bigger", "the tutorial's larger model: two LSTM layers, 50 epochs, batch 64, "
            "checkpoint names ending in -bigger.hdf5", "model", FIXED),
    Setting("units", 256, "memory units per LSTM layer", "model", FIXED, type=positive_int,
            metavar="N"),
    Setting("layers", 1, "LSTM layers", "model", FIXED, type=positive_int, metavar="N",
            bigger=2),
    Setting("dropout", 0.2, "dropout rate after each LSTM layer", "model", ADJUSTABLE,
            type=fraction, metavar="F"),
    Setting("input_dropout", 0.0, "dropout rate on the visible input, before the first LSTM "
            "(idea 6)", "model", FIXED, type=fraction, metavar="F"),
    Setting("input_encoding", "scaled", "one-hot input (a 1 among vocabulary-size features) "
            "instead of the tutorial's index divided by the vocabulary size (idea 3)", "model",
            FIXED, choices=("scaled", "one-hot"), const="one-hot", flag="--one-hot"),
    # training
    Setting("epochs", 20, "passes over all patterns", "training", ADJUSTABLE, type=positive_int,
            metavar="N", bigger=50),
    Setting("steps_per_epoch", None, "end an epoch (and check for a better checkpoint) after "
            "this many batches, for texts too big for one pass an epoch; the next epoch "
            "carries on through the text (default: one pass)", "training", FIXED,
            type=positive_int, metavar="N"),
    Setting("batch_size", 128, "patterns per gradient step", "training", FIXED,
            type=positive_int, metavar="N", bigger=64),
    Setting("preset", None, "a tuned recipe that sets several settings at once; settings "
            "given explicitly still win (fast: see docs/training.md)", "training", ADJUSTABLE,
            choices=tuple(sorted(PRESETS))),
    Setting("learning_rate", 0.001, "Adam's learning rate (Keras' default, the tutorial's)",
            "training", ADJUSTABLE, type=positive_float, metavar="F"),
    Setting("clipnorm", None, "clip each gradient to this norm (default: no clipping)",
            "training", ADJUSTABLE, type=positive_float, metavar="F"),
    # The schedule decides whether the optimizer has a learning-rate variable (cosine has
    # none), and --ema adds a copy of every weight to its state: both fix the state's shape.
    Setting("lr_schedule", "constant", "constant: --learning-rate throughout (the tutorial); "
            "cosine: from --learning-rate down to 0 over the run's --epochs, after "
            "--warmup-steps; plateau: halve it after each epoch whose --monitor did not beat "
            "the best", "training", FIXED, choices=("constant", "cosine", "plateau"), since=4),
    Setting("warmup_steps", 0, "with --lr-schedule cosine: rise linearly from 0 to "
            "--learning-rate over the first N steps", "training", ADJUSTABLE,
            type=non_negative_int, metavar="N", since=4),
    Setting("weight_decay", 0.0, "decoupled weight decay (AdamW) on kernels, not biases; "
            "0 is plain Adam, the tutorial's", "training", ADJUSTABLE,
            type=non_negative_float, metavar="F", since=4),
    Setting("ema", None, "keep an exponential moving average of the weights with this "
            "momentum (0.995, say): validation and checkpoints use the average, training "
            "the raw weights (default: off)", "training", FIXED, type=open_fraction,
            metavar="F", since=4),
    Setting("early_stopping", None, "stop after N epochs in a row without a better "
            "--monitor; the best checkpoint stays the answer (default: run every epoch)",
            "training", ADJUSTABLE, type=positive_int, metavar="N", since=4),
    Setting("targets", "last", "last: each stride-1 window teaches the character after it "
            "(the tutorial); every: non-overlapping windows, each position teaches its next "
            "character (about seq-length times the signal per step)", "training", FIXED,
            choices=("last", "every")),
    Setting("validation_split", 0.0, "hold out this last fraction of the text, never trained "
            "on, and report val_loss each epoch", "training", FIXED, type=fraction,
            metavar="F"),
    Setting("monitor", "loss", "what best-only checkpoints track", "training", FIXED,
            choices=("loss", "val_loss")),
    _switch("stateful", "stateful LSTMs: the text is cut into --batch-size contiguous "
            "streams and the state carries from batch to batch, reset each epoch (idea 10; "
            "every position predicts its next character)", "training", FIXED),
    Setting("resume", None, "continue a run from one of its checkpoints: weights, optimizer "
            "state, epoch count and best loss; its settings are the defaults", "training",
            COMMAND, metavar="FILE"),
    Setting("seed", None, "random seed; the same seed repeats a run on the same machine "
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
    Setting("checkpoint_dir", ".", "folder for the .hdf5 checkpoints (with --resume: the "
            "checkpoint's)", "output", COMMAND, metavar="DIR"),
    Setting("history", None, "CSV of epoch, loss, val_loss, learning rate, seconds, "
            "checkpoint and device (default: history.csv in the checkpoint folder; "
            "history-bigger.csv with --bigger)", "output",
            COMMAND, metavar="FILE"),
    Setting("tensorboard", None, "write TensorBoard logs to DIR", "output", COMMAND,
            metavar="DIR"),
    Setting("text_in_checkpoint", True, "leave the training text out of the checkpoints "
            "(they carry its first million characters, held-out part included, as "
            "generation's pool of seed windows; without it generate.py needs --text or "
            "--prime)", "output", ADJUSTABLE, const=False, flag="--no-text-in-checkpoint",
            since=3),
    _switch("overwrite", "start afresh in a checkpoint folder that holds another run's "
            "checkpoints: remove them and its history.csv first (without it such a run is "
            "refused)", "output", COMMAND),
    Setting("sample_every", None, "every N epochs, log a greedy and a temperature-0.5 sample "
            "of the current model", "output", COMMAND, type=positive_int, metavar="N"),
    _switch("verbose_backend", "show the backend's start-up messages (oneDNN, CUDA probing)",
            "output", COMMAND),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}
GROUPS = ("data", "model", "training", "devices", "output")
assert all(setting.group in GROUPS and setting.resume in RESUME_RULES for setting in SETTINGS)
assert all(name in BY_NAME for preset in PRESETS.values() for name in preset)


class Settings(types.SimpleNamespace):
    """One run's settings: one attribute per SETTINGS entry, and `explicit`, the names that
    were given (on the command line or as keyword arguments). Explicit values beat a preset
    and --bigger, and --resume refuses an explicit value that contradicts a fixed setting."""


def resolve(given, explicit=None):
    """Settings from {name: value}: the defaults, then --bigger's, then the preset's, then the
    given values, each checked (UserError naming the setting). explicit defaults to the
    given names."""
    unknown = sorted(set(given) - set(BY_NAME))
    if unknown:
        raise UserError(f"unknown setting {unknown[0]!r}: the settings are "
                        + ", ".join(BY_NAME))
    checked = {name: BY_NAME[name].check(value) for name, value in given.items()}
    values = {setting.name: setting.default for setting in SETTINGS}
    if checked.get("bigger"):
        values.update({s.name: s.bigger for s in SETTINGS if s.bigger is not None})
    if checked.get("preset"):
        values.update(PRESETS[checked["preset"]])
    values.update(checked)
    return Settings(**values, explicit=frozenset(given if explicit is None else explicit))


def defaults():
    """The tutorial's run: every setting at its default."""
    return resolve({})


# --- the checkpoint's record of a run ------------------------------------------------------


def to_metadata(settings):
    """The settings a checkpoint records, under their metadata keys."""
    return {setting.key: getattr(settings, setting.name) for setting in SETTINGS
            if setting.recorded}


def from_metadata(metadata, rules=(FIXED, ADJUSTABLE)):
    """{name: value} of a checkpoint's recorded settings under the given rules; KeyError
    naming the key a file does not record. A setting newer than the file's format takes its
    default, which is what the code that wrote the file did."""
    version = metadata.get("format_version", 1)
    return {setting.name: metadata[setting.key] if setting.key in metadata or
            version >= setting.since else setting.default
            for setting in SETTINGS if setting.resume in rules}


# --- command-line flags -------------------------------------------------------------------------


def describe_default(setting):
    if setting.const is not None or setting.default is None:
        return None
    text = f"{setting.default}"
    if setting.bigger is not None:
        text += f"; {setting.bigger} with --bigger"
    return text


def add_arguments(parser):
    """One flag per setting, in its group. Flags not given are absent from the parsed
    namespace (argparse.SUPPRESS), so that the namespace is exactly what was given."""
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    for setting in SETTINGS:
        default = describe_default(setting)
        help_text = setting.help + (f" (default: {default})" if default else "")
        options = dict(dest=setting.name, default=argparse.SUPPRESS, help=help_text)
        if setting.const is not None:
            options.update(action="store_const", const=setting.const)
        else:
            options.update(type=setting.type, choices=setting.choices, metavar=setting.metavar)
        groups[setting.group].add_argument(setting.flag_name, **options)
    return parser


def flag_reference():
    """docs/flags.md's table of train.py's flags (tests check that the file matches)."""
    lines = ["| flag | default | resume | what it does |", "|---|---|---|---|"]
    for setting in SETTINGS:
        flag = setting.flag_name
        if setting.metavar:
            flag += f" {setting.metavar}"
        elif setting.choices and setting.const is None:
            flag += " " + "\\|".join(setting.choices)
        default = describe_default(setting) or ("off" if setting.const is not None else "none")
        lines.append(f"| `{flag}` | {default} | {setting.resume} | {setting.help} |")
    return "\n".join(lines)
