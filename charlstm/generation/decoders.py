"""Forward passes for generation: window decoding (the tutorial's) and stateful decoding.

Both decoders take a batch of N prime texts as an (N, t) index array and answer each step with
(N, vocabulary) next-character probabilities:

    probabilities = decoder.start(primes)          # read the primes
    probabilities = decoder.advance(indices)       # append one chosen character per row

WindowDecoder re-reads the last seq_length characters every step from a fresh LSTM state,
exactly what the model saw in training with --targets last (the tutorial). StatefulDecoder
feeds one character a step and carries the LSTM state, O(1) per character; it is computed in
NumPy straight from the model's weights (Keras' LSTM and GRU equations, each cell's step in
charlstm.model.cells), which on a CPU is far faster per step than any framework call. An
Embedding layer is a row lookup.

StatefulDecoder computes in float64 (the float32 weights, exactly widened). In float32 a
matrix product's rows depend on the batch around them: BLAS picks other kernels and
summation orders for 1 row and for 32, and the results differ in the 5th digit, enough to
flip a greedy choice at a near tie. In float64 those differences are around 1e-15, so a row
gives the same text alone (generate.py --stateful), among other clients' rows (serve.py
decodes every stream in one batch) and in a browser (JavaScript's numbers are float64).
"""

import numpy as np

from ..model.cells import CELLS
from ..model.models import build_model, compiled_forward
from ..text.windows import encode_inputs, input_table


class WindowDecoder:
    """The tutorial's decoding: each step, the model on the last seq_length characters."""

    def __init__(self, model, topology, seq_length):
        self.seq_length = seq_length
        self.input_table = input_table(topology.vocab_size, topology.input_encoding)
        # Full windows go through an unrolled twin (same weights, same arithmetic, faster);
        # windows still growing from a short prime through the model itself.
        unrolled = build_model(topology, seq_length, unroll=True)
        unrolled.set_weights(model.get_weights())
        self.forward_full_window = compiled_forward(unrolled)
        self.forward_any_length = compiled_forward(model)
        self.windows = None

    def start(self, primes):
        self.windows = np.asarray(primes)[:, -self.seq_length :]
        return self._forward()

    def advance(self, indices):
        grown = np.concatenate([self.windows, np.asarray(indices)[:, None]], axis=1)
        self.windows = grown[:, -self.seq_length :]
        return self._forward()

    def _forward(self):
        inputs = encode_inputs(self.windows, self.input_table)
        if self.windows.shape[1] == self.seq_length:
            return self.forward_full_window(inputs)
        return self.forward_any_length(inputs)


# How much of a prime stateful decoding reads: its last characters only. An LSTM's state
# has forgotten far less distant characters, and stepping a million-character prime one
# character at a time would take minutes.
STATEFUL_PRIME_CONTEXT = 10_000


class StatefulDecoder:
    """One character a step with the recurrent state carried over, from zero state at
    start(), which reads the last STATEFUL_PRIME_CONTEXT characters of the primes."""

    def __init__(self, model, topology):
        weights = [np.asarray(array, np.float64) for array in model.get_weights()]
        self.input_table = input_table(topology.vocab_size,
                                       topology.input_encoding).astype(np.float64)
        if topology.reads_indices:  # the Embedding's matrix: character i's vector is row i
            self.input_table, *weights = weights
        self.layers = [tuple(weights[3 * n : 3 * n + 3]) for n in range(topology.layers)]
        self.dense_kernel, self.dense_bias = weights[3 * topology.layers :]
        self.units = topology.units
        cell = CELLS[topology.cell]
        self.step, self.state_count = cell.step, cell.state_count
        self.states = None

    def start(self, primes):
        primes = np.asarray(primes)[:, -STATEFUL_PRIME_CONTEXT:]
        self.states = self.zero_states(len(primes))
        for position in range(primes.shape[1] - 1):
            self.step_rows(primes[:, position])
        return self.advance(primes[:, -1])

    def advance(self, indices):
        return self.probabilities(self.step_rows(np.asarray(indices)))

    def zero_states(self, rows):
        """Each layer's state for `rows` rows that have read nothing yet."""
        zeros = np.zeros((rows, self.units), np.float64)
        return [(zeros,) * self.state_count for _ in self.layers]

    def probabilities(self, top):
        """Next-character probabilities from the top layer's hidden state (the Dense and its
        softmax)."""
        logits = top @ self.dense_kernel + self.dense_bias
        logits -= logits.max(axis=1, keepdims=True)
        exponentials = np.exp(logits)
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def step_rows(self, indices):
        """The cell, layer by layer, for one character a row (self.states holds the rows'
        states; serving.py keeps many clients' rows there); returns the top layer's new
        hidden state."""
        inputs = self.input_table[indices]
        for number, weights in enumerate(self.layers):
            inputs, self.states[number] = self.step(inputs, self.states[number], weights)
        return inputs
