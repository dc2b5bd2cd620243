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
  /charlstm_training_state/weights    with --ema only: the raw weights being trained, since
                       the layers hold their moving average (what generation should use)
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

import argparse
import contextlib
import dataclasses
import errno
import io
import json
import math
import os
import re

import h5py
import numpy as np

from .config import FIXED, SETTINGS, non_negative_float, positive_int
from .corpus import BUNDLED_NAME, Vocabulary, load_corpus
from .errors import UserError
from .logs import log
from .models import Topology, build_model
from .optimizer import moving_averages

FORMAT_VERSION = 4  # 2: training state group, idea and resume settings; 3: text_in_checkpoint;
#                    4: lr_schedule, warmup_steps, weight_decay, ema, early_stopping
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


def is_bigger_name(name):
    """Whether a checkpoint file name ends in -bigger.hdf5 (the tutorial's bigger model)."""
    return name.endswith("-bigger.hdf5")


def run_identity(metadata):
    """What makes two checkpoints the same run: the text and the fixed settings."""
    same = {"text_sha256": metadata.get("text_sha256")}
    for setting in SETTINGS:
        if setting.resume == FIXED:
            same[setting.name] = metadata.get(setting.key, setting.default)
    return same


def describe_run(metadata):
    """A short account of a run (from a checkpoint's metadata) for messages."""
    same = run_identity(metadata)
    shown = [f"seed {same.get('seed')}"]
    for name in ("seq_length", "layers", "units", "batch_size", "targets"):
        shown.append(f"{name} {same.get(name)}")
    return ", ".join(shown) + f", text {metadata.get('text_name')}"


def checkpoint_metadata(path):
    """A checkpoint file's metadata dict (only the attribute is read), or None for a file
    without it (a legacy tutorial file) or one that cannot be read."""
    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get(METADATA_ATTRIBUTE)
        metadata = json.loads(raw) if raw is not None else None
    except (OSError, ValueError, TypeError):
        return None
    return metadata if isinstance(metadata, dict) else None


def find_best_checkpoint(directory):
    """The best checkpoint in directory among the files of one run: the run of the newest
    checkpoint file (files of other runs, or legacy files, are left out and counted in the
    log line), then the lowest held-out loss among its files that carry one, else the lowest
    training loss (the later epoch on a tie). UserError if there is none."""
    try:
        names = os.listdir(directory)
    except OSError as error:
        raise UserError(f"cannot list checkpoint directory '{directory}': "
                        f"{error.strerror}") from None
    runs = {}  # identity -> [(rank, name)]
    newest = (-1.0, None)
    for name in names:
        parsed = parse_checkpoint_name(name)
        if not parsed:
            continue
        path = os.path.join(directory, name)
        metadata = checkpoint_metadata(path)
        key = json.dumps(run_identity(metadata), sort_keys=True) if metadata else "legacy"
        epoch, loss, val_loss = parsed
        ranked_by_held_out = val_loss is not None
        rank = (not ranked_by_held_out, val_loss if ranked_by_held_out else loss, -epoch)
        runs.setdefault(key, []).append((rank, name, metadata))
        with contextlib.suppress(OSError):
            newest = max(newest, (os.path.getmtime(path), key))
    if not runs:
        raise UserError(
            f"no weights-improvement-*.hdf5 checkpoint in '{directory}': "
            "train one with train.py or name one with --weights"
        )
    chosen = newest[1] if newest[1] is not None else next(iter(runs))
    _, name, metadata = min(runs[chosen], key=lambda entry: (entry[0], entry[1]))
    ignored = sum(len(files) for key, files in runs.items() if key != chosen)
    if ignored:
        what = describe_run(metadata) if metadata else "legacy files without metadata"
        log(f"'{directory}' holds checkpoints of {len(runs)} runs: using the newest run's "
            f"({what}; {len(runs[chosen])} file(s)), leaving out {ignored} file(s) of the others")
    return os.path.join(directory, name)


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


def temporary_path(path):
    """Where a checkpoint is written before it is moved into place: a hidden name in the same
    folder, with the writer's process id (remove_stale_temporaries cleans up after a killed
    writer)."""
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")


# Checkpoints, and the loss plots drawn beside them (charlstm.plotting).
TEMPORARY_PATTERN = re.compile(r"^\.(?:weights-improvement-.*\.hdf5|history.*\.png)\.(\d+)\.tmp$")


