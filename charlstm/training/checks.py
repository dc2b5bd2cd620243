"""Every check that combines a run's settings, with each other, with the text, or with the
machine, in one step: validate(). Single values are checked where they are declared
(charlstm.config); what is left here is what no single flag can see.

training.prepare calls it once, after reading the text and before anything is set up, so a
mistake ends in one line before the device is touched or a model is built. The checks need
only plain facts, no backend: the text's lengths and devices.Machine.

    >>> from charlstm.config import resolve
    >>> from charlstm.system.devices import Machine
    >>> cpu = Machine(backend="tensorflow", gpu_capability=None, multi_worker=False)
    >>> validate(resolve({"monitor": "val_loss"}), TextLengths(1000, 900, 0), cpu)
    Traceback (most recent call last):
    ...
    charlstm.errors.UserError: --monitor val_loss needs a held-out part: give --validation-split
    >>> precision_policy(True, Machine("tensorflow", (9, 0), False))
    'mixed_bfloat16'
"""

from typing import NamedTuple

import os

from ..checkpoints.format import MAX_WEIGHT_BYTES
from ..errors import UserError
from ..model.cells import CELLS
from ..presets import PRESETS
from ..text.corpus import BUNDLED_NAME
from ..text.sequences import StreamBatches
from ..text.sources import describe_sources, source_list


class TextLengths(NamedTuple):
    whole: int  # characters of the prepared text
    training: int  # of the part trained on
    held_out: int  # of the held-out tail (0 without --validation-split)
    vocabulary: int = 1  # distinct characters


def validate(settings, lengths, machine):
    """UserError, naming what to change, for the first combination this run cannot do."""
    check_settings(settings)
    check_text(settings, lengths)
    check_size(settings, lengths.vocabulary)
    check_machine(settings, machine)


def check_settings(settings):
    """Combinations of settings that no layout, schedule or run supports."""
    if settings.monitor == "val_loss" and not settings.validation_split:
        raise UserError("--monitor val_loss needs a held-out part: give --validation-split")
    if settings.warmup_steps and settings.lr_schedule != "cosine":
        raise UserError("--warmup-steps belongs to --lr-schedule cosine: add it, or leave "
                        "--warmup-steps out")
    if settings.stateful and settings.steps_per_epoch:
        raise UserError("--steps-per-epoch would cut a --stateful pass, whose state runs "
                        "from the start of the text to its end: leave it out")
    if settings.sentences and settings.stateful:
        raise UserError("--sentences and --stateful are two different layouts: choose one")
    if "embedding_size" in settings.explicit and settings.input_encoding != "embedding":
        raise UserError("--embedding-size belongs to --input-encoding embedding: add it, or "
                        "leave --embedding-size out")
    for layout in ("sentences", "stateful"):
        if getattr(settings, layout) and settings.targets == "last":
            # config.with_derived makes it "every" unless --targets last was given.
            raise UserError(f"--{layout} trains every position: it cannot be combined "
                            "with --targets last")


def check_text(settings, lengths):
    """The text, and each part of it, must give at least one batch row."""
    if lengths.whole <= settings.seq_length:
        raise UserError(
            f"text file {describe_sources(settings.text)} has {lengths.whole} characters: it "
            f"must be longer "
            f"than --seq-length ({settings.seq_length}) to give one pattern"
        )
    check_part(settings, "training", lengths.training)
    if settings.validation_split:
        check_part(settings, "held-out", lengths.held_out)


def weight_count(settings, vocab_size):
    """The model's weights: an Embedding's vocabulary x --embedding-size, each recurrent
    layer its cell's weight count (charlstm.model.cells: an LSTM's 4 x units x (inputs +
    units + 1)), then the Dense layer.

    >>> from charlstm.config import resolve
    >>> weight_count(resolve({"input_encoding": "embedding", "embedding_size": 4,
    ...                       "units": 2}), vocab_size=5)
    91
    """
    count, inputs = 0, {"one-hot": vocab_size, "scaled": 1}.get(settings.input_encoding)
    if settings.input_encoding == "embedding":
        count, inputs = vocab_size * settings.embedding_size, settings.embedding_size
    cell = CELLS[settings.cell]
    for _ in range(settings.layers):
        count += cell.weight_count(inputs, settings.units)
        inputs = settings.units
    return count + settings.units * vocab_size + vocab_size


# Beyond this many characters, one-hot input is wider than the model (and scaled input
# crowds them into one number): an embedding suits such texts better.
LARGE_VOCABULARY = 1000


def encoding_advice(settings, vocab_size):
    """A log line suggesting --input-encoding embedding for a vocabulary of more than
    LARGE_VOCABULARY characters read one-hot or scaled; None otherwise. Advice, not a
    refusal: such a run works, only less well."""
    if vocab_size <= LARGE_VOCABULARY or settings.input_encoding == "embedding":
        return None
    if settings.input_encoding == "one-hot":
        return (f"the text has {vocab_size} distinct characters, so one-hot input is "
                f"{vocab_size} features wide: --input-encoding embedding reads "
                f"--embedding-size ({settings.embedding_size}) instead")
    return (f"the text has {vocab_size} distinct characters: scaled input puts them 1/"
            f"{vocab_size} apart on one number; --input-encoding embedding gives each its "
            "own vector")


# The tutorial's small model and --preset fast on a text other than the book, ten minutes
# each on a 2-core CPU: held-out loss in nats on the standard library's http package
# (bench/own_texts.py; tests/training/test_own_text_advice.py keeps these figures the file's).
OWN_TEXT_BENCH = dict(text="http", minutes=10, tutorial=2.7547, fast=1.6185,
                      results="bench/results/own_texts_presets_10min.txt")
