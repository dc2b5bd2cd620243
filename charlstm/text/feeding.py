"""How a run's batches reach Keras' fit(): a tf.data pipeline on TensorFlow, a
keras.utils.PyDataset on the other backends, over the same windows.GlobalSteps, so the data
and its order are the same whichever feeds them.

    >>> import numpy as np
    >>> from charlstm.text.windows import WindowBatches, input_table
    >>> batches = WindowBatches(np.arange(40) % 5, 4, 8, input_table(5))
    >>> data, steps_per_epoch = training_data(batches, epochs=2)
    >>> steps_per_epoch in (None, len(batches))
    True
"""

from ..system.backend import import_keras
from .windows import GlobalSteps

keras = import_keras()  # quietly, once: see charlstm.system.backend


class StepsDataset(keras.utils.PyDataset):
    """GlobalSteps for Keras' fit(); read in order on the main thread (workers=1), which
    stateful training relies on."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def __len__(self):
        return len(self.steps)

    def __getitem__(self, batch_number):
        return self.steps[batch_number]

    def on_epoch_end(self):
        self.steps.on_epoch_end()


def training_data(batches, epochs, initial_epoch=0, steps_per_epoch=None):
    """What to give Model.fit for EpochBatches, for epochs initial_epoch .. epochs - 1:
    (data, steps_per_epoch).

    An epoch is one pass over the batches, or steps_per_epoch batches when given (for texts
    too big for one pass an epoch), numbered as windows.GlobalSteps says.

    On TensorFlow, Keras feeds a PyDataset through tf.data.Dataset.from_generator, which cost
    ~80 ms a step here (208 ms instead of 125 ms for the small model on 2 CPU cores, measured
    in one run). A tf.data pipeline that maps step numbers through numpy_function runs at
    the speed of in-memory arrays, so TensorFlow gets that; the data and its order are the
    same (EpochBatches.batch). Other backends get a PyDataset over the same steps.
    """
    steps = GlobalSteps(batches, steps_per_epoch, initial_epoch)
    if keras.backend.backend() != "tensorflow":
        return StepsDataset(steps), None
    import tensorflow as tf

    per_epoch, table = steps.steps_per_epoch, batches.table
    # Encoded features (float32, batch x time x width), or indices (int32, batch x time).
    input_dtype, input_shape = tf.as_dtype(table.dtype), (None, None) + table.shape[1:]

    def fetch(step):
        inputs, targets = tf.numpy_function(steps.load, [step], (input_dtype, tf.int32))
        inputs.set_shape(input_shape)
        targets.set_shape((None, None) if batches.sequence_targets else (None,))
        return inputs, targets

    # One dataset for the whole run, epochs back to back: Keras keeps its iterator across
    # epochs when steps_per_epoch is given, and prefetching crosses epoch boundaries. The map
    # is sequential, so batches arrive in order (stateful training relies on it).
    dataset = tf.data.Dataset.range(per_epoch * initial_epoch, per_epoch * epochs)
    dataset = dataset.map(fetch).prefetch(tf.data.AUTOTUNE)
    # Under --distribute, tf.distribute splits each (global) batch into per-replica pieces
    # and, across machines, shards those pieces: sharding by data, as there are no files.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options), per_epoch
