import os

import h5py
import numpy as np
import pytest

from charlstm.checkpoints.format import load_checkpoint, write_checkpoint
from charlstm.errors import UserError
from charlstm.checkpoints.run_folder import checkpoint_name, find_best_checkpoint, parse_checkpoint_name
from charlstm.checkpoints.loading import load_for_generation
from charlstm.model.models import build_model
from charlstm.checkpoints.snapshots import snapshot
from conftest import ROOT, run_command, run_main

KERAS2_CLIENT = os.path.join(ROOT, "tests", "keras2_client.py")


def probe_inputs(checkpoint, count=4):
    rng = np.random.default_rng(0)
    seq_length = checkpoint.seq_length
    windows = rng.integers(0, checkpoint.topology.vocab_size, size=(count, seq_length))
    return (windows / float(checkpoint.topology.vocab_size)).astype(np.float32)[..., None]


def test_names_follow_the_tutorial():
    assert checkpoint_name(19, 1.94351, bigger=False) == "weights-improvement-19-1.9435.hdf5"
    assert checkpoint_name(7, 1.2219, bigger=True) == "weights-improvement-07-1.2219-bigger.hdf5"
    assert parse_checkpoint_name("runs/weights-improvement-47-1.2219-bigger.hdf5") == (47, 1.2219, None)
    assert checkpoint_name(3, 1.5, bigger=False, val_loss=1.61234) == \
        "weights-improvement-03-1.5000-val-1.6123.hdf5"
    assert parse_checkpoint_name("weights-improvement-03-1.5000-val-1.6123-bigger.hdf5") == \
        (3, 1.5, 1.6123)
    assert parse_checkpoint_name("weights.hdf5") is None


def test_best_checkpoint_is_the_lowest_loss(tmp_path):
    for name in ["weights-improvement-01-2.5000.hdf5", "weights-improvement-03-1.9000.hdf5",
                 "weights-improvement-02-2.1000-bigger.hdf5", "notes.txt"]:
        (tmp_path / name).write_bytes(b"")
    assert find_best_checkpoint(str(tmp_path)).endswith("weights-improvement-03-1.9000.hdf5")
    # Files that carry a held-out loss are ranked by it, ahead of those that do not.
    (tmp_path / "weights-improvement-04-1.9500-val-2.2000.hdf5").write_bytes(b"")
    (tmp_path / "weights-improvement-05-1.8000-val-2.3000.hdf5").write_bytes(b"")
    assert find_best_checkpoint(str(tmp_path)).endswith("weights-improvement-04-1.9500-val-2.2000.hdf5")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no weights-improvement"):
        find_best_checkpoint(str(tmp_path / "empty"))


def test_round_trip_gives_the_same_predictions(tiny_checkpoint):
    checkpoint = load_checkpoint(tiny_checkpoint)
    model, loaded, _ = load_for_generation(tiny_checkpoint)
    assert loaded.metadata["targets"] == "last" and loaded.metadata["input_encoding"] == "scaled"
    inputs = probe_inputs(checkpoint)
    # Keras 3's own loader reads the file into a freshly built tutorial topology.
    reference = build_model(checkpoint.topology, seq_length=checkpoint.seq_length)
    reference.load_weights(tiny_checkpoint)
    for ours, theirs in zip(model.get_weights(), reference.get_weights()):
        assert np.array_equal(ours, theirs)
    assert np.array_equal(model.predict(inputs, verbose=0), reference.predict(inputs, verbose=0))
    # And saving what was loaded writes the same weights again.
    copy = os.path.join(os.path.dirname(tiny_checkpoint), "copy.hdf5")
    write_checkpoint(copy, snapshot(model), checkpoint.metadata, checkpoint.seed_text)
    again = load_checkpoint(copy)
    assert all(np.array_equal(a, b) for a, b in zip(again.weights, checkpoint.weights))
    assert again.vocabulary == checkpoint.vocabulary
    assert np.array_equal(again.seed_text, checkpoint.seed_text)


