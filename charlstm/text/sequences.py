"""Two more training layouts: padded sentences (idea 4) and contiguous streams (idea 10).

Both teach every position its next character, as --targets every does, with the same model.

SentenceBatches (--sentences): the text is cut into sentences; each sentence is one row,
its characters the inputs and the characters after them the targets, right-padded to
seq_length. A padding position's target is PADDING_TARGET, which the loss skips (averaging
over real positions only), and because padding comes after the real characters and an LSTM
reads left to right, it never changes a real position's prediction either. A sentence longer
than seq_length + 1 characters becomes several rows of seq_length predictions each.

StreamBatches (--stateful): the text is laid out as batch_size contiguous streams, one per
batch row, and batch k holds the k-th window of every stream, so that row b of batch k+1 is
the text right after row b of batch k. A stateful LSTM then carries its state across batches
along the text:

    stream 0: text[o            : o + L]   -> batch 0 row 0, batch 1 row 0, ...
    stream 1: text[o + L        : o + 2L]  -> batch 0 row 1, batch 1 row 1, ...
    ...       (L = the stream length, o = a random offset below seq_length, new each epoch)

The state is reset at the start of every epoch (and before validation), never in between.

    >>> import numpy as np
    >>> starts, lengths = sentence_spans("Hi. Who are you?\\n\\nAlice")
    >>> starts.tolist(), lengths.tolist()
    ([0, 4, 18], [4, 14, 5])
    >>> StreamBatches(np.arange(30), 4, 2, np.eye(30, dtype=np.float32)).steps
    3
"""

import math
import re

import numpy as np

from .windows import EpochBatches, encode_inputs

# The target of a padding position (--sentences): the loss skips it and averages over the
# real positions only.
PADDING_TARGET = -1

# A sentence ends after . ! or ? (and any closing quotes or brackets) followed by whitespace,
# or at a blank line (chapter titles, verse). The whitespace belongs to the sentence before.
SENTENCE_END = re.compile(r"[.!?]+[\"'\)\]_]*\s+|\n\s*\n\s*")


def sentence_spans(text):
    """(starts, lengths) of the sentences of text, covering it end to end."""
    starts = [0] + [match.end() for match in SENTENCE_END.finditer(text)]
    starts = np.unique(np.array([start for start in starts if start < len(text)], dtype=np.int64))
    lengths = np.diff(np.append(starts, len(text)))
    return starts, lengths


def sentence_rows(starts, lengths, seq_length):
    """(row starts, predictions per row): each sentence of n characters gives n - 1
    predictions, seq_length to a row; one-character sentences give none."""
    predictions = lengths - 1
    keep = predictions > 0
    starts, predictions = starts[keep], predictions[keep]
    pieces = -(-predictions // seq_length)  # ceiling division
    sentence = np.repeat(np.arange(len(starts)), pieces)
    piece = np.arange(len(sentence)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    row_starts = starts[sentence] + piece * seq_length
    row_predictions = np.minimum(predictions[sentence] - piece * seq_length, seq_length)
    return row_starts, row_predictions


class SentenceBatches(EpochBatches):
    """Right-padded sentence rows, shuffled every epoch from (seed, epoch)."""

    sequence_targets = True

    def __init__(self, indices, text, seq_length, batch_size, table, seed=0, shuffle=True):
        super().__init__(indices, seq_length, batch_size, table, seed, shuffle)
        assert len(indices) == len(text)
        self.row_starts, self.row_predictions = sentence_rows(*sentence_spans(text), seq_length)
        self.count = len(self.row_starts)  # 0 when no sentence has two characters: see train()
        self.steps = math.ceil(self.count / batch_size)
        self.predictions = int(self.row_predictions.sum())

    def order(self, epoch):
        order = np.arange(self.count)
        if self.shuffle:
            np.random.default_rng([self.seed, epoch]).shuffle(order)
        return order

    def batch(self, epoch, batch_number):
        size = self.batch_size
        rows = self.order(epoch)[batch_number * size : (batch_number + 1) * size]
        starts, predictions = self.row_starts[rows], self.row_predictions[rows]
        steps = np.arange(self.seq_length)
        real = steps < predictions[:, None]
        # Padding positions read the row's first character (any index would do: see above).
        positions = starts[:, None] + np.where(real, steps, 0)
        inputs = encode_inputs(self.indices[positions], self.table)
        inputs[~real] = 0.0
        # int32 first: a uint8 index array would turn PADDING_TARGET (-1) into 255.
        targets = np.where(real, self.indices[positions + 1].astype(np.int32), PADDING_TARGET)
        return inputs, targets


class StreamBatches(EpochBatches):
    """Contiguous streams for a stateful model: see the module docstring for the layout."""

    sequence_targets = True

    def __init__(self, indices, seq_length, batch_size, table, seed=0, shuffle=True):
        super().__init__(indices, seq_length, batch_size, table, seed, shuffle)
        # seq_length characters stay free for the offset and the last target, so every epoch
        # has the same number of steps whatever its offset.
        self.stream_length = (len(indices) - seq_length) // batch_size
        self.steps = self.stream_length // seq_length
        assert self.steps > 0, "the text is too short for batch_size streams of one window"

    @staticmethod
    def minimum_length(seq_length, batch_size):
        """The fewest characters that give one batch."""
        return seq_length * (batch_size + 1)

    def offset(self, epoch):
        if not self.shuffle:
            return 0
        return int(np.random.default_rng([self.seed, epoch]).integers(0, self.seq_length))

    def batch(self, epoch, batch_number):
        rows = np.arange(self.batch_size) * self.stream_length
        starts = self.offset(epoch) + rows + batch_number * self.seq_length
        positions = starts[:, None] + np.arange(self.seq_length)
        inputs = encode_inputs(self.indices[positions], self.table)
        return inputs, self.indices[positions + 1].astype(np.int32)
