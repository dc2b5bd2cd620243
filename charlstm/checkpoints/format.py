"""Checkpoint files: the legacy Keras HDF5 weights layout plus the project's metadata.

Layout (what Keras 2 and Keras 3 `Model.load_weights(path)` both read, matching by order):
  root attrs  layer_names, backend, keras_version       the legacy Keras weights layout
  /<layer>    attr weight_names, one dataset per weight
  root attr   charlstm: JSON metadata (checkpoints.metadata: vocabulary, topology, the run)
  /charlstm_seed_text  the seed text: the training text as indices (its first
                       SEED_TEXT_LIMIT characters), from which generation draws its random
                       seed windows, so it needs no other file
  /charlstm_training_state/optimizer  Adam's variables (step count, learning rate, moments)
  /charlstm_training_state/model      the model's non-trainable variables (dropout's random
                       generator states): with the weights, all that --resume needs to carry
                       on exactly as if the run had never stopped
  /charlstm_training_state/weights    with --ema only: the raw weights being trained, since
                       the layers hold their moving average (what generation should use)
Weight loaders look only at layer_names, so the extra attribute and groups are invisible to
them. A file is built in memory and written atomically (charlstm.system.files): a crash or Ctrl-C
never leaves a half-written file under a checkpoint's name.

A file without the metadata is a legacy checkpoint (the tutorial's own, written by Keras 2,
often a whole model with the weights under /model_weights): its topology is read off the
weight shapes, its vocabulary must come from the text (charlstm.checkpoints.loading).

This module knows the file, not Keras: charlstm.checkpoints.snapshots turns a model into the arrays
written here and puts the training state read here back into a model.

    >>> import numpy as np, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "weights-improvement-01-2.0000.hdf5")
    >>> write_checkpoint(path, Snapshot(layers=[("lstm_1", [
    ...     ("lstm_1/kernel:0", np.zeros((1, 8), np.float32)),
    ...     ("lstm_1/recurrent_kernel:0", np.zeros((2, 8), np.float32)),
    ...     ("lstm_1/bias:0", np.zeros(8, np.float32))]), ("dense_1", [
    ...     ("dense_1/kernel:0", np.zeros((2, 3), np.float32)),
    ...     ("dense_1/bias:0", np.zeros(3, np.float32))])]), metadata=None, seed_text=None)
    >>> checkpoint = load_checkpoint(path)
    >>> checkpoint.is_legacy, checkpoint.topology.units, checkpoint.topology.output_size
    (True, 2, 3)
"""

import dataclasses
import io
import json
import math
import os

import h5py
import numpy as np

from ..config import BY_NAME
from ..text.rules import TextRules
from ..text.vocabulary import Vocabulary
from ..errors import UserError
from ..system.files import write_atomically
from .metadata import Metadata
from ..model.cells import CELLS
from ..model.topology import Topology

METADATA_ATTRIBUTE = "charlstm"
SEED_TEXT_DATASET = "charlstm_seed_text"
SEED_TEXT_LIMIT = 1_000_000
TRAINING_STATE_GROUP = "charlstm_training_state"
# The parts of the training state, in the order checkpoints.snapshots reads and writes them.
TRAINING_STATE_PARTS = ("optimizer", "model", "weights")
# Far beyond any character LSTM this project trains (the bigger model is 3 MB): a file that
# declares more is refused before anything is read, so that a file from the internet cannot
# exhaust memory.
MAX_WEIGHT_BYTES = 2**31


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A model's arrays as a checkpoint holds them (charlstm.checkpoints.snapshots makes one)."""

    layers: list  # [(layer name, [(weight name, array)])] for the layers that have weights
    backend: str = ""
    keras_version: str = ""
    # {part: [(variable path, array)]} for the parts in TRAINING_STATE_PARTS that exist;
    # empty for a model that has not trained
    training_state: dict = dataclasses.field(default_factory=dict)


def checkpoint_metadata(path):
    """A checkpoint file's metadata, read loosely and unchecked (only the attribute is
    read), or None for a file without it (a legacy tutorial file) or one that cannot be
    read. For telling runs apart in a folder; load_checkpoint checks everything."""
    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get(METADATA_ATTRIBUTE)
        fields = json.loads(raw) if raw is not None else None
    except (OSError, ValueError, TypeError):
        return None
    return Metadata(fields) if isinstance(fields, dict) else None


def _write_variables(group, variables):
    group.attrs["paths"] = np.array([path.encode() for path, _ in variables])
    for number, (_, value) in enumerate(variables):
        group.create_dataset(f"{number:04d}", data=value)


