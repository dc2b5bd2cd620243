"""--targets every, --one-hot, --validation-split and the tutorial-loss evaluation."""

import os

import numpy as np
import pytest

from charlstm.checkpoints.format import load_checkpoint
from charlstm.checkpoints.run_folder import find_best_checkpoint
from charlstm.text.rules import normalise_text
from charlstm.text.vocabulary import Vocabulary
from charlstm.generation.decoders import StatefulDecoder, WindowDecoder
from charlstm.generation.evaluation import tutorial_loss
from charlstm.checkpoints.loading import load_for_generation
from charlstm.model.models import Topology, build_model
from charlstm.generation.sampling import generate_indices
from charlstm.text.corpus import split_held_out
from charlstm.training.run import train
from charlstm.text.windows import WindowBatches, input_table
from conftest import TINY_TEXT, run_main, train_args


def every_batches(length=53, seq_length=5, seed=0, shuffle=True):
    indices = (np.arange(length) % 7).astype(np.uint8)
    return indices, WindowBatches(indices, seq_length, batch_size=4, table=input_table(7),
                                  seed=seed, targets="every", shuffle=shuffle)


def test_every_position_targets_are_the_next_characters():
    text = "chapter i. down the rabbit-hole"
    vocabulary = Vocabulary.from_text(text)
    indices = vocabulary.encode(text)
    batches = WindowBatches(indices, 5, batch_size=64, table=input_table(len(vocabulary)),
                            targets="every", shuffle=False)
    inputs, targets = batches.batch(0, 0)
    assert targets.shape == (len(batches.order(0)), 5)
    first_window = vocabulary.decode(np.round(inputs[0, :, 0] * len(vocabulary)).astype(int))
    assert first_window == "chapt" and vocabulary.decode(targets[0]) == "hapte"
    for row, start in enumerate(batches.order(0)):
        assert vocabulary.decode(targets[row]) == text[start + 1 : start + 6]


def test_every_position_windows_do_not_overlap_and_move_each_epoch():
    indices, batches = every_batches()
    counts, offsets = set(), set()
    for epoch in range(12):
        starts = np.sort(batches.order(epoch))
        assert np.all(np.diff(starts) == 5)  # back to back, no overlap
        assert starts[-1] + 5 < len(indices)  # the last target is inside the text
        counts.add(len(starts))
        offsets.add(int(starts[0]))
    assert counts == {len(batches.order(0))} and len(offsets) > 2
    assert len(batches) * 4 >= len(batches.order(0))


def test_one_hot_inputs():
    indices, _ = every_batches()
    batches = WindowBatches(indices, 5, 4, input_table(7, "one-hot"), seed=1)
    inputs, _ = batches.batch(0, 0)
    starts = batches.order(0)[:4]
    assert inputs.shape == (4, 5, 7)
    assert np.array_equal(inputs.argmax(axis=2), indices[starts[:, None] + np.arange(5)])
    assert np.all(inputs.sum(axis=2) == 1)


def test_validation_split_never_leaks_the_tail_into_training(tmp_path):
    indices = np.arange(200, dtype=np.int64)  # every character distinct: positions are visible
    training, held_out = split_held_out(indices, 0.1)
    assert len(held_out) == 20 and held_out[0] == 180 and training[-1] == 179
    for targets in ("last", "every"):
        batches = WindowBatches(training, 10, 16, np.arange(200, dtype=np.float32)[:, None],
                                seed=3, targets=targets)
        for epoch in range(3):
            for number in range(len(batches)):
                inputs, target = batches.batch(epoch, number)
                assert inputs.max() < 180 and target.max() < 180


@pytest.fixture(scope="module")
def every_one_hot_checkpoint(tiny_text_path, tmp_path_factory):
    directory = tmp_path_factory.mktemp("every")
    train(train_args(text=tiny_text_path, epochs=3, targets="every", input_encoding="one-hot",
                     validation_split=0.2, monitor="val_loss", checkpoint_dir=str(directory)))
    return find_best_checkpoint(str(directory))


