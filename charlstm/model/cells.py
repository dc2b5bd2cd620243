"""The recurrent cells (--cell), each declared once: its gates, its Keras layer, its NumPy
step, its state and its weights. Flags, models, checks, checkpoints, decoders and exports
read CELLS; adding a cell is one entry here and one step function in web/decoder.js.

Importing this module imports no Keras (config reads CELLS for --cell's choices): the layer
class is looked up only when Cell.keras_layer() is called.

    >>> sorted(CELLS)
    ['gru', 'lstm']
    >>> gru = CELLS["gru"]
    >>> gru.gates, gru.states, gru.bias_shape(units=2)
    (3, ('h',), (2, 6))
    >>> gru.weight_count(inputs=4, units=2)   # 3 gates x 2 units x (4 + 2 + two bias rows)
    48
"""

import dataclasses
from typing import Callable

import numpy as np

from ..system.backend import import_keras


def _sigmoid(values):
    # The tanh form cannot overflow, unlike 1 / (1 + exp(-x)) for large negative x.
    return 0.5 * (1.0 + np.tanh(0.5 * values))


def lstm_step(inputs, state, weights):
    """Keras' LSTM cell (gates i, f, c, o; tanh and sigmoid): (new hidden, (hidden, cell))."""
    kernel, recurrent_kernel, bias = weights
    hidden, cell = state
    gates = inputs @ kernel + hidden @ recurrent_kernel + bias
    input_gate, forget_gate, candidate, output_gate = np.split(gates, 4, axis=1)
    cell = _sigmoid(forget_gate) * cell + _sigmoid(input_gate) * np.tanh(candidate)
    hidden = _sigmoid(output_gate) * np.tanh(cell)
    return hidden, (hidden, cell)


def gru_step(inputs, state, weights):
    """Keras 3's GRU cell with its defaults (reset_after=True, gates z, r then the candidate
    h, bias (2, 3 units): the input's row, then the recurrent one): (new hidden, (hidden,))."""
    kernel, recurrent_kernel, bias = weights
    (hidden,) = state
    x_z, x_r, x_h = np.split(inputs @ kernel + bias[0], 3, axis=1)
    h_z, h_r, h_h = np.split(hidden @ recurrent_kernel + bias[1], 3, axis=1)
    update, reset = _sigmoid(x_z + h_z), _sigmoid(x_r + h_r)
    candidate = np.tanh(x_h + reset * h_h)
    hidden = update * hidden + (1.0 - update) * candidate
    return hidden, (hidden,)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One recurrent cell, as Keras builds it with its defaults (what cuDNN needs on a GPU).
    Its weights per layer are Keras' three: kernel (inputs, width), recurrent kernel (units,
    width) and bias, where width is gates x units."""

    name: str  # --cell's value, and the layers' names in files (lstm_1, gru_2)
    gates: int  # weight matrices per unit: a column block of width `units` each
    layer_name: str  # the class in keras.layers, looked up by keras_layer()
    # (inputs, state, float64 weights) -> (new hidden, new state): one character a row
    step: Callable
    states: tuple  # the state arrays a layer carries, each (rows, units), in Keras' order
    bias_rows: int = 1  # 2 for a GRU with reset_after: the input's row and the recurrent one

    @property
    def state_count(self):
        return len(self.states)

    def width(self, units):
        """Columns of the kernels: the gates side by side."""
        return self.gates * units

    def bias_shape(self, units):
        width = self.width(units)
        return (width,) if self.bias_rows == 1 else (self.bias_rows, width)

    def weight_count(self, inputs, units):
        """Weights of one layer reading `inputs` features: kernel, recurrent kernel, bias."""
        return self.width(units) * (inputs + units + self.bias_rows)

    def keras_layer(self):
        """The Keras layer class (keras.layers.LSTM, ...); the first call imports Keras."""
        return getattr(import_keras().layers, self.layer_name)


CELLS = {
    "lstm": Cell("lstm", gates=4, layer_name="LSTM", step=lstm_step, states=("h", "c")),
    "gru": Cell("gru", gates=3, layer_name="GRU", step=gru_step, states=("h",), bias_rows=2),
}
