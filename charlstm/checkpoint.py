"""Checkpoint files: the legacy Keras HDF5 weights layout plus the project's metadata.

Layout (what Keras 2 and Keras 3 `Model.load_weights(path)` both read, matching by order):
  root attrs  layer_names, backend, keras_version       the legacy Keras weights layout
  /<layer>    attr weight_names, one dataset per weight
  root attr   charlstm: JSON metadata (vocabulary, topology, training run)
  /charlstm_seed_text  the training text as indices (its first SEED_TEXT_LIMIT characters),
                       the pool of random seed windows, so generation needs no other file
  /charlstm_training_state/optimizer  Adam's variables (step count, learning rate, moments)
  /charlstm_training_state/model      the model's non-trainable variables (dropout's random
                       generator states): with the weights, all that --resume needs to carry
                       on exactly as if the run had never stopped
Weight loaders look only at layer_names, so the extra attribute and groups are invisible to
them. Files are written to a temporary name in the same folder and moved into place with
os.replace: a crash or Ctrl-C never leaves a half-written file under a checkpoint's name.

A file without the metadata is a legacy checkpoint (the tutorial's own, written by Keras 2,
often a whole model with the weights under /model_weights): its topology is read off the
weight shapes, its vocabulary must come from the text.

    >>> path = checkpoint_name(19, 1.94351, bigger=False)
    >>> path
    'weights-improvement-19-1.9435.hdf5'
    >>> parse_checkpoint_name(path)
    (19, 1.9435, None)
"""

import dataclasses
import json
import os
import re

import h5py
import numpy as np

from .corpus import BUNDLED_NAME, Vocabulary, load_corpus
from .errors import UserError
from .models import Topology, build_model

FORMAT_VERSION = 2  # 2: training state group, idea and resume settings
METADATA_ATTRIBUTE = "charlstm"
SEED_TEXT_DATASET = "charlstm_seed_text"
SEED_TEXT_LIMIT = 1_000_000
TRAINING_STATE_GROUP = "charlstm_training_state"
NAME_PATTERN = re.compile(
    r"^weights-improvement-(\d+)-(\d+\.\d+)(?:-val-(\d+\.\d+))?(-bigger)?\.hdf5$"
)


def checkpoint_name(epoch, loss, bigger, val_loss=None):
    """The tutorial's file name, weights-improvement-{epoch:02d}-{loss:.4f}[-bigger].hdf5, with
    -val-{val_loss:.4f} after the loss when a held-out part was evaluated."""
    validation = f"-val-{val_loss:.4f}" if val_loss is not None else ""
    suffix = "-bigger" if bigger else ""
    return f"weights-improvement-{epoch:02d}-{loss:.4f}{validation}{suffix}.hdf5"


def parse_checkpoint_name(name):
    """(epoch, loss, val_loss or None) from a checkpoint file name, or None if it is not one."""
    match = NAME_PATTERN.match(os.path.basename(name))
    if not match:
        return None
    val_loss = float(match.group(3)) if match.group(3) else None
    return int(match.group(1)), float(match.group(2)), val_loss


def find_best_checkpoint(directory):
    """The best checkpoint in directory: the lowest held-out loss among files that carry one,
    else the lowest training loss (the later epoch on a tie); UserError if none."""
    try:
        names = os.listdir(directory)
    except OSError as error:
        raise UserError(f"cannot list checkpoint directory '{directory}': {error.strerror}") from None
    candidates = []
    for name in names:
        parsed = parse_checkpoint_name(name)
        if parsed:
            epoch, loss, val_loss = parsed
            ranked_by_held_out = val_loss is not None
            candidates.append((not ranked_by_held_out, val_loss if ranked_by_held_out else loss,
                               -epoch, name))
    if not candidates:
        raise UserError(
            f"no weights-improvement-*.hdf5 checkpoint in '{directory}': "
            "train one with train.py or name one with --weights"
        )
    return os.path.join(directory, min(candidates)[-1])