def test_every_position_one_hot_checkpoint_records_its_recipe(every_one_hot_checkpoint):
    assert "-val-" in os.path.basename(every_one_hot_checkpoint)
    metadata = load_checkpoint(every_one_hot_checkpoint).metadata
    assert metadata["targets"] == "every" and metadata["input_encoding"] == "one-hot"
    assert metadata["validation_split"] == 0.2 and metadata["val_loss"] is not None


def test_every_position_checkpoint_loads_into_the_tutorial_topology(every_one_hot_checkpoint):
    checkpoint = load_checkpoint(every_one_hot_checkpoint)
    tutorial = build_model(checkpoint.topology, seq_length=10)  # the last-position topology
    tutorial.load_weights(every_one_hot_checkpoint)  # Keras' own legacy loader
    for loaded, stored in zip(tutorial.get_weights(), checkpoint.weights):
        assert np.array_equal(loaded, stored)
    assert tutorial.output_shape == (None, 29)


@pytest.mark.parametrize("flags", [[], ["--stateful"]])
def test_one_hot_and_scaled_checkpoints_each_generate(every_one_hot_checkpoint, tiny_checkpoint,
                                                      flags):
    for path in (every_one_hot_checkpoint, tiny_checkpoint):
        result = run_main("generate.py", "--weights", path, "--length", "40", "--seed", "1",
                          "--raw", *flags)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout) == 41


def test_stateful_one_hot_decoding_equals_the_model():
    import keras

    keras.utils.set_random_seed(6)
    topology = Topology(vocab_size=6, output_size=6, units=8, input_encoding="one-hot")
    model = build_model(topology)
    model.set_weights([w * 4 for w in model.get_weights()])
    sequence = np.random.default_rng(0).integers(0, 6, size=(1, 20))
    probabilities = StatefulDecoder(model, topology).start(sequence)
    reference = model.predict(np.eye(6, dtype=np.float32)[sequence], verbose=0)
    assert np.allclose(probabilities, reference, atol=2e-5)
    window = list(generate_indices(WindowDecoder(model, topology, 20), sequence, 1))[0]
    assert window[0] == reference.argmax()


def test_tutorial_loss_of_a_known_tiny_model_is_the_hand_computed_one():
    """A model whose output ignores its input: Dense kernel 0, bias log(p). Its loss is the
    mean of -log p[target] over the windows' targets, which we can count by hand."""
    p = np.array([0.5, 0.25, 0.125, 0.125])
    topology = Topology(vocab_size=4, output_size=4, units=2)
    model = build_model(topology)
    weights = model.get_weights()
    weights[-2] = np.zeros_like(weights[-2])
    weights[-1] = np.log(p).astype(np.float32)
    model.set_weights(weights)
    indices = np.array([0, 1, 2, 3, 0, 0, 1, 3], dtype=np.uint8)
    loss, windows = tutorial_loss(model, topology, indices, seq_length=3, batch_size=2)
    targets = indices[3:]  # 3, 0, 0, 1, 3
    assert windows == 5
    assert loss == pytest.approx(-np.log(p[targets]).mean(), rel=1e-6)


def test_evaluate_command_reports_both_parts(tiny_checkpoint):
    result = run_main("evaluate.py", "--weights", tiny_checkpoint, "--held-out", "0.25")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["all", "training part", "held-out tail"]
    length = len(normalise_text(TINY_TEXT))
    assert lines[0].endswith(f"over {length - 10} windows")
    model, checkpoint, seed_text = load_for_generation(tiny_checkpoint)
    loss, _ = tutorial_loss(model, checkpoint.topology, seed_text, 10)
    assert lines[0].startswith(f"all: loss {loss:.4f}")


def test_monitor_val_loss_needs_a_held_out_part(tiny_text_path, tmp_path):
    from charlstm.errors import UserError

    with pytest.raises(UserError, match="--monitor val_loss needs a held-out part"):
        train(train_args(text=tiny_text_path, monitor="val_loss", checkpoint_dir=str(tmp_path)))
    with pytest.raises(UserError, match="held-out part .* must be longer than --seq-length"):
        train(train_args(text=tiny_text_path, validation_split=0.01, checkpoint_dir=str(tmp_path)))
