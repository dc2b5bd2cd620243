"""Export a checkpoint for use outside charlstm: in a Keras script of your own, behind a
TensorFlow server, or in any runtime that steps an LSTM one character at a time.

Every exported model takes character indices (int32) and returns next-character
probabilities. The input encoding (one-hot, or the tutorial's index / vocabulary size) is an
Embedding layer with fixed weights inside the model, and there is no Dropout (inference
only), so the model is made of stock Keras layers and loads without charlstm. Beside it,
PATH.json holds what the indices mean: the vocabulary in index order, the window length, and
that the text is lower-cased (and without punctuation, for --strip-punctuation runs).

  keras       PATH.keras: (batch, time) indices -> (batch, vocabulary) probabilities of the
              character after the window; keras.saving.load_model(PATH) opens it
  savedmodel  a TensorFlow SavedModel folder (Model.export), the same function as `serve`
              (TensorFlow backend only)
  onestep     PATH.keras: one character a step, the LSTM state in and out, as the TensorFlow
              text-generation tutorial's OneStep: inputs (batch, 1) indices and one (batch,
              units) h and c per layer, outputs the probabilities and the new h and c per
              layer; start from zeros. Its greedy text is generate.py --stateful's.

    python export.py --weights runs/weights-improvement-15-1.1234.hdf5 --output alice.keras

    >>> sidecar_path("alice.keras")
    'alice.keras.json'
"""

import json
import os

import numpy as np

from .backend import import_keras
from .errors import UserError
from .files import check_output
from .loading import load_for_generation
from .logs import log
from .windows import input_table

keras = import_keras()  # quietly, once: see charlstm.backend


def sidecar_path(output):
    return output + ".json"


def _encoding(checkpoint, name="encoding"):
    """The input encoding as an Embedding with fixed weights: index -> encoded features."""
    table = input_table(checkpoint.topology.vocab_size, checkpoint.topology.input_encoding)
    layer = keras.layers.Embedding(table.shape[0], table.shape[1], trainable=False, name=name)
    return layer, table


def _copy_weights(exported, source):
    """Each exported LSTM and Dense layer takes the weights of the checkpoint model's layer of
    the same name."""
    names = {layer.name for layer in source.layers if layer.weights}
    for layer in exported.layers:
        if layer.name in names:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def window_model(checkpoint, source):
    """(batch, time) indices -> probabilities of the character after the window."""
    topology = checkpoint.topology
    inputs = keras.Input((None,), dtype="int32", name="characters")
    encoding, table = _encoding(checkpoint)
    hidden = encoding(inputs)
    for number in range(1, topology.layers + 1):
        hidden = keras.layers.LSTM(topology.units, return_sequences=number < topology.layers,
                                   name=f"lstm_{number}")(hidden)
    outputs = keras.layers.Dense(topology.output_size, activation="softmax",
                                 name="dense_1")(hidden)
    model = keras.Model(inputs, outputs, name="charlstm_window")
    encoding.set_weights([table])
    _copy_weights(model, source)
    return model


def onestep_model(checkpoint, source):
    """One character and the state in; probabilities and the new state out."""
    topology = checkpoint.topology
    character = keras.Input((1,), dtype="int32", name="character")
    states = []
    for number in range(1, topology.layers + 1):
        states += [keras.Input((topology.units,), name=f"h_{number}"),
                   keras.Input((topology.units,), name=f"c_{number}")]
    encoding, table = _encoding(checkpoint)
    hidden = encoding(character)
    new_states = []
    for number in range(1, topology.layers + 1):
        hidden, h, c = keras.layers.LSTM(
            topology.units, return_sequences=True, return_state=True, name=f"lstm_{number}",
        )(hidden, initial_state=states[2 * number - 2 : 2 * number])
        new_states += [h, c]
    probabilities = keras.layers.Dense(topology.output_size, activation="softmax",
                                       name="dense_1")(hidden)
    probabilities = keras.layers.Reshape((topology.output_size,), name="probabilities")(
        probabilities)
    model = keras.Model([character, *states], [probabilities, *new_states],
                        name="charlstm_onestep")
    encoding.set_weights([table])
    _copy_weights(model, source)
    return model