def _weight_file_name(layer, variable):
    # Keras 2 named weights "<layer>/<cell>/<weight>:0"; Keras 3 paths are
    # "<model>/<layer>/<cell>/<weight>". Loaders ignore these names, people reading files don't.
    parts = variable.path.split("/")
    if layer.name in parts:
        parts = parts[parts.index(layer.name) :]
    return "/".join(parts) + ":0"


def _write_variables(group, variables):
    group.attrs["paths"] = np.array([variable.path.encode() for variable in variables])
    for number, variable in enumerate(variables):
        group.create_dataset(f"{number:04d}", data=np.asarray(variable.numpy()))


def save_checkpoint(path, model, metadata, seed_indices):
    """Write model weights, metadata, the seed pool and (for a compiled model whose optimizer
    has started) the training state to path, atomically."""
    import keras

    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    layers = [layer for layer in model.layers if layer.weights]
    try:
        with h5py.File(temporary, "w") as handle:
            handle.attrs["layer_names"] = np.array([layer.name.encode() for layer in layers])
            handle.attrs["backend"] = keras.backend.backend().encode()
            handle.attrs["keras_version"] = keras.__version__.encode()
            for layer in layers:
                group = handle.create_group(layer.name)
                names = [_weight_file_name(layer, variable) for variable in layer.weights]
                group.attrs["weight_names"] = np.array([name.encode() for name in names])
                for name, value in zip(names, layer.get_weights()):
                    group.create_dataset(name, data=value)
            handle.attrs[METADATA_ATTRIBUTE] = json.dumps(
                dict(metadata, format_version=FORMAT_VERSION)
            )
            handle.create_dataset(
                SEED_TEXT_DATASET, data=seed_indices[:SEED_TEXT_LIMIT], compression="gzip"
            )
            optimizer = getattr(model, "optimizer", None)
            if optimizer is not None and optimizer.built:
                state = handle.create_group(TRAINING_STATE_GROUP)
                _write_variables(state.create_group("optimizer"), optimizer.variables)
                _write_variables(state.create_group("model"), model.non_trainable_variables)
        os.replace(temporary, path)
    except OSError as error:
        raise UserError(f"cannot write checkpoint '{path}': {error.strerror or error}") from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@dataclasses.dataclass
class Checkpoint:
    """What generation needs from a weights file."""

    path: str
    weights: list  # numpy arrays in model.get_weights() order
    topology: Topology
    vocabulary: Vocabulary  # None for legacy files: it comes from the text
    seq_length: int  # None when the file does not say (legacy weights-only files)
    metadata: dict  # None for legacy files
    seed_indices: np.ndarray  # None for legacy files
    legacy_input_width: int = None  # features per step read off a legacy file's weights
    has_training_state: bool = False  # what --resume needs: see restore_training_state

    @property
    def is_legacy(self):
        return self.metadata is None


def _strings(values):
    return [value.decode("utf-8") if isinstance(value, bytes) else str(value) for value in values]


def _read_layers(handle):
    """[(layer name, [arrays])] for the layers that have weights, in file order."""
    group = handle
    if "layer_names" not in group.attrs and "model_weights" in group:
        group = group["model_weights"]  # a whole-model save, as the tutorial's checkpoints are
    if "layer_names" not in group.attrs:
        raise ValueError("no layer_names attribute: not a Keras weights file")
    layers = []
    for layer_name in _strings(group.attrs["layer_names"]):
        weight_names = _strings(group[layer_name].attrs.get("weight_names", []))
        if weight_names:
            layers.append((layer_name, [np.asarray(group[layer_name][n]) for n in weight_names]))
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


