"""The Python API: what the commands (train.py, generate.py, evaluate.py, export.py, plot.py)
do, as functions a notebook calls. The commands are thin wrappers of these (charlstm.cli).

Mistakes raise charlstm.UserError (a ValueError) with the one-line message the commands print;
nothing here calls sys.exit. Progress and status lines go to the logger "charlstm" (shown on
stderr; verbose=0 keeps only warnings), Keras' progress bar to stderr where it is a terminal
(never in a notebook, whose stderr is not), and the tutorial's figures to stdout.

This module is where charlstm meets Keras: importing it imports no backend. Each call first
starts the backend as it was asked to (quietly unless verbose_backend; a multi-machine
strategy before the first tensor: charlstm.system.backend.start_backend), and only then imports the
modules that need Keras, which import it at their top.

generate, stream and samples take generation's options (charlstm.config.GENERATION, with the
same defaults and checks as generate.py's flags); evaluate takes evaluate.py's; train takes
train.py's settings.

    import charlstm

    result = charlstm.train(text="wonderland.txt", preset="fast", epochs=2,
                            checkpoint_dir="runs", seed=1)
    print(result.best_checkpoint, result.history[-1]["loss"])
    print(charlstm.generate(result.best_checkpoint, length=200, prime="alice was "))
    for character in charlstm.stream(result.best_checkpoint, length=200, temperature=0.5):
        print(character, end="", flush=True)
    model, vocabulary, settings = charlstm.load(result.best_checkpoint)[:3]

    >>> import charlstm
    >>> charlstm.train(text="no-such-file.txt", verbose=0)
    Traceback (most recent call last):
    ...
    charlstm.errors.UserError: text file 'no-such-file.txt' does not exist
    >>> charlstm.generate(top_p=2, verbose=0)
    Traceback (most recent call last):
    ...
    charlstm.errors.UserError: top_p: 2 must be above 0 and at most 1
"""

import inspect
from typing import TYPE_CHECKING, NamedTuple

from .system.backend import start_backend
from .config import (EVALUATION, EXPORT, GENERATION, SERVE, SETTINGS, check_value, positive_int,
                     resolve, resolve_options)
from .text.vocabulary import Vocabulary
from .errors import UserError
from .logs import log, shown_on_stderr

if TYPE_CHECKING:  # for the annotations only: importing Keras here would start a backend
    import keras

    from .checkpoints.format import Checkpoint


def train(verbose=1, **settings):
    """Train as train.py does, with the settings of charlstm.config as keyword arguments
    (text=, bigger=, epochs=, checkpoint_dir=, seed=, preset=, resume= ...); returns a
    training.TrainResult: best_checkpoint (a path, or None), history (one dict per epoch),
    settings, device, interrupted. verbose=0: no progress bar, figures or log lines."""
    with shown_on_stderr(verbose):
        return run_training(resolve(settings), verbose)


def run_training(settings, verbose=1):
    """train() for resolved Settings (what train.py parsed)."""
    start_backend(settings.verbose_backend, settings.distribute, training=True)
    from .training import run as training

    return training.train(settings, verbose)


def start_generation(options, verbose_backend=False):
    """A generation.Generation for GenerationOptions (what generate.py parsed)."""
    start_backend(verbose_backend)
    from .generation import generate as generation

    return generation.start(options)


def _generation(weights, options, num_samples=1):
    if "num_samples" in options:
        raise UserError("num_samples: give it to charlstm.samples as count")
    given = dict(options, weights=weights, num_samples=num_samples)
    return start_generation(resolve_options(given, GENERATION))


def stream(weights=None, verbose=1, **options):
    """Yield the generated characters one at a time, as they are computed (see generate)."""
    with shown_on_stderr(verbose):
        run = _generation(weights, options)
        chars = run.vocabulary.chars
        for indices in run.steps:
            if indices[0] >= 0:  # -1: stopped at a stop_at text (then the steps end)
                yield chars[indices[0]]


