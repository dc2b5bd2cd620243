"""Export a checkpoint for use outside charlstm: in a Keras script of your own, behind a
TensorFlow server, or in any runtime that steps an LSTM one character at a time.

Every exported model takes character indices (int32) and returns next-character
probabilities. The input encoding (one-hot, or the tutorial's index / vocabulary size) is an
Embedding layer with fixed weights inside the model (a model trained with --input-encoding
embedding keeps its own), and there is no Dropout (inference only), so the model is made of
stock Keras layers (LSTM or GRU) and loads without charlstm. Beside it,
PATH.json holds what the indices mean: the vocabulary in index order, the window length, and
that the text is lower-cased (and without punctuation, for --strip-punctuation runs).

  keras       PATH.keras: (batch, time) indices -> (batch, vocabulary) probabilities of the
              character after the window; keras.saving.load_model(PATH) opens it
  savedmodel  a TensorFlow SavedModel folder (Model.export), the same function as `serve`
              (TensorFlow backend only)
  onestep     PATH.keras: one character a step, the LSTM state in and out, as the TensorFlow
              text-generation tutorial's OneStep: inputs (batch, 1) indices and one (batch,
              units) h and c per LSTM layer (h per GRU layer), outputs the probabilities and
              the new states; start from zeros. Its greedy text is generate.py --stateful's.
  web         a static folder whose page writes text in any browser, with no server
              (charlstm.exporting.web): opened from disk or put on any static host

With no --weights, export takes what generate.py takes: the best checkpoint in this folder,
else the bundled model.

    python export.py --weights runs/weights-improvement-15-1.1234.hdf5 --output alice.keras

    >>> sidecar_path("alice.keras")
    'alice.keras.json'
"""

import dataclasses
import json
import os

import numpy as np

from ..system.backend import import_keras
from ..errors import UserError
from ..system.files import check_output
from ..checkpoints.run_folder import default_weights
from ..checkpoints.loading import load_for_generation
from ..logs import log
from ..system.devices import report_device
from ..model.cells import CELLS
from .web import check_web_output, write_web_folder
from ..text.windows import input_table

keras = import_keras()  # quietly, once: see charlstm.system.backend


def sidecar_path(output):
    return output + ".json"


def _encoding(checkpoint):
    """The input encoding as an Embedding: the checkpoint's own learned one (embedding_1,
    --input-encoding embedding), or one with fixed weights, index -> encoded features.
    Returns (layer, its fixed table, or None for the learned one: _copy_weights fills it)."""
    topology = checkpoint.topology
    if topology.reads_indices:
        layer = keras.layers.Embedding(topology.vocab_size, topology.embedding_size,
                                       name="embedding_1")
        return layer, None
    table = input_table(topology.vocab_size, topology.input_encoding)
    layer = keras.layers.Embedding(table.shape[0], table.shape[1], trainable=False,
                                   name="encoding")
    return layer, table


def _copy_weights(exported, source, encoding, table):
    """The fixed encoding's table, then each exported Embedding, LSTM (or GRU) and Dense layer
    takes the weights of the checkpoint model's layer of the same name."""
    if table is not None:
        encoding.set_weights([table])
    names = {layer.name for layer in source.layers if layer.weights}
    for layer in exported.layers:
        if layer.name in names:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def _recurrent(topology, number, **arguments):
    """Layer number of the checkpoint's cell, named as in its file (lstm_1, gru_2)."""
    layer = CELLS[topology.cell].keras_layer()
    return layer(topology.units, name=f"{topology.cell}_{number}", **arguments)


def state_names(topology):
    """The one-step model's state inputs (and outputs), in order: the cell's states per
    layer (h and c per LSTM layer, h per GRU layer)."""
    kinds = CELLS[topology.cell].states
    return [f"{kind}_{number}" for number in range(1, topology.layers + 1) for kind in kinds]


