"""The tutorial's ten improvement ideas, each reachable from a flag and doing what it says."""

import os
import re

import numpy as np
import pytest

from charlstm.checkpoints.format import load_checkpoint, shapes_from_weights
from charlstm.checkpoints.run_folder import find_best_checkpoint
from charlstm.text.rules import strip_punctuation
from charlstm.text.vocabulary import Vocabulary
from charlstm.checkpoints.loading import load_for_generation
from charlstm.model.models import Topology, build_model, compile_model
from charlstm.text.sequences import PADDING_TARGET, SentenceBatches, StreamBatches, sentence_spans
from charlstm.training.run import train
from conftest import ROOT, TINY_TEXT, run_main, train_args


def trained(tmp_path, text_path, **overrides):
    """Train a tiny model with these overrides; return the best checkpoint's path."""
    directory = str(tmp_path / "run")
    train(train_args(text=text_path, checkpoint_dir=directory, **overrides))
    return find_best_checkpoint(directory)


# Idea 2: strip punctuation.

def test_strip_punctuation_removes_it_and_dashes_separate_words():
    assert strip_punctuation("'Don't,' said Alice--«no» (rabbit-hole) 3 + 4") \
        == "Dont said Alice  no rabbit hole 3 + 4"


def test_a_model_trained_without_punctuation_knows_none_and_strips_the_prime(
        tiny_text_path, tmp_path):
    path = trained(tmp_path, tiny_text_path, strip_punctuation=True, epochs=1)
    checkpoint = load_checkpoint(path)
    assert checkpoint.metadata["strip_punctuation"] is True
    assert not set(".,:'?-") & set(checkpoint.vocabulary.chars)
    assert set("abc \n") <= set(checkpoint.vocabulary.chars)
    result = run_main("generate.py", "--weights", path, "--prime", "Alice, 'was'", "--raw",
                      "--length", "5")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) == 6


# Idea 4: padded sentences.

def test_sentences_cover_the_text_and_padding_has_no_target():
    text = "alice was tired. very tired! why?\n\nthe end"
    starts, lengths = sentence_spans(text)
    assert "".join(text[s : s + n] for s, n in zip(starts, lengths)) == text
    assert [text[s : s + n] for s, n in zip(starts, lengths)][:3] == [
        "alice was tired. ", "very tired! ", "why?\n\n"]
    vocabulary = Vocabulary.from_text(text)
    indices = vocabulary.encode(text)
    table = np.eye(len(vocabulary), dtype=np.float32)
    batches = SentenceBatches(indices, text, 8, 100, table, shuffle=False)
    inputs, targets = batches.batch(0, 0)
    real = targets != PADDING_TARGET
    # Every real position predicts the character after it, within its own sentence.
    assert real.sum() == batches.predictions == sum(n - 1 for n in lengths)
    assert np.all(inputs[~real] == 0) and np.all(inputs[real].sum(axis=1) == 1)
    for row in range(len(targets)):
        start = batches.row_starts[row]
        count = batches.row_predictions[row]
        assert np.array_equal(targets[row, :count], indices[start + 1 : start + 1 + count])
        assert np.all(targets[row, count:] == PADDING_TARGET)
    # "alice was tired. " has 17 characters: two rows, 8 then 8 predictions.
    assert batches.row_predictions[:3].tolist() == [8, 8, 8]


