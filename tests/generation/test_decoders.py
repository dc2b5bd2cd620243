import numpy as np
import pytest

from charlstm.generation.decoders import StatefulDecoder, WindowDecoder
from charlstm.checkpoints.loading import load_for_generation
from charlstm.generation.sampling import generate_indices
from conftest import lively_model, tutorial_loop


def greedy_run(decoder, pattern, length):
    return [int(i[0]) for i in generate_indices(decoder, np.asarray(pattern)[None, :], length)]


def test_window_decoding_equals_the_tutorials_loop_on_a_trained_checkpoint(tiny_checkpoint):
    model, checkpoint, seed_text = load_for_generation(tiny_checkpoint)
    pattern = seed_text[5 : 5 + checkpoint.seq_length]
    decoder = WindowDecoder(model, checkpoint.topology, checkpoint.seq_length)
    expected = tutorial_loop(model, pattern, len(checkpoint.vocabulary), 30)
    assert greedy_run(decoder, pattern, 30) == expected


def test_window_decoding_equals_the_tutorials_loop_on_a_stacked_model():
    model, topology = lively_model(layers=2)
    pattern = np.random.default_rng(0).integers(0, 10, size=12)
    ours = greedy_run(WindowDecoder(model, topology, seq_length=12), pattern, 40)
    assert len(set(ours)) >= 4
    assert ours == tutorial_loop(model, pattern, 10, 40)


def test_a_short_prime_grows_into_a_full_window_and_a_long_one_is_cut():
    model, topology = lively_model(layers=1)
    decoder = WindowDecoder(model, topology, seq_length=4)
    decoder.start(np.array([[1, 2]]))
    widths = [decoder.windows.shape[1]]
    for index in (3, 4, 5, 6):
        decoder.advance(np.array([index]))
        widths.append(decoder.windows.shape[1])
    assert widths == [2, 3, 4, 4, 4]
    assert decoder.windows.tolist() == [[3, 4, 5, 6]]
    # A short prime is read as it is: the first probabilities are the model's on 2 characters.
    first = decoder.start(np.array([[1, 2]]))
    direct = model.predict(np.array([[[0.1], [0.2]]], dtype=np.float32), verbose=0)
    assert np.array_equal(first, direct)
    decoder.start(np.array([[9, 8, 7, 6, 5, 4]]))
    assert decoder.windows.tolist() == [[7, 6, 5, 4]]


@pytest.mark.parametrize("layers", [1, 2])
def test_stateful_decoding_equals_the_model_on_the_whole_sequence(layers):
    """After each character, the carried state gives what the Keras model gives when it reads
    the whole sequence so far from a fresh state: the same states, step by step."""
    model, topology = lively_model(layers=layers)
    sequence = np.random.default_rng(2).integers(0, 10, size=30)
    decoder = StatefulDecoder(model, topology)
    ours = [decoder.start(sequence[None, :1])]
    ours += [decoder.advance(sequence[position : position + 1]) for position in range(1, 30)]
    for position in range(30):
        prefix = (sequence[None, : position + 1] / 10.0).astype(np.float32)[..., None]
        reference = model.predict(prefix, verbose=0)
        assert np.allclose(ours[position], reference, atol=2e-5), position


def test_stateful_decoding_reads_a_prime_of_any_length_in_a_batch():
    model, topology = lively_model(layers=2)
    primes = np.random.default_rng(3).integers(0, 10, size=(3, 150))
    probabilities = StatefulDecoder(model, topology).start(primes)
    for row in range(3):
        reference = model.predict((primes[row : row + 1] / 10.0).astype(np.float32)[..., None],
                                  verbose=0)
        assert np.allclose(probabilities[row], reference[0], atol=2e-5)


def test_a_batch_decodes_each_row_as_if_alone():
    model, topology = lively_model(layers=1)
    primes = np.random.default_rng(5).integers(0, 10, size=(4, 12))
    for decoder in (WindowDecoder(model, topology, 12), StatefulDecoder(model, topology)):
        together = np.stack(list(generate_indices(decoder, primes, 15)), axis=1)
        for row in range(4):
            assert together[row].tolist() == greedy_run(decoder, primes[row], 15)