# Settings that choose the model or its recipe: a run that gives any of them is tuned by hand,
# and gets no advice to take a preset.
RECIPE_SETTINGS = (set(PRESETS["fast"]) - {"minutes"}) | {"cell", "bigger"}


def preset_advice(settings):
    """A log line recommending --preset fast for a text other than the tutorial's book trained
    with the tutorial's small model (no --preset, no --bigger, no model or recipe flag, not
    resumed): on such texts its greedy output can stay only spaces. None otherwise.

    >>> from charlstm.config import resolve
    >>> preset_advice(resolve({"text": "src/", "minutes": 2})).startswith("your own text")
    True
    >>> preset_advice(resolve({"text": "src/", "preset": "fast"})) is None
    True
    >>> preset_advice(resolve({})) is None      # the book
    True
    """
    own_text = any(os.path.basename(os.path.normpath(path)) != BUNDLED_NAME
                   for path in source_list(settings.text))
    tuned = settings.preset or settings.resume or settings.init_from or (
        RECIPE_SETTINGS & settings.explicit)
    if not own_text or tuned:
        return None
    bench = OWN_TEXT_BENCH
    return (f"your own text with the tutorial's small model: --preset fast learns such texts "
            f"faster (held-out loss {bench['fast']:.2f} nats against this model's "
            f"{bench['tutorial']:.2f} on the standard library's {bench['text']} package, "
            f"{bench['minutes']} minutes each on a 2-core CPU: {bench['results']})")


def check_size(settings, vocab_size):
    """A model whose checkpoint could not be read back (charlstm.checkpoints.format refuses more
    than MAX_WEIGHT_BYTES) is refused before the backend tries to allocate it."""
    size = 4 * weight_count(settings, vocab_size)  # float32
    if size > MAX_WEIGHT_BYTES:
        raise UserError(f"--units {settings.units} and --layers {settings.layers} make a "
                        f"model of {size / 2**30:.1f} GiB, more than the "
                        f"{MAX_WEIGHT_BYTES / 2**30:.0f} GiB a checkpoint may hold: lower "
                        "--units or --layers")


def check_part(settings, part_name, length):
    """UserError unless a part of the text of this length gives at least one batch row."""
    if settings.stateful:
        needed = StreamBatches.minimum_length(settings.seq_length, settings.batch_size)
        if length < needed:
            raise UserError(
                f"the {part_name} part has {length} characters: --stateful lays the text out "
                f"as --batch-size ({settings.batch_size}) streams of at least one window, "
                f"which needs {needed}; lower --batch-size or --seq-length"
            )
    elif length <= settings.seq_length:
        raise UserError(
            f"the {part_name} part of {describe_sources(settings.text)} has {length} "
            "characters: it must be "
            f"longer than --seq-length ({settings.seq_length})"
            + ("; change --validation-split" if settings.validation_split else "")
        )


def check_machine(settings, machine):
    """--distribute and --mixed-precision against the backend and the devices."""
    if settings.distribute:
        check_distribution(settings, machine)
    precision_policy(settings.mixed_precision, machine)


def check_distribution(settings, machine):
    backend = machine.backend
    if machine.multi_worker and backend != "tensorflow":
        raise UserError("--distribute across machines (TF_CONFIG) needs the tensorflow "
                        f"backend, not {backend}: unset TF_CONFIG or KERAS_BACKEND")
    if backend not in ("tensorflow", "jax"):
        raise UserError(f"--distribute supports the tensorflow and jax backends, not {backend}")
    if backend != "tensorflow":
        return  # JAX's DataParallel: none of tf.distribute's limits
    if settings.stateful:
        raise UserError("--stateful keeps one state per batch row, which replicas cannot "
                        "share: leave out --distribute")
    if machine.multi_worker and settings.minutes:
        # Each machine's clock would end the run at its own step, and the others would wait
        # for it for ever.
        raise UserError("--minutes cannot bound a multi-machine run (TF_CONFIG), whose "
                        "machines must stop at the same step: give --epochs instead")
    if machine.multi_worker and settings.seed is None:
        raise UserError("a multi-machine run (TF_CONFIG) needs the same --seed on every "
                        "machine, so that they read the same batches")
    if settings.batch_size % machine.replicas:
        raise UserError(f"--batch-size {settings.batch_size} does not split evenly over "
                        f"{machine.replicas} replicas")


def precision_policy(enabled, machine):
    """The Keras dtype policy for --mixed-precision: "mixed_bfloat16" on GPUs with fast
    bfloat16 (compute capability 8.0 and later: A100, H100, RTX 30xx and later),
    "mixed_float16" on 7.x (V100, T4, RTX 20xx; Keras then scales the loss), and a UserError
    where it would only slow training down: on a CPU, where 16-bit arithmetic is emulated,
    and on older GPUs without fast 16-bit units. None when off: float32 throughout."""
    if not enabled:
        return None
    if machine.backend == "jax":
        # jaxlib's cuDNN RNN kernel takes float32 and float64 only: under a 16-bit policy the
        # compile fails ("Unknown output type bfloat16", seen on an H200).
        raise UserError("--mixed-precision is not available on the JAX backend: its cuDNN "
                        "LSTM takes float32 only; train without it")
    capability = machine.gpu_capability  # devices.machine asks for it with --mixed-precision
    if capability is None:
        raise UserError("--mixed-precision needs a GPU: on a CPU 16-bit arithmetic is "
                        "emulated and only slows training down")
    if capability >= (8, 0) or capability == (0, 0):
        return "mixed_bfloat16"
    if capability >= (7, 0):
        return "mixed_float16"
    raise UserError(f"--mixed-precision: this GPU (compute capability "
                    f"{capability[0]}.{capability[1]}) has no fast 16-bit arithmetic, so it "
                    "would only slow training down")