def shapes_from_weights(layers):
    """Read a char-LSTM's sizes off its weight shapes: dict(layers, units, output_size,
    input_width); ValueError naming what does not fit."""
    shapes = [[array.shape for array in arrays] for _, arrays in layers]
    if len(shapes) < 2:
        raise ValueError(f"expected LSTM layers and a Dense layer, found {len(shapes)} layer(s)")
    *lstm_shapes, dense_shapes = shapes
    units = None
    for number, layer in enumerate(lstm_shapes, 1):
        if len(layer) != 3 or len(layer[1]) != 2:
            raise ValueError(f"layer {number} is not an LSTM (weight shapes {layer})")
        kernel, recurrent, bias = layer
        layer_units = recurrent[0]
        if recurrent != (layer_units, 4 * layer_units) or bias != (4 * layer_units,):
            raise ValueError(f"layer {number} is not an LSTM (weight shapes {layer})")
        if kernel[1] != 4 * layer_units or (number > 1 and kernel[0] != units):
            raise ValueError(f"layer {number} does not fit the layer before it")
        if units is not None and layer_units != units:
            raise ValueError("LSTM layers of different sizes are not supported")
        units = layer_units
    if len(dense_shapes) != 2 or dense_shapes[0][0] != units:
        raise ValueError(f"the last layer is not a Dense layer on the LSTM (shapes {dense_shapes})")
    return {"layers": len(lstm_shapes), "units": units, "output_size": dense_shapes[1][0],
            "input_width": lstm_shapes[0][0][0]}


def load_checkpoint(path):
    """Read a checkpoint; UserError for a missing, non-HDF5, damaged or foreign file."""
    if not os.path.exists(path):
        raise UserError(f"weights file '{path}' does not exist")
    if os.path.isdir(path) or not h5py.is_hdf5(path):
        raise UserError(f"weights file '{path}' is not an HDF5 file")
    try:
        with h5py.File(path, "r") as handle:
            layers = _read_layers(handle)
            raw_metadata = handle.attrs.get(METADATA_ATTRIBUTE)
            seed_indices = None
            if SEED_TEXT_DATASET in handle:
                seed_indices = np.asarray(handle[SEED_TEXT_DATASET])
            legacy_seq_length = _legacy_seq_length(handle)
            has_training_state = TRAINING_STATE_GROUP in handle
    except (OSError, KeyError, ValueError) as error:
        raise UserError(f"weights file '{path}' is damaged or not a Keras weights file ({error})") from None

    weights = [array for _, arrays in layers for array in arrays]
    try:
        shapes = shapes_from_weights(layers)
    except ValueError as error:
        raise UserError(f"weights file '{path}' is not a character LSTM: {error}") from None

    if raw_metadata is None:
        # The vocabulary, and so the input encoding, come from the text: see
        # fit_legacy_to_vocabulary. Until then the topology has no vocabulary size.
        topology = Topology(vocab_size=None, output_size=shapes["output_size"],
                            layers=shapes["layers"], units=shapes["units"])
        checkpoint = Checkpoint(path, weights, topology, None, legacy_seq_length, None, None)
        checkpoint.legacy_input_width = shapes["input_width"]
        return checkpoint

    try:
        metadata = json.loads(raw_metadata)
        vocabulary = Vocabulary(metadata["vocabulary"])
        topology = Topology(
            vocab_size=len(vocabulary), output_size=shapes["output_size"],
            layers=shapes["layers"], units=shapes["units"], dropout=metadata["dropout"],
            input_encoding=metadata["input_encoding"],
            input_dropout=metadata.get("input_dropout", 0.0),
        )
        expected = (metadata["layers"], metadata["units"], len(vocabulary), topology.input_width)
        found = (shapes["layers"], shapes["units"], shapes["output_size"], shapes["input_width"])
        if found != expected or seed_indices is None:
            raise ValueError(f"weights (layers, units, outputs, input width) {found}, "
                             f"metadata says {expected}")
        if metadata["input_encoding"] not in ("scaled", "one-hot"):
            raise ValueError(f"unknown input encoding {metadata['input_encoding']!r}")
        seq_length = int(metadata["seq_length"])
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"weights file '{path}' has inconsistent metadata: {error}") from None
    return Checkpoint(path, weights, topology, vocabulary, seq_length, metadata, seed_indices,
                      has_training_state=has_training_state)


