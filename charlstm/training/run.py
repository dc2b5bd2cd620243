"""Training: the tutorial's fit on pattern windows, with best-only .hdf5 checkpoints, and
--resume, which carries on from a checkpoint exactly as if the run had never stopped.

train() takes resolved Settings (charlstm.config) and returns a TrainResult; charlstm.train()
and train.py are its two callers. It reads as the run goes: prepare() does everything before
fit (the text, the checks, the device, the batches, the model, the checkpoint resumed, by
the --resume and --init-from rules of charlstm.training.resume), then train() fits with the
callbacks of charlstm.training.callbacks and reports.

    >>> import os, tempfile
    >>> from charlstm.config import resolve
    >>> folder = tempfile.mkdtemp()
    >>> text = os.path.join(folder, "tiny.txt")
    >>> with open(text, "w") as handle:
    ...     _ = handle.write("alice was beginning to get very tired of sitting by her sister. ")
    >>> settings = resolve({"text": text, "epochs": 1, "units": 8, "seq_length": 10,
    ...                     "checkpoint_dir": folder, "seed": 1})
    >>> result = train(settings, verbose=0)
    >>> os.path.basename(result.best_checkpoint)[:23], len(result.history)
    ('weights-improvement-01-', 1)
"""

import contextlib
import dataclasses
import os
import tempfile
import time

import numpy as np

from ..system.backend import choose_seed, import_keras
from .callbacks import epoch_label, run_callbacks
from ..checkpoints.format import SEED_TEXT_LIMIT, Checkpoint
from .checks import (TextLengths, encoding_advice, precision_policy, preset_advice, validate,
                     weight_count)
from ..config import Settings, unbounded
from ..text.corpus import Corpus, resolve_text_path
from ..text.rules import TextRules
from ..text.vocabulary import Vocabulary
from ..system.devices import (distribution_strategy, is_chief, machine, report_device, scope,
                      set_precision_policy)
from ..errors import UserError
from ..text.feeding import training_data
from ..system.files import check_output, kind_of
from ..checkpoints.run_folder import claim, run_lock
from ..checkpoints.history import default_path
from ..model.keras_compat import fit_multi_worker
from ..logs import log
from ..checkpoints.metadata import Metadata
from ..model.models import Topology, build_model, compile_model
from ..model.optimizer import describe_optimizer, make_optimizer
from ..presets import BY_STEPS, for_steps
from .plotting import default_output
from .resume import (StartPoint, check_same_text, cosine_end, in_vocabulary, initialise_from,
                     restored_names, resume_from, start_point)
from ..text.sequences import SentenceBatches, StreamBatches
from ..checkpoints.snapshots import restore_training_state
from ..text.sources import (describe_held_out, describe_held_out_items, describe_items,
                            describe_reading, describe_sources, list_documents, load_sources,
                            source_list, split)
from ..text.windows import EpochBatches, WindowBatches, input_table, pattern_count

keras = import_keras()  # quietly, once: see charlstm.system.backend

# warn_if_small: more weights than this many per character of training text.
SMALL_TEXT_RATIO = 10
# A preset with a table of settings by steps (presets.BY_STEPS) and a --minutes budget times
# the model's steps first: PROBE_STEPS steps after the one that compiles, or as many as
# PROBE_SECONDS allow (at least 3), on a model that is then thrown away.
PROBE_STEPS = 30
PROBE_SECONDS = 5.0


@dataclasses.dataclass
class TrainResult:
    """What a run leaves: its best checkpoint (None if no epoch improved or was written), the
    monitored value there, one dict per completed epoch (the history.csv rows, as text), the
    settings it ran with, the device line, and whether a signal stopped it (interrupted;
    signal is the signal's number: 2 for Ctrl-C, 15 for SIGTERM), and whether
    --early-stopping ended it."""

    best_checkpoint: str
    best_value: float
    monitor: str
    history: list
    settings: Settings
    device: str
    interrupted: bool = False
    signal: int = None
    stopped_early: bool = False  # --early-stopping ended it


