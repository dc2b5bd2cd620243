"""The tutorial's objective for any checkpoint: the mean cross-entropy of the character after
each seq_length-character window, over every stride-1 window of a text, without dropout.

This is the number the tutorial reported as "loss" (1.9435 small, 1.2219 bigger), so it puts
models trained any way (--targets every, one-hot input, legacy files) on one scale.
Probabilities are clipped below at Keras' epsilon (1e-7), as Keras' own loss does.

    >>> import math
    >>> import numpy as np
    >>> from charlstm.model.models import Topology, build_model
    >>> topology = Topology(vocab_size=4, output_size=4, units=4)
    >>> loss, windows = tutorial_loss(build_model(topology), topology, np.arange(40) % 4, 5)
    >>> windows, abs(loss - math.log(4)) < 0.3   # an untrained model: about ln 4 a character
    (35, True)
"""

import contextlib
import math
from typing import NamedTuple

import numpy as np

from ..system.backend import import_keras
from ..text.sources import split
from ..system.devices import report_device
from ..errors import UserError
from ..checkpoints.run_folder import default_weights
from ..checkpoints.loading import load_for_generation, text_for_model
from ..logs import log, progress_stream, show_progress_bar
from ..model.models import compiled_forward
from ..text.windows import encode_inputs, gather_patterns, input_table, pattern_count

keras = import_keras()  # quietly, once: see charlstm.system.backend

EPSILON = 1e-7


class PartScore(NamedTuple):
    part: str  # "all", "training part", "held-out tail" or "held-out files"
    loss: float  # mean cross-entropy in nats; None if the part is shorter than one window
    windows: int
    seq_length: int

    @property
    def bits_per_character(self):
        """The loss in bits (nats / ln 2): what char-rnn papers and compression report."""
        return None if self.loss is None else self.loss / math.log(2)


class _Indices(NamedTuple):
    """A seed text as charlstm.text.sources.split takes it: one document."""

    indices: np.ndarray


def window_losses(forward, table, indices, seq_length, starts, batch_size=256, progress=None):
    """Cross-entropy (nats) of the character after each window starting at `starts`.

    forward maps encoded windows (batch, seq_length, features) to next-character
    probabilities (batch, outputs): a compiled model whose output is the last position's.
    progress, if given, is called with the number of windows done after each batch.
    """
    losses = np.empty(len(starts), np.float64)
    for first in range(0, len(starts), batch_size):
        chunk = starts[first : first + batch_size]
        windows, targets = gather_patterns(indices, chunk, seq_length)
        probabilities = forward(encode_inputs(windows, table))
        # A legacy tutorial file may predict fewer characters than the text has: a target
        # beyond its Dense layer has probability 0 (clipped to epsilon).
        known = targets < probabilities.shape[1]
        chosen = np.zeros(len(targets), np.float64)
        chosen[known] = probabilities[np.arange(len(targets))[known], targets[known]]
        losses[first : first + len(chunk)] = -np.log(np.clip(chosen, EPSILON, 1.0))
        if progress is not None:
            progress(first + len(chunk))
    return losses


def tutorial_loss(model, topology, indices, seq_length, batch_size=256, progress=None):
    """(mean cross-entropy in nats, number of windows) over all stride-1 windows of indices."""
    starts = np.arange(pattern_count(len(indices), seq_length))
    table = input_table(topology.vocab_size, topology.input_encoding)
    losses = window_losses(compiled_forward(model), table, indices, seq_length, starts,
                           batch_size, progress)
    return float(losses.mean()), len(starts)


def evaluate(options, verbose=1):
    """The tutorial loss of a checkpoint (options.weights, or the best one in
    options.checkpoint_dir; EvaluationOptions, charlstm.config) on a text (default: the one
    it was trained on), and with held_out > 0 on the training part and the held-out tail
    apart: a list of PartScore, loss None for a part too short for one window. verbose
    shows Keras' progress bar for each part."""
    weights = options.weights or default_weights(options.checkpoint_dir)
    model, checkpoint, indices = load_for_generation(weights, options.text, options.seq_length)
    if indices is None:
        raise UserError(f"'{weights}' carries no text (trained with --no-text-in-checkpoint): "
                        "give --text FILE to score it on")
    log(f"weights: {weights}")
    report_device()
    parts = [("all", indices)]
    if options.held_out:
        # As train.py splits: whole files of a --text of several, else the last fraction.
        several = options.text and not checkpoint.is_legacy
        text = text_for_model(options.text, checkpoint) if several else _Indices(indices)
        training, held_out, files = split(text, options.held_out)
        parts += [("training part", training),
                  ("held-out files" if files else "held-out tail", held_out)]
    results = []
    for name, part in parts:
        windows = pattern_count(len(part), checkpoint.seq_length)
        if not windows:
            results.append(PartScore(name, None, 0, checkpoint.seq_length))
            continue
        progress = None
        if verbose:
            log(f"scoring {name}: {windows} windows")
        if verbose and show_progress_bar():  # a bar on a terminal only, never in a pipe
            progress = _progress_on_stderr(keras.utils.Progbar(windows, unit_name="window"))
        loss, windows = tutorial_loss(model, checkpoint.topology, part, checkpoint.seq_length,
                                      options.batch_size, progress)
        results.append(PartScore(name, loss, windows, checkpoint.seq_length))
    return results


def _progress_on_stderr(bar):
    """Keras' progress bar writes to stdout, which here holds the results: draw it on stderr,
    where a log line ends its line first (logs.progress_stream)."""

    def update(done):
        with contextlib.redirect_stdout(progress_stream()):
            bar.update(done)

    return update