def describe(checkpoint, output_format, model):
    """What PATH.json says: enough to encode a text and read the outputs, with no charlstm."""
    topology = checkpoint.topology
    description = {
        "format": output_format,
        "vocabulary": checkpoint.vocabulary.chars,
        "seq_length": checkpoint.seq_length,
        "lower_case": True,
        "strip_punctuation": checkpoint.strip_punctuation,
        "input_encoding": topology.input_encoding,
        "inputs": [tensor.name for tensor in model.inputs],
        "outputs": "probabilities of the next character, in vocabulary order",
        "layers": topology.layers,
        "units": topology.units,
        "usage": "index = vocabulary.index(character) for each character of the lower-cased "
                 "text; feed int32 indices",
    }
    if output_format == "onestep":
        description["outputs"] = ("[probabilities (batch, vocabulary), then h and c for each "
                                  "layer]; feed the h and c back with the next character, "
                                  "zeros at the start")
    return description


def check_export_output(options):
    """The output path to write (a SavedModel folder's without a trailing separator), after
    the checks of files.check_output: no device, FIFO or link replaced, no input
    overwritten, and a SavedModel only into a new folder, an empty one or an old
    SavedModel."""
    if not options.output:
        raise UserError("cannot write export: its path is empty")
    output = options.output.rstrip("/" + os.sep) or options.output
    inputs = [("checkpoint", options.weights), ("text file", options.text)]
    if options.format in ("keras", "onestep"):
        if not output.endswith(".keras"):
            raise UserError(f"--output '{output}' must end in .keras for --format "
                            f"{options.format}")
        check_output(output, "export", inputs)
    elif os.path.lexists(output):
        if not os.path.isdir(output) or os.path.islink(output):
            raise UserError(f"cannot write SavedModel '{output}': it exists and is not a "
                            "folder; a SavedModel is a folder: name a new one")
        names = os.listdir(output)
        if names and "saved_model.pb" not in names:
            raise UserError(f"cannot write SavedModel '{output}': it is a folder that holds "
                            "other files; name a new folder")
    check_output(sidecar_path(output), "export description", inputs)
    return output


def _write(model, output, output_format):
    """model.save or model.export, with TensorFlow's own errors as one line."""
    if output_format != "savedmodel":
        model.save(output)
        return
    import tensorflow as tf

    try:
        model.export(output, format="tf_saved_model", verbose=False)
    except tf.errors.OpError as error:  # a read-only folder, /proc, an existing file
        raise UserError(f"cannot write SavedModel '{output}': {error.message}") from None


def export(options):
    """Write the checkpoint options.weights as options.format to options.output (and
    output.json); ExportOptions (charlstm.config). Returns the path written. UserError for
    what the backend cannot do or a path it may not or cannot write."""
    output_format = options.format
    if output_format == "savedmodel" and keras.backend.backend() != "tensorflow":
        raise UserError("--format savedmodel needs the TensorFlow backend (it is a TensorFlow "
                        f"format; this is {keras.backend.backend()}): run with "
                        "KERAS_BACKEND=tensorflow, or export --format keras")
    output = check_export_output(options)
    source, checkpoint, _ = load_for_generation(options.weights, options.text,
                                                options.seq_length)
    build = onestep_model if output_format == "onestep" else window_model
    model = build(checkpoint, source)
    folder = os.path.dirname(os.path.abspath(output))
    try:
        os.makedirs(folder, exist_ok=True)
        _write(model, output, output_format)
        with open(sidecar_path(output), "w", encoding="utf-8") as handle:
            json.dump(describe(checkpoint, output_format, model), handle, indent=1,
                      ensure_ascii=False)
    except OSError as error:
        raise UserError(f"cannot write '{output}': {error.strerror or error}") from None
    log(f"exported {options.weights} as {output_format}: {output} (and "
        f"{sidecar_path(output)})")
    return output


def encode(description, text):
    """Indices of a text by an export's description (what a user of the export does)."""
    chars = description["vocabulary"]
    lookup = {char: index for index, char in enumerate(chars)}
    text = text.lower() if description["lower_case"] else text
    return np.array([lookup[char] for char in text], dtype=np.int32)
