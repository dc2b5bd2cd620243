import numpy as np

from charlstm.corpus import Vocabulary
from charlstm.generation import load_for_generation
from charlstm.models import Topology, build_model
from charlstm.sampling import WindowDecoder


def tutorial_loop(model, pattern, n_vocab, length):
    """The tutorial's generation loop, verbatim but for Python 3 and Keras 3's predict."""
    pattern = list(pattern)
    result = []
    for _ in range(length):
        x = np.reshape(pattern, (1, len(pattern), 1))
        x = x / float(n_vocab)
        prediction = model.predict(x, verbose=0)
        index = np.argmax(prediction)
        result.append(int(index))
        pattern.append(index)
        pattern = pattern[1 : len(pattern)]
    return result


def test_greedy_decoding_equals_the_tutorials_loop_on_a_trained_checkpoint(tiny_checkpoint):
    model, checkpoint, pool = load_for_generation(tiny_checkpoint)
    pattern = pool[5 : 5 + checkpoint.seq_length]
    decoder = WindowDecoder(model, checkpoint.vocabulary, checkpoint.seq_length)
    ours = list(decoder.generate_indices(pattern, 30))
    assert ours == tutorial_loop(model, pattern, len(checkpoint.vocabulary), 30)


def test_greedy_decoding_equals_the_tutorials_loop_on_a_stacked_model():
    import keras

    keras.utils.set_random_seed(4)
    vocabulary = Vocabulary("abcdefghij")
    # Random weights scaled up, and a random output bias, so that the argmax moves with the
    # input: the comparison then really checks the window order and scaling.
    model = build_model(Topology(vocab_size=10, output_size=10, layers=2, units=16))
    *weights, output_bias = model.get_weights()
    output_bias = np.random.default_rng(1).normal(size=output_bias.shape) * 3
    model.set_weights([w * 8 for w in weights] + [output_bias])
    pattern = np.random.default_rng(0).integers(0, 10, size=12)
    decoder = WindowDecoder(model, vocabulary, seq_length=12)
    ours = list(decoder.generate_indices(pattern, 40))
    assert len(set(ours)) >= 4
    assert ours == tutorial_loop(model, pattern, 10, 40)


def test_a_short_prime_grows_into_a_full_window():
    lengths = []

    def forward(inputs):
        lengths.append(inputs.shape[1])
        probabilities = np.zeros((1, 3), dtype=np.float32)
        probabilities[0, len(lengths) % 3] = 1.0
        return probabilities

    decoder = WindowDecoder(None, Vocabulary("abc"), seq_length=4, forward=forward)
    text = "".join(decoder.generate("ab", 6))
    assert lengths == [2, 3, 4, 4, 4, 4]
    assert text == "bcabca"


def test_a_long_prime_is_cut_to_its_last_window():
    windows = []

    def forward(inputs):
        windows.append(inputs[0, :, 0].copy())
        return np.array([[1.0, 0.0, 0.0]], dtype=np.float32)

    vocabulary = Vocabulary("abc")
    decoder = WindowDecoder(None, vocabulary, seq_length=3, forward=forward)
    list(decoder.generate("cbcab", 1))
    assert np.allclose(windows[0] * 3, vocabulary.encode("cab"))