def generate(weights=None, verbose=1, **options):
    """The text generate.py --raw prints, without its final newline: `length` characters
    from a checkpoint (weights, or the best one in checkpoint_dir), continuing `prime` or a
    random seed window of the training text (chosen by the random `seed`). temperature 0 is
    the tutorial's greedy choice; above 0 it samples, among the top_k most likely characters
    if given, and among the fewest most likely that hold top_p of the probability (nucleus
    sampling). prime_file reads the prime from a UTF-8 file. stateful=True carries the LSTM
    state instead of re-reading the window. stop_at (a text, or several) ends the text at
    the first one it writes, which is kept."""
    with shown_on_stderr(verbose):
        run = _generation(weights, options)
        return "".join(run.vocabulary.chars[indices[0]] for indices in run.steps
                       if indices[0] >= 0)


def start_items(options, verbose_backend=False, on_item=None):
    """A generation.items.WrittenItems for GenerationOptions with items set (what
    generate.py --items parsed); on_item hears each item as it is made."""
    start_backend(verbose_backend)
    from .generation import items as items_module

    return items_module.write_items(options, on_item=on_item)


def items(count=20, weights=None, verbose=1, **options):
    """`count` whole items of a list, as generate.py --items writes them: each from the
    model's state after a line break up to the next one (at most `length` characters),
    sampled (temperature 0 draws at 1), repeated by `seed`. new_only=True keeps only items
    that are not in the training text; stop_at ends an item early. A list of strings."""
    count = check_value("count", positive_int, count)
    if "items" in options:
        raise UserError("items: give it to charlstm.items as count")
    with shown_on_stderr(verbose):
        resolved = resolve_options(dict(options, weights=weights, items=count), GENERATION)
        written = start_items(resolved)
        for line in written.notes(resolved.length):
            log(line)
    return written.items


def samples(weights=None, count=2, verbose=1, **options):
    """`count` independent texts generated together in one batch (generate.py --num-samples):
    a list of strings, each from its own random seed window unless prime is given."""
    count = check_value("count", positive_int, count)
    with shown_on_stderr(verbose):
        run = _generation(weights, options, num_samples=count)
        rows = [[] for _ in range(len(run.primes))]
        for indices in run.steps:
            for row, index in zip(rows, indices):
                if index >= 0:  # -1: the row has stopped at a stop_at text
                    row.append(run.vocabulary.chars[index])
    return ["".join(row) for row in rows]


def evaluate(weights=None, verbose=1, **options):
    """The tutorial loss of a checkpoint on a text, as evaluate.py prints it (held_out=,
    windows=, context=, all=, text=, checkpoint_dir=, batch_size=, seq_length=): a list of
    evaluation.PartScore (part, loss, windows, seq_length, scored, standard_error,
    short_scored, context), each loss estimated from `windows` windows of the part scored
    whole and up to 24 times as many read from their last `context` characters (context=0:
    the mean of the `windows` alone), or over every window with all=True (then
    standard_error is 0)."""
    with shown_on_stderr(verbose):
        return run_evaluation(resolve_options(dict(options, weights=weights), EVALUATION),
                              verbose)


def run_evaluation(options, verbose=1, verbose_backend=False):
    """evaluate() for EvaluationOptions (what evaluate.py parsed)."""
    start_backend(verbose_backend)
    from .generation import evaluation

    return evaluation.evaluate(options, verbose=verbose)


class Loaded(NamedTuple):
    model: "keras.Sequential"  # reads windows of any length
    vocabulary: Vocabulary  # .chars: the characters in index order
    settings: dict  # the run's recorded settings (charlstm.config names); {} for legacy files
    seq_length: int
    checkpoint: "Checkpoint"  # metadata, topology, the seed text's indices


def load(weights, text=None, seq_length=None):
    """A checkpoint as a Keras model, its vocabulary and its settings, for people who want
    the model itself. The model maps (batch, time, features) inputs, encoded as
    windows.input_table(len(vocabulary), checkpoint.topology.input_encoding) says ((batch,
    time) int32 indices for an embedding), to next-character probabilities. Legacy tutorial
    files need text (default wonderland.txt) for their vocabulary."""
    if weights is None:
        raise UserError("weights: give a file")
    options = resolve_options(dict(weights=weights, text=text, seq_length=seq_length),
                              EVALUATION)
    start_backend()
    from .checkpoints.loading import load_for_generation

    model, checkpoint, _ = load_for_generation(options.weights, options.text,
                                               options.seq_length)
    metadata = checkpoint.metadata or {}
    settings = {setting.name: metadata[setting.key] for setting in SETTINGS
                if setting.recorded and setting.key in metadata}
    return Loaded(model, checkpoint.vocabulary, settings, checkpoint.seq_length, checkpoint)


