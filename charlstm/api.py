"""The Python API: what train.py, generate.py and evaluate.py do, as functions a notebook calls.
The commands are thin wrappers of these (charlstm.cli).

Mistakes raise charlstm.UserError (a ValueError) with the one-line message the commands print;
nothing here calls sys.exit. Progress and status lines go to the logger "charlstm" (shown on
stderr; verbose=0 keeps only warnings), Keras' progress bar and the tutorial's figures to
stdout. Keras, and with it the backend, is imported on the first call.

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
"""

import os
from typing import NamedTuple

from . import evaluation, generation, training
from .backend import import_keras, request_multi_worker
from .checkpoint import load_for_generation
from .config import SETTINGS, resolve
from .corpus import Vocabulary
from .logs import log, show_on_stderr


def start_backend(verbose_backend=False, distribute=False):
    """Import Keras once, quietly unless verbose_backend; a multi-machine run (--distribute
    with TF_CONFIG) needs its strategy made before TensorFlow's first tensor."""
    if distribute and os.environ.get("TF_CONFIG"):
        request_multi_worker()
    return import_keras(verbose=verbose_backend)


def train(verbose=1, **settings):
    """Train as train.py does, with the settings of charlstm.config as keyword arguments
    (text=, bigger=, epochs=, checkpoint_dir=, seed=, preset=, resume= ...); returns a
    training.TrainResult: best_checkpoint (a path, or None), history (one dict per epoch),
    settings, device, interrupted. verbose=0: no progress bar, figures or log lines."""
    show_on_stderr(verbose)
    run_settings = resolve(settings)
    start_backend(run_settings.verbose_backend, run_settings.distribute)
    return training.train(run_settings, verbose)


def _generation(weights, length, prime, temperature, top_k, seed, stateful, num_samples,
                checkpoint_dir, text, seq_length, verbose, top_p, prime_file):
    show_on_stderr(verbose)
    start_backend()
    return generation.start(weights, checkpoint_dir=checkpoint_dir, length=length, prime=prime,
                            temperature=temperature, top_k=top_k, seed=seed, stateful=stateful,
                            num_samples=num_samples, text=text, seq_length=seq_length,
                            top_p=top_p, prime_file=prime_file)


def stream(weights=None, length=1000, prime=None, temperature=0.0, top_k=None, seed=None,
           stateful=False, checkpoint_dir=".", text=None, seq_length=None, verbose=1,
           top_p=None, prime_file=None):
    """Yield the generated characters one at a time, as they are computed (see generate)."""
    run = _generation(weights, length, prime, temperature, top_k, seed, stateful, 1,
                      checkpoint_dir, text, seq_length, verbose, top_p, prime_file)
    chars = run.vocabulary.chars
    for indices in run.steps:
        yield chars[indices[0]]


def generate(weights=None, length=1000, prime=None, temperature=0.0, top_k=None, seed=None,
             stateful=False, checkpoint_dir=".", text=None, seq_length=None, verbose=1,
             top_p=None, prime_file=None):
    """The text generate.py --raw prints, without its final newline: `length` characters
    from a checkpoint (weights, or the best one in checkpoint_dir), continuing `prime` or a
    random seed window of the training text (chosen by `seed`). temperature 0 is the
    tutorial's greedy choice; above 0 it samples, among the top_k most likely characters if
    given, and among the fewest most likely that hold top_p of the probability (nucleus
    sampling) if given. prime_file reads the prime from a UTF-8 file. stateful=True carries the LSTM state instead of re-reading the window."""
    run = _generation(weights, length, prime, temperature, top_k, seed, stateful, 1,
                      checkpoint_dir, text, seq_length, verbose, top_p, prime_file)
    return "".join(run.vocabulary.chars[indices[0]] for indices in run.steps)


def samples(weights=None, count=2, length=1000, prime=None, temperature=0.0, top_k=None,
            seed=None, stateful=False, checkpoint_dir=".", text=None, seq_length=None,
            verbose=1, top_p=None, prime_file=None):
    """`count` independent texts generated together in one batch (generate.py --num-samples):
    a list of strings, each from its own random seed window unless prime is given."""
    run = _generation(weights, length, prime, temperature, top_k, seed, stateful, count,
                      checkpoint_dir, text, seq_length, verbose, top_p, prime_file)
    rows = [[] for _ in range(count)]
    for indices in run.steps:
        for row, index in zip(rows, indices):
            row.append(run.vocabulary.chars[index])
    return ["".join(row) for row in rows]


def evaluate(weights=None, held_out=0.0, text=None, checkpoint_dir=".", batch_size=256,
             seq_length=None, verbose=1):
    """The tutorial loss of a checkpoint over every window of a text, as evaluate.py prints
    it: a list of evaluation.PartScore (part, loss, windows, seq_length)."""
    show_on_stderr(verbose)
    start_backend()
    return evaluation.evaluate(weights, checkpoint_dir=checkpoint_dir, text=text,
                               held_out=held_out, batch_size=batch_size,
                               seq_length=seq_length, verbose=verbose)


class Loaded(NamedTuple):
    model: object  # a keras.Sequential that reads windows of any length
    vocabulary: Vocabulary  # .chars: the characters in index order
    settings: dict  # the run's recorded settings (charlstm.config names); {} for legacy files
    seq_length: int
    checkpoint: object  # checkpoint.Checkpoint: metadata, topology, the seed text's indices


def load(weights, text=None, seq_length=None):
    """A checkpoint as a Keras model, its vocabulary and its settings, for people who want
    the model itself. The model maps (batch, time, features) inputs, encoded as
    windows.input_table(len(vocabulary), checkpoint.topology.input_encoding) says, to
    next-character probabilities. Legacy tutorial files need text (default wonderland.txt)
    for their vocabulary."""
    start_backend()
    model, checkpoint, _ = load_for_generation(weights, text, seq_length)
    metadata = checkpoint.metadata or {}
    settings = {setting.name: metadata[setting.key] for setting in SETTINGS
                if setting.recorded and setting.key in metadata}
    return Loaded(model, checkpoint.vocabulary, settings, checkpoint.seq_length, checkpoint)


def export(weights, output, format="keras", text=None, seq_length=None, verbose=1):
    """export.py: write a checkpoint as a .keras file (format "keras" or "onestep") or a
    TensorFlow SavedModel folder ("savedmodel"), with output.json beside it; returns output."""
    from . import exporting

    show_on_stderr(verbose)
    start_backend()
    return exporting.export(weights, output, format, text=text, seq_length=seq_length)


def plot(*histories, output=None):
    """plot.py: draw history.csv files as a loss plot (PNG); returns its path. Needs
    matplotlib. In a notebook: IPython.display.Image(charlstm.plot("runs/history.csv"))."""
    from .plotting import plot_histories

    return plot_histories(list(histories), output)


def device():
    """The text of the device: line every command prints: where training and generation run
    (a GPU and cuDNN, or the CPU), and the backend."""
    from .devices import describe_device

    start_backend()
    line, warning = describe_device()
    if warning:
        log(warning)
    return line