def window_model(checkpoint, source):
    """(batch, time) indices -> probabilities of the character after the window."""
    topology = checkpoint.topology
    inputs = keras.Input((None,), dtype="int32", name="characters")
    encoding, table = _encoding(checkpoint)
    hidden = encoding(inputs)
    for number in range(1, topology.layers + 1):
        hidden = _recurrent(topology, number,
                            return_sequences=number < topology.layers)(hidden)
    outputs = keras.layers.Dense(topology.output_size, activation="softmax",
                                 name="dense_1")(hidden)
    model = keras.Model(inputs, outputs, name="charlstm_window")
    _copy_weights(model, source, encoding, table)
    return model


def onestep_model(checkpoint, source):
    """One character and the state in; probabilities and the new state out."""
    topology = checkpoint.topology
    character = keras.Input((1,), dtype="int32", name="character")
    states = [keras.Input((topology.units,), name=name) for name in state_names(topology)]
    per_layer = len(states) // topology.layers
    encoding, table = _encoding(checkpoint)
    hidden = encoding(character)
    new_states = []
    for number in range(topology.layers):
        hidden, *layer_states = _recurrent(
            topology, number + 1, return_sequences=True, return_state=True,
        )(hidden, initial_state=states[per_layer * number : per_layer * (number + 1)])
        new_states += layer_states
    probabilities = keras.layers.Dense(topology.output_size, activation="softmax",
                                       name="dense_1")(hidden)
    probabilities = keras.layers.Reshape((topology.output_size,), name="probabilities")(
        probabilities)
    model = keras.Model([character, *states], [probabilities, *new_states],
                        name="charlstm_onestep")
    _copy_weights(model, source, encoding, table)
    return model


# What the model does with its int32 indices, by the checkpoint's --input-encoding.
INPUT_DESCRIPTIONS = {
    "scaled": "int32 character indices; a fixed Embedding inside the model turns index i "
              "into i / vocabulary size, the input the model was trained on",
    "one-hot": "int32 character indices; a fixed Embedding inside the model turns index i "
               "into a one-hot vector, the input the model was trained on",
    "embedding": "int32 character indices, read by the model's own trained Embedding "
                 "(embedding_size features a character)",
}


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
        "input": INPUT_DESCRIPTIONS[topology.input_encoding],
        "inputs": [tensor.name for tensor in model.inputs],
        "outputs": "probabilities of the next character, in vocabulary order",
        "cell": topology.cell,
        "layers": topology.layers,
        "units": topology.units,
        "usage": "index = vocabulary.index(character) for each character of the lower-cased "
                 "text; feed int32 indices",
    }
    if topology.reads_indices:
        description["embedding_size"] = topology.embedding_size
    if output_format == "onestep":
        states = " and ".join(dict.fromkeys(name.split("_")[0] for name in
                                            state_names(topology)))
        description["states"] = state_names(topology)
        description["outputs"] = (f"[probabilities (batch, vocabulary), then {states} for "
                                  f"each layer]; feed the {states} back with the next "
                                  "character, zeros at the start")
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
    """Write the checkpoint options.weights (None: folder.default_weights of this folder)
    as options.format to options.output (and output.json; a folder for web); ExportOptions
    (charlstm.config). Returns the path written. UserError for
    what the backend cannot do or a path it may not or cannot write."""
    output_format = options.format
    options = dataclasses.replace(options, weights=options.weights
                                  or default_weights(os.curdir))
    if output_format == "web":
        inputs = [("checkpoint", options.weights), ("text file", options.text)]
        output = check_web_output(options.output, inputs)  # before the checkpoint is read
        loaded = load_for_generation(options.weights, options.text, options.seq_length)
        report_device()  # once the inputs are known to be good: a mistake stays one line
        return write_web_folder(output, loaded, options.weights, inputs)
    if output_format == "savedmodel" and keras.backend.backend() != "tensorflow":
        raise UserError("--format savedmodel needs the TensorFlow backend (it is a TensorFlow "
                        f"format; this is {keras.backend.backend()}): run with "
                        "KERAS_BACKEND=tensorflow, or export --format keras")
    output = check_export_output(options)
    source, checkpoint, _ = load_for_generation(options.weights, options.text,
                                                options.seq_length)
    report_device()
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
