"""A Keras model's arrays, to and from a checkpoint file (checkpoints.format writes and reads the
file; this side knows the model).

snapshot(model) takes what a checkpoint holds: each layer's weights under the names Keras 2
gave them, and for a compiled model whose optimizer has started, the training state (the
optimizer's variables, the model's non-trainable ones, and with --ema the raw weights, since
the layers then hold the moving average). restore_training_state() puts that state back.

    >>> from charlstm.model.models import Topology, build_model
    >>> model = build_model(Topology(vocab_size=5, output_size=5, units=4))
    >>> [name for name, _ in snapshot(model).layers[0][1]]
    ['lstm_1/lstm_cell/kernel:0', 'lstm_1/lstm_cell/recurrent_kernel:0', 'lstm_1/lstm_cell/bias:0']
"""

import numpy as np

from ..system.backend import import_keras
from .format import Snapshot, read_training_state
from ..model.keras_compat import moving_averages

keras = import_keras()  # quietly, once: see charlstm.system.backend


def _weight_file_name(layer, variable):
    # Keras 2 named weights "<layer>/<cell>/<weight>:0"; Keras 3 paths are
    # "<model>/<layer>/<cell>/<weight>". Loaders ignore these names, people reading files don't.
    parts = variable.path.split("/")
    if layer.name in parts:
        parts = parts[parts.index(layer.name) :]
    return "/".join(parts) + ":0"


def _values(variables):
    return [(variable.path, np.asarray(keras.ops.convert_to_numpy(variable)))
            for variable in variables]


def _training_variables(model):
    """{part: variables} of the training state, in charlstm.checkpoints.format's parts."""
    optimizer = model.optimizer
    parts = {"optimizer": optimizer.variables, "model": model.non_trainable_variables}
    if moving_averages(model):  # --ema: the layers hold the average, this the raw weights
        parts["weights"] = model.trainable_variables
    return parts


def snapshot(model):
    """The Snapshot of a model for charlstm.checkpoints.format.write_checkpoint."""
    averages = moving_averages(model)
    layers = []
    for layer in model.layers:
        if not layer.weights:
            continue
        # With --ema the layers' values are the weights' moving average: what validation
        # scored and what generation should use.
        layers.append((layer.name, [
            (_weight_file_name(layer, variable),
             keras.ops.convert_to_numpy(averages.get(variable.path, variable)))
            for variable in layer.weights]))
    training_state = {}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and optimizer.built:
        training_state = {part: _values(variables)
                          for part, variables in _training_variables(model).items()}
    return Snapshot(layers, keras.backend.backend(), keras.__version__, training_state)


def restore_training_state(checkpoint_path, model, skip=("learning_rate",), absent=()):
    """Put a checkpoint's optimizer and non-trainable variables (and with --ema the raw
    weights) into a compiled model of the same topology; checkpoint.has_training_state says
    whether the file has them. Variables whose path ends in a name in skip keep their
    value: the learning rate may change on resume. Those named in absent are not in the file
    (it predates them) and keep theirs too. UserError on any mismatch."""
    model.optimizer.build(model.trainable_variables)

    def in_file(variables):
        return [variable for variable in variables
                if variable.path.split("/")[-1] not in absent]

    parts = {"optimizer": in_file(model.optimizer.variables),
             "model": model.non_trainable_variables,
             "weights": model.trainable_variables}  # weights: only files written with --ema
    needed = {part: [(variable.path, tuple(variable.shape)) for variable in variables]
              for part, variables in parts.items()}
    state = read_training_state(checkpoint_path, needed)
    for part, values in state.items():
        for variable, value in zip(parts[part], values):
            if variable.path.split("/")[-1] not in skip:
                variable.assign(value)
