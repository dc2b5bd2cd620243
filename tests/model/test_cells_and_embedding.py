"""--cell gru and --input-encoding embedding (issue 20): the topologies, the NumPy stateful
decoder against Keras step by step, training, --resume's refusals (tests/training/test_resume.py
resumes each kind bit for bit), generation (window and stateful), evaluation, the three
export formats, a text of 3,000 distinct characters, and the one-line errors."""

import json

import numpy as np
import pytest

import charlstm
from charlstm import cli
from charlstm.training.checks import LARGE_VOCABULARY, encoding_advice, weight_count
from charlstm.checkpoints.format import load_checkpoint, shapes_from_weights
from charlstm.config import BY_NAME, resolve
from charlstm.exporting.formats import state_names
from charlstm.generation.decoders import StatefulDecoder, WindowDecoder
from charlstm.errors import UserError
from charlstm.checkpoints.loading import load_for_generation
from charlstm.model.cells import CELLS
from charlstm.model.models import Topology, build_model, compiled_forward
from charlstm.training.run import train
from charlstm.text.windows import encode_inputs, input_table
from conftest import checkpoints, lively, onestep_greedy, rewrite_metadata, run_main
from train import parse_args
# The two new options, each on its own (tests/training/test_resume.py resumes each bit for bit).
EACH_KIND = pytest.mark.parametrize("kind", ["embedding", "gru"], scope="module")


def test_the_gru_topologies_have_the_lstms_places_and_cudnn_defaults():
    small = build_model(Topology(vocab_size=43, output_size=43, cell="gru"), seq_length=100)
    assert [layer.name for layer in small.layers] == ["gru_1", "dropout_1", "dense_1"]
    bigger = build_model(Topology(vocab_size=43, output_size=43, cell="gru", layers=2))
    assert [layer.name for layer in bigger.layers] == [
        "gru_1", "dropout_1", "gru_2", "dropout_2", "dense_1"]
    gru = small.layers[0]
    assert type(gru).__name__ == "GRU" and gru.reset_after and gru.use_bias
    assert gru.activation.__name__ == "tanh" and gru.recurrent_activation.__name__ == "sigmoid"
    assert gru.recurrent_dropout == 0 and not gru.unroll
    assert [w.shape for w in gru.get_weights()] == [(1, 768), (256, 768), (2, 768)]
    settings = resolve({"cell": "gru", "bigger": True})
    assert bigger.count_params() == weight_count(settings, 43)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_every_cell_declares_what_its_readers_need(name):
    """charlstm.model.cells.CELLS is the one declaration of a cell: --cell offers it, and its
    Keras layer, weight shapes, weight count and states are what Keras builds."""
    cell = CELLS[name]
    assert cell.name == name and name in BY_NAME["cell"].choices and callable(cell.step)
    topology = Topology(vocab_size=7, output_size=7, layers=2, units=3, cell=name,
                        input_encoding="one-hot")
    model = build_model(topology)
    layer = model.get_layer(f"{name}_1")
    assert type(layer) is cell.keras_layer()
    assert [tuple(weight.shape) for weight in layer.get_weights()] == [
        (7, cell.width(3)), (3, cell.width(3)), cell.bias_shape(3)]
    assert layer.count_params() == cell.weight_count(inputs=7, units=3)
    settings = resolve({"cell": name, "layers": 2, "units": 3, "input_encoding": "one-hot"})
    assert model.count_params() == weight_count(settings, 7)
    # Keras returns one state array per name in cell.states; the decoder and exports carry as many.
    _, *states = cell.keras_layer()(3, return_state=True)(np.zeros((1, 2, 7), np.float32))
    assert len(states) == cell.state_count == len(cell.states) >= 1
    assert state_names(topology) == [f"{kind}_{number}" for number in (1, 2)
                                     for kind in cell.states]
    assert [len(state) for state in StatefulDecoder(model, topology).zero_states(1)] == [
        cell.state_count] * 2
    weights = [(layer.name, layer.get_weights()) for layer in model.layers if layer.weights]
    assert shapes_from_weights(weights, name) == {
        "layers": 2, "units": 3, "output_size": 7, "input_width": 7, "embedding_rows": None}


def test_an_embedding_reads_indices_and_is_counted():
    topology = Topology(vocab_size=30, output_size=30, input_encoding="embedding",
                        embedding_size=6, units=8, input_dropout=0.1)
    model = build_model(topology, seq_length=10)
    assert [layer.name for layer in model.layers][:2] == ["embedding_1", "input_dropout"]
    assert model.input_shape == (None, 10) and model.inputs[0].dtype == "int32"
    assert model.layers[0].get_weights()[0].shape == (30, 6)
    settings = resolve({"input_encoding": "embedding", "embedding_size": 6, "units": 8})
    assert model.count_params() == weight_count(settings, 30)
    table = input_table(30, "embedding")
    assert encode_inputs(np.array([[3, 29]]), table).tolist() == [[3, 29]]


