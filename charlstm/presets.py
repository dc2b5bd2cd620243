"""Named training recipes: `train.py --preset NAME` (or charlstm.train(preset=NAME)) sets these
settings, named as in charlstm.config; settings given explicitly win. The figures behind each
recipe come from bench/time_to_quality.py.

    >>> PRESETS["fast"]["targets"], PRESETS["fast"]["minutes"]
    ('every', 10)
"""

# Every-position targets and one-hot input: about seq_length times the training signal per
# step of the tutorial's last-position targets, on the same LSTM stack and checkpoint format.
# Tuned for ten minutes on a 2-core laptop CPU (about 1,300 steps of 16 windows there), by
# held-out loss on every window of the book's last 10%, over 3 seeds (bench/time_to_quality.py,
# bench/results/time_to_quality*.txt). In that budget the model is still underfitting: a high
# peak learning rate with a cosine decay to 0 gained most (constant 0.002: 1.41; cosine from
# 0.004 with 100 warm-up steps: 1.37, step for step); heavier regularisation (dropout 0.5,
# weight decay 0.1, an average of the weights) lost 0.05 to 0.2, and wider (384), deeper (3
# layers) or larger-batch (32, 64) variants lost too, having fewer steps. The budget is the
# ten minutes themselves (--minutes 10; it was 15 epochs, which took them on that CPU): the
# cosine is planned from the first steps' speed to reach 0 when the time is up, so a faster
# machine does more steps of the same recipe in the same time.
# It holds out the text's last 10% (whole files of several, whole items of a list), as the
# bundled model did, and so keeps the checkpoint with the lowest held-out loss (--monitor
# val_loss follows a split): given more steps than it was tuned for, it overfits, and the
# last checkpoint is then not the best one (issue 32). --validation-split 0 still wins.
FAST = {
    "validation_split": 0.1,
    "minutes": 10,
    "targets": "every",
    "input_encoding": "one-hot",
    "layers": 2,
    "units": 256,
    "dropout": 0.2,
    "batch_size": 16,
    "learning_rate": 0.004,
    "clipnorm": 5.0,
    "lr_schedule": "cosine",
    "warmup_steps": 100,
}

PRESETS = {"fast": FAST}

# Regularisation by the steps a run will get (issue 32). FAST was tuned where ten minutes buy
# about 1,300 steps and the model underfits; a faster machine, more minutes or a GPU give it
# many more, and it then overfits: more time made a worse model. So the preset picks its
# regularisation from the steps the run is expected to train (--max-steps, --epochs, or the
# steps a second a short probe of the model measures, times the --minutes), the last row
# whose first step that reaches. Settings given explicitly still win. Rows from step-budget
# sweeps of train.py --preset fast --max-steps N (bench/step_budgets.py,
# bench/results/step_budgets.txt; held-out loss of the named checkpoint, tutorial objective,
# one seed each so far): at 1,300 steps the first row 1.3823, the second 1.4417; at 4,000
# the second 1.3321, dropout 0.4 with weight decay 0.1 1.3379, and issue 32's probe of the
# first row (10 minutes, about 4,000 steps) 1.3562. The second row begins between the two,
# at 2,500. Larger budgets (8,000, 15,000) are still to be swept.
BY_STEPS = {
    "fast": (
        (0, {"dropout": 0.2, "input_dropout": 0.0, "weight_decay": 0.0}),
        (2500, {"dropout": 0.3, "input_dropout": 0.1, "weight_decay": 0.05}),
    ),
}


def for_steps(preset, steps):
    """The settings a preset picks for a run of about `steps` steps ({} for a preset without
    a table).

    >>> for_steps("fast", 1300)["dropout"], for_steps("fast", 4000)["dropout"]
    (0.2, 0.3)
    """
    chosen = {}
    for first_step, settings in BY_STEPS.get(preset, ()):
        if steps >= first_step:
            chosen = settings
    return dict(chosen)
