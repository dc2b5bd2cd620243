"""Named training recipes: `train.py --preset NAME` (or charlstm.train(preset=NAME)) sets these
settings, named as in charlstm.config; settings given explicitly win. The figures behind each
recipe come from bench/time_to_quality.py.

    >>> PRESETS["fast"]["targets"]
    'every'
"""

# Every-position targets and one-hot input: about seq_length times the training signal per
# step of the tutorial's last-position targets, on the same LSTM stack and checkpoint format.
# Two layers of 256 with dropout 0.3 and small batches: in 300 s probes on this CPU it beat
# one layer of 384 or 512 (which memorised the training part and got worse on held-out text
# after two minutes) and larger batches (slower to learn). 15 epochs of about 20 s: in the
# 10-minute bench its held-out loss was lowest at the 5-minute mark and rose after it.
FAST = {
    "epochs": 15,
    "targets": "every",
    "input_encoding": "one-hot",
    "layers": 2,
    "units": 256,
    "dropout": 0.3,
    "batch_size": 16,
    "learning_rate": 0.002,
    "clipnorm": 5.0,
}

PRESETS = {"fast": FAST}
