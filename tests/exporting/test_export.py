"""export.py: a .keras file any Keras opens, a SavedModel, a one-step model."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import charlstm
from charlstm.checkpoints.loading import load_for_generation
from charlstm.model.models import compiled_forward
from charlstm.text.windows import encode_inputs, input_table
from conftest import onestep_greedy, run_main

# Runs in a fresh interpreter, from a folder where charlstm cannot be imported.
LOAD_ELSEWHERE = """
import json, sys
import numpy as np
import keras
model = keras.saving.load_model(sys.argv[1])
with open(sys.argv[1] + ".json") as handle:
    description = json.load(handle)
lookup = {char: index for index, char in enumerate(description["vocabulary"])}
text = sys.argv[2].lower()
windows = np.array([[lookup[char] for char in text[start:start + 12]]
                    for start in range(len(text) - 12)], dtype="int32")
np.save(sys.argv[3], model.predict(windows, verbose=0))
assert "charlstm" not in sys.modules
"""


@pytest.fixture(scope="module")
def source(tiny_checkpoint):
    model, checkpoint, _ = load_for_generation(tiny_checkpoint)
    return tiny_checkpoint, model, checkpoint


def checkpoint_probabilities(model, checkpoint, indices):
    table = input_table(checkpoint.topology.vocab_size, checkpoint.topology.input_encoding)
    return compiled_forward(model)(encode_inputs(indices, table))


@pytest.mark.slow
def test_a_keras_export_loads_without_charlstm_and_predicts_the_same(source, tmp_path):
    weights, model, checkpoint = source
    output = str(tmp_path / "alice.keras")
    result = run_main("export.py", "--weights", weights, "--output", output)
    assert result.returncode == 0, result.stderr
    assert "device: " in result.stderr
    assert result.stdout.strip() == output and os.path.exists(output + ".json")
    text = "alice was beginning to get very tired of sitting by her sister"
    predicted = tmp_path / "predicted.npy"
    environment = dict(os.environ, PYTHONPATH="", KERAS_BACKEND="tensorflow")
    subprocess.run([sys.executable, "-c", LOAD_ELSEWHERE, output, text, str(predicted)],
                   cwd=tmp_path, env=environment, check=True, timeout=300)
    indices = checkpoint.vocabulary.encode(text)
    windows = np.stack([indices[start:start + 12] for start in range(len(text) - 12)])
    expected = checkpoint_probabilities(model, checkpoint, windows)
    assert np.abs(np.load(predicted) - expected).max() <= 1e-6
    description = json.load(open(output + ".json"))
    assert description["vocabulary"] == checkpoint.vocabulary.chars
    assert description["seq_length"] == checkpoint.seq_length


def test_a_savedmodel_export_serves_the_same_probabilities(source, tmp_path):
    import tensorflow as tf

    weights, model, checkpoint = source
    output = str(tmp_path / "alice_savedmodel")
    charlstm.export(weights, output, format="savedmodel", verbose=0)
    served = tf.saved_model.load(output)
    indices = checkpoint.vocabulary.encode("the rabbit-hole went straight on")
    windows = np.stack([indices[start:start + 10] for start in range(len(indices) - 10)])
    got = served.serve(tf.constant(windows, tf.int32)).numpy()
    assert np.abs(got - checkpoint_probabilities(model, checkpoint, windows)).max() <= 1e-6


@pytest.mark.slow
def test_the_onestep_export_writes_generate_stateful_greedy_text(source, tmp_path):
    weights, _, checkpoint = source
    output = str(tmp_path / "onestep.keras")
    charlstm.export(weights, output, format="onestep", verbose=0)
    description = json.load(open(output + ".json"))
    assert len(description["states"]) == 2 * description["layers"]  # h and c of each layer
    prime = "alice was "
    expected = charlstm.generate(weights, length=80, prime=prime, stateful=True, verbose=0)
    assert onestep_greedy(output, prime, 80) == expected


def test_what_cannot_be_exported_is_one_line(source, tmp_path):
    weights, _, _ = source
    result = run_main("export.py", "--weights", weights, "--output", str(tmp_path / "a.h5"))
    assert result.returncode == 1 and "must end in .keras" in result.stderr
    result = run_main("export.py", "--weights", str(tmp_path / "none.hdf5"), "--output",
                      str(tmp_path / "a.keras"))
    assert result.returncode == 1 and "does not exist" in result.stderr
    result = run_main("export.py", "--weights", weights, "--format", "onnx", "--output", "x")
    assert result.returncode == 2 and "invalid choice" in result.stderr
