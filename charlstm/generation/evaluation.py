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
from ..text.sources import Document, split
from ..system.devices import report_device
from ..errors import UserError
from ..config import SHORT_PER_FULL
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
    windows: int  # the part's windows
    seq_length: int
    scored: int = None  # the windows scored whole: all of them (exact), or an even sample
    standard_error: float = 0.0  # of loss, in nats: 0 when every window was scored
    short_scored: int = 0  # phase one: the windows also read from their last `context` only
    context: int = None  # phase one's characters of context; None: plain sampling

    @property
    def bits_per_character(self):
        """The loss in bits (nats / ln 2): what char-rnn papers and compression report."""
        return None if self.loss is None else self.loss / math.log(2)

    @property
    def standard_error_bits(self):
        return self.standard_error / math.log(2)

    @property
    def exact(self):
        """Whether every window of the part was scored (no standard error)."""
        return self.scored is None or self.scored == self.windows


class _Text(NamedTuple):
    """A text as charlstm.text.sources.split takes it: indices, and for a corpus of several
    files its documents (with their starts) and vocabulary."""

    indices: np.ndarray
    documents: tuple = ()
    vocabulary: object = None
    lines: bool = False  # a list's items (--documents lines): split on item boundaries


class _Stratum(NamedTuple):
    """Windows sampled and scored together: their starts in text (the whole or a part's)."""

    text: np.ndarray
    starts: np.ndarray


class _Sample(NamedTuple):
    """A stratum's windows to score. Plain: `full`, positions among its windows, scored at
    full length. Two phases: `short`, positions among its windows, read from their last
    `context` characters only, and `full`, positions among those, also scored whole."""

    full: np.ndarray
    short: np.ndarray = None