def write_checkpoint(path, snapshot, metadata, seed_text, inputs=()):
    """Write a Snapshot, its Metadata (None: a legacy-layout file) and the seed text (None:
    no text, --no-text-in-checkpoint) to path, atomically; never over a file that is not a
    regular one, or over one of inputs ((what, path) pairs: files.check_output).

    The file is built in memory and its bytes written with ordinary I/O: HDF5 closing a file
    on a full disk crashed the process (a segmentation fault), where a plain write fails with
    an OSError that becomes one line."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle.attrs["layer_names"] = np.array([name.encode() for name, _ in snapshot.layers])
        handle.attrs["backend"] = snapshot.backend.encode()
        handle.attrs["keras_version"] = snapshot.keras_version.encode()
        for layer_name, weights in snapshot.layers:
            group = handle.create_group(layer_name)
            group.attrs["weight_names"] = np.array([name.encode() for name, _ in weights])
            for name, value in weights:
                group.create_dataset(name, data=value)
        if metadata is not None:
            handle.attrs[METADATA_ATTRIBUTE] = metadata.to_json()
        if seed_text is not None:
            handle.create_dataset(SEED_TEXT_DATASET, data=seed_text[:SEED_TEXT_LIMIT],
                                  compression="gzip")
        if snapshot.training_state:
            state = handle.create_group(TRAINING_STATE_GROUP)
            for part in TRAINING_STATE_PARTS:
                if part in snapshot.training_state:
                    _write_variables(state.create_group(part), snapshot.training_state[part])
    write_atomically(path, buffer.getvalue(), inputs=inputs)


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """What a weights file holds, checked."""

    path: str
    weights: list  # numpy arrays in model.get_weights() order
    topology: Topology
    vocabulary: Vocabulary  # None for legacy files: it comes from the text
    seq_length: int  # None when the file does not say (legacy weights-only files)
    metadata: Metadata  # None for legacy files
    seed_text: np.ndarray  # the training text as indices; None for legacy files or none kept
    legacy_input_width: int = None  # features per step read off a legacy file's weights
    has_training_state: bool = False  # what --resume needs: see read_training_state

    @property
    def is_legacy(self):
        return self.metadata is None

    @property
    def strip_punctuation(self):
        """Whether the model was trained on text without punctuation."""
        return self.text_rules.strip_punctuation

    @property
    def documents_mode(self):
        """How its text was read: "files" (documents as they read; a legacy file) or "lines"
        (the items of a list, --documents lines)."""
        if self.metadata is None:
            return "files"
        return self.metadata.get(BY_NAME["documents"].key, "files")

    @property
    def text_rules(self):
        """The TextRules its training text went through, which a prime or a --text for it
        goes through too (a legacy file: the tutorial's)."""
        if self.metadata is None:
            return TextRules()
        recorded = {}
        for name in TextRules._fields:
            option = BY_NAME[name]
            if option.key in self.metadata:
                recorded[name] = self.metadata[option.key]
            elif self.metadata.format_version < option.since:
                recorded[name] = option.older_files_value
        return TextRules.of(recorded)


def _strings(values):
    return [value.decode("utf-8") if isinstance(value, bytes) else str(value) for value in values]


def _layer_datasets(handle):
    """[(layer name, [h5py datasets])] for the layers that have weights, in file order; nothing
    is read yet, so that shapes can be checked first."""
    group = handle
    if "layer_names" not in group.attrs and "model_weights" in group:
        group = group["model_weights"]  # a whole-model save, as the tutorial's checkpoints are
    if "layer_names" not in group.attrs:
        raise ValueError("no layer_names attribute: not a Keras weights file")
    layers = []
    for layer_name in _strings(group.attrs["layer_names"]):
        weight_names = _strings(group[layer_name].attrs.get("weight_names", []))
        if weight_names:
            layers.append((layer_name, [group[layer_name][name] for name in weight_names]))
    return layers


def _legacy_seq_length(handle):
    """The window length of a whole-model Keras 2 save, from its model_config, else None."""
    config = handle.attrs.get("model_config")
    if config is None:
        return None
    try:
        text = config.decode("utf-8") if isinstance(config, bytes) else str(config)
        layers = json.loads(text)["config"]
        layers = layers["layers"] if isinstance(layers, dict) else layers
        for layer in layers:
            shape = layer["config"].get("batch_input_shape") or layer["config"].get("batch_shape")
            if shape and len(shape) == 3:
                return shape[1]
    except (ValueError, KeyError, TypeError):
        return None
    return None


def _recurrent_units(number, layer, cell):
    """A recurrent layer's units, read off its weight shapes (kernel, recurrent kernel,
    bias); ValueError unless they are the cell's (charlstm.model.cells: an LSTM's bias is
    4u, a GRU's (2, 3u))."""
    name = cell.upper()
    if len(layer) != 3 or len(layer[1]) != 2:
        raise ValueError(f"layer {number} is not an {name} (weight shapes {layer})")
    kernel, recurrent, bias = layer
    units = recurrent[0]
    width = CELLS[cell].width(units)
    if recurrent != (units, width) or bias != CELLS[cell].bias_shape(units):
        raise ValueError(f"layer {number} is not an {name} (weight shapes {layer})")
    if len(kernel) != 2 or kernel[1] != width:
        raise ValueError(f"layer {number} does not fit the layer before it")
    return units


def shapes_from_weights(layers, cell="lstm", embedding=False):
    """Read a char-LSTM's sizes off its weight shapes (arrays, or datasets not yet read):
    dict(layers, units, output_size, input_width, embedding_rows); ValueError naming what
    does not fit. cell (a name in CELLS) and embedding (a first Embedding layer) are what
    our files' metadata says; legacy tutorial files are LSTMs on encoded input."""
    shapes = [[tuple(array.shape) for array in arrays] for _, arrays in layers]
    embedding_rows = None
    if embedding:
        if not shapes or len(shapes[0]) != 1 or len(shapes[0][0]) != 2:
            raise ValueError("the first layer is not an Embedding (weight shapes "
                             f"{shapes[0] if shapes else []})")
        (embedding_rows, embedding_width), = shapes.pop(0)
    if len(shapes) < 2:
        raise ValueError(f"expected {cell.upper()} layers and a Dense layer, found "
                         f"{len(shapes)} layer(s)")
    *recurrent_shapes, dense_shapes = shapes
    units = None
    for number, layer in enumerate(recurrent_shapes, 1):
        layer_units = _recurrent_units(number, layer, cell)
        if number > 1 and layer[0][0] != units:
            raise ValueError(f"layer {number} does not fit the layer before it")
        if units is not None and layer_units != units:
            raise ValueError(f"{cell.upper()} layers of different sizes are not supported")
        units = layer_units
    if embedding and recurrent_shapes[0][0][0] != embedding_width:
        raise ValueError("layer 1 does not fit the Embedding before it")
    if len(dense_shapes) != 2 or dense_shapes[0][0] != units:
        raise ValueError(f"the last layer is not a Dense layer on the {cell.upper()} "
                         f"(shapes {dense_shapes})")
    return {"layers": len(recurrent_shapes), "units": units,
            "output_size": dense_shapes[1][0], "input_width": recurrent_shapes[0][0][0],
            "embedding_rows": embedding_rows}


def _checked_seed_text(dataset, vocab_size, damaged):
    if (dataset.ndim != 1 or dataset.shape[0] > SEED_TEXT_LIMIT
            or dataset.dtype.kind not in "iu"):
        raise damaged(f"its seed text is not a list of at most {SEED_TEXT_LIMIT} character "
                      "indices")
    indices = np.asarray(dataset)
    if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= vocab_size):
        raise damaged("its seed text has character indices outside its vocabulary")
    return indices