@dataclasses.dataclass
class PreparedRun:
    """Everything a run needs before fit, made by prepare(). settings is what the run uses,
    final: the resumed checkpoint's settings taken in, the random seed chosen, the text's
    full path."""

    settings: Settings
    corpus: Corpus
    vocabulary: Vocabulary
    indices: np.ndarray  # the whole text as indices
    training_indices: np.ndarray
    held_out_indices: np.ndarray
    topology: Topology
    table: np.ndarray  # windows.input_table: row i is the model input for character i
    batches: EpochBatches
    held_out: EpochBatches  # None without --validation-split
    model: keras.Model  # the compiled keras model, with the resumed weights and training state
    checkpoint: Checkpoint  # the one resumed, else None
    device: str  # the device: line's text
    metadata: Metadata  # what every checkpoint of the run records
    start: StartPoint

    history_path: str  # history.csv, or --history
    step_limit: int = None  # the --epochs limit in steps (epochs x steps an epoch); None: none

    @property
    def inputs(self):
        """What the run reads, which none of its outputs may overwrite: (what, path) pairs."""
        return run_inputs(self.settings, self.checkpoint, self.corpus.documents)


def set_random_seed(seed):
    """Seed Python, NumPy and the backend so that one seed gives one run on one machine."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # Without this, some TensorFlow CPU kernels reduce in a thread-dependent order.
        tf.config.experimental.enable_op_determinism()


def prepare_checkpoint_dir(directory):
    """Create the folder if needed and prove it is writable before an hour of training."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise UserError(f"checkpoint directory '{directory}' is not writable: "
                        f"{error.strerror}") from None


def warn_if_small(settings, vocab_size, training_length):
    """One line when the model has many more weights than the text has characters (char-rnn's
    rule of thumb is about as many): it will learn the text by heart. Nothing is refused."""
    weights = weight_count(settings, vocab_size)
    if weights > SMALL_TEXT_RATIO * training_length:
        log(f"the model has {weights:,} weights for {training_length:,} characters of "
            f"training text ({weights / max(training_length, 1):.0f} a character; char-rnn's "
            "rule of thumb is about one): it will likely learn the text by heart. Watch "
            "val_loss with --validation-split 0.1, and try fewer --units")


def training_batches(settings, indices, vocabulary, table, seed, shuffle=True):
    """The EpochBatches for this run's layout: windows (the tutorial's, or --targets every),
    --sentences or --stateful."""
    if settings.sentences:
        # Only this layout needs the text as a string, to find where sentences end.
        return SentenceBatches(indices, vocabulary.decode_all(indices), settings.seq_length,
                               settings.batch_size, table, seed, shuffle=shuffle)
    if settings.stateful:
        return StreamBatches(indices, settings.seq_length, settings.batch_size, table, seed,
                             shuffle=shuffle)
    return WindowBatches(indices, settings.seq_length, settings.batch_size, table, seed,
                         targets=settings.targets, shuffle=shuffle)


def held_out_batches(settings, indices, vocabulary, table, seed):
    """The held-out part's batches, in one fixed order; None without --validation-split."""
    if not settings.validation_split:
        return None
    return training_batches(settings, indices, vocabulary, table, seed, shuffle=False)


def check_sentences(settings, parts):
    """Only sentence rows can come out empty: a part with no sentence of two characters."""
    for name, part in parts:
        if part is not None and part.steps == 0:
            raise UserError(f"the {name} part of '{settings.text}' has no sentence of two "
                            "characters or more")


def describe_monitor(settings):
    """The line that says a held-out part chose the monitor (and that the preset held it
    out), when neither was given: the best checkpoint is then the best on held-out text."""
    if settings.monitor != "val_loss" or "monitor" in settings.explicit:
        return []
    held = f"{settings.validation_split:.0%}"
    why = (f"--preset {settings.preset} holds out {held} of the text (--validation-split 0 "
           "trains on all of it)" if "validation_split" not in settings.explicit
           else f"--validation-split {settings.validation_split:g} holds out {held}")
    return [f"{why}: best-only checkpoints track val_loss, the loss on that held-out text "
            "(--monitor loss tracks the training loss)"]


