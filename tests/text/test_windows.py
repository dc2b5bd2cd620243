import numpy as np

from charlstm.text.feeding import training_data
from charlstm.text.vocabulary import Vocabulary
from charlstm.text.windows import (GlobalSteps, WindowBatches, gather_patterns, input_table,
                              pattern_count)


def test_tutorial_patterns_for_length_5():
    text = "CHAPTER"
    vocabulary = Vocabulary.from_text(text)
    indices = vocabulary.encode(text)
    starts = np.arange(pattern_count(len(text), 5))
    windows, targets = gather_patterns(indices, starts, 5)
    pairs = [(vocabulary.decode(w), vocabulary.chars[t]) for w, t in zip(windows, targets)]
    assert pairs == [("CHAPT", "E"), ("HAPTE", "R")]


def test_scaling_is_the_tutorials_float64_division_cast_to_float32():
    table = input_table(43)
    reference = (np.arange(43).reshape(1, 43, 1) / float(43)).astype(np.float32)
    assert table.dtype == np.float32
    assert np.array_equal(table.reshape(1, 43, 1), reference)


def make_batches(batch_size=7, seed=3):
    indices = np.arange(60, dtype=np.uint8) % 11
    return WindowBatches(indices, seq_length=5, batch_size=batch_size, table=input_table(11),
                         seed=seed)


def test_each_epoch_visits_every_pattern_once_in_a_new_order():
    batches = make_batches()
    assert len(batches) == 8  # 55 patterns in batches of 7: the last one is partial
    seen = []
    for epoch in range(2):
        targets = np.concatenate([batches.batch(epoch, n)[1] for n in range(len(batches))])
        assert len(targets) == 55
        seen.append(batches.order(epoch).copy())
        assert sorted(seen[-1].tolist()) == list(range(55))
    assert not np.array_equal(seen[0], seen[1])


def test_batches_hold_scaled_windows_and_their_next_character():
    batches = make_batches()
    inputs, targets = batches.batch(0, 0)
    starts = batches.order(0)[:7]
    assert inputs.shape == (7, 5, 1) and inputs.dtype == np.float32
    assert targets.dtype == np.int32
    for row, start in enumerate(starts):
        window = (np.arange(start, start + 5) % 11)
        assert np.allclose(inputs[row, :, 0], window / 11.0)
        assert targets[row] == (start + 5) % 11


def test_same_seed_same_order_other_seed_other_order():
    assert np.array_equal(make_batches(seed=1).order(0), make_batches(seed=1).order(0))
    assert not np.array_equal(make_batches(seed=1).order(0), make_batches(seed=2).order(0))


def test_pydataset_epochs_follow_on_epoch_end():
    batches = make_batches()
    steps = GlobalSteps(batches)  # what Keras reads on backends other than TensorFlow
    first = steps[0][1].copy()
    steps.on_epoch_end()
    assert np.array_equal(steps[0][1], batches.batch(1, 0)[1])
    assert not np.array_equal(steps[0][1], first)


def test_every_backend_reads_the_same_batches():
    """TensorFlow reads a tf.data pipeline, the other backends a PyDataset: both give
    EpochBatches.batch(epoch, number), epoch after epoch."""
    batches = make_batches()
    data, steps = training_data(batches, epochs=2)
    if steps is None:  # a PyDataset, read as Keras' fit() reads it
        steps, fetched = len(data), []
        for _ in range(2):
            fetched += [data[number] for number in range(steps)]
            data.on_epoch_end()
    else:
        fetched = list(data.as_numpy_iterator())
    assert steps == len(batches) and len(fetched) == 2 * steps
    for step, (inputs, targets) in enumerate(fetched):
        expected_inputs, expected_targets = batches.batch(step // steps, step % steps)
        assert np.array_equal(inputs, expected_inputs)
        assert np.array_equal(targets, expected_targets)
