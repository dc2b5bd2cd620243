"""What happens around each epoch of training: checkpoints, the history file, the divergence
stop, samples of the current text, Ctrl-C, stateful resets, and the clock with its time
budget; run_callbacks() puts a run's callbacks in their order.

Order matters in fit(callbacks=[...]), and run_callbacks() is the one place that sets it:
GracefulInterrupt and DivergenceStop set model.stop_training during a batch, and
BestOnlyCheckpoint, HistoryLog and SampleWriter skip an epoch that was stopped part-way (its
loss covers only some batches and is not comparable). TimeBudget stops one too when the time
is up, but that epoch was cut on purpose and ends as any other; it comes before
BestOnlyCheckpoint, which records its clock. EarlyStop and PlateauDecay act at an
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

from ..system.backend import import_keras
from ..checkpoints.format import write_checkpoint
from ..config import unbounded
from ..generation.decoders import StatefulDecoder
from ..errors import UserError
from ..checkpoints.run_folder import checkpoint_name
from ..checkpoints.history import COLUMNS, read_rows
from ..model.keras_compat import EpochProgress, moving_averages
from ..logs import log, show_progress_bar
from ..model.optimizer import PLATEAU_FACTOR, PLATEAU_PATIENCE, planned_cosine
from ..generation.sampling import generate_indices, greedy, make_chooser
from ..system.signals import StopRequests
from ..checkpoints.snapshots import snapshot
from ..text.windows import pattern_count

keras = import_keras()  # quietly, once: see charlstm.system.backend


# Set on the model by TimeBudget when the budget stops an epoch: that epoch is cut short on
# purpose and ends as any epoch does (validation, a checkpoint if it improved, a history row).
BUDGET_SPENT = "charlstm_budget_spent"


def _stopped_part_way(model):
    """Whether a signal or a divergence stopped the epoch part-way (not the time budget)."""
    return (bool(getattr(model, "stop_training", False))
            and not getattr(model, BUDGET_SPENT, False))


def epoch_label(number, epochs):
    """"epoch 3/20", or "epoch 3" where the epochs are no limit (--minutes alone)."""
    return f"epoch {number}" if unbounded(epochs) else f"epoch {number}/{epochs}"


class BestOnlyCheckpoint(keras.callbacks.Callback):
    """After each epoch: write a checkpoint if the monitored loss beat every earlier epoch of
    this run (and, on resume, of the run it continues), then log one greppable summary line
    ("epoch 3/20 loss 2.1234 ...") on stderr."""

    def __init__(self, directory, bigger, epochs, metadata, seed_text, monitor="loss",
                 best_value=float("inf"), best_path=None, writes_files=True,
                 show_learning_rate=False, inputs=(), clock=None):
        super().__init__()
        self.clock = clock  # the run's TimeBudget, whose fields each checkpoint records
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
            log(f"{epoch_label(number, self.epochs)} stopped after {seconds:.1f}s: "
                "no checkpoint")
            return
        value = val_loss if self.monitor == "val_loss" else loss
        saved = "not improved"
        if value < self.best_value:  # never true for NaN
            name = checkpoint_name(number, loss, self.bigger, val_loss)
            path = os.path.join(self.directory, name)
            if self.writes_files:
                try:
                    clock = self.clock.fields() if self.clock else None
                    write_checkpoint(path, snapshot(self.model),
                                     self.metadata.at_epoch(number, loss, val_loss, clock),
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
        log(f"{epoch_label(number, self.epochs)} loss {loss:.4f}{validation} "
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
    folder removes what the stop left (a temporary file, the lock). charlstm.system.signals does
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



# The time plan (--minutes with --lr-schedule cosine): after the first step (which compiles),
# time PLAN_STEPS steps and at least PLAN_MIN_SHARE of the budget (fast steps: 50 of a GPU's
# take a fraction of a second, too short to average out a hiccup), or fewer steps where
# PLAN_SHARE of the budget has gone by first (slow steps).
PLAN_STEPS = 50
PLAN_MIN_SHARE = 0.01
PLAN_SHARE = 0.05
# Then every REPLAN_SHARE of the budget the plan is fitted again, from the steps a second of
# that last stretch (validation and checkpoint writes included, as they recur): a machine
# that gets busier or quieter in the middle of a run still ends it within about that share
# of its budget (issue 32). A re-plan that moves the end by less than REPLAN_LOGGED of the
# steps is not logged: most of them are the same plan, give or take a few steps.
REPLAN_SHARE = 0.05
REPLAN_LOGGED = 0.1


def clock_time(seconds_from_now=0.0):
    """The local time of day, seconds from now: "14:03:27"."""
    return time.strftime("%H:%M:%S", time.localtime(time.time() + seconds_from_now))


class TimeBudget(keras.callbacks.Callback):
    """The run's clock, and with --minutes its budget.

    The clock counts the seconds of training and the steps, carrying on from the resumed
    checkpoint's (`start`, a training.resume.StartPoint); every checkpoint records them (fields()).
    It starts when the run's first step is done: that step compiles, which takes from a
    second to many on a busy CPU, and is not training. Everything after it counts
    (validation, checkpoint writes).

    With a budget and no cosine, the run stops after the batch during which the budget runs
    out. With --lr-schedule cosine it makes a plan: the steps a second of the steps after the
    first one (compilation excluded; see PLAN_STEPS), then the cosine's end = this step +
    that rate x the time left (no later than `step_limit`, the --epochs bound), set in the
    optimizer's schedule (`cosine`, a PlannedCosine) and logged on one line; the run stops at
    that step, where the learning rate is 0. Every REPLAN_SHARE of the budget after that, the
    plan is fitted again from the latest stretch's rate, the cosine carrying on smoothly to
    the new end (PlannedCosine.replan). A resumed run keeps its checkpoint's plan
    (start.planned_steps) unless its budget changed, and re-fits it as it goes. Either way the
    epoch cut short ends as any epoch does: the model's BUDGET_SPENT tells the other
    callbacks it was not interrupted."""

    def __init__(self, minutes, start, cosine=None, step_limit=None, max_steps=None):
        super().__init__()
        self.budget = minutes * 60 if minutes else None  # seconds
        self.elapsed_before = start.elapsed_seconds
        self.planned_steps = start.planned_steps if cosine is not None else None
        self.steps_per_second = start.steps_per_second if self.planned_steps else None
        self.cosine = cosine if minutes else None  # the optimizer's PlannedCosine
        self.step_limit = step_limit  # epochs x steps an epoch; None without a limit
        self.max_steps = max_steps  # --max-steps: the run stops there, mid-epoch if need be
        self.steps_done = False
        self.spent = False
        self.started = self.steps = self.first_step = self.timing = None

    def elapsed(self):
        """Seconds of training so far, the resumed checkpoint's included."""
        if self.started is None:  # the first step is under way
            return self.elapsed_before
        return self.elapsed_before + (time.perf_counter() - self.started)

    def fields(self):
        """What a checkpoint records of the clock and the plan (charlstm.checkpoints.metadata)."""
        return {"elapsed_seconds": round(self.elapsed(), 3), "steps": self.steps,
                "planned_steps": self.planned_steps,
                "steps_per_second": self.steps_per_second}

    def on_train_begin(self, logs=None):
        setattr(self.model, BUDGET_SPENT, False)
        self.started = None
        self.steps = self.first_step = int(keras.ops.convert_to_numpy(
            self.model.optimizer.iterations))

    def _start(self):
        """The first step is done (and compiled): the clock starts."""
        self.started = time.perf_counter()
        self.timing = (self.steps, self.started)  # the plan times the steps from here
        if self.budget is None:
            return
        used = (f", {self.elapsed_before / 60:.2f} of them used before"
                if self.elapsed_before else "")
        plan = (f"; the cosine ends at step {self.planned_steps} (the checkpoint's plan)"
                if self.planned_steps else "")
        log(f"time budget: {self.budget / 60:g} minutes of training{used}, from "
            f"{clock_time()} (after the first step, which compiles) until about "
            f"{clock_time(self.budget - self.elapsed_before)}{plan}")

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1  # one step a batch (no steps_per_execution); no read of the
        #                   optimizer, whose variables JAX holds elsewhere during an epoch
        if self.started is None:
            self._start()
        if self.max_steps and self.steps >= self.max_steps and not self.steps_done:
            self.steps_done = True
            setattr(self.model, BUDGET_SPENT, True)  # a planned end, not an interruption
            self.model.stop_training = True
        if self.budget is None or self.spent:
            return
        if self.cosine is not None:
            self._plan()
        if self.planned_steps is not None:
            spent = self.steps >= self.planned_steps
        else:
            spent = self.elapsed() >= self.budget
        if spent:
            self.spent = True
            setattr(self.model, BUDGET_SPENT, True)
            self.model.stop_training = True

    def _plan(self):
        """Time the steps since the last plan; once there are enough, fit the cosine's end
        to the time left: the first plan (see PLAN_STEPS), then a re-plan every REPLAN_SHARE
        of the budget."""
        now = time.perf_counter()
        timed, seconds = self.steps - self.timing[0], now - self.timing[1]
        first = self.planned_steps is None
        if first:
            enough = timed >= PLAN_STEPS and seconds >= PLAN_MIN_SHARE * self.budget
            if timed == 0 or not (enough or seconds >= PLAN_SHARE * self.budget):
                return
        elif timed == 0 or seconds < REPLAN_SHARE * self.budget:
            return
        rate = timed / seconds
        left = max(self.budget - self.elapsed(), 0.0)
        # A re-plan leaves at least one step, so that the cosine still reaches 0.
        planned = max(self.steps + round(rate * left), self.steps + (0 if first else 1))
        bound = ""
        if self.step_limit and planned > self.step_limit:
            planned, bound = self.step_limit, " (the --epochs limit comes first)"
        # Keras' Callback.model first writes JAX's state back to the variables (JAX passes it
        # into each step and keeps it out of them during an epoch), so that fit reads them
        # all again, these included, before the next step; TensorFlow and PyTorch read the
        # variables themselves at every step.
        self.model  # noqa: B018 - the property's sync is the point
        self.cosine.replan(self.steps, planned)
        before = self.planned_steps
        self.planned_steps, self.steps_per_second = planned, round(rate, 4)
        self.timing = (self.steps, now)
        if first:
            log(f"time plan: {rate:.2f} steps/s over steps {self.steps - timed + 1}-"
                f"{self.steps}, so the cosine reaches 0 at step {planned}{bound}, about "
                f"{clock_time((planned - self.steps) / rate)}")
        elif abs(planned - before) >= REPLAN_LOGGED * before:
            log(f"time plan revised: {rate:.2f} steps/s over the last {seconds:.0f}s (steps "
                f"{self.steps - timed + 1}-{self.steps}), so the cosine reaches 0 at step "
                f"{planned} instead of {before}{bound}, about "
                f"{clock_time((planned - self.steps) / rate)}")

    def on_epoch_end(self, epoch, logs=None):
        if self.steps_done and not self.spent:
            log(f"step limit reached: step {self.steps} (--max-steps {self.max_steps}); "
                f"epoch {epoch + 1} ends here")
            self.max_steps = None  # once
            return
        if not self.spent or self.budget is None:
            return
        rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        plan = f" of {self.planned_steps} planned" if self.planned_steps else ""
        log(f"time budget spent at {clock_time()}: {self.elapsed():.1f}s of training (the "
            f"budget {self.budget:g}s), step {self.steps}{plan}, learning rate {rate:.3g}; "
            f"epoch {epoch + 1} ends here")
        self.budget = None  # once


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
        already = self.model.stop_training  # the time budget's stop is not this one's
        super().on_epoch_end(epoch, logs)
        if self.model.stop_training and not already:
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
    clock: TimeBudget = None
    progress: EpochProgress = None  # the bar: verbose, on a terminal only


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
    clock = TimeBudget(settings.minutes, start, planned_cosine(run.model.optimizer),
                       step_limit=run.step_limit, max_steps=settings.max_steps)
    checkpointer = BestOnlyCheckpoint(
        settings.checkpoint_dir, settings.bigger, settings.epochs, run.metadata,
        run.indices if settings.text_in_checkpoint else None, monitor=settings.monitor,
        best_value=start.best_value, best_path=start.best_path, writes_files=writes_files,
        show_learning_rate=settings.lr_schedule != "constant", inputs=run.inputs,
        clock=clock)
    interrupt, divergence = GracefulInterrupt(), DivergenceStop(len(run.vocabulary))
    # The progress bar first, so that it finishes its line before the summary line; the
    # state reset next, before any batch. A bar only on a terminal: in a pipe, a file or a
    # notebook the summary line is an epoch's one line of progress.
    progress = None
    if verbose and show_progress_bar():
        progress = EpochProgress(not unbounded(settings.epochs))
    ordered = [progress] if progress else []
    if settings.stateful:
        ordered.append(StateReset())
    # The clock before the checkpoints, which record it.
    ordered += [interrupt, divergence, clock, checkpointer]
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
    return RunCallbacks(ordered, interrupt, divergence, checkpointer, history, early_stop,
                        clock, progress)