def test_checkpoint_carries_what_generation_needs(tiny_checkpoint, tiny_text_path):
    from charlstm.text.corpus import read_text
    from charlstm.text.vocabulary import Vocabulary, fingerprint

    text = read_text(tiny_text_path)
    checkpoint = load_checkpoint(tiny_checkpoint)
    metadata = checkpoint.metadata
    assert checkpoint.vocabulary == Vocabulary.from_text(text)
    assert (metadata["seq_length"], metadata["layers"], metadata["units"]) == (10, 1, 8)
    assert metadata["text_sha256"] == fingerprint(text) and metadata["text_length"] == len(text)
    assert metadata["epoch"] == parse_checkpoint_name(tiny_checkpoint)[0]
    assert checkpoint.vocabulary.decode(checkpoint.seed_text) == text


@pytest.mark.slow
def test_keras2_loads_our_checkpoint(tiny_checkpoint, tmp_path):
    pytest.importorskip("tf_keras")
    checkpoint = load_checkpoint(tiny_checkpoint)
    inputs = probe_inputs(checkpoint)
    np.save(tmp_path / "inputs.npy", inputs)
    topology = checkpoint.topology
    result = run_command(
        KERAS2_CLIENT, "load", tiny_checkpoint, str(tmp_path / "inputs.npy"),
        str(tmp_path / "out.npy"), str(topology.layers), str(topology.units),
        str(topology.output_size), str(checkpoint.seq_length),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    model, _, _ = load_for_generation(tiny_checkpoint)
    ours = model.predict(inputs, verbose=0)
    assert np.allclose(np.load(tmp_path / "out.npy"), ours, atol=1e-5)


@pytest.fixture(scope="module")
def legacy_checkpoint(tiny_text_path, tmp_path_factory):
    """A checkpoint written by the tutorial's own script under Keras 2 (tf-keras)."""
    pytest.importorskip("tf_keras")
    path = str(tmp_path_factory.mktemp("legacy") / "weights-improvement-01-3.5000.hdf5")
    result = run_command(KERAS2_CLIENT, "tutorial", tiny_text_path, path, "10")
    assert result.returncode == 0, result.stderr[-2000:]
    dense_width, vocab_size = map(int, result.stdout.split())
    return path, dense_width, vocab_size


@pytest.mark.slow
def test_legacy_tutorial_checkpoint_loads(legacy_checkpoint, tiny_text_path):
    path, dense_width, vocab_size = legacy_checkpoint
    with h5py.File(path, "r") as handle:
        assert "model_weights" in handle and "charlstm" not in handle.attrs
    model, checkpoint, seed_text = load_for_generation(path, text_path=tiny_text_path)
    assert checkpoint.is_legacy
    # Read off the file: one LSTM of 16 units, window 10 from the saved model config, and the
    # tutorial's to_categorical Dense width (which may be narrower than the vocabulary).
    topology = checkpoint.topology
    assert (topology.layers, topology.units, topology.output_size) == (1, 16, dense_width)
    assert checkpoint.seq_length == 10 and len(checkpoint.vocabulary) == vocab_size


@pytest.mark.slow
def test_legacy_checkpoint_generates_through_the_command(legacy_checkpoint, tiny_text_path):
    path, _, _ = legacy_checkpoint
    result = run_main("generate.py", "--weights", path, "--text", tiny_text_path,
                      "--length", "40", "--seed", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0] == "Seed:" and lines[1].startswith('" ') and result.stdout.endswith("\nDone.\n")


@pytest.mark.slow
def test_legacy_checkpoint_from_another_text_is_refused(legacy_checkpoint, tmp_path):
    path, dense_width, _ = legacy_checkpoint
    small = tmp_path / "small.txt"
    small.write_text("ab" * 50)
    with pytest.raises(UserError, match=f"predicts {dense_width} characters but .* has only 2"):
        load_for_generation(path, text_path=str(small))


def test_missing_non_hdf5_and_truncated_files(tiny_checkpoint, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_checkpoint(str(tmp_path / "nothing.hdf5"))
    text = tmp_path / "text.hdf5"
    text.write_text("not hdf5 at all")
    with pytest.raises(UserError, match="not an HDF5 file"):
        load_checkpoint(str(text))
    data = open(tiny_checkpoint, "rb").read()
    truncated = tmp_path / "truncated.hdf5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="damaged|not an HDF5"):
        load_checkpoint(str(truncated))


def write_legacy_weights(path, layers):
    """A weights file in the legacy Keras layout: layers is [(name, [arrays])]."""
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
        for name, arrays in layers:
            group = handle.create_group(name)
            names = [f"{name}/w{number}:0" for number in range(len(arrays))]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for weight_name, array in zip(names, arrays):
                group.create_dataset(weight_name, data=array)


@pytest.mark.parametrize(
    "layers, message",
    [
        ([("dense_1", [np.zeros((5, 4)), np.zeros(4)]), ("dense_2", [np.zeros((4, 3)), np.zeros(3)])],
         "layer 1 is not an LSTM"),
        ([("gru_1", [np.zeros((1, 24)), np.zeros((8, 24)), np.zeros((2, 24))]),
          ("dense_1", [np.zeros((8, 3)), np.zeros(3)])],
         "layer 1 is not an LSTM"),
        ([("lstm_1", [np.zeros((1, 32)), np.zeros((8, 32)), np.zeros(32)])], r"found 1 layer\(s\)"),
        ([("lstm_1", [np.zeros((1, 32)), np.zeros((8, 32)), np.zeros(32)]),
          ("dense_1", [np.zeros((9, 3)), np.zeros(3)])],
         "not a Dense layer on the LSTM"),
    ],
)
def test_foreign_topology_is_refused(tmp_path, layers, message):
    path = str(tmp_path / "foreign.hdf5")
    write_legacy_weights(path, layers)
    with pytest.raises(UserError, match=f"not a character LSTM: .*{message}"):
        load_checkpoint(path)


def test_weights_only_legacy_file_takes_seq_length_from_the_flag(tmp_path, tiny_text_path):
    units, vocab = 8, 29
    path = str(tmp_path / "weights.h5")
    write_legacy_weights(path, [
        ("lstm_1", [np.zeros((1, 4 * units)), np.zeros((units, 4 * units)), np.zeros(4 * units)]),
        ("dense_1", [np.zeros((units, vocab - 2)), np.zeros(vocab - 2)]),
    ])
    _, checkpoint, _ = load_for_generation(path, text_path=tiny_text_path, seq_length=12)
    assert checkpoint.seq_length == 12 and checkpoint.topology.output_size == vocab - 2
    _, checkpoint, _ = load_for_generation(path, text_path=tiny_text_path)
    assert checkpoint.seq_length == 100  # the tutorial's window when nothing says otherwise


def test_metadata_that_disagrees_with_the_weights_is_refused(tiny_checkpoint, tmp_path):
    import json
    import shutil

    path = str(tmp_path / "edited.hdf5")
    shutil.copy(tiny_checkpoint, path)
    with h5py.File(path, "a") as handle:
        metadata = json.loads(handle.attrs["charlstm"])
        metadata["vocabulary"] = metadata["vocabulary"][:-1]  # one character fewer than Dense
        handle.attrs["charlstm"] = json.dumps(metadata)
    with pytest.raises(UserError, match="inconsistent metadata"):
        load_checkpoint(path)


def test_failed_write_keeps_the_existing_file_and_leaves_no_temporary(tiny_checkpoint, tmp_path):
    model, checkpoint, _ = load_for_generation(tiny_checkpoint)
    path = tmp_path / "weights-improvement-01-1.0000.hdf5"
    write_checkpoint(str(path), snapshot(model), checkpoint.metadata, checkpoint.seed_text)
    before = path.read_bytes()

    class Exploding(np.ndarray):
        def __getitem__(self, item):
            raise OSError("disk full")

    with pytest.raises((UserError, OSError)):
        write_checkpoint(str(path), snapshot(model), checkpoint.metadata,
                         np.arange(3).view(Exploding))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]
