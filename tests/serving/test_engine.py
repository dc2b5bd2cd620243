"""serve.py's engine without HTTP (a tiny lively model, no server): a request that joins a busy
batch reads its prime apart, in one go, and gets the text it gets alone, which is what
StatefulDecoder and make_chooser write (generate.py --stateful's arithmetic and draws)."""

import numpy as np
import pytest

from charlstm.checkpoints.format import Checkpoint
from charlstm.generation.decoders import StatefulDecoder
from charlstm.generation.sampling import make_chooser
from charlstm.serving.engine import Group, ServedModel, _Batch
from charlstm.settings import GenerationOptions
from charlstm.text.vocabulary import Vocabulary

from conftest import lively_model

CHARS = "abcdefghij"
LENGTH = 40


@pytest.fixture(scope="module")
def served():
    model, topology = lively_model(layers=2)
    checkpoint = Checkpoint("lively", model.get_weights(), topology, Vocabulary(CHARS), 10,
                            None, None)
    return ServedModel("lively", "lively", checkpoint, None, StatefulDecoder(model, topology))


def group(served, prime, seed, temperature):
    options = GenerationOptions(length=LENGTH, seed=seed, temperature=temperature,
                                top_p=0.95 if temperature else 1.0)
    primes = np.array([[CHARS.index(char) for char in prime]])
    return Group(served, primes, seed, options, np.random.default_rng(seed))


def alone_by_the_decoder(served, prime, seed, temperature):
    """generate.py --stateful's loop: start() on the prime, then one character a step."""
    decoder, rng = served.decoder, np.random.default_rng(seed)
    choose = make_chooser(temperature, None, rng, 0.95 if temperature else None)
    probabilities = decoder.start(np.array([[CHARS.index(char) for char in prime]]))
    text = []
    for _ in range(LENGTH):
        index = choose(probabilities)
        text.append(CHARS[index[0]])
        probabilities = decoder.advance(index)
    return "".join(text)


def run_until_done(batch, groups):
    steps = 0
    while not all(member.done for member in groups):
        batch.step()
        batch.leave()
        steps += 1
    return steps


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_a_request_joining_31_busy_streams_reads_its_prime_in_one_go_and_keeps_its_text(
        served, temperature):
    prime, seed = "gabbiajjechd", 7
    expected = alone_by_the_decoder(served, prime, seed, temperature)
    alone = _Batch(served)
    newcomer = group(served, prime, seed, temperature)
    alone.take([newcomer])
    run_until_done(alone, [newcomer])
    assert "".join(newcomer.texts[0]) == expected

    busy = _Batch(served)
    others = [group(served, CHARS[number % 10] * (1 + number % 5), 100 + number,
                    0.8 if number % 2 else 0.0) for number in range(31)]
    busy.take(others)
    busy.step()  # the 31 read their primes (5 characters at most) and join
    assert len(busy.groups) == 31 and not busy.reading
    newcomer = group(served, prime, seed, temperature)
    busy.take([newcomer])
    first = busy.step()  # one step of the running 31, then the newcomer's whole prime
    assert first == [newcomer] and newcomer.produced == 1 and newcomer.position == len(prime)
    assert busy.rows == 32
    run_until_done(busy, [newcomer])
    assert "".join(newcomer.texts[0]) == expected


def test_newcomers_whose_primes_differ_in_length_read_together_as_each_reads_alone(served):
    primes = ["a", "jihgfedcba", "cab", "abcdefghijabcdefghij"]
    batch = _Batch(served)
    newcomers = [group(served, prime, number, 0.8) for number, prime in enumerate(primes)]
    batch.take(newcomers)
    assert batch.step() == newcomers  # all four read in one turn
    run_until_done(batch, newcomers)
    for number, (prime, newcomer) in enumerate(zip(primes, newcomers)):
        assert "".join(newcomer.texts[0]) == alone_by_the_decoder(served, prime, number, 0.8)