def read_training_text(settings, checkpoint, init=None):
    """(corpus, training part, held-out part, log lines): the text read by the settings'
    rules, checked against the resumed checkpoint's (or put in the vocabulary of --init-from's
    checkpoint), and split: the last fraction, or whole files when there are several."""
    started = time.perf_counter()
    corpus = load_sources(settings.text, TextRules.of(settings), settings.documents)
    shown = describe_sources(settings.text)
    lines = [f"read {shown} in {time.perf_counter() - started:.2f}s"]
    lines += describe_reading(corpus)
    if corpus.lines:
        lines.append(describe_items(corpus))
    if settings.dry_run:
        lines += ["documents read:"] + list_documents(corpus)
        lines.append(f"vocabulary ({len(corpus.vocabulary)} characters): "
                     f"{corpus.vocabulary.chars!r}")
    if checkpoint:
        check_same_text(checkpoint, corpus, settings.text)
    if init:
        corpus = in_vocabulary(corpus, init, shown)
    training, held_out, held = split(corpus, settings.validation_split)
    if held:
        lines.append(describe_held_out(held, len(held_out), len(corpus)))
    elif corpus.lines and settings.validation_split:
        lines.append(describe_held_out_items(corpus, held_out))
    return corpus, training, held_out, lines


def print_figures(settings, corpus):
    """The tutorial's three figures, on stdout."""
    print(f"Total Characters: {len(corpus)}")
    print(f"Total Vocab: {len(corpus.vocabulary)}")
    print(f"Total Patterns: {pattern_count(len(corpus), settings.seq_length)}", flush=True)


def set_up_devices(settings, this_machine):
    """The device: line, the dtype policy and the distribution strategy (or None)."""
    device = report_device()
    set_precision_policy(precision_policy(settings.mixed_precision, this_machine))
    return device, distribution_strategy(settings.distribute)


def out_of_memory(error):
    """Whether a backend's error says memory ran out (TensorFlow's ResourceExhaustedError,
    XLA's RESOURCE_EXHAUSTED, a MemoryError)."""
    return (isinstance(error, MemoryError) or type(error).__name__ == "ResourceExhaustedError"
            or "RESOURCE_EXHAUSTED" in str(error))


def build_compiled_model(settings, topology, total_steps, checkpoint, strategy,
                         start=StartPoint(), init=None):
    """The run's compiled model, under the strategy's scope; a resumed checkpoint's weights
    and training state, or --init-from's weights, are put in it. total_steps: where the
    cosine ends (cosine_end). UserError when memory runs out."""
    try:
        return _build_compiled_model(settings, topology, total_steps, checkpoint, strategy,
                                     start, init)
    except Exception as error:
        if not out_of_memory(error):
            raise
        raise UserError(f"not enough memory for the model (--units {settings.units}, "
                        f"--layers {settings.layers}): lower them") from None


def _build_compiled_model(settings, topology, total_steps, checkpoint, strategy, start,
                          init=None):
    with scope(strategy):
        model = build_model(topology, settings.seq_length,
                            every_position=settings.targets == "every",
                            stateful_batch_size=settings.batch_size if settings.stateful else None)
        compile_model(model, padded_targets=settings.sentences,
                      optimizer=make_optimizer(settings, total_steps))
        if checkpoint and not settings.dry_run:
            model.set_weights(checkpoint.weights)
            skip, absent = restored_names(settings, checkpoint, start)
            restore_training_state(checkpoint.path, model, skip=skip, absent=absent)
        if init and not settings.dry_run:
            model.set_weights(init.weights)  # the topology is the file's: shapes match
    if strategy is not None:
        fit_multi_worker(model, strategy)
    return model


def probe_rate(settings, topology, batches):
    """Steps a second of this run's model on this machine: a throwaway copy, trained on the
    run's first batches (presets.BY_STEPS needs the steps a --minutes budget buys before the
    model is built). Its compilation is not timed."""
    model = build_compiled_model(settings, topology, 0, None, None)
    model.train_on_batch(*batches.batch(0, 0))  # compiles
    started, steps = time.perf_counter(), 0
    while steps < PROBE_STEPS and (steps < 3 or time.perf_counter() - started < PROBE_SECONDS):
        steps += 1
        model.train_on_batch(*batches.batch(0, steps % batches.steps))
    return steps / (time.perf_counter() - started), steps