@pytest.mark.parametrize("cell, encoding, layers", [
    ("gru", "scaled", 1), ("gru", "scaled", 2), ("gru", "embedding", 2),
    ("lstm", "embedding", 1), ("gru", "one-hot", 1)])
def test_the_numpy_stateful_decoder_is_keras_step_by_step(cell, encoding, layers):
    """After each character, the carried state gives what the Keras model gives when it reads
    the whole sequence so far from a fresh state."""
    topology = Topology(vocab_size=10, output_size=10, layers=layers, units=16, cell=cell,
                        input_encoding=encoding,
                        embedding_size=5 if encoding == "embedding" else None)
    model = lively(topology)
    table = input_table(10, encoding)
    sequence = np.random.default_rng(2).integers(0, 10, size=25)
    decoder = StatefulDecoder(model, topology)
    ours = [decoder.start(sequence[None, :1])]
    ours += [decoder.advance(sequence[position : position + 1]) for position in range(1, 25)]
    greedy, forward = set(), compiled_forward(model)  # Model.predict, without its set-up
    for position in range(25):
        reference = forward(encode_inputs(sequence[None, : position + 1], table))
        assert np.allclose(ours[position], reference, atol=2e-5), position
        greedy.add(int(reference.argmax()))
    assert len(greedy) >= 3  # the comparison really followed the input
    window = WindowDecoder(model, topology, seq_length=12)
    first = window.start(sequence[None, :12])
    assert np.allclose(first, forward(encode_inputs(sequence[None, :12], table)), atol=1e-6)


@pytest.mark.slow
@EACH_KIND
def test_generation_evaluation_and_every_export(kind, two_epochs, tmp_path):
    import tensorflow as tf
    import keras

    folder = two_epochs
    weights = str(folder / checkpoints(folder)[-1])
    model, checkpoint, seed_text = load_for_generation(weights)
    for flags in ([], ["--stateful"], ["--temperature", "1", "--seed", "3"]):
        result = run_main("generate.py", "--weights", weights, "--length", "30", "--raw",
                          "--prime", "alice was ", *flags)
        assert result.returncode == 0 and len(result.stdout) == 31, result.stderr
    result = run_main("evaluate.py", "--weights", weights)
    assert result.returncode == 0 and result.stdout.startswith("all: loss "), result.stderr
    # keras: the window model predicts the checkpoint's probabilities.
    windows = np.stack([seed_text[start : start + 10] for start in range(0, 60, 5)])
    table = input_table(checkpoint.topology.vocab_size, checkpoint.topology.input_encoding)
    expected = compiled_forward(model)(encode_inputs(windows, table))
    output = str(tmp_path / "window.keras")
    charlstm.export(weights, output, verbose=0)
    exported = keras.saving.load_model(output)
    assert np.abs(exported.predict(windows.astype(np.int32), verbose=0) - expected).max() <= 1e-6
    description = json.load(open(output + ".json"))
    assert description["cell"] == checkpoint.topology.cell
    assert description["input_encoding"] == checkpoint.topology.input_encoding
    assert ("embedding_size" in description) == (kind == "embedding")
    # savedmodel: the same function as serve.
    served = tf.saved_model.load(charlstm.export(weights, str(tmp_path / "saved"),
                                                 format="savedmodel", verbose=0))
    got = served.serve(tf.constant(windows, tf.int32)).numpy()
    assert np.abs(got - expected).max() <= 1e-6
    # onestep: its greedy text is generate.py --stateful's.
    output = str(tmp_path / "onestep.keras")
    charlstm.export(weights, output, format="onestep", verbose=0)
    description = json.load(open(output + ".json"))
    assert description["states"] == (["h_1"] if kind == "gru" else ["h_1", "c_1"])
    stateful = charlstm.generate(weights, length=40, prime="alice was ", stateful=True,
                                 verbose=0)
    assert description["units"] == 8
    assert onestep_greedy(output, "alice was ", 40) == stateful


