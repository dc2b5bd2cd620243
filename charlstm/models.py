"""The tutorial's two topologies, built in one place for training and generation.

small (layers=1):  LSTM(256) -> Dropout(0.2) -> Dense(vocab, softmax)
bigger (layers=2): LSTM(256, return_sequences) -> Dropout(0.2) -> LSTM(256) -> Dropout(0.2)
                   -> Dense(vocab, softmax)

Layers are named as Keras 2 named them in the tutorial's day (lstm_1, dropout_1, dense_1), so
names in checkpoint files do not depend on how many models a process has built. The LSTMs keep
Keras' defaults (tanh, sigmoid, no recurrent dropout, not unrolled, with bias), which is what
cuDNN needs on a GPU.

    >>> model = build_model(Topology(vocab_size=43, output_size=43), seq_length=100)
    >>> [layer.name for layer in model.layers]
    ['lstm_1', 'dropout_1', 'dense_1']
"""

from dataclasses import dataclass

from .backend import import_keras

keras = import_keras()


@dataclass(frozen=True)
class Topology:
    vocab_size: int  # characters the inputs are scaled by (the tutorial's n_vocab)
    output_size: int  # Dense width: the vocabulary, or fewer in legacy tutorial files
    layers: int = 1
    units: int = 256
    dropout: float = 0.2
    input_encoding: str = "scaled"  # "scaled": index / vocab_size; "one-hot": a 1 in vocab_size

    @property
    def input_width(self):
        """Features per time step."""
        return self.vocab_size if self.input_encoding == "one-hot" else 1


def build_model(topology, seq_length=None, unroll=False, every_position=False):
    """A Sequential model; seq_length None accepts windows of any length (generation).

    every_position=True (training with --targets every) makes the last LSTM return its whole
    sequence, so that the Dense layer predicts a next character at every position. No weight
    changes shape: such a model's weights load into the tutorial topology and back.

    unroll=True (generation only, fixed seq_length) replaces the LSTM's time loop by seq_length
    copies of its step: the same arithmetic, bit for bit, and faster for single windows on a
    CPU, where the loop's per-step overhead dominates. Training keeps the loop, which cuDNN
    needs on a GPU.
    """
    stack = [keras.Input(shape=(seq_length, topology.input_width), name="characters")]
    for number in range(1, topology.layers + 1):
        stack.append(
            keras.layers.LSTM(
                topology.units,
                return_sequences=every_position or number < topology.layers,
                unroll=unroll,
                name=f"lstm_{number}",
            )
        )
        stack.append(keras.layers.Dropout(topology.dropout, name=f"dropout_{number}"))
    stack.append(keras.layers.Dense(topology.output_size, activation="softmax", name="dense_1"))
    return keras.Sequential(stack, name="char_lstm")


def compile_model(model, learning_rate=0.001, clipnorm=None):
    """The tutorial's Adam (learning rate 0.001 is Keras' default) and cross-entropy; sparse
    targets give the same loss as one-hot ones. learning_rate may be a Keras schedule."""
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model