def restore_training_state(path, model, skip=("learning_rate",)):
    """Put a checkpoint's optimizer and non-trainable variables into a compiled model of the
    same topology (weights are set separately; checkpoint.has_training_state says whether
    the file has this state). Variables whose path ends in a name in skip keep their value:
    the learning rate may change on resume. UserError on any mismatch."""
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    try:
        with h5py.File(path, "r") as handle:
            state = handle[TRAINING_STATE_GROUP]
            for name, variables in (("optimizer", optimizer.variables),
                                    ("model", model.non_trainable_variables)):
                group = state[name]
                values = [np.asarray(group[f"{n:04d}"]) for n in range(len(group.attrs["paths"]))]
                if len(values) != len(variables):
                    raise UserError(f"'{path}' holds {len(values)} {name} state variables, "
                                    f"this model has {len(variables)}")
                for variable, value in zip(variables, values):
                    if tuple(variable.shape) != value.shape:
                        raise UserError(f"'{path}': {name} state {variable.path} has shape "
                                        f"{value.shape}, this model needs {tuple(variable.shape)}")
                    if not variable.path.split("/")[-1] in skip:
                        variable.assign(value)
    except (OSError, KeyError) as error:
        raise UserError(f"weights file '{path}' has a damaged training state ({error})") from None


def fit_legacy_to_vocabulary(checkpoint, vocabulary, text_path):
    """Give a legacy checkpoint the text's vocabulary, checking that its shapes allow it."""
    topology = checkpoint.topology
    if topology.output_size > len(vocabulary):
        raise UserError(
            f"weights file '{checkpoint.path}' predicts {topology.output_size} characters but "
            f"'{text_path}' has only {len(vocabulary)}: it was trained on another text "
            "(the original Python 2 tutorial counted bytes: BOM and CR included)"
        )
    width = checkpoint.legacy_input_width
    if width == 1:
        encoding = "scaled"
    elif width == len(vocabulary):
        encoding = "one-hot"
    else:
        raise UserError(
            f"weights file '{checkpoint.path}' takes {width} input features a step, which fits "
            f"neither a scaled index (1) nor one-hot input over '{text_path}'s "
            f"{len(vocabulary)} characters"
        )
    checkpoint.topology = dataclasses.replace(
        topology, vocab_size=len(vocabulary), input_encoding=encoding
    )
    checkpoint.vocabulary = vocabulary
    return checkpoint


LEGACY_DEFAULT_TEXT = BUNDLED_NAME
LEGACY_DEFAULT_SEQ_LENGTH = 100


def load_for_generation(weights, text_path=None, seq_length=None):
    """(model, checkpoint, seed pool indices) for a weights file, ours or a legacy one.

    Our files carry vocabulary, window length and the training text; --text then only
    replaces the pool of seed windows. Legacy files need the text for their vocabulary.
    """
    checkpoint = load_checkpoint(weights)
    if checkpoint.is_legacy:
        text_path = text_path or LEGACY_DEFAULT_TEXT
        corpus = load_corpus(text_path)
        fit_legacy_to_vocabulary(checkpoint, corpus.vocabulary, text_path)
        checkpoint.seq_length = seq_length or checkpoint.seq_length or LEGACY_DEFAULT_SEQ_LENGTH
        pool = corpus.indices
    else:
        if seq_length is not None and seq_length != checkpoint.seq_length:
            raise UserError(
                f"'{weights}' was trained on windows of {checkpoint.seq_length} characters; "
                "--seq-length is only for legacy files that do not say"
            )
        pool = checkpoint.seed_indices
        if text_path:
            pool = pool_from_text(text_path, checkpoint)
    model = build_model(checkpoint.topology)
    try:
        model.set_weights(checkpoint.weights)
    except ValueError as error:
        raise UserError(f"weights file '{weights}' does not fit its own topology: "
                        f"{error}") from None
    return model, checkpoint, pool


def pool_from_text(text_path, checkpoint):
    """A text's indices in the checkpoint's vocabulary; UserError naming the characters the
    model does not know. The text is read as a compact corpus and its indices mapped."""
    corpus = load_corpus(text_path, strip_punctuation_of(checkpoint))
    # Each of the text's own characters in the model's vocabulary (UserError if unknown).
    mapping = checkpoint.vocabulary.encode(corpus.vocabulary.chars,
                                           what=f"text file '{text_path}'")
    return mapping[corpus.indices]


def strip_punctuation_of(checkpoint):
    """Whether the checkpoint's model was trained on text without punctuation."""
    return bool(checkpoint.metadata and checkpoint.metadata.get("strip_punctuation"))
