"""Named training recipes: `train.py --preset NAME` sets these flags; flags given explicitly
on the command line win. The figures behind each recipe come from bench/time_to_quality.py.

    >>> PRESETS["fast"]["targets"]
    'every'
"""

# Every-position targets and one-hot input: about seq_length times the training signal per
# step of the tutorial's last-position targets, on the same LSTM stack and checkpoint format.
FAST = {
    "targets": "every",
    "one_hot": True,
    "layers": 1,
    "units": 512,
    "dropout": 0.1,
    "batch_size": 32,
    "learning_rate": 0.002,
    "clipnorm": 5.0,
}

PRESETS = {"fast": FAST}
