"""The optimizer: the tutorial's Adam, or AdamW (--weight-decay), with a learning-rate schedule
(--lr-schedule, --warmup-steps) and an exponential moving average of the weights (--ema).

Everything that changes during a run lives in the optimizer's variables, which checkpoints
carry: the step count (which the cosine schedule reads), the learning rate (which plateau
lowers), the moments and the averages. So --resume carries on bit for bit.

    >>> from charlstm.config import resolve
    >>> settings = resolve({"lr_schedule": "cosine", "warmup_steps": 100, "ema": 0.995,
    ...                     "weight_decay": 0.1, "learning_rate": 0.002})
    >>> describe_optimizer(settings, total_steps=1000)
    'AdamW (weight decay 0.1), learning rate 0 rising to 0.002 over 100 steps, then cosine to 0 at step 1000; EMA 0.995 of the weights for validation and checkpoints'
    >>> learning_rates(settings, total_steps=1000, steps=[0, 50, 100, 550, 1000])
    [0.0, 0.001, 0.002, 0.001, 0.0]
"""

from .backend import import_keras

keras = import_keras()  # quietly, once: see charlstm.backend

# --lr-schedule plateau: the factor and patience of char-rnn and torch-rnn's step decays are
# per-epoch; this halves after one epoch that did not improve (Keras' ReduceLROnPlateau).
PLATEAU_FACTOR = 0.5
PLATEAU_PATIENCE = 1


def learning_rate_schedule(settings, total_steps):
    """The optimizer's learning_rate argument: a float (constant, plateau; a variable that
    plateau lowers) or a Keras schedule of the step count (cosine)."""
    if settings.lr_schedule != "cosine":
        return settings.learning_rate
    warmup = min(settings.warmup_steps, total_steps)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else settings.learning_rate,
        decay_steps=max(total_steps - warmup, 1),
        alpha=0.0,
        warmup_target=settings.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def make_optimizer(settings, total_steps):
    """The run's optimizer. total_steps (epochs x steps per epoch) is the cosine's length."""
    options = dict(learning_rate=learning_rate_schedule(settings, total_steps),
                   clipnorm=settings.clipnorm)
    if settings.ema:
        # The average replaces the weights only where charlstm asks (validation, checkpoints):
        # no periodic overwrite of the weights being trained.
        options.update(use_ema=True, ema_momentum=settings.ema, ema_overwrite_frequency=None)
    if not settings.weight_decay:
        return keras.optimizers.Adam(**options)
    optimizer = keras.optimizers.AdamW(weight_decay=settings.weight_decay, **options)
    # Decaying biases pulls the LSTM's forget-gate bias (initialised to 1) towards forgetting;
    # like nanoGPT, decay only the matrices.
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    return optimizer


def learning_rates(settings, total_steps, steps):
    """The schedule's learning rate at each step in steps, as floats (for tests and docs)."""
    schedule = learning_rate_schedule(settings, total_steps)
    if not callable(schedule):
        return [float(schedule)] * len(steps)
    # float32 arithmetic: 6 significant digits, as history.csv records them.
    return [float(f"{float(keras.ops.convert_to_numpy(schedule(step))):.6g}") for step in steps]


def describe_optimizer(settings, total_steps):
    """One line for the log: the optimizer, its schedule and the average."""
    name = (f"AdamW (weight decay {settings.weight_decay:g})" if settings.weight_decay
            else "Adam")
    rate = f"{settings.learning_rate:g}"
    if settings.lr_schedule == "cosine":
        warmup = min(settings.warmup_steps, total_steps)
        start = f"0 rising to {rate} over {warmup} steps, then " if warmup else f"{rate}, "
        schedule = f"learning rate {start}cosine to 0 at step {total_steps}"
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