def remove_stale_temporaries(directory):
    """Remove the temporary checkpoint files of writers that are no longer alive (a run killed
    with SIGKILL while it saved); returns their names. Files of live processes stay."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = TEMPORARY_PATTERN.match(name)
        if match and not process_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, name))
                removed.append(name)
    return removed


def process_alive(pid):
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _write_file(path, data):
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomically(path, data, what="checkpoint"):
    """Write bytes to path through a temporary file and os.replace; on failure remove the
    temporary file and raise UserError (a full disk says so)."""
    temporary = temporary_path(path)
    try:
        _write_file(temporary, data)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if error.errno == errno.ENOSPC:
            raise UserError(f"no space left on device writing '{path}'") from None
        raise UserError(f"cannot write {what} '{path}': {error.strerror or error}") from None


def save_checkpoint(path, model, metadata, seed_indices):
    """Write model weights, metadata, the seed pool (None: no text, --no-text-in-checkpoint)
    and (for a compiled model whose optimizer has started) the training state to path,
    atomically.

    The file is built in memory and its bytes written with ordinary I/O: HDF5 closing a file
    on a full disk crashed the process (a segmentation fault), where a plain write fails with
    an OSError that becomes one line."""
    import keras

    layers = [layer for layer in model.layers if layer.weights]
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle.attrs["layer_names"] = np.array([layer.name.encode() for layer in layers])
        handle.attrs["backend"] = keras.backend.backend().encode()
        handle.attrs["keras_version"] = keras.__version__.encode()
        # With --ema the layers hold the weights' moving average: what validation scored and
        # what generation should use. The raw weights go to the training state, for --resume.
        averages = moving_averages(model)
        for layer in layers:
            group = handle.create_group(layer.name)
            names = [_weight_file_name(layer, variable) for variable in layer.weights]
            group.attrs["weight_names"] = np.array([name.encode() for name in names])
            for name, variable in zip(names, layer.weights):
                value = averages.get(variable.path, variable)
                group.create_dataset(name, data=keras.ops.convert_to_numpy(value))
        handle.attrs[METADATA_ATTRIBUTE] = json.dumps(dict(metadata,
                                                           format_version=FORMAT_VERSION))
        if seed_indices is not None:
            handle.create_dataset(SEED_TEXT_DATASET, data=seed_indices[:SEED_TEXT_LIMIT],
                                  compression="gzip")
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and optimizer.built:
            state = handle.create_group(TRAINING_STATE_GROUP)
            _write_variables(state.create_group("optimizer"), optimizer.variables)
            _write_variables(state.create_group("model"), model.non_trainable_variables)
            if averages:
                _write_variables(state.create_group("weights"), model.trainable_variables)
    write_atomically(path, buffer.getvalue())


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


def _read_layers(handle):
    """[(layer name, [arrays])] for the layers that have weights, in file order."""
    return [(name, [np.asarray(dataset) for dataset in datasets])
            for name, datasets in _layer_datasets(handle)]


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
    """Read a char-LSTM's sizes off its weight shapes (arrays, or datasets not yet read):
    dict(layers, units, output_size, input_width); ValueError naming what does not fit."""
    shapes = [[tuple(array.shape) for array in arrays] for _, arrays in layers]
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


# Far beyond any character LSTM this project trains (the bigger model is 3 MB): a file that
# declares more is refused before anything is read, so that a file from the internet cannot
# exhaust memory.
MAX_WEIGHT_BYTES = 2**31
# What generation needs from our metadata (the other settings are checked when present).
REQUIRED_METADATA = ("vocabulary", "seq_length", "layers", "units", "dropout", "input_encoding")


def _checked_metadata(raw, damaged):
    """The metadata dict, every field checked as its flag would be; damaged(reason) makes the
    UserError to raise."""
    try:
        metadata = json.loads(raw)
    except (TypeError, ValueError):
        raise damaged("its metadata is not JSON") from None
    if not isinstance(metadata, dict):
        raise damaged("its metadata is not a JSON object")
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise damaged(f"its metadata has no {missing[0]}")
    chars = metadata["vocabulary"]
    if not isinstance(chars, str) or not chars:
        raise damaged("its vocabulary is not a text of one or more characters")
    if len(set(chars)) != len(chars):
        raise damaged("its vocabulary repeats a character")
    for setting in SETTINGS:
        if setting.recorded and setting.key in metadata:
            try:
                setting.check(metadata[setting.key])
            except UserError as error:
                raise damaged(str(error)) from None
    checks = (("epoch", positive_int), ("loss", non_negative_float),
              ("val_loss", non_negative_float))
    for key, check in checks:
        if metadata.get(key) is not None:
            try:
                check(metadata[key])
            except argparse.ArgumentTypeError as error:
                raise damaged(f"{key}: {error}") from None
    return metadata


def _checked_seed_text(dataset, vocab_size, damaged):
    if (dataset.ndim != 1 or dataset.shape[0] > SEED_TEXT_LIMIT
            or dataset.dtype.kind not in "iu"):
        raise damaged(f"its seed text is not a list of at most {SEED_TEXT_LIMIT} character "
                      "indices")
    indices = np.asarray(dataset)
    if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= vocab_size):
        raise damaged("its seed text has character indices outside its vocabulary")
    return indices


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
            datasets = _layer_datasets(handle)
            raw_metadata = handle.attrs.get(METADATA_ATTRIBUTE)
            has_training_state = TRAINING_STATE_GROUP in handle
            if raw_metadata is None and (has_training_state or SEED_TEXT_DATASET in handle):
                raise damaged("it holds charlstm's seed text or training state but not its "
                              f"metadata (the '{METADATA_ATTRIBUTE}' attribute)")
            try:
                shapes = shapes_from_weights(datasets)
            except ValueError as error:
                raise UserError(f"weights file '{path}' is not a character LSTM: "
                                f"{error}") from None
            size = sum(math.prod(dataset.shape) * dataset.dtype.itemsize
                       for _, layer in datasets for dataset in layer)
            if size > MAX_WEIGHT_BYTES:
                raise damaged(f"its weights declare {size} bytes, more than the "
                              f"{MAX_WEIGHT_BYTES} a character LSTM could need")
            if raw_metadata is None:
                weights = [np.asarray(dataset) for _, layer in datasets for dataset in layer]
                return _legacy_checkpoint(path, weights, shapes, _legacy_seq_length(handle))
            metadata = _checked_metadata(raw_metadata, damaged)
            vocabulary = Vocabulary(metadata["vocabulary"])
            width = len(vocabulary) if metadata["input_encoding"] == "one-hot" else 1
            expected = (metadata["layers"], metadata["units"], len(vocabulary), width)
            found = (shapes["layers"], shapes["units"], shapes["output_size"],
                     shapes["input_width"])
            if found != expected:
                raise UserError(f"weights file '{path}' has inconsistent metadata: weights "
                                f"(layers, units, outputs, input width) {found}, metadata "
                                f"says {expected}")
            seed_indices = None
            if SEED_TEXT_DATASET in handle:
                seed_indices = _checked_seed_text(handle[SEED_TEXT_DATASET], len(vocabulary),
                                                  damaged)
            elif metadata.get("text_in_checkpoint", True):
                raise damaged("it has no seed text, and its metadata does not say it was left "
                              "out")
            weights = [np.asarray(dataset) for _, layer in datasets for dataset in layer]
    except UserError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise UserError(f"weights file '{path}' is damaged or not a Keras weights file "
                        f"({error})") from None

    topology = Topology(
        vocab_size=len(vocabulary), output_size=shapes["output_size"],
        layers=shapes["layers"], units=shapes["units"], dropout=metadata["dropout"],
        input_encoding=metadata["input_encoding"],
        input_dropout=metadata.get("input_dropout", 0.0),
    )
    return Checkpoint(path, weights, topology, vocabulary, metadata["seq_length"], metadata,
                      seed_indices, has_training_state=has_training_state)


def _legacy_checkpoint(path, weights, shapes, seq_length):
    """A file without our metadata: the vocabulary, and so the input encoding, come from the
    text (fit_legacy_to_vocabulary); until then the topology has no vocabulary size."""
    topology = Topology(vocab_size=None, output_size=shapes["output_size"],
                        layers=shapes["layers"], units=shapes["units"])
    checkpoint = Checkpoint(path, weights, topology, None, seq_length, None, None)
    checkpoint.legacy_input_width = shapes["input_width"]
    return checkpoint


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
            parts = [("optimizer", optimizer.variables), ("model", model.non_trainable_variables)]
            if "weights" in state:  # --ema: the layers hold the average, this the raw weights
                parts.append(("weights", model.trainable_variables))
            for name, variables in parts:
                group = state[name]
                # Shapes are compared before anything is read (a damaged or hostile file may
                # declare huge datasets).
                values = [group[f"{n:04d}"] for n in range(len(group.attrs["paths"]))]
                if len(values) != len(variables):
                    raise UserError(f"'{path}' holds {len(values)} {name} state variables, "
                                    f"this model has {len(variables)}")
                for variable, value in zip(variables, values):
                    if tuple(variable.shape) != tuple(value.shape):
                        raise UserError(f"'{path}': {name} state {variable.path} has shape "
                                        f"{value.shape}, this model needs {tuple(variable.shape)}")
                    if not variable.path.split("/")[-1] in skip:
                        variable.assign(np.asarray(value))
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
