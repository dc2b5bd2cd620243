"""The tutorial's two topologies, built in one place for training and generation.

small (layers=1):  LSTM(256) -> Dropout(0.2) -> Dense(vocab, softmax)
bigger (layers=2): LSTM(256, return_sequences) -> Dropout(0.2) -> LSTM(256) -> Dropout(0.2)
                   -> Dense(vocab, softmax)

Layers are named as Keras 2 named them in the tutorial's day (lstm_1, dropout_1, dense_1), so
names in checkpoint files do not depend on how many models a process has built. The LSTMs keep
Keras' defaults (tanh, sigmoid, no recurrent dropout, not unrolled, with bias), which is what
cuDNN needs on a GPU.

--cell gru puts GRU layers (gru_1, gru_2) in the same places, with Keras' defaults too
(reset_after=True, cuDNN's form). --input-encoding embedding makes the first layer an
Embedding (embedding_1) that reads (batch, time) int32 indices.

    >>> import numpy as np
    >>> model = build_model(Topology(vocab_size=43, output_size=43), seq_length=100)
    >>> [layer.name for layer in model.layers]
    ['lstm_1', 'dropout_1', 'dense_1']
    >>> forward = compiled_forward(model)
    >>> forward(np.zeros((2, 100, 1), np.float32)).shape   # numpy in, numpy out
    (2, 43)
"""

from ..system.backend import import_keras
from ..text.sequences import PADDING_TARGET
from .cells import CELLS
from .topology import Topology

keras = import_keras()  # quietly, once: see charlstm.system.backend

__all__ = ["Topology", "build_model", "compile_model", "compiled_forward"]


def build_model(topology, seq_length=None, unroll=False, every_position=False,
                stateful_batch_size=None):
    """A Sequential model; seq_length None accepts windows of any length (generation).

    every_position=True (training with --targets every) makes the last LSTM return its whole
    sequence, so that the Dense layer predicts a next character at every position. No weight
    changes shape: such a model's weights load into the tutorial topology and back.

    unroll=True (generation only, fixed seq_length) replaces the LSTM's time loop by seq_length
    copies of its step: the same arithmetic, bit for bit, and faster for single windows on a
    CPU, where the loop's per-step overhead dominates. Training keeps the loop, which cuDNN
    needs on a GPU.

    stateful_batch_size=B (training with --stateful, idea 10) fixes the batch at B rows and
    makes every LSTM keep its state from one batch to the next: row b of a batch continues
    row b of the batch before (see charlstm.text.sequences.StreamBatches). Weight shapes do not
    change.

    input_dropout > 0 puts a Dropout layer on the input (idea 6). It has no weights, so files
    still load into the tutorial's topology, and at inference it passes inputs unchanged.
    """
    # Indices (batch, time) for an embedding; else encoded features (batch, time, width).
    per_row = (seq_length,) if topology.reads_indices else (seq_length, topology.input_width)
    dtype = "int32" if topology.reads_indices else None
    if stateful_batch_size:
        shape = dict(batch_shape=(stateful_batch_size, *per_row))
    else:
        shape = dict(shape=per_row)
    stack = [keras.Input(**shape, dtype=dtype, name="characters")]
    if topology.reads_indices:
        stack.append(keras.layers.Embedding(topology.vocab_size, topology.embedding_size,
                                            name="embedding_1"))
    if topology.input_dropout:
        stack.append(keras.layers.Dropout(topology.input_dropout, name="input_dropout"))
    recurrent = CELLS[topology.cell].keras_layer()  # with Keras' defaults, as cuDNN needs
    for number in range(1, topology.layers + 1):
        stack.append(
            recurrent(
                topology.units,
                return_sequences=every_position or number < topology.layers,
                unroll=unroll,
                stateful=bool(stateful_batch_size),
                name=f"{topology.cell}_{number}",
            )
        )
        stack.append(keras.layers.Dropout(topology.dropout, name=f"dropout_{number}"))
    # Under a mixed-precision policy (--mixed-precision) the softmax, and so the loss, stay
    # float32; under the default float32 policy this is the layer it always was.
    output_dtype = "float32" if keras.mixed_precision.dtype_policy().name.startswith("mixed") else None
    stack.append(keras.layers.Dense(topology.output_size, activation="softmax", name="dense_1",
                                    dtype=output_dtype))
    return keras.Sequential(stack, name="char_lstm")


def compile_model(model, learning_rate=0.001, clipnorm=None, padded_targets=False,
                  optimizer=None):
    """The tutorial's Adam (learning rate 0.001 is Keras' default) and cross-entropy; sparse
    targets give the same loss as one-hot ones. padded_targets=True makes the loss ignore
    PADDING_TARGET positions (padded sentences). optimizer (charlstm.model.optimizer's, for a
    schedule, weight decay or an average) replaces Adam and its two arguments."""
    if optimizer is None:
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm)
    loss = "sparse_categorical_crossentropy"
    if padded_targets:
        loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=PADDING_TARGET)
    model.compile(optimizer=optimizer, loss=loss)
    return model


def compiled_forward(model):
    """Return f(inputs: np.ndarray) -> np.ndarray, the model's inference pass, compiled once.

    Model.predict builds an iterator and callbacks on every call (about 40 ms on a CPU), far
    too slow for a loop of single characters. This traces the model once per backend, with a
    free batch dimension, and is bit-identical to Model.predict (no XLA, whose fused
    kernels round differently).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        # The model's own input shape: (None, None, width) for any window length, or a fixed
        # length for an unrolled model; (None, None) int32 indices for an embedding.
        traced = tf.function(
            lambda inputs: model(inputs, training=False),
            input_signature=[tf.TensorSpec(model.inputs[0].shape, model.inputs[0].dtype)],
        )
        return lambda inputs: traced(inputs).numpy()
    if backend == "jax":
        import jax
        import numpy as np

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        @jax.jit
        def jitted(trainable, non_trainable, inputs):
            outputs, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
            return outputs

        return lambda inputs: np.asarray(jitted(trainable, non_trainable, inputs))
    return lambda inputs: keras.ops.convert_to_numpy(model(inputs, training=False))
