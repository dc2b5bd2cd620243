"""What happens around each epoch of training: checkpoints, the history file, the divergence
stop, samples of the current text, Ctrl-C, and stateful resets; run_callbacks() puts a run's
callbacks in their order.

Order matters in fit(callbacks=[...]), and run_callbacks() is the one place that sets it:
GracefulInterrupt and DivergenceStop set model.stop_training during a batch, and
BestOnlyCheckpoint, HistoryLog and SampleWriter skip an epoch that was stopped part-way (its
loss covers only some batches and is not comparable). EarlyStop and PlateauDecay act at an
epoch's end, so they come after those (HistoryLog then records the learning rate the epoch
used).

    >>> round(DivergenceStop(vocab_size=43).limit, 4)   # twice ln(43): past it, a run failed
    7.5224
    >>> HistoryLog.COLUMNS[-1]
    'device'
"""

import csv
import dataclasses
import importlib.util
import math
import os
import time

import numpy as np

from .backend import import_keras
from .checkpoint import write_checkpoint
from .decoders import StatefulDecoder
from .errors import UserError
from .folder import checkpoint_name
from .history import COLUMNS, read_rows
from .keras_compat import EpochProgress, moving_averages
from .logs import log
from .optimizer import PLATEAU_FACTOR, PLATEAU_PATIENCE
from .sampling import generate_indices, greedy, make_chooser
from .signals import StopRequests
from .snapshots import snapshot
from .windows import pattern_count

keras = import_keras()  # quietly, once: see charlstm.backend


def _stopped_part_way(model):
    return bool(getattr(model, "stop_training", False))


class BestOnlyCheckpoint(keras.callbacks.Callback):
    """After each epoch: write a checkpoint if the monitored loss beat every earlier epoch of
    this run (and, on resume, of the run it continues), then log one greppable summary line
    ("epoch 3/20 loss 2.1234 ...") on stderr."""

    def __init__(self, directory, bigger, epochs, metadata, seed_text, monitor="loss",
                 best_value=float("inf"), best_path=None, writes_files=True,
                 show_learning_rate=False, inputs=()):
        super().__init__()
        self.inputs = inputs  # (what, path) of the run's inputs, which no file may overwrite
        self.show_learning_rate = show_learning_rate  # a schedule changes it
        self.directory = directory
        self.bigger = bigger
        self.epochs = epochs
        self.metadata = metadata  # the run's metadata.Metadata; each file adds its epoch
        self.seed_text = seed_text  # None: --no-text-in-checkpoint
        self.monitor = monitor
        self.best_value = best_value
        self.best_path = best_path
        self.writes_files = writes_files  # False: track and log only (a non-chief worker)
        self.saved_path = None  # this epoch's file, None if it did not improve
        self.epoch_started = None
        self.seconds = None  # this epoch's duration, also for HistoryLog

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()
        self.saved_path = None

    def on_epoch_end(self, epoch, logs=None):
        loss = float(logs["loss"])
        val_loss = float(logs["val_loss"]) if "val_loss" in logs else None
        number = epoch + 1  # Keras counts from 0, the tutorial's file names from 1
        seconds = self.seconds = time.perf_counter() - self.epoch_started
        if _stopped_part_way(self.model):
            log(f"epoch {number}/{self.epochs} stopped after {seconds:.1f}s: no checkpoint")
            return
        value = val_loss if self.monitor == "val_loss" else loss
        saved = "not improved"
        if value < self.best_value:  # never true for NaN
            name = checkpoint_name(number, loss, self.bigger, val_loss)
            path = os.path.join(self.directory, name)
            if self.writes_files:
                try:
                    write_checkpoint(path, snapshot(self.model),
                                     self.metadata.at_epoch(number, loss, val_loss),
                                     self.seed_text, inputs=self.inputs)
                except UserError as error:  # a full disk: the earlier files are intact
                    raise UserError(f"{error}; last good checkpoint: "
                                    f"{self.best_path or 'none yet'}") from None
            self.best_value, self.best_path, self.saved_path = value, path, path
            saved = f"saved {path}" if self.writes_files else "improved (the chief saves it)"
        validation = f" val_loss {val_loss:.4f}" if val_loss is not None else ""
        rate = ""
        if self.show_learning_rate:  # at the epoch's end (a plateau halving comes after)
            rate = (" lr " + format(float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate)), ".3g"))
        log(f"epoch {number}/{self.epochs} loss {loss:.4f}{validation} "
            f"best {self.best_value:.4f}{rate} time {seconds:.1f}s {saved}")


