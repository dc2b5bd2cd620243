"""Writing text one character at a time from a trained model.

Window decoding, as the tutorial: each step feeds the last seq_length characters (fewer while
a short prime text has not grown to seq_length yet), scaled as in training, and takes the most
likely next character. The forward pass is a compiled function (charlstm.backend), not
Model.predict, which costs ~40 ms of set-up per call; the characters are the same.

    >>> decoder = WindowDecoder(model, vocabulary, seq_length=100)     # doctest: +SKIP
    >>> "".join(decoder.generate("alice was ", length=20))            # doctest: +SKIP
"""

import numpy as np

from .backend import compiled_forward
from .windows import encode_inputs, scaled_input_table


def greedy(probabilities):
    """The tutorial's choice: the most likely character (the first one on a tie)."""
    return int(np.argmax(probabilities))


class WindowDecoder:
    """Generates characters from a model by re-reading a sliding window each step."""

    def __init__(self, model, vocabulary, seq_length, forward=None):
        self.forward = forward or compiled_forward(model)
        self.vocabulary = vocabulary
        self.seq_length = seq_length
        self.input_table = scaled_input_table(len(vocabulary))

    def generate_indices(self, prime_indices, length, choose=greedy):
        """Yield `length` next-character indices, starting from the prime's last window."""
        window = list(prime_indices[-self.seq_length :])
        assert window, "generation needs at least one prime character"
        for _ in range(length):
            inputs = encode_inputs(np.asarray(window)[None, :], self.input_table)
            index = choose(self.forward(inputs)[0])
            yield index
            window.append(index)
            if len(window) > self.seq_length:
                del window[0]

    def generate(self, prime_text, length, choose=greedy):
        """Yield `length` characters continuing prime_text (UserError on unknown characters)."""
        prime_indices = self.vocabulary.encode(prime_text, what="the prime text")
        for index in self.generate_indices(prime_indices, length, choose):
            yield self.vocabulary.chars[index]
