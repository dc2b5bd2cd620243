"""Training: the tutorial's fit on pattern windows, with best-only .hdf5 checkpoints, and
--resume, which carries on from a checkpoint exactly as if the run had never stopped.

train() takes resolved Settings (charlstm.config) and returns a TrainResult; charlstm.train()
and train.py are its two callers.

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
from types import SimpleNamespace

import numpy as np

from .backend import choose_seed, import_keras, set_random_seed
from .checkpoint import SEED_TEXT_LIMIT, load_checkpoint, restore_training_state
from .config import (ADJUSTABLE, BY_NAME, CONTENT, FIXED, Settings, from_metadata,
                     to_metadata)
from .corpus import load_corpus, resolve_text_path, split_held_out
from .devices import (distribution_strategy, fit_multi_worker, is_chief, mixed_precision_policy,
                      report_device, scope)
from .errors import UserError
from .folder import claim, run_lock
from .logs import log
from .models import Topology, build_model, compile_model
from .optimizer import check_schedule, describe_optimizer, make_optimizer
from .sequences import SentenceBatches, StreamBatches
from .windows import WindowBatches, input_table, pattern_count, training_data


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


def prepare_checkpoint_dir(directory):
    """Create the folder if needed and prove it is writable before an hour of training."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise UserError(f"checkpoint directory '{directory}' is not writable: "
                        f"{error.strerror}") from None


def apply_resume(settings):
    """Load settings.resume's checkpoint and take its settings into settings, by each
    setting's resume rule (charlstm.config); UserError if it cannot be resumed or an explicit
    value contradicts a fixed setting. Returns the checkpoint."""
    path = settings.resume
    checkpoint = load_checkpoint(path)
    if not checkpoint.has_training_state:
        raise UserError(
            f"'{path}' has no optimizer state, so it cannot be resumed (a legacy file, "
            "or one written before --resume existed)"
        )
    try:
        recorded = from_metadata(checkpoint.metadata, (FIXED, ADJUSTABLE))
    except KeyError as error:
        raise UserError(f"'{path}' does not record its setting {error}") from None
    # The values were checked when the file was read; resuming also needs where it stopped.
    loss_key = "val_loss" if recorded["monitor"] == "val_loss" else "loss"
    for key in ("epoch", loss_key):
        if checkpoint.metadata.get(key) is None:
            raise UserError(f"weights file '{path}' is damaged: its metadata has no {key}")
    for name, value in recorded.items():
        setting = BY_NAME[name]
        given = getattr(settings, name)
        if name in settings.explicit and setting.resume == FIXED and given != value:
            if setting.const is not None and given == setting.const:
                raise UserError(f"cannot resume with {setting.flag_name}: '{path}' was "
                                "trained without it")
            raise UserError(f"cannot resume with {setting.flag_name} {given}: "
                            f"'{path}' was trained with {value}")
        if name not in settings.explicit:
            setattr(settings, name, value)
    recorded_text = checkpoint.metadata.get(BY_NAME["text"].key)
    if "text" not in settings.explicit and recorded_text and os.path.exists(recorded_text):
        settings.text = recorded_text  # CONTENT: check_same_text compares what it holds
    assert BY_NAME["text"].resume == CONTENT
    if "checkpoint_dir" not in settings.explicit:
        settings.checkpoint_dir = os.path.dirname(path) or "."
    done = checkpoint.metadata["epoch"]
    if settings.epochs <= done:
        raise UserError(f"'{path}' has already trained {done} epochs: "
                        f"give --epochs more than {done} to train further")
    return checkpoint


def check_same_text(checkpoint, corpus, text_path):
    """Refuse to resume on another text: name the characters or the length that differ."""
    metadata = checkpoint.metadata
    vocabulary = corpus.vocabulary
    if vocabulary != checkpoint.vocabulary:
        added = "".join(sorted(set(vocabulary.chars) - set(checkpoint.vocabulary.chars)))
        missing = "".join(sorted(set(checkpoint.vocabulary.chars) - set(vocabulary.chars)))
        raise UserError(
            f"cannot resume on '{text_path}': its vocabulary differs from the checkpoint's "
            f"(new characters {added!r}, missing {missing!r})"
        )
    if corpus.sha256 != metadata["text_sha256"]:
        raise UserError(
            f"cannot resume on '{text_path}' ({len(corpus)} characters): '{checkpoint.path}' "
            f"was trained on another text, {metadata['text_name']} "
            f"({metadata['text_length']} characters)"
        )


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