def export(weights, output, format="keras", text=None, seq_length=None, verbose=1,
           verbose_backend=False):
    """export.py: write a checkpoint (weights None: the best one in this folder, else the
    bundled model) as a .keras file (format "keras" or "onestep") or a TensorFlow
    SavedModel folder ("savedmodel"), with output.json beside it, or as a static web folder
    whose page generates in the browser ("web"); returns output."""
    with shown_on_stderr(verbose):
        options = resolve_options(dict(weights=weights, output=output, format=format,
                                       text=text, seq_length=seq_length), EXPORT)
        return run_export(options, verbose_backend)


def run_export(options, verbose_backend=False):
    """export() for ExportOptions (what export.py parsed)."""
    start_backend(verbose_backend)
    from .exporting import formats as exporting

    return exporting.export(options)


def serve(weights=None, verbose=1, **options):
    """serve.py: serve checkpoints (weights: one path or several; default: the best one in
    this folder, else the bundled model) over HTTP with the page at /, until Ctrl-C or
    SIGTERM; options are serve.py's (host=, port=, checkpoint_dir=, max_length= ...). Needs
    the serve extra (pip install -r requirements-serve.txt). It blocks: in a notebook, run it
    in a thread, or run serve.py beside the notebook."""
    with shown_on_stderr(verbose):
        return run_serve(resolve_options(dict(options, weights=weights), SERVE))


def run_serve(options, verbose_backend=False):
    """serve() for ServeOptions (what serve.py parsed)."""
    try:
        import fastapi  # noqa: F401  (the optional extra: say so in one line if missing)
        import threadpoolctl  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UserError("serving needs the serve extra (FastAPI, uvicorn, threadpoolctl): pip "
                        "install -r requirements-serve.txt (or pip install '.[serve]')") from None
    start_backend(verbose_backend)
    from .serving import server

    server.run_server(options)


def plot(*histories, output=None):
    """plot.py: draw history.csv files as a loss plot (PNG); returns its path. Needs
    matplotlib. In a notebook: IPython.display.Image(charlstm.plot("runs/history.csv"))."""
    # matplotlib, an optional extra, is imported there
    from .training.plotting import plot_histories

    return plot_histories(list(histories), output)


def device():
    """The text of the device: line every command prints: where training and generation run
    (a GPU and cuDNN, or the CPU), and the backend."""
    start_backend()
    from .system.devices import describe_device

    line, warning = describe_device()
    if warning:
        log(warning)
    return line


def _signature(function, options, leading=(), trailing=("verbose",)):
    """function's signature with the options spelled out, for help() and notebooks' hints."""
    defaults = dict(inspect.signature(function).parameters)
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [defaults[name] for name in leading]
    parameters += [inspect.Parameter(option.name, keyword, default=option.default)
                   for option in options if option.name not in leading]
    parameters += [defaults[name].replace(kind=keyword) for name in trailing]
    return inspect.Signature(parameters)


_SINGLE = tuple(option for option in GENERATION if option.name != "num_samples")
stream.__signature__ = _signature(stream, _SINGLE, leading=("weights",))
generate.__signature__ = _signature(generate, _SINGLE, leading=("weights",))
samples.__signature__ = _signature(samples, _SINGLE, leading=("weights", "count"))
evaluate.__signature__ = _signature(evaluate, EVALUATION, leading=("weights",))
serve.__signature__ = _signature(serve, SERVE, leading=("weights",))
train.__signature__ = inspect.Signature(
    [inspect.Parameter("verbose", inspect.Parameter.KEYWORD_ONLY, default=1)]
    + [inspect.Parameter(setting.name, inspect.Parameter.KEYWORD_ONLY, default=setting.default)
       for setting in SETTINGS])
