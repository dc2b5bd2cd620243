"""Pattern windows: (seq_length characters, next character) pairs, cut from the index array.

The tutorial built every pattern up front, a (patterns, 100, 1) float64 array: 800 bytes per
character of text. Here the text stays one small index array and each batch is gathered from
it on the fly, shuffled every epoch; charlstm.text.feeding hands the batches to Keras (tf.data on
TensorFlow, a keras.utils.PyDataset on the other backends).

    >>> import numpy as np
    >>> windows, targets = gather_patterns(np.arange(8), np.array([0, 1]), 5)
    >>> windows.tolist(), targets.tolist()
    ([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]], [5, 6])
"""

import math

import numpy as np


def pattern_count(text_length, seq_length):
    """Stride-1 windows with a next character: the tutorial's len(dataX)."""
    return max(text_length - seq_length, 0)


def gather_patterns(indices, starts, seq_length):
    """The windows starting at starts, shape (len(starts), seq_length), and their targets."""
    positions = starts[:, None] + np.arange(seq_length)
    return indices[positions], indices[starts + seq_length]


def input_table(vocab_size, encoding="scaled"):
    """Row i is the model input for character i: shape (vocab_size, features per step).

    "scaled" is exactly the tutorial's X / float(n_vocab) once cast to float32: the tutorial
    divided in float64 and Keras cast to float32, and computing the same way keeps inputs
    bit-identical, so greedy decoding gives the tutorial's characters. "one-hot" is the
    tutorial's improvement idea 3. "embedding": the model's own Embedding layer reads the
    index, so entry i is i itself (int32, shape (vocab_size,)), and encoded windows stay
    (batch, time) indices.

    >>> input_table(3, "embedding")[np.array([[2, 0]])]
    array([[2, 0]], dtype=int32)
    """
    if encoding == "one-hot":
        return np.eye(vocab_size, dtype=np.float32)
    if encoding == "embedding":
        return np.arange(vocab_size, dtype=np.int32)
    assert encoding == "scaled", encoding
    return (np.arange(vocab_size, dtype=np.float64) / float(vocab_size)).astype(np.float32)[:, None]


def encode_inputs(windows, table):
    """Index windows (batch, time) to model inputs (batch, time, features), or (batch, time)
    indices for a model with an Embedding layer."""
    return table[windows]


def every_position_layout(text_length, seq_length):
    """(windows per epoch, number of possible start offsets) for --targets every.

    Windows do not overlap: epoch e starts them at a random offset below seq_length, then every
    seq_length characters. The count is the same for every offset, so each epoch has the same
    number of steps; a text shorter than two windows gets one window at any offset that fits.
    """
    count = (text_length - seq_length) // seq_length
    if count >= 1:
        return count, seq_length
    return 1, max(text_length - seq_length, 0)


class EpochBatches:
    """Batches that are a pure function of (epoch, batch number), so that a run is repeatable
    whichever way they are fetched and a resumed run can start at any epoch. Keras reads
    them through GlobalSteps.

    Subclasses set steps and sequence_targets (targets shaped (batch, time) rather than
    (batch,)) and define batch(epoch, number) -> (inputs, targets).
    """

    def __init__(self, indices, seq_length, batch_size, table, seed=0, shuffle=True):
        self.indices = indices
        self.seq_length = seq_length
        self.batch_size = batch_size
        self.table = table  # row i: the model input for character i (see input_table)
        # Features per step; None for indices (an embedding), batches of (batch, time)
        self.input_width = table.shape[1] if table.ndim == 2 else None
        self.seed = seed
        self.shuffle = shuffle  # False: the same order every epoch (validation)

    def __len__(self):
        return self.steps


class GlobalSteps:
    """A run's batches as Keras sees them: epoch e's batch i is global step
    e * steps_per_epoch + i, and global step g is batch g % len(batches) of pass
    g // len(batches), so that passes follow each other across epochs of any size.
    load(step) is the one mapping; charlstm.text.feeding feeds it to tf.data on TensorFlow, and
    wraps it in a keras.utils.PyDataset on other backends, whose on_epoch_end moves to the
    next epoch."""

    def __init__(self, batches, steps_per_epoch=None, initial_epoch=0):
        self.batches = batches
        self.steps_per_epoch = steps_per_epoch or len(batches)
        self.epoch = initial_epoch

    def load(self, step):
        return self.batches.batch(*divmod(int(step), len(self.batches)))

    def __len__(self):
        return self.steps_per_epoch

    def __getitem__(self, batch_number):
        return self.load(self.epoch * self.steps_per_epoch + batch_number)

    def on_epoch_end(self):
        self.epoch += 1


class WindowBatches(EpochBatches):
    """Batches of (encoded windows, next-character targets), in a new order every epoch.

    targets="last" (the tutorial): every stride-1 window, target the character after it.
    targets="every": non-overlapping windows from a random offset, target the character after
    each position, shape (batch, seq_length).
    Memory is the index array plus one start offset per window, whatever seq_length is.
    Targets are sparse indices: sparse categorical cross-entropy is the tutorial's categorical
    cross-entropy on one-hot targets, without the (patterns, vocabulary) one-hot array.
    Epoch e's order is drawn from (seed, e) alone. shuffle=False gives a fixed order
    (validation).
    """

    def __init__(self, indices, seq_length, batch_size, table, seed=0, targets="last",
                 shuffle=True):
        super().__init__(indices, seq_length, batch_size, table, seed, shuffle)
        assert targets in ("last", "every"), targets
        self.targets = targets
        self.sequence_targets = targets == "every"
        if targets == "last":
            self.count, self.offsets = pattern_count(len(indices), seq_length), 1
        else:
            self.count, self.offsets = every_position_layout(len(indices), seq_length)
        assert self.count > 0, "the text must be longer than seq_length"
        self.steps = math.ceil(self.count / batch_size)
        self._order_epoch, self._order = None, None

    def order(self, epoch):
        """The window start offsets of one epoch, in the order they are trained."""
        if not self.shuffle:
            epoch = 0
        if self._order_epoch != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            dtype = np.int32 if len(self.indices) < 2**31 else np.int64
            offset = int(rng.integers(0, self.offsets)) if self.shuffle else 0
            stride = 1 if self.targets == "last" else self.seq_length
            # Built in place: a 100 MB text has 100 million windows, 400 MB of int32 starts,
            # and each temporary array would be another 400 MB.
            self._order = None
            order = np.arange(self.count, dtype=dtype)
            if stride != 1:
                order *= stride
            order += offset
            if self.shuffle:
                rng.shuffle(order)
            self._order, self._order_epoch = order, epoch
        return self._order

    def batch(self, epoch, batch_number):
        size = self.batch_size
        starts = self.order(epoch)[batch_number * size : (batch_number + 1) * size]
        windows, targets = gather_patterns(self.indices, starts, self.seq_length)
        if self.targets == "every":
            targets = self.indices[starts[:, None] + 1 + np.arange(self.seq_length)]
        return encode_inputs(windows, self.table), targets.astype(np.int32)