def scale_to_steps(settings, topology, batches, step_limit, strategy):
    """(settings, log line or None): a preset's regularisation for the steps this run will get
    (presets.BY_STEPS), in the settings not given explicitly. The steps: --max-steps or
    --epochs' bound, or with --minutes a probe's steps a second x the budget. A new run of a
    preset with a table only (resumed and --init-from runs keep their settings)."""
    table = BY_STEPS.get(settings.preset)
    if not table or settings.resume or settings.init_from:
        return settings, None
    free = [name for name in table[0][1] if name not in settings.explicit]
    if not free:
        return settings, None
    if settings.minutes and (settings.dry_run or strategy is not None):
        return settings, (f"--preset {settings.preset}: regularisation as tuned for 1,300 "
                          "steps (the steps a --minutes budget buys are measured when a "
                          "single-machine run starts)")
    if settings.minutes:
        rate, timed = probe_rate(settings, topology, batches)
        steps = round(rate * settings.minutes * 60)
        how = f"{rate:.2f} steps/s over {timed} probe steps x {settings.minutes:g} minutes"
        if step_limit and step_limit < steps:
            steps, how = step_limit, "the --epochs or --max-steps limit"
    elif step_limit:
        steps, how = step_limit, ("--max-steps" if settings.max_steps == step_limit
                                  else "--epochs x the steps an epoch")
    else:
        return settings, None
    chosen = {name: value for name, value in for_steps(settings.preset, steps).items()
              if name in free}
    settings = dataclasses.replace(settings, **chosen)
    shown = ", ".join(f"{name.replace('_', ' ')} {value:g}" for name, value in chosen.items())
    return settings, (f"--preset {settings.preset} for about {steps:,} steps ({how}): {shown} "
                      "(bench/results/step_budgets.txt)")


def topology_of(settings, vocab_size):
    """The model a run's settings describe, for a text of vocab_size characters."""
    embedding = settings.input_encoding == "embedding"
    return Topology(vocab_size=vocab_size, output_size=vocab_size, layers=settings.layers,
                    units=settings.units, dropout=settings.dropout,
                    input_encoding=settings.input_encoding,
                    input_dropout=settings.input_dropout, cell=settings.cell,
                    embedding_size=settings.embedding_size if embedding else None)


def prepare(settings, verbose=1):
    """Everything a run needs before fit, as a PreparedRun: the text, vocabulary, batches,
    compiled model and (with resume) the checkpoint it continues, with the checkpoint's
    weights and training state in the model. Every mistake is found before the device is
    set up. Benchmarks call it too. verbose prints the tutorial's three figures (stdout)."""
    checkpoint = init = None
    if settings.init_from:
        init, settings = initialise_from(settings)
    if settings.resume:
        checkpoint, settings = resume_from(settings)
    corpus, training_indices, held_out_indices, read_lines = read_training_text(
        settings, checkpoint, init)
    this_machine = machine(settings.distribute, settings.mixed_precision)
    validate(settings, TextLengths(len(corpus), len(training_indices), len(held_out_indices),
                                   len(corpus.vocabulary)), this_machine)
    history_path = settings.history or default_path(settings.checkpoint_dir, settings.bigger)
    if not settings.dry_run:
        check_outputs(settings, checkpoint, history_path, corpus.documents)
        prepare_checkpoint_dir(settings.checkpoint_dir)
    # Where it runs, once the text and the folder are known to be good (so that a mistake
    # there stays a one-line error).
    device, strategy = set_up_devices(settings, this_machine)
    if verbose:  # after the device: line, as the README shows
        print_figures(settings, corpus)
    for line in read_lines + describe_monitor(settings):
        log(line)
    if init:
        log(f"starting from the weights of '{init.path}' (--init-from): its topology and "
            "vocabulary, a fresh optimizer, epochs from 1")
    for advice in (encoding_advice(settings, len(corpus.vocabulary)), preset_advice(settings)):
        if advice:
            log(advice)
    settings = dataclasses.replace(settings, seed=choose_seed(settings.seed))
    log(f"random seed: {settings.seed} (pass --seed {settings.seed} to repeat this run)")
    set_random_seed(settings.seed)

    vocabulary = corpus.vocabulary
    topology = topology_of(settings, len(vocabulary))
    table = input_table(topology.vocab_size, topology.input_encoding)
    batches = training_batches(settings, training_indices, vocabulary, table, settings.seed)
    held_out = held_out_batches(settings, held_out_indices, vocabulary, table, settings.seed)
    check_sentences(settings, (("training", batches), ("held-out", held_out)))
    warn_if_small(settings, len(vocabulary), len(training_indices))
    # The cosine schedule's length: every step of every epoch of the run, resumed or not
    # (--minutes: see cosine_end).
    step_limit = None
    if not unbounded(settings.epochs):
        step_limit = settings.epochs * (settings.steps_per_epoch or batches.steps)
    if settings.max_steps:
        step_limit = min(step_limit or settings.max_steps, settings.max_steps)
    settings, scaled = scale_to_steps(settings, topology, batches, step_limit, strategy)
    if scaled:
        log(scaled)
        topology = topology_of(settings, len(vocabulary))
        set_random_seed(settings.seed)  # the probe drew from it: the run starts as if none
    start = start_point(settings, checkpoint)
    total_steps = cosine_end(settings, start, step_limit)
    model = build_compiled_model(settings, topology, total_steps, checkpoint, strategy, start,
                                 init)
    describe_layout(settings, batches, training_indices, held_out_indices)
    log("optimizer: " + describe_optimizer(settings, total_steps))
    # The text's full paths, so that --resume finds it from any folder.
    paths = tuple(os.path.abspath(resolve_text_path(path)) for path in source_list(settings.text))
    settings = dataclasses.replace(settings, text=paths[0] if len(paths) == 1 else paths)
    metadata = Metadata.for_run(settings, vocabulary.chars, len(corpus), corpus.sha256,
                                [document.record() for document in corpus.documents],
                                init and os.path.abspath(init.path))
    return PreparedRun(settings, corpus, vocabulary, corpus.indices, training_indices,
                       held_out_indices, topology, table, batches, held_out, model, checkpoint,
                       device, metadata, start, history_path, step_limit)