class _Losses(NamedTuple):
    """A stratum's scored losses: `full` at full length and, with two phases, `short` (phase
    one, from the last characters only; full[i] is the window short[sample.full[i]])."""

    full: np.ndarray
    short: np.ndarray = None


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
    it was trained on): a list of PartScore, "all" first, then with a held-out fraction
    (options.held_out, by default the checkpoint's --validation-split) the training part and
    the held-out part; loss None for a part too short for one window.

    Each part's figure is a two-phase (double sampling) estimate with its standard error
    (see _estimate_stratum): an even sample of up to SHORT_PER_FULL * options.windows of its
    windows read from their last options.context characters only, and an even sample of
    options.windows of those scored whole; with context 0, or a model whose input has a
    fixed length, the mean over an even sample of options.windows scored whole; with
    options.all, every window scored whole (exact). Every window is scored at most once at
    each length: the whole text's figure is put together from its parts' (see _strata).
    verbose shows Keras' progress bar."""
    weights = options.weights or default_weights(options.checkpoint_dir)
    model, checkpoint, indices = load_for_generation(weights, options.text, options.seq_length)
    if indices is None:
        raise UserError(f"'{weights}' carries no text (trained with --no-text-in-checkpoint): "
                        "give --text FILE to score it on")
    log(f"weights: {weights}")
    report_device()
    seq_length = checkpoint.seq_length
    fraction = held_out_fraction(options, checkpoint)
    names = ["all"]
    parts = []
    if fraction:
        parts = split_parts(options, checkpoint, indices, fraction)
        names += [name for name, _, _ in parts]
    strata = _strata(indices, parts, seq_length)
    context = phase_one_context(options, model, seq_length)
    samples = {key: _plan(len(stratum.starts), options, context)
               for key, stratum in strata.items()}
    losses = _score(model, checkpoint, strata, samples, context, options.batch_size, verbose)
    windows = {key: len(stratum.starts) for key, stratum in strata.items()}
    return [_estimate(name, _strata_of(name, strata), windows, samples, losses, seq_length,
                      context) for name in names]


def phase_one_context(options, model, seq_length):
    """The characters of context phase one reads, or None for plain sampling: with --all,
    --context 0 or one not shorter than the window, and for a model whose input has a fixed
    length (an unrolled one), which cannot read a shorter window."""
    if options.all or not options.context or options.context >= seq_length:
        return None
    if model.inputs[0].shape[1] is not None:
        log(f"the model reads {model.inputs[0].shape[1]}-character windows only: "
            "plain sampling, without phase one")
        return None
    return options.context


def _plan(count, options, context):
    """The _Sample of a stratum of count windows: every window whole with options.all or
    when it has no more than options.windows; else plain or two-phase (context not None)."""
    if options.all or count <= options.windows:
        return _Sample(np.arange(count))
    if context is None:
        return _Sample(_even_sample(count, options.windows))
    short = _even_sample(count, SHORT_PER_FULL * options.windows)
    return _Sample(_even_sample(len(short), options.windows), short)


def held_out_fraction(options, checkpoint):
    """--held-out, else the checkpoint's own --validation-split when scoring the text it
    stores (its held-out part is then exactly the one training held out), else 0."""
    if options.held_out is not None:
        return options.held_out
    if options.text or checkpoint.is_legacy:
        return 0.0
    return checkpoint.metadata.setting("validation_split") or 0.0


def split_parts(options, checkpoint, indices, fraction):
    """[(name, indices, positions)] of the training part and the held-out part, split as
    train.py --validation-split splits (charlstm.text.sources.split): whole files of a
    corpus of several, else the last fraction; positions: where each of a part's characters
    lies in the whole text (a separator joining two files of a part: the one after the
    first)."""
    if options.text and not checkpoint.is_legacy:
        text = text_for_model(options.text, checkpoint)
    else:
        text = _stored_text(checkpoint, indices)
    training, held_out, files = split(text, fraction)
    if not files:
        return [("training part", training, np.arange(len(training))),
                ("held-out tail", held_out, np.arange(len(indices) - len(held_out),
                                                      len(indices)))]
    held_names = {document.name for document in files}
    kept = [document for document in text.documents if document.name not in held_names]
    return [("training part", training, _positions(kept)),
            ("held-out files", held_out, _positions(files))]


def _stored_text(checkpoint, indices):
    """The text a checkpoint stores, with the documents its metadata records (name, bytes,
    characters each) when it was a corpus of several files and they add up to it."""
    if checkpoint.documents_mode == "lines":
        return _Text(indices, vocabulary=checkpoint.vocabulary, lines=True)
    records = [] if checkpoint.is_legacy else checkpoint.metadata.get("documents") or []
    documents, start = [], 0
    for name, size, length in records:
        documents.append(Document(name, name, size, length, start))
        start += length + 1  # and the separator after it
    if len(documents) < 2 or start - 1 != len(indices):
        return _Text(indices)
    return _Text(indices, tuple(documents), checkpoint.vocabulary)


def _positions(documents):
    """Where each character of documents joined by separators lies in the whole corpus."""
    pieces = []
    for document in documents:
        if pieces:
            pieces.append([pieces[-1][-1] + 1])  # the separator after the previous one
        pieces.append(np.arange(document.start, document.start + document.length))
    return np.concatenate(pieces) if pieces else np.zeros(0, np.int64)


def _strata(indices, parts, seq_length):
    """{(part name, whether these are windows of the whole text): _Stratum}, windows sampled
    and scored apart, every window in one stratum. Without parts: ("all", True), every
    window of the text. With them, for each part its windows that are also the whole's and
    those across the gap a held-out file left (a part's own); and ("between", True): the
    whole's windows in no part, across the cut. The whole's figure is put together from
    the strata marked True, a part's from its own two."""
    whole_windows = pattern_count(len(indices), seq_length)
    if not parts:
        return {("all", True): _Stratum(indices, np.arange(whole_windows))}
    strata = {}
    covered = np.zeros(whole_windows, bool)
    for name, part, positions in parts:
        starts = np.arange(pattern_count(len(part), seq_length))
        in_whole = positions[starts + seq_length] - positions[starts] == seq_length
        covered[positions[starts[in_whole]]] = True
        strata[name, True] = _Stratum(part, starts[in_whole])
        strata[name, False] = _Stratum(part, starts[~in_whole])
    strata["between", True] = _Stratum(indices, np.flatnonzero(~covered))
    return strata


def _strata_of(name, strata):
    """The strata a part's figure is made of: the whole's ("all") are those marked True."""
    if name == "all":
        return [key for key in strata if key[1]]
    return [key for key in strata if key[0] == name]


def _even_sample(count, size):
    """Positions of an even sample of size out of count (all of them for size None or >=
    count): one in the middle of each of size equal stretches, the same every run. At
    least two, for a standard error."""
    if size is None or size >= count:
        return np.arange(count)
    size = max(size, 2)
    return ((np.arange(size) + 0.5) * count / size).astype(np.int64)


def _score(model, checkpoint, strata, samples, context, batch_size, verbose):
    """{stratum key: its _Losses}, each window scored at most once at each length: a short
    window is the last `context` characters of a full one, with the same next character."""
    whole = sum(len(sample.full) for sample in samples.values())
    short = sum(len(sample.short) for sample in samples.values() if sample.short is not None)
    population = sum(len(stratum.starts) for stratum in strata.values())
    progress = None
    if verbose:
        also = f" and {short:,} from their last {context} characters" if short else ""
        log(f"scoring {whole:,} of {population:,} windows whole{also}")
    if verbose and show_progress_bar():  # a bar on a terminal only, never in a pipe
        progress = _progress_on_stderr(keras.utils.Progbar(whole + short, unit_name="window"))
    forward = compiled_forward(model)
    table = input_table(checkpoint.topology.vocab_size, checkpoint.topology.input_encoding)
    seq_length = checkpoint.seq_length
    losses, done = {}, 0

    def scored(text, length, starts):
        nonlocal done
        shown = None if progress is None else (lambda count, done=done: progress(done + count))
        done += len(starts)
        return window_losses(forward, table, text, length, starts, batch_size, shown)

    for key, stratum in strata.items():
        sample = samples[key]
        if sample.short is None:
            losses[key] = _Losses(scored(stratum.text, seq_length, stratum.starts[sample.full]))
            continue
        starts = stratum.starts[sample.short]
        short_losses = scored(stratum.text, context, starts + seq_length - context)
        losses[key] = _Losses(scored(stratum.text, seq_length, starts[sample.full]),
                              short_losses)
    return losses


def _estimate(name, keys, windows, samples, losses, seq_length, context):
    """A part's PartScore from its strata: the stratified mean (each stratum's estimate
    weighted by its share of the part's windows) and its standard error, the square root of
    the sum of each stratum's variance (_estimate_stratum) times its share squared."""
    total = sum(windows[key] for key in keys)
    scored = sum(len(losses[key].full) for key in keys)
    short = sum(len(losses[key].short) for key in keys if losses[key].short is not None)
    if not total:
        return PartScore(name, None, 0, seq_length, 0)
    mean = variance = 0.0
    for key in keys:
        if not windows[key]:
            continue
        share = windows[key] / total
        stratum_mean, stratum_variance = _estimate_stratum(windows[key], samples[key],
                                                           losses[key])
        mean += share * stratum_mean
        variance += share**2 * stratum_variance
    return PartScore(name, mean, total, seq_length, scored, math.sqrt(variance), short,
                     context if short else None)


def _estimate_stratum(count, sample, losses):
    """(estimate of the mean loss of a stratum's count windows, its variance).

    Plain sampling of n windows scored whole: their mean, variance S^2 / n * (1 - n / count)
    (S^2: their sample variance; the finite-population correction makes it 0 for n = count).

    Two phases (double sampling with a difference estimator): phase one reads n1 windows from
    their last k characters only (losses y'), phase two scores n2 of those whole (losses y).
    The estimate mean(y' over phase one) + mean(y - y' over phase two) is unbiased for the
    full-context mean whatever k, since phase two is an even sample of phase one; its variance
    is S_short^2 / n1 * (1 - n1 / count) + S_diff^2 / n2 * (1 - n2 / n1), S_short^2 the sample
    variance of y' over phase one, S_diff^2 that of y - y' over phase two. Short losses that
    track the full ones closely (small S_diff) make n2 small for the same error."""
    if losses.short is None:
        n = len(losses.full)
        if n == count:  # every window: exact
            return float(losses.full.mean()), 0.0
        return float(losses.full.mean()), float(losses.full.var(ddof=1)) / n * (1 - n / count)
    first, second = len(losses.short), len(losses.full)
    differences = losses.full - losses.short[sample.full]
    mean = float(losses.short.mean()) + float(differences.mean())
    variance = (float(losses.short.var(ddof=1)) / first * (1 - first / count)
                + float(differences.var(ddof=1)) / second * (1 - second / first))
    return mean, variance


def _progress_on_stderr(bar):
    """Keras' progress bar writes to stdout, which here holds the results: draw it on stderr,
    where a log line ends its line first (logs.progress_stream)."""

    def update(done):
        with contextlib.redirect_stdout(progress_stream()):
            bar.update(done)

    return update