def _checked_shapes(path, datasets, damaged, cell="lstm", embedding=False):
    """The topology's sizes read off the weights, and their declared size checked, before
    any array is read."""
    try:
        shapes = shapes_from_weights(datasets, cell, embedding)
    except ValueError as error:
        raise UserError(f"weights file '{path}' is not a character LSTM: {error}") from None
    size = sum(math.prod(dataset.shape) * dataset.dtype.itemsize
               for _, layer in datasets for dataset in layer)
    if size > MAX_WEIGHT_BYTES:
        raise damaged(f"its weights declare {size} bytes, more than the "
                      f"{MAX_WEIGHT_BYTES} a character LSTM could need")
    return shapes


def _read(path, handle, damaged):
    """The Checkpoint in an open file (see load_checkpoint)."""
    datasets = _layer_datasets(handle)
    raw_metadata = handle.attrs.get(METADATA_ATTRIBUTE)
    has_training_state = TRAINING_STATE_GROUP in handle
    if raw_metadata is None and (has_training_state or SEED_TEXT_DATASET in handle):
        raise damaged("it holds charlstm's seed text or training state but not its "
                      f"metadata (the '{METADATA_ATTRIBUTE}' attribute)")
    if raw_metadata is None:  # a legacy tutorial file: an LSTM on encoded input
        shapes = _checked_shapes(path, datasets, damaged)
        weights = [np.asarray(dataset) for _, layer in datasets for dataset in layer]
        topology = Topology(vocab_size=None, output_size=shapes["output_size"],
                            layers=shapes["layers"], units=shapes["units"])
        return Checkpoint(path, weights, topology, None, _legacy_seq_length(handle), None,
                          None, legacy_input_width=shapes["input_width"])
    try:
        metadata = Metadata.from_json(raw_metadata)
    except ValueError as error:
        raise damaged(str(error)) from None
    topology = _topology(metadata)
    shapes = _checked_shapes(path, datasets, damaged, topology.cell, topology.reads_indices)
    _check_consistent(path, shapes, topology)
    seed_text = None
    if SEED_TEXT_DATASET in handle:
        seed_text = _checked_seed_text(handle[SEED_TEXT_DATASET], topology.vocab_size, damaged)
    elif metadata.get("text_in_checkpoint", True):
        raise damaged("it has no seed text, and its metadata does not say it was left out")
    weights = [np.asarray(dataset) for _, layer in datasets for dataset in layer]
    return Checkpoint(path, weights, topology, Vocabulary(metadata["vocabulary"]),
                      metadata["seq_length"], metadata, seed_text,
                      has_training_state=has_training_state)