@pytest.mark.slow
def test_a_text_of_3000_distinct_characters_trains_with_an_embedding(tmp_path, capsys):
    rng = np.random.default_rng(0)
    alphabet = rng.choice(np.arange(0x4E00, 0x9FA5), size=3000, replace=False)
    codes = np.concatenate([alphabet, rng.choice(alphabet, size=27_000)])
    rng.shuffle(codes)
    text = tmp_path / "cjk.txt"
    text.write_text("".join(map(chr, codes)), encoding="utf-8")
    flags = ["--text", str(text), "--seq-length", "10", "--units", "8", "--batch-size", "256",
             "--epochs", "1", "--seed", "1"]
    result = run_main("train.py", *flags, "--dry-run")  # scaled: the advice, nothing trained
    assert result.returncode == 0, result.stderr
    assert "3000 distinct characters" in result.stderr and "embedding" in result.stderr
    result = run_main("train.py", *flags, "--input-encoding", "embedding", "--embedding-size",
                      "16", "--checkpoint-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Total Vocab: 3000" in result.stdout and "distinct characters" not in result.stderr
    weights = str(tmp_path / "run" / checkpoints(tmp_path / "run")[-1])
    assert load_checkpoint(weights).topology.input_width == 16
    for stateful in ([], ["--stateful"]):
        result = run_main("generate.py", "--weights", weights, "--length", "50", "--raw",
                          "--temperature", "1", "--seed", "2", *stateful)
        generated = result.stdout.rstrip("\n")
        assert result.returncode == 0 and len(generated) == 50, result.stderr
        assert all(0x4E00 <= ord(char) < 0x9FA5 for char in generated)


def test_large_vocabularies_get_advice_not_refusal():
    for encoding in ("one-hot", "scaled"):
        settings = resolve({"input_encoding": encoding})
        assert "--input-encoding embedding" in encoding_advice(settings, LARGE_VOCABULARY + 1)
        assert encoding_advice(settings, LARGE_VOCABULARY) is None
    assert encoding_advice(resolve({"input_encoding": "embedding"}), 5000) is None


def test_the_flags_and_their_one_line_errors(tiny_text_path, tmp_path):
    assert cli.parse_train_args(["--input-encoding", "one-hot"]).input_encoding == "one-hot"
    assert cli.parse_train_args(["--cell", "gru"]).cell == "gru"
    base = ["--text", tiny_text_path, "--seq-length", "10", "--units", "8", "--epochs", "1",
            "--checkpoint-dir", str(tmp_path)]
    cases = [
        (["--one-hot", "--embedding-size", "8"], 1,
         "--embedding-size belongs to --input-encoding embedding"),
        (["--embedding-size", "8"], 1, "--embedding-size belongs to --input-encoding"),
        (["--input-encoding", "embedding", "--embedding-size", "0"], 2, "must be 1 or more"),
        (["--cell", "rnn"], 2, "invalid choice: 'rnn'"),
        (["--input-encoding", "binary"], 2, "invalid choice: 'binary'"),
        (["--one-hot", "--input-encoding", "embedding"], 2, "not allowed with argument"),
    ]
    for flags, status, message in cases:
        result = run_main("train.py", *base, *flags)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == status and message in lines[-1], (flags, result.stderr)
        assert "Traceback" not in result.stderr
    with pytest.raises(UserError, match="--embedding-size belongs to"):
        charlstm.train(text=tiny_text_path, embedding_size=8, dry_run=True, verbose=0)


@EACH_KIND
def test_resume_refuses_another_cell_or_encoding(tiny_text_path, kind, two_epochs):
    folder = two_epochs
    last = str(folder / checkpoints(folder)[-1])
    if kind == "gru":
        flags, message = ["--cell", "lstm"], "cannot resume with --cell lstm: .* with gru"
    else:
        flags, message = (["--input-encoding", "scaled"],
                          "cannot resume with --input-encoding scaled: .* with embedding")
    with pytest.raises(UserError, match=message):
        train(parse_args(["--text", tiny_text_path, "--resume", last, "--epochs", "3", *flags]))
    if kind == "embedding":
        with pytest.raises(UserError, match="cannot resume with --embedding-size 9: .* with 8"):
            train(parse_args(["--text", tiny_text_path, "--resume", last, "--epochs", "3",
                              "--input-encoding", "embedding", "--embedding-size", "9"]))


@EACH_KIND
def test_metadata_that_names_another_cell_or_size_is_refused(kind, two_epochs, tmp_path):
    folder = two_epochs
    last = folder / checkpoints(folder)[-1]

    def change(metadata):
        if kind == "gru":
            metadata["cell"] = "lstm"
        else:
            metadata["embedding_size"] = 9

    edited = rewrite_metadata(last, tmp_path / last.name, change)
    vocab = load_checkpoint(str(last)).topology.vocab_size
    message = "is not a character LSTM: layer 1 is not an LSTM" if kind == "gru" else (
        rf"inconsistent metadata: .*\(1, 8, {vocab}, 8, {vocab}\), metadata says "
        rf"\(1, 8, {vocab}, 9, {vocab}\)")
    with pytest.raises(UserError, match=message):
        load_checkpoint(edited)
