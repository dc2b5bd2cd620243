"""The optimizer: the tutorial's Adam, or AdamW (--weight-decay), with a learning-rate schedule
(--lr-schedule, --warmup-steps) and an exponential moving average of the weights (--ema).

Everything that changes during a run lives in the optimizer's variables, which checkpoints
carry: the step count (which the cosine schedule reads), the step at which the cosine ends
(set once for --epochs, by the time plan for --minutes), the learning rate (which plateau
lowers), the moments and the averages. So --resume carries on bit for bit.

    >>> from charlstm.config import resolve
    >>> settings = resolve({"lr_schedule": "cosine", "warmup_steps": 100, "ema": 0.995,
    ...                     "weight_decay": 0.1, "learning_rate": 0.002})
    >>> describe_optimizer(settings, total_steps=1000)
    'AdamW (weight decay 0.1), learning rate 0 rising to 0.002 over 100 steps, then cosine to 0 at step 1000; EMA 0.995 of the weights for validation and checkpoints'
    >>> learning_rates(settings, total_steps=1000, steps=[0, 50, 100, 550, 1000])
    [0.0, 0.001, 0.002, 0.001, 0.0]
    >>> learning_rates(settings, total_steps=0, steps=[50, 100, 5000])   # not planned yet
    [0.001, 0.002, 0.002]
"""

import math

from ..system.backend import import_keras

keras = import_keras()  # quietly, once: see charlstm.system.backend

# --lr-schedule plateau: the factor and patience of char-rnn and torch-rnn's step decays are
# per-epoch; this halves after one epoch that did not improve (Keras' ReduceLROnPlateau).
PLATEAU_FACTOR = 0.5
PLATEAU_PATIENCE = 1


# The optimizer variables that hold the step at which the cosine reaches 0, and where a
# re-plan last moved that end: from that step on, the cosine goes on from the progress it had
# there (0 to 1), so that its learning rate does not jump.
COSINE_END = "cosine_end_step"
COSINE_FROM_STEP = "cosine_from_step"
COSINE_FROM_PROGRESS = "cosine_from_progress"
COSINE_VARIABLES = (COSINE_END, COSINE_FROM_STEP, COSINE_FROM_PROGRESS)


@keras.saving.register_keras_serializable("charlstm")
class PlannedCosine(keras.optimizers.schedules.LearningRateSchedule):
    """--lr-schedule cosine: from 0 up to `peak` over `warmup_steps` steps, then a cosine
    from `peak` down to 0 at step `end`, and 0 after it: Keras' CosineDecay with its warm-up
    (alpha 0), except that its length is a variable. make_optimizer makes `end` a variable
    of the optimizer, so checkpoints carry it. A run with --epochs sets it once (epochs x
    steps an epoch); a --minutes run sets it when its time plan is made
    (training.callbacks.TimeBudget), and until then (end 0) the rate stays at its peak after the
    warm-up. A warm-up longer than the run is cut to its length, as CosineDecay's is.

    The time plan is re-fitted as the run goes (replan): the cosine's progress at that step
    (`from_progress`, at `from_step`) is kept, and the rest of it is stretched or shrunk to
    the new end. Before any re-plan (both 0) this is the plain cosine, to the bit."""

    def __init__(self, peak, warmup_steps, end=0.0, from_step=0.0, from_progress=0.0):
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.end = end  # numbers, or keras.Variables (make_optimizer's)
        self.from_step = from_step
        self.from_progress = from_progress

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        end = ops.cast(self.end, "float32")
        from_progress = ops.cast(self.from_progress, "float32")
        planned = end > 0
        warmup = ops.where(planned, ops.minimum(float(self.warmup_steps), end),
                           float(self.warmup_steps))
        rising = self.peak * step / ops.maximum(warmup, 1.0)
        start = ops.maximum(ops.cast(self.from_step, "float32"), warmup)
        progress = from_progress + (1.0 - from_progress) * ops.clip(
            (step - start) / ops.maximum(end - start, 1.0), 0.0, 1.0)
        falling = ops.where(planned, 0.5 * self.peak * (1.0 + ops.cos(math.pi * progress)),
                            self.peak)
        return ops.where(step < warmup, rising, falling)

    def values(self):
        """(end, from_step, from_progress) as floats."""
        return tuple(float(keras.ops.convert_to_numpy(value))
                     for value in (self.end, self.from_step, self.from_progress))

    def replan(self, step, end):
        """Move the cosine's end to `end` at `step` (the number of steps done), keeping the
        learning rate the next step gets: past the warm-up, the cosine's progress at `step`
        becomes the start of its rest. For variables (make_optimizer's) only."""
        old_end, from_step, from_progress = self.values()
        warmup = min(self.warmup_steps, old_end) if old_end > 0 else self.warmup_steps
        start = max(from_step, warmup)
        if old_end > 0 and step >= start:
            share = min(max((step - start) / max(old_end - start, 1.0), 0.0), 1.0)
            self.from_progress.assign(from_progress + (1.0 - from_progress) * share)
            self.from_step.assign(float(step))
        self.end.assign(float(end))

    def get_config(self):
        end, from_step, from_progress = self.values()
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "end": end,
                "from_step": from_step, "from_progress": from_progress}