class HistoryLog(keras.callbacks.Callback):
    """One CSV row per completed epoch, flushed at once, so a crash loses nothing: epoch,
    loss, val_loss (empty without a held-out part), learning_rate, seconds, checkpoint
    (the file written that epoch, empty if the loss did not improve; both read from the
    BestOnlyCheckpoint that runs before it) and device (where the epoch ran, so that its
    seconds say where they came from). A new run starts the file afresh; a run resumed
    after epoch E (resumed_after=E) keeps the rows up to E and carries on from there
    (rows of epochs after the checkpoint it resumed are dropped). `rows` holds the same
    rows as dicts, for charlstm.train()'s result. The rows a resumed run keeps are read
    (history.read_rows: a damaged file is refused) when it is made, before any training."""

    COLUMNS = COLUMNS

    def __init__(self, path, checkpointer, device="", resumed_after=None):
        super().__init__()
        self.path = path
        self.checkpointer = checkpointer  # the BestOnlyCheckpoint that runs before it
        self.device = device
        self.resumed_after = resumed_after
        self.rows = []
        self.kept = []
        if resumed_after is not None and os.path.exists(path):
            try:
                self.kept = [row for row in read_rows(path)
                             if int(row["epoch"]) <= resumed_after]
            except UserError as error:
                raise UserError(f"{error}; move it away, or give another --history") from None

    def on_train_begin(self, logs=None):
        kept = self.kept
        try:
            with open(self.path, "w", newline="") as handle:
                writer = csv.DictWriter(handle, self.COLUMNS, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(kept)
        except OSError as error:
            raise UserError(f"cannot write history file '{self.path}': "
                            f"{error.strerror}") from None
        self.rows = [{column: row.get(column) or "" for column in self.COLUMNS}
                     for row in kept]

    def on_epoch_end(self, epoch, logs=None):
        if _stopped_part_way(self.model):
            return
        learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        val_loss = f"{float(logs['val_loss']):.6f}" if "val_loss" in logs else ""
        values = (epoch + 1, f"{float(logs['loss']):.6f}", val_loss, f"{learning_rate:.6g}",
                  f"{self.checkpointer.seconds:.2f}", self.checkpointer.saved_path or "",
                  self.device)
        self.rows.append(dict(zip(self.COLUMNS, (str(value) for value in values))))
        try:
            with open(self.path, "a", newline="") as handle:
                csv.writer(handle).writerow(values)
        except OSError as error:
            raise UserError(f"cannot write history file '{self.path}': {error.strerror}; "
                            "last good checkpoint: "
                            f"{self.checkpointer.best_path or 'none yet'}") from None


class DivergenceStop(keras.callbacks.Callback):
    """Stop when the loss becomes NaN or infinite, or explodes: a running loss above twice
    ln(vocabulary size), which is twice the loss of guessing every character with equal odds,
    a level no working run comes back from. The epoch's partial loss is not checkpointed, so
    the last good checkpoint stays the best one."""

    def __init__(self, vocab_size):
        super().__init__()
        self.limit = 2 * math.log(vocab_size)
        self.reason = None

    def _check(self, loss, where):
        if loss is None:
            return
        loss = float(loss)
        if not math.isfinite(loss):
            self.reason = f"the loss became {loss} {where}"
        elif loss > self.limit:
            self.reason = (f"the loss exploded to {loss:.4f} {where}, above {self.limit:.2f} "
                           "(twice the loss of guessing every character with equal odds)")
        if self.reason:
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.reason is None:
            self._check((logs or {}).get("loss"), f"at epoch {self.epoch}, batch {batch + 1}")


class SampleWriter(keras.callbacks.Callback):
    """Every `every` epochs, log a greedy and a temperature-0.5 continuation of one fixed
    prime (a window of the training text) from the current weights, so the text can be
    watched improving. The stateful decoder computes them from the weights in NumPy: no
    model is built or traced."""

    def __init__(self, every, topology, vocabulary, prime, length=200, random_seed=0):
        super().__init__()
        self.every = every
        self.topology = topology
        self.vocabulary = vocabulary
        self.prime = np.asarray(prime)[None, :]  # one row: the decoders take a batch
        self.length = length
        self.random_seed = random_seed

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or _stopped_part_way(self.model):
            return
        decoder = StatefulDecoder(self.model, self.topology)
        tempered = make_chooser(0.5, rng=np.random.default_rng([self.random_seed, epoch]))
        prime_text = self.vocabulary.decode(self.prime[0])
        lines = [f'sample after epoch {epoch + 1}, seed: "{prime_text}"']
        for label, choose in (("greedy", greedy), ("temperature 0.5", tempered)):
            steps = generate_indices(decoder, self.prime, self.length, choose)
            indices = [row[0] for row in steps]
            lines.append(f"--- {label}:\n{self.vocabulary.decode(indices)}")
        log("\n".join(lines) + "\n---")


class StateReset(keras.callbacks.Callback):
    """Stateful training: a fresh LSTM state at the start of each epoch and of validation."""

    def _reset(self):
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_states()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()

class GracefulInterrupt(keras.callbacks.Callback):
    """First Ctrl-C (SIGINT) or SIGTERM: finish the current batch, stop training, keep every
    checkpoint; `signal` says which one came. A second one stops the process at once, even
    in the middle of a long batch (exit status 130 or 143): the epoch under way is lost,
    every checkpoint written before it is kept (writes are atomic), and the next run in the
    folder removes what the stop left (a temporary file, the lock). charlstm.signals does
    the work; this puts it around fit()."""

    def __init__(self):
        super().__init__()
        self.requests = StopRequests(
            watch=True,
            first_message="{name}: stopping after this batch (Ctrl-C again to stop at once)",
            second_message="{name} again: stopping now; this epoch is lost, every checkpoint "
                           "written before it is kept")

    @property
    def requested(self):
        return self.requests.requested

    @property
    def signal(self):
        return self.requests.signal

    def on_train_begin(self, logs=None):
        self.requests.start()

    def on_train_batch_end(self, batch, logs=None):
        if self.requests.requested:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.requests.stop()



class AverageForValidation(keras.callbacks.Callback):
    """--ema: score the held-out part with the weights' moving average, then put the raw
    weights back for training. (Checkpoints read the average from the optimizer.)"""

    def __init__(self):
        super().__init__()
        self.raw = None

    def on_test_begin(self, logs=None):
        averages = moving_averages(self.model)
        if not averages:  # before the first step
            return
        variables = self.model.trainable_variables
        self.raw = [keras.ops.convert_to_numpy(variable) for variable in variables]
        for variable in variables:
            # A copy: on JAX, sharing the average's buffer would let the next step's
            # buffer donation delete it.
            variable.assign(keras.ops.convert_to_numpy(averages[variable.path]))

    def on_test_end(self, logs=None):
        if self.raw is not None:
            for variable, value in zip(self.model.trainable_variables, self.raw):
                variable.assign(value)
            self.raw = None


class StartsFromResumedBest:
    """For Keras' callbacks that track a best value (ReduceLROnPlateau, EarlyStopping): a
    resumed run starts from the best value its checkpoint recorded, not from infinity."""

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if math.isfinite(self.resumed_best):
            self.best = self.resumed_best


class PlateauDecay(StartsFromResumedBest, keras.callbacks.ReduceLROnPlateau):
    """--lr-schedule plateau: Keras' ReduceLROnPlateau, halving the learning rate after
    each epoch whose monitored loss did not beat the best. Improvement means lower, as
    for checkpoints (no min_delta), so a run resumed from a checkpoint (always an
    improvement, so nothing was waiting) carries on as if it had never stopped; the
    lowered learning rate itself is in the checkpoint's optimizer state."""

    def __init__(self, monitor, best_value):
        super().__init__(monitor=monitor, factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE,
                         min_delta=0, verbose=0)
        self.resumed_best = best_value

    def on_epoch_end(self, epoch, logs=None):
        if not _stopped_part_way(self.model):
            super().on_epoch_end(epoch, logs)


class EarlyStop(StartsFromResumedBest, keras.callbacks.EarlyStopping):
    """--early-stopping N: Keras' EarlyStopping, ending the run after N epochs in a row
    without a better monitored loss (strictly lower, as for checkpoints). The best
    checkpoint stays the run's answer; the weights in memory are not rewound. It runs
    after the checkpoint and history callbacks, which would otherwise take its stop for
    an interrupted epoch."""

    def __init__(self, monitor, patience, best_value):
        super().__init__(monitor=monitor, patience=patience, min_delta=0, verbose=0)
        self.resumed_best = best_value
        self.stopped = False

    def on_epoch_end(self, epoch, logs=None):
        if _stopped_part_way(self.model):
            return
        super().on_epoch_end(epoch, logs)
        if self.model.stop_training:
            self.stopped = True
            log(f"early stopping: no better {self.monitor} in {self.patience} "
                f"epoch{'s' if self.patience > 1 else ''}")


def tensorboard_callback(directory):
    """Keras' TensorBoard callback. It writes through TensorFlow's summary API, which needs
    the tensorboard package: an optional extra, checked before any training happens."""
    for package in ("tensorflow", "tensorboard"):
        if importlib.util.find_spec(package) is None:
            raise UserError(f"--tensorboard needs the {package} package: "
                            f"pip install {package}")
    return keras.callbacks.TensorBoard(log_dir=directory)


@dataclasses.dataclass
class RunCallbacks:
    """A run's callbacks in the order fit() calls them (`ordered`), and the ones train()
    reads afterwards."""

    ordered: list
    interrupt: GracefulInterrupt
    divergence: DivergenceStop
    checkpointer: BestOnlyCheckpoint
    history: HistoryLog  # None where this process writes no files
    early_stop: EarlyStop  # None without --early-stopping


def _sample_writer(run):
    """SampleWriter on one window of the training text, drawn from the run's random seed."""
    settings = run.settings
    rng = np.random.default_rng(settings.seed)
    start = int(rng.integers(0, pattern_count(len(run.training_indices), settings.seq_length)))
    prime = run.training_indices[start : start + settings.seq_length]
    return SampleWriter(settings.sample_every, run.topology, run.vocabulary, prime,
                        random_seed=settings.seed)


def run_callbacks(run, history_path, writes_files, verbose):
    """The callbacks of a prepared run (training.PreparedRun), in their order (see above)."""
    settings, start = run.settings, run.start
    checkpointer = BestOnlyCheckpoint(
        settings.checkpoint_dir, settings.bigger, settings.epochs, run.metadata,
        run.indices if settings.text_in_checkpoint else None, monitor=settings.monitor,
        best_value=start.best_value, best_path=start.best_path, writes_files=writes_files,
        show_learning_rate=settings.lr_schedule != "constant", inputs=run.inputs)
    interrupt, divergence = GracefulInterrupt(), DivergenceStop(len(run.vocabulary))
    # The progress bar first, so that it finishes its line before the summary line; the
    # state reset next, before any batch.
    ordered = [EpochProgress()] if verbose else []
    if settings.stateful:
        ordered.append(StateReset())
    ordered += [interrupt, divergence, checkpointer]
    history = None
    if writes_files:
        history = HistoryLog(history_path, checkpointer, run.device,
                             resumed_after=start.epoch if run.checkpoint else None)
        ordered.append(history)
    if settings.sample_every:
        ordered.append(_sample_writer(run))
    if settings.tensorboard and writes_files:
        ordered.append(tensorboard_callback(settings.tensorboard))
    if settings.ema and run.held_out is not None:
        ordered.append(AverageForValidation())
    # These two act at an epoch's end, after the checkpoint and the history row.
    if settings.lr_schedule == "plateau":
        ordered.append(PlateauDecay(settings.monitor, start.best_value))
    early_stop = None
    if settings.early_stopping:
        early_stop = EarlyStop(settings.monitor, settings.early_stopping, start.best_value)
        ordered.append(early_stop)
    return RunCallbacks(ordered, interrupt, divergence, checkpointer, history, early_stop)
