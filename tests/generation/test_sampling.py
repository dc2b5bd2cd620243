import warnings

import numpy as np
import pytest

from charlstm.generation.sampling import generate_indices, greedy, make_chooser


def random_probabilities(rows=50, size=12, seed=0, zeros=True):
    rng = np.random.default_rng(seed)
    probabilities = rng.random((rows, size)) ** 3
    if zeros:
        probabilities[:, ::3] = 0.0  # some characters impossible
    return (probabilities / probabilities.sum(axis=1, keepdims=True)).astype(np.float32)


def test_temperature_zero_is_greedy():
    probabilities = random_probabilities()
    assert make_chooser(temperature=0.0) is greedy
    assert np.array_equal(greedy(probabilities), probabilities.argmax(axis=1))


@pytest.mark.parametrize("temperature", [0.1, 1.0, 5.0])
def test_top_k_one_is_greedy_at_any_temperature(temperature):
    probabilities = random_probabilities()
    choose = make_chooser(temperature, top_k=1, rng=np.random.default_rng(1))
    for _ in range(5):
        assert np.array_equal(choose(probabilities), greedy(probabilities))


def test_zero_probabilities_are_never_chosen_and_raise_no_warning():
    probabilities = random_probabilities()
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for temperature in (0.05, 1.0, 20.0):
            choose = make_chooser(temperature, rng=np.random.default_rng(2))
            for _ in range(20):
                chosen = choose(probabilities)
                assert np.all(probabilities[np.arange(len(chosen)), chosen] > 0)


def test_top_k_samples_only_among_the_k_most_likely():
    probabilities = random_probabilities(zeros=False)
    top3 = np.argsort(-probabilities, axis=1)[:, :3]
    choose = make_chooser(2.0, top_k=3, rng=np.random.default_rng(3))
    seen = set()
    for _ in range(30):
        chosen = choose(probabilities)
        assert all(chosen[row] in top3[row] for row in range(len(chosen)))
        seen.update(zip(range(len(chosen)), chosen.tolist()))
    assert len(seen) > 2 * len(probabilities)  # it does sample, not always the first


def test_temperature_one_samples_the_distribution_and_low_temperature_sharpens_it():
    probabilities = np.tile(np.array([[0.5, 0.3, 0.2, 0.0]], np.float32), (20000, 1))
    counts = np.bincount(make_chooser(1.0, rng=np.random.default_rng(4))(probabilities),
                         minlength=4) / 20000
    assert np.allclose(counts, [0.5, 0.3, 0.2, 0.0], atol=0.015)
    cold = np.bincount(make_chooser(0.25, rng=np.random.default_rng(4))(probabilities),
                       minlength=4) / 20000
    # softmax(log p / 0.25) is p**4 normalised: 0.0625, 0.0081, 0.0016 -> 0.867, 0.112, 0.022
    assert np.allclose(cold, [0.867, 0.112, 0.022, 0.0], atol=0.015)


def test_the_same_rng_seed_repeats_and_another_differs():
    probabilities = random_probabilities()
    runs = [make_chooser(0.8, rng=np.random.default_rng(seed))(probabilities) for seed in (7, 7, 8)]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


class CountingDecoder:
    """A decoder whose next character is always (last + 1) mod 5; counts forward calls."""

    def __init__(self):
        self.calls = 0

    def start(self, primes):
        self.calls += 1
        return np.eye(5, dtype=np.float32)[(primes[:, -1] + 1) % 5]

    def advance(self, indices):
        self.calls += 1
        return np.eye(5, dtype=np.float32)[(indices + 1) % 5]


def test_the_loop_makes_one_forward_call_per_step_for_all_samples():
    decoder = CountingDecoder()
    steps = list(generate_indices(decoder, np.array([[0], [2], [4]]), 6))
    assert decoder.calls == 6
    assert np.stack(steps, axis=1).tolist() == [[1, 2, 3, 4, 0, 1], [3, 4, 0, 1, 2, 3],
                                                [0, 1, 2, 3, 4, 0]]


def test_top_p_one_is_plain_sampling_with_the_same_seed():
    probabilities = random_probabilities()
    plain = make_chooser(0.8, rng=np.random.default_rng(6))
    nucleus = make_chooser(0.8, rng=np.random.default_rng(6), top_p=1.0)
    for _ in range(20):
        assert np.array_equal(plain(probabilities), nucleus(probabilities))


@pytest.mark.parametrize("temperature", [0.3, 1.0, 3.0])
def test_a_top_p_that_keeps_one_character_is_greedy(temperature):
    probabilities = random_probabilities()
    choose = make_chooser(temperature, rng=np.random.default_rng(7), top_p=1e-9)
    for _ in range(5):
        assert np.array_equal(choose(probabilities), greedy(probabilities))


def test_top_p_samples_only_the_smallest_set_holding_p_after_the_temperature():
    probabilities = np.tile(np.array([[0.05, 0.5, 0.25, 0.2]], np.float32), (4000, 1))
    # At temperature 1 the nucleus of 0.7 is {1, 2} (0.5 + 0.25), drawn as 2 : 1.
    chosen = make_chooser(1.0, rng=np.random.default_rng(8), top_p=0.7)(probabilities)
    counts = np.bincount(chosen, minlength=4) / len(chosen)
    assert counts[0] == counts[3] == 0
    assert counts[1] == pytest.approx(2 / 3, abs=0.03)
    # A low temperature sharpens first: 0.5 ** 4 / sum holds more than 0.7 alone.
    chosen = make_chooser(0.25, rng=np.random.default_rng(8), top_p=0.7)(probabilities)
    assert set(chosen.tolist()) == {1}
    # With top_k 2 first, the nucleus is taken within the two most likely.
    chosen = make_chooser(1.0, top_k=2, rng=np.random.default_rng(8), top_p=0.99)(probabilities)
    assert set(chosen.tolist()) == {1, 2}