def train(settings, verbose=1):
    """Run training as train.py does; returns a TrainResult. UserError for a mistake or a
    diverged run (naming the last good checkpoint). A signal (Ctrl-C, SIGTERM) stops it after
    the current batch: the result then says interrupted, and every checkpoint is kept."""
    run = prepare(settings, verbose)
    settings = run.settings
    if settings.dry_run:
        if verbose:
            run.model.summary()
        return TrainResult(None, None, settings.monitor, [], settings, run.device)
    if run.checkpoint:
        log(f"resuming {run.checkpoint.path} at "
            f"{epoch_label(run.start.epoch + 1, settings.epochs)}, best {settings.monitor} so "
            f"far {run.start.best_value:.4f}")
    # Only one process of a multi-machine run writes files (the others hold the same model).
    writes_files = is_chief()
    history_path = run.history_path
    callbacks = run_callbacks(run, history_path, writes_files, verbose)
    fit(run, callbacks, history_path, writes_files)
    return report(run, callbacks, history_path, writes_files)


def run_inputs(settings, checkpoint, documents=()):
    """What a run reads, which none of its outputs may overwrite: (what, path) pairs, the
    files read from folders and patterns included."""
    return [("text file", resolve_text_path(path)) for path in source_list(settings.text)] + [
        ("text file", document.path) for document in documents] + [
        ("checkpoint resumed", checkpoint.path if checkpoint else None),
        ("checkpoint --init-from", settings.init_from)]


def check_outputs(settings, checkpoint, history_path, documents=()):
    """Before anything is written: the folders are folders, the history file and the loss
    plot beside it may be written (files.check_output), and neither overwrites an input or
    the other."""
    for flag, folder in (("--checkpoint-dir", settings.checkpoint_dir),
                         ("--tensorboard", settings.tensorboard)):
        if folder and os.path.lexists(folder) and not os.path.isdir(folder):
            raise UserError(f"{flag} '{folder}' is {kind_of(folder) or 'a file'}, not a "
                            "folder: name a folder")
    inputs = run_inputs(settings, checkpoint, documents)
    check_output(history_path, "history file", inputs)
    check_output(default_output([history_path]), "loss plot",
                 inputs + [("history file", history_path)])