def check_layout(settings, part_name, part):
    """UserError unless this part of the text gives at least one batch row."""
    length = len(part)
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
            f"the {part_name} part of '{settings.text}' has {length} characters: it must be "
            f"longer than --seq-length ({settings.seq_length})"
            + ("; change --validation-split" if settings.validation_split else "")
        )


def check_settings(settings):
    """Refuse combinations no layout supports; the layouts that train every position set
    targets to "every"."""
    if settings.monitor == "val_loss" and not settings.validation_split:
        raise UserError("--monitor val_loss needs a held-out part: give --validation-split")
    check_schedule(settings)
    if settings.stateful and settings.steps_per_epoch:
        raise UserError("--steps-per-epoch would cut a --stateful pass, whose state runs "
                        "from the start of the text to its end: leave it out")
    if settings.sentences and settings.stateful:
        raise UserError("--sentences and --stateful are two different layouts: choose one")
    for layout in ("sentences", "stateful"):
        if getattr(settings, layout):
            if "targets" in settings.explicit and settings.targets == "last":
                raise UserError(f"--{layout} trains every position: it cannot be combined "
                                "with --targets last")
            settings.targets = "every"


def prepare(settings, verbose=1):
    """Everything a run needs before fit: the text, vocabulary, batches, compiled model and
    (with resume) the checkpoint it continues, with the checkpoint's weights and training
    state in the model. Benchmarks call it too. verbose prints the tutorial's three figures
    (stdout)."""
    checkpoint = apply_resume(settings) if settings.resume else None
    check_settings(settings)
    started = time.perf_counter()
    corpus = load_corpus(settings.text, settings.strip_punctuation)
    if len(corpus) <= settings.seq_length:
        raise UserError(
            f"text file '{settings.text}' has {len(corpus)} characters: it must be longer "
            f"than --seq-length ({settings.seq_length}) to give one pattern"
        )
    read_seconds = time.perf_counter() - started
    vocabulary, indices = corpus.vocabulary, corpus.indices
    if checkpoint:
        check_same_text(checkpoint, corpus, settings.text)
    if verbose:
        print(f"Total Characters: {len(corpus)}")
        print(f"Total Vocab: {len(vocabulary)}")
        print(f"Total Patterns: {pattern_count(len(corpus), settings.seq_length)}", flush=True)
    training_indices, held_out_indices = split_held_out(indices, settings.validation_split)
    check_layout(settings, "training", training_indices)
    if settings.validation_split:
        check_layout(settings, "held-out", held_out_indices)

    if not settings.dry_run:
        prepare_checkpoint_dir(settings.checkpoint_dir)
    # Where it runs, once the text and the folder are known to be good (so that a mistake
    # there stays a one-line error) and before the device is set up.
    device = report_device()
    mixed_precision_policy(settings.mixed_precision)
    strategy = distribution_strategy(settings.distribute)
    if strategy is not None and settings.stateful:
        raise UserError("--stateful keeps one state per batch row, which replicas cannot "
                        "share: leave out --distribute")
    if strategy is not None and os.environ.get("TF_CONFIG") and settings.seed is None:
        raise UserError("a multi-machine run (TF_CONFIG) needs the same --seed on every "
                        "machine, so that they read the same batches")
    if strategy is not None and settings.batch_size % strategy.num_replicas_in_sync:
        raise UserError(f"--batch-size {settings.batch_size} does not split evenly over "
                        f"{strategy.num_replicas_in_sync} replicas")
    log(f"read '{resolve_text_path(settings.text)}' in {read_seconds:.2f}s")
    settings.seed = choose_seed(settings.seed)
    log(f"random seed: {settings.seed} (pass --seed {settings.seed} to repeat this run)")
    set_random_seed(settings.seed)

    topology = Topology(
        vocab_size=len(vocabulary),
        output_size=len(vocabulary),
        layers=settings.layers,
        units=settings.units,
        dropout=settings.dropout,
        input_encoding=settings.input_encoding,
        input_dropout=settings.input_dropout,
    )
    table = input_table(topology.vocab_size, topology.input_encoding)
    batches = training_batches(settings, training_indices, vocabulary, table, settings.seed)
    held_out = None
    if settings.validation_split:
        held_out = training_batches(settings, held_out_indices, vocabulary, table,
                                    settings.seed, shuffle=False)
    for name, part in (("training", batches), ("held-out", held_out)):
        if part is not None and part.steps == 0:  # only sentences can come out empty
            raise UserError(f"the {name} part of '{settings.text}' has no sentence of two "
                            "characters or more")
    # The cosine schedule's length: every step of every epoch of the run, resumed or not.
    total_steps = settings.epochs * (settings.steps_per_epoch or batches.steps)
    with scope(strategy):
        model = build_model(topology, settings.seq_length,
                            every_position=settings.targets == "every",
                            stateful_batch_size=settings.batch_size if settings.stateful else None)
        compile_model(model, padded_targets=settings.sentences,
                      optimizer=make_optimizer(settings, total_steps))
        if checkpoint and not settings.dry_run:
            model.set_weights(checkpoint.weights)
            # A new --learning-rate takes effect on resume; otherwise plateau's lowered rate
            # is the checkpoint's (the recorded setting is only where it started).
            keep_rate = (settings.lr_schedule == "plateau"
                         and "learning_rate" not in settings.explicit)
            restore_training_state(checkpoint.path, model,
                                   skip=() if keep_rate else ("learning_rate",))
    if strategy is not None:
        fit_multi_worker(model, strategy)
    describe_layout(settings, batches, training_indices, held_out_indices)
    log("optimizer: " + describe_optimizer(settings, total_steps))
    return SimpleNamespace(
        corpus=corpus, vocabulary=vocabulary, indices=indices, training_indices=training_indices,
        held_out_indices=held_out_indices, topology=topology, table=table, batches=batches,
        held_out=held_out, model=model, seed=settings.seed, checkpoint=checkpoint,
        device=device,
    )