def learning_rate_schedule(settings, total_steps):
    """The optimizer's learning_rate argument: a float (constant, plateau; a variable that
    plateau lowers) or a PlannedCosine ending at total_steps (0: not planned yet)."""
    if settings.lr_schedule != "cosine":
        return settings.learning_rate
    return PlannedCosine(settings.learning_rate, settings.warmup_steps, float(total_steps))


def make_optimizer(settings, total_steps):
    """The run's optimizer. total_steps is the cosine's length (epochs x steps per epoch), or 0
    where a time plan sets it later (--minutes without --epochs)."""
    schedule = learning_rate_schedule(settings, total_steps)
    options = dict(learning_rate=schedule, clipnorm=settings.clipnorm)
    if settings.ema:
        # The average replaces the weights only where charlstm asks (validation, checkpoints):
        # no periodic overwrite of the weights being trained.
        options.update(use_ema=True, ema_momentum=settings.ema, ema_overwrite_frequency=None)
    if not settings.weight_decay:
        optimizer = keras.optimizers.Adam(**options)
    else:
        optimizer = keras.optimizers.AdamW(weight_decay=settings.weight_decay, **options)
        # Decaying biases pulls the LSTM's forget-gate bias (initialised to 1) towards
        # forgetting; like nanoGPT, decay only the matrices.
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    if isinstance(schedule, PlannedCosine):
        # One of the optimizer's variables: checkpoints carry it, and every backend reads its
        # current value in the compiled step (JAX passes the optimizer's state in).
        for attribute, name in zip(("end", "from_step", "from_progress"), COSINE_VARIABLES):
            value = getattr(schedule, attribute)
            setattr(schedule, attribute, optimizer.add_variable(
                (), initializer=keras.initializers.Constant(value), dtype="float32", name=name))
    return optimizer


def planned_cosine(optimizer):
    """An optimizer's PlannedCosine (make_optimizer's, its variables the optimizer's), or None
    without --lr-schedule cosine."""
    schedule = getattr(optimizer, "_learning_rate", None)
    return schedule if isinstance(schedule, PlannedCosine) else None


def learning_rates(settings, total_steps, steps):
    """The schedule's learning rate at each step in steps, as floats (for tests and docs)."""
    schedule = learning_rate_schedule(settings, total_steps)
    if not callable(schedule):
        return [float(schedule)] * len(steps)
    # float32 arithmetic: 6 significant digits, as history.csv records them.
    return [float(f"{float(keras.ops.convert_to_numpy(schedule(step))):.6g}") for step in steps]


def describe_optimizer(settings, total_steps):
    """One line for the log: the optimizer, its schedule and the average. total_steps is the
    cosine's length, 0 where a time plan decides it."""
    name = (f"AdamW (weight decay {settings.weight_decay:g})" if settings.weight_decay
            else "Adam")
    rate = f"{settings.learning_rate:g}"
    if settings.lr_schedule == "cosine":
        warmup = min(settings.warmup_steps, total_steps) if total_steps else settings.warmup_steps
        start = f"0 rising to {rate} over {warmup} steps, then " if warmup else f"{rate}, "
        end = f"at step {total_steps}"
        if settings.minutes:
            end = (f"when the {settings.minutes:g}-minute budget ends (planned from the first "
                   "steps' speed)" + (f" or at step {total_steps}, if sooner" if total_steps
                                       else ""))
        schedule = f"learning rate {start}cosine to 0 {end}"
    elif settings.lr_schedule == "plateau":
        schedule = (f"learning rate {rate}, halved after each epoch without a better "
                    f"{settings.monitor}")
    else:
        schedule = f"learning rate {rate}"
    line = f"{name}, {schedule}"
    if settings.clipnorm:
        line += f", gradients clipped to norm {settings.clipnorm:g}"
    if settings.ema:
        line += f"; EMA {settings.ema:g} of the weights for validation and checkpoints"
    return line