def fit(run, callbacks, history_path, writes_files):
    """Model.fit from the run's start to its last epoch, holding the folder's lock."""
    settings = run.settings
    data, steps_per_epoch = training_data(run.batches, settings.epochs, run.start.epoch,
                                          settings.steps_per_epoch)
    validation = None
    if run.held_out is not None:
        # One pass, re-read from the start at every epoch's end (no validation_steps).
        validation, _ = training_data(run.held_out, 1)
    with contextlib.ExitStack() as cleanup:
        if writes_files:
            cleanup.enter_context(run_lock(settings.checkpoint_dir))
            claim(settings.checkpoint_dir, run.metadata,
                  run.checkpoint.path if run.checkpoint else None, settings.overwrite,
                  history_path)
            log(describe_text_in_checkpoints(settings, len(run.indices)))
        # An exception out of fit (a full disk, say) skips on_train_end: put the signal
        # handlers back here too.
        cleanup.callback(callbacks.interrupt.on_train_end)
        run.model.fit(data, epochs=settings.epochs, initial_epoch=run.start.epoch,
                      steps_per_epoch=steps_per_epoch, shuffle=False,
                      validation_data=validation, callbacks=callbacks.ordered,
                      verbose=1 if callbacks.progress else 0)


def report(run, callbacks, history_path, writes_files):
    """The run's TrainResult, its last log line and loss plot; UserError if it diverged."""
    settings, checkpointer = run.settings, callbacks.checkpointer
    best = f"{checkpointer.best_path} ({settings.monitor} {checkpointer.best_value:.4f})"
    if not checkpointer.best_path:
        best = "none yet"
    if callbacks.divergence.reason:
        raise UserError(f"training stopped: {callbacks.divergence.reason}; last good "
                        f"checkpoint: {best}. Try a lower --learning-rate or a --clipnorm")
    history, interrupt, early_stop = callbacks.history, callbacks.interrupt, callbacks.early_stop
    if writes_files and history and history.rows:
        draw_history(history_path)
    result = TrainResult(checkpointer.best_path,
                         checkpointer.best_value if checkpointer.best_path else None,
                         settings.monitor, history.rows if history else [], settings,
                         run.device, interrupt.requested, interrupt.signal,
                         stopped_early=bool(early_stop and early_stop.stopped))
    if interrupt.requested:
        log(f"interrupted: best checkpoint {best}")
    elif not writes_files:
        log(f"done: best {settings.monitor} {checkpointer.best_value:.4f} "
            "(the chief wrote the files)")
    else:
        text = "the text" if settings.text_in_checkpoint else "no text"
        log(f"done: best checkpoint {best}; history in {history_path}; checkpoints carry {text}")
    return result


def draw_history(history_path):
    """history.png beside history.csv; where matplotlib is missing (an optional extra), a log
    line saying how to get it. Never fails the run: the CSV has everything."""
    from .plotting import plot_histories  # matplotlib, an optional extra, is imported there

    try:
        log(f"loss plot: {plot_histories([history_path], default_output([history_path]))}")
    except UserError as error:
        log(f"no loss plot: {error}")
    except Exception as error:  # noqa: BLE001 - the run is done and saved: never fail it now
        log(f"no loss plot: drawing it failed ({type(error).__name__}: {error})")


def describe_text_in_checkpoints(settings, text_length):
    """The privacy line: what of the text each checkpoint carries."""
    if not settings.text_in_checkpoint:
        return ("checkpoints carry no text (--no-text-in-checkpoint): generate.py needs --text "
                "or --prime")
    carried = min(text_length, SEED_TEXT_LIMIT)
    held_out = " (held-out part included)" if settings.validation_split else ""
    return (f"checkpoints carry the text's first {carried} characters{held_out} as "
            "generation's seed pool; --no-text-in-checkpoint leaves it out")


def describe_layout(settings, batches, training_indices, held_out_indices):
    """One log line on what an epoch reads, for every layout but the tutorial's."""
    held_out = f"; {len(held_out_indices)} held out" if settings.validation_split else ""
    if settings.sentences:
        what = (f"{batches.count} sentence rows ({batches.predictions} predictions, "
                f"padding skipped)")
    elif settings.stateful:
        what = (f"{settings.batch_size} contiguous streams of {batches.stream_length} "
                f"characters, {batches.steps} stateful steps")
    elif settings.targets == "every":
        what = f"{batches.count} non-overlapping windows"
    elif settings.validation_split:
        what = f"{batches.count} patterns"
    else:
        return
    log(f"training on {len(training_indices)} characters: {what} an epoch{held_out}")