def test_the_loss_averages_over_real_positions_only():
    topology = Topology(vocab_size=5, output_size=5, units=4)
    model = compile_model(build_model(topology, 4, every_position=True), padded_targets=True)
    inputs = np.random.default_rng(0).random((2, 4, 1)).astype(np.float32)
    targets = np.array([[1, 2, PADDING_TARGET, PADDING_TARGET], [3, 4, 0, PADDING_TARGET]])
    probabilities = model.predict(inputs, verbose=0)
    real = targets != PADDING_TARGET
    expected = -np.mean(np.log(probabilities[real, targets[real]]))
    assert model.evaluate(inputs, targets, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_training_on_sentences_writes_a_checkpoint_generation_loads(tiny_text_path, tmp_path):
    path = trained(tmp_path, tiny_text_path, sentences=True, epochs=1, validation_split=0.3)
    checkpoint = load_checkpoint(path)
    assert checkpoint.metadata["sentences"] is True and checkpoint.metadata["targets"] == "every"
    model, _, _ = load_for_generation(path)
    assert model.output_shape == (None, len(checkpoint.vocabulary))


# Idea 6: dropout on the visible input.

@pytest.mark.slow
def test_input_dropout_is_a_layer_without_weights_that_changes_training(tiny_text_path, tmp_path):
    model = build_model(Topology(10, 10, units=4, input_dropout=0.3), 5)
    assert model.layers[0].name == "input_dropout" and model.layers[0].rate == 0.3
    plain = load_checkpoint(trained(tmp_path / "plain", tiny_text_path, epochs=1))
    dropped = load_checkpoint(trained(tmp_path / "dropped", tiny_text_path, epochs=1,
                                      input_dropout=0.5))
    assert dropped.metadata["input_dropout"] == 0.5
    assert dropped.metadata["loss"] != plain.metadata["loss"]
    # The tutorial's topology (no input dropout) loads its weights.
    tutorial = build_model(Topology(29, 29, units=8), 10)
    tutorial.load_weights(dropped.path)
    assert all(np.array_equal(a, b) for a, b in zip(tutorial.get_weights(), dropped.weights))


# Ideas 7 and 8: batch size down to 1, any number of layers and units.

@pytest.mark.slow
def test_batch_size_one_trains(tmp_path):
    text = tmp_path / "short.txt"
    text.write_text(TINY_TEXT[:60])
    path = trained(tmp_path, str(text), batch_size=1, epochs=1)
    assert load_checkpoint(path).metadata["batch_size"] == 1


@pytest.mark.slow
def test_any_number_of_layers_and_units(tiny_text_path, tmp_path):
    path = trained(tmp_path, tiny_text_path, layers=3, units=5, epochs=1)
    checkpoint = load_checkpoint(path)
    shapes = shapes_from_weights([("layer", checkpoint.weights[3 * n : 3 * n + 3])
                                  for n in range(3)] + [("dense", checkpoint.weights[9:])])
    assert (shapes["layers"], shapes["units"]) == (3, 5)
    result = run_main("generate.py", "--weights", path, "--length", "10", "--raw")
    assert result.returncode == 0, result.stderr


# Idea 10: stateful training.

def test_streams_continue_row_by_row_from_batch_to_batch():
    indices = np.arange(200) % 251
    table = np.arange(251, dtype=np.float32)[:, None]
    batches = StreamBatches(indices, seq_length=5, batch_size=4, table=table, seed=3)
    for epoch in range(3):
        offset = batches.offset(epoch)
        assert 0 <= offset < 5
        previous = None
        for step in range(batches.steps):
            inputs, targets = batches.batch(epoch, step)
            assert inputs.shape == (4, 5, 1) and targets.shape == (4, 5)
            assert np.array_equal(targets[:, :-1], inputs[:, 1:, 0])  # next characters
            if previous is not None:
                # Row b starts right where row b of the batch before ended.
                assert np.array_equal(inputs[:, 0, 0], previous[:, -1, 0] + 1)
            previous = inputs
        # Streams do not overlap: row b + 1 starts after row b's whole stream.
        first, _ = batches.batch(epoch, 0)
        assert np.all(np.diff(first[:, 0, 0]) == batches.stream_length)


def test_stateful_training_carries_state_and_resets_each_epoch(tiny_text_path, tmp_path):
    path = trained(tmp_path, tiny_text_path, stateful=True, batch_size=4, epochs=2)
    checkpoint = load_checkpoint(path)
    assert checkpoint.metadata["stateful"] is True
    result = run_main("generate.py", "--weights", path, "--length", "10", "--stateful")
    assert result.returncode == 0, result.stderr


def test_stateful_needs_enough_text_for_its_streams(tiny_text_path, tmp_path):
    from charlstm.errors import UserError

    with pytest.raises(UserError, match="--stateful lays the text out as --batch-size"):
        train(train_args(text=tiny_text_path, checkpoint_dir=str(tmp_path), stateful=True,
                         batch_size=64))


# Ideas 1, 3, 5 and 9 are flags that exist already: generation length, one-hot input,
# epochs and temperature.

def test_every_idea_has_its_flag():
    import generate
    import train as train_command

    args = generate.parse_args(["--length", "50", "--temperature", "0.5"])
    assert (args.length, args.temperature) == (50, 0.5)
    args = train_command.parse_args(
        ["--strip-punctuation", "--one-hot", "--epochs", "100", "--input-dropout", "0.1",
         "--batch-size", "1", "--units", "512", "--layers", "3", "--stateful"])
    assert args.strip_punctuation and args.input_encoding == "one-hot" and args.stateful
    assert (args.epochs, args.input_dropout, args.batch_size, args.units, args.layers) == (
        100, 0.1, 1, 512, 3)
    assert train_command.parse_args(["--sentences"]).sentences


def test_the_readme_ideas_table_names_real_flags():
    """Each of the ten rows names at least one flag, and every flag it names exists."""
    from charlstm.cli import generate_parser, train_parser

    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    table = readme[readme.index("## The tutorial's ten ideas"):]
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ ", line)]
    assert [int(row.split("|")[1].split()[0]) for row in rows] == list(range(1, 11))
    known = {flag for parser in (train_parser(), generate_parser())
             for action in parser._actions for flag in action.option_strings}
    for row in rows:
        named = re.findall(r"--[a-z][a-z-]*", row.split("|")[2])
        assert named and set(named) <= known, row
