"""Pattern windows: (seq_length characters, next character) pairs, cut from the index array.

The tutorial built every pattern up front, a (patterns, 100, 1) float64 array: 800 bytes per
character of text. Here the text stays one small index array and each batch is gathered from
it on the fly, shuffled every epoch, through a keras.utils.PyDataset (which works on every
Keras backend, unlike tf.data).

    >>> import numpy as np
    >>> windows, targets = gather_patterns(np.arange(8), np.array([0, 1]), 5)
    >>> windows.tolist(), targets.tolist()
    ([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]], [5, 6])
"""

import math

import numpy as np

from .backend import import_keras

keras = import_keras()


def pattern_count(text_length, seq_length):
    """Stride-1 windows with a next character: the tutorial's len(dataX)."""
    return max(text_length - seq_length, 0)


def gather_patterns(indices, starts, seq_length):
    """The windows starting at starts, shape (len(starts), seq_length), and their targets."""
    positions = starts[:, None] + np.arange(seq_length)
    return indices[positions], indices[starts + seq_length]


def scaled_input_table(vocab_size):
    """Index -> model input, exactly the tutorial's X / float(n_vocab) once cast to float32.

    The tutorial divided in float64 and Keras cast to float32; computing the same way keeps
    inputs bit-identical, so greedy decoding gives the tutorial's characters.
    """
    return (np.arange(vocab_size, dtype=np.float64) / float(vocab_size)).astype(np.float32)


def encode_inputs(windows, input_table):
    """Index windows (batch, time) to model inputs (batch, time, 1)."""
    return input_table[windows][..., None]


class WindowBatches(keras.utils.PyDataset):
    """Batches of (scaled windows, next-character indices), in a new order every epoch.

    Memory is the index array plus one start offset per pattern, whatever seq_length is.
    Targets are sparse indices: sparse categorical cross-entropy is the tutorial's categorical
    cross-entropy on one-hot targets, without the (patterns, vocabulary) one-hot array.
    Epoch e's order is a permutation drawn from (seed, e) alone, so a run is repeatable
    whichever way the batches are fetched: by Keras through this PyDataset (every backend;
    on_epoch_end moves to the next epoch) or by batch(epoch, number) (the TensorFlow fast path
    in charlstm.backend.training_data).
    """

    def __init__(self, indices, seq_length, batch_size, vocab_size, seed):
        super().__init__()
        self.count = pattern_count(len(indices), seq_length)
        assert self.count > 0, "the text must be longer than seq_length"
        self.indices = indices
        self.seq_length = seq_length
        self.batch_size = batch_size
        self.input_table = scaled_input_table(vocab_size)
        self.input_width = 1
        self.seed = seed
        self.epoch = 0
        self._order_epoch, self._order = None, None

    def __len__(self):
        return math.ceil(self.count / self.batch_size)

    def order(self, epoch):
        """The pattern start offsets of one epoch, shuffled."""
        if self._order_epoch != epoch:
            dtype = np.int32 if len(self.indices) < 2**31 else np.int64
            self._order = np.arange(self.count, dtype=dtype)
            np.random.default_rng([self.seed, epoch]).shuffle(self._order)
            self._order_epoch = epoch
        return self._order

    def batch(self, epoch, batch_number):
        size = self.batch_size
        starts = self.order(epoch)[batch_number * size : (batch_number + 1) * size]
        windows, targets = gather_patterns(self.indices, starts, self.seq_length)
        return encode_inputs(windows, self.input_table), targets.astype(np.int32)

    def __getitem__(self, batch_number):
        return self.batch(self.epoch, batch_number)

    def on_epoch_end(self):
        self.epoch += 1