def train(settings, verbose=1):
    """Run training as train.py does; returns a TrainResult. UserError for a mistake or a
    diverged run (naming the last good checkpoint). A signal (Ctrl-C, SIGTERM) stops it after
    the current batch: the result then says interrupted, and every checkpoint is kept."""
    from .callbacks import (AverageForValidation, BestOnlyCheckpoint, DivergenceStop,
                            EarlyStop, EpochProgress, GracefulInterrupt, HistoryLog,
                            PlateauDecay, SampleWriter, StateReset)

    import_keras()  # quietly, if the caller has not
    run = prepare(settings, verbose)
    model, vocabulary, checkpoint = run.model, run.vocabulary, run.checkpoint
    if settings.dry_run:
        if verbose:
            model.summary()
        return TrainResult(None, None, settings.monitor, [], settings, run.device)

    initial_epoch, best_value, best_path = 0, float("inf"), None
    if checkpoint:
        initial_epoch = checkpoint.metadata["epoch"]
        best_value = checkpoint.metadata["val_loss" if settings.monitor == "val_loss" else "loss"]
        best_path = checkpoint.path
        log(f"resuming {checkpoint.path} at epoch {initial_epoch + 1}/{settings.epochs}, "
            f"best {settings.monitor} so far {best_value:.4f}")

    # The text's full path, so that --resume finds it from any folder.
    settings.text = os.path.abspath(resolve_text_path(settings.text))
    metadata = dict(to_metadata(settings), vocabulary=vocabulary.chars,
                    text_name=os.path.basename(settings.text), text_length=len(run.corpus),
                    text_sha256=run.corpus.sha256)
    interrupt = GracefulInterrupt()
    divergence = DivergenceStop(len(vocabulary))
    # Only one process of a multi-machine run writes files (the others hold the same model).
    writer = is_chief()
    # The text travels in each checkpoint as generation's pool of seed windows, unless the
    # user keeps it out (--no-text-in-checkpoint).
    seed_text = run.indices if settings.text_in_checkpoint else None
    checkpoints = BestOnlyCheckpoint(settings.checkpoint_dir, settings.bigger, settings.epochs,
                                     metadata, seed_text, monitor=settings.monitor,
                                     best_value=best_value, best_path=best_path, write=writer,
                                     show_learning_rate=settings.lr_schedule != "constant")
    history_path = settings.history or os.path.join(settings.checkpoint_dir,
                                                    history_name(settings.bigger))
    # The progress bar first, so that it finishes its line before the summary line.
    callbacks = [EpochProgress()] if verbose else []
    callbacks += [interrupt, divergence, checkpoints]
    history = None
    if writer:
        history = HistoryLog(history_path, checkpoints, run.device,
                             resumed_after=initial_epoch if checkpoint else None)
        callbacks.append(history)
    if settings.stateful:
        callbacks.insert(1 if verbose else 0, StateReset())
    if settings.sample_every:
        rng = np.random.default_rng(settings.seed)
        start = int(rng.integers(0, pattern_count(len(run.training_indices),
                                                  settings.seq_length)))
        callbacks.append(SampleWriter(settings.sample_every, run.topology, vocabulary,
                                      run.training_indices[start : start + settings.seq_length],
                                      random_seed=settings.seed))
    if settings.tensorboard and writer:
        callbacks.append(tensorboard_callback(settings.tensorboard))
    if settings.ema and run.held_out is not None:
        callbacks.append(AverageForValidation())
    # These two act at an epoch's end, after the checkpoint and the history row.
    if settings.lr_schedule == "plateau":
        callbacks.append(PlateauDecay(settings.monitor, best_value))
    early_stop = None
    if settings.early_stopping:
        early_stop = EarlyStop(settings.monitor, settings.early_stopping, best_value)
        callbacks.append(early_stop)

    data, steps_per_epoch = training_data(run.batches, settings.epochs, initial_epoch,
                                          settings.steps_per_epoch)
    validation = None
    if run.held_out is not None:
        # One pass, re-read from the start at every epoch's end (no validation_steps).
        validation, _ = training_data(run.held_out, 1)
    with contextlib.ExitStack() as cleanup:
        if writer:
            cleanup.enter_context(run_lock(settings.checkpoint_dir))
            claim(settings.checkpoint_dir, metadata, checkpoint.path if checkpoint else None,
                  settings.overwrite, history_path)
            log(describe_text_in_checkpoints(settings, len(run.indices)))
        # An exception out of fit (a full disk, say) skips on_train_end: put the signal
        # handlers back here too.
        cleanup.callback(interrupt.on_train_end)
        model.fit(data, epochs=settings.epochs, initial_epoch=initial_epoch,
                  steps_per_epoch=steps_per_epoch, shuffle=False, validation_data=validation,
                  callbacks=callbacks, verbose=1 if verbose else 0)
    best = f"{checkpoints.best_path} ({settings.monitor} {checkpoints.best_value:.4f})"
    if not checkpoints.best_path:
        best = "none yet"
    if divergence.reason:
        raise UserError(f"training stopped: {divergence.reason}; last good checkpoint: {best}. "
                        "Try a lower --learning-rate or a --clipnorm")
    if writer and history and history.rows:
        draw_history(history_path)
    result = TrainResult(checkpoints.best_path,
                         checkpoints.best_value if checkpoints.best_path else None,
                         settings.monitor, history.rows if history else [], settings,
                         run.device, interrupt.requested, interrupt.signal,
                         stopped_early=bool(early_stop and early_stop.stopped))
    if interrupt.requested:
        log(f"interrupted: best checkpoint {best}")
    elif not writer:
        log(f"done: best {settings.monitor} {checkpoints.best_value:.4f} "
            "(the chief wrote the files)")
    else:
        text = "the text" if settings.text_in_checkpoint else "no text"
        log(f"done: best checkpoint {best}; history in {history_path}; checkpoints carry {text}")
    return result


def draw_history(history_path):
    """history.png beside history.csv; where matplotlib is missing (an optional extra), a log
    line saying how to get it. Never fails the run: the CSV has everything."""
    from .plotting import default_output, plot_histories

    try:
        log(f"loss plot: {plot_histories([history_path], default_output([history_path]))}")
    except UserError as error:
        log(f"no loss plot: {error}")


def history_name(bigger):
    """The default history file: history.csv, or history-bigger.csv for --bigger, whose
    checkpoints may share a folder with the small model's, as in the tutorial."""
    return "history-bigger.csv" if bigger else "history.csv"


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


def tensorboard_callback(directory):
    """Keras' TensorBoard callback. It writes through TensorFlow's summary API, which needs
    the tensorboard package: an optional extra, checked before any training happens."""
    import importlib.util

    keras = import_keras()
    for package in ("tensorflow", "tensorboard"):
        if importlib.util.find_spec(package) is None:
            raise UserError(f"--tensorboard needs the {package} package: "
                            f"pip install {package}")
    return keras.callbacks.TensorBoard(log_dir=directory)