def _topology(metadata):
    """The Topology our file's metadata describes (what an older format does not record
    takes its default: Metadata.setting)."""
    encoding = metadata["input_encoding"]
    vocab_size = len(metadata["vocabulary"])
    return Topology(
        vocab_size=vocab_size, output_size=vocab_size, layers=metadata["layers"],
        units=metadata["units"], dropout=metadata["dropout"], input_encoding=encoding,
        input_dropout=metadata.setting("input_dropout"), cell=metadata.setting("cell"),
        embedding_size=metadata.setting("embedding_size") if encoding == "embedding" else None)


def _check_consistent(path, shapes, topology):
    """The weights' shapes are what the metadata says: UserError otherwise."""
    expected = (topology.layers, topology.units, topology.output_size, topology.input_width)
    found = (shapes["layers"], shapes["units"], shapes["output_size"], shapes["input_width"])
    what = "layers, units, outputs, input width"
    if topology.reads_indices:
        expected, found = expected + (topology.vocab_size,), found + (shapes["embedding_rows"],)
        what += ", embedding rows"
    if found != expected:
        raise UserError(f"weights file '{path}' has inconsistent metadata: weights ({what}) "
                        f"{found}, metadata says {expected}")


def load_checkpoint(path):
    """Read a checkpoint; UserError for a missing, non-HDF5, damaged or foreign file. Every
    metadata field and every declared size is checked before the arrays are read."""
    if not os.path.exists(path):
        raise UserError(f"weights file '{path}' does not exist")
    if os.path.isdir(path) or not h5py.is_hdf5(path):
        raise UserError(f"weights file '{path}' is not an HDF5 file")

    def damaged(reason):
        return UserError(f"weights file '{path}' is damaged: {reason}")

    try:
        with h5py.File(path, "r") as handle:
            return _read(path, handle, damaged)
    except UserError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise UserError(f"weights file '{path}' is damaged or not a Keras weights file "
                        f"({error})") from None


def read_training_state(path, needed):
    """{part: [arrays]} of a checkpoint's training state, for the parts in needed ({part:
    [(variable path, shape)]}, what the model needs). Every part but "weights" (written with
    --ema only) must be there. Shapes are compared before anything is read (a damaged or
    hostile file may declare huge datasets). UserError on any mismatch."""
    state = {}
    try:
        with h5py.File(path, "r") as handle:
            group = handle[TRAINING_STATE_GROUP]
            for part, variables in needed.items():
                if part == "weights" and part not in group:
                    continue
                values = [group[part][f"{n:04d}"] for n in range(len(group[part].attrs["paths"]))]
                if len(values) != len(variables):
                    raise UserError(f"'{path}' holds {len(values)} {part} state variables, "
                                    f"this model has {len(variables)}")
                for (variable_path, shape), value in zip(variables, values):
                    if value.dtype.kind not in "biuf":  # a string, an object: not a state
                        raise UserError(f"weights file '{path}' has a damaged training state: "
                                        f"{part} state {variable_path} is not numbers")
                    if tuple(shape) != tuple(value.shape):
                        raise UserError(f"'{path}': {part} state {variable_path} has shape "
                                        f"{value.shape}, this model needs {tuple(shape)}")
                state[part] = [np.asarray(value) for value in values]
    except (OSError, KeyError) as error:
        raise UserError(f"weights file '{path}' has a damaged training state ({error})") from None
    return state
