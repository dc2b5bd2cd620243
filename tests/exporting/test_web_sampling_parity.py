"""Issue 31: same seed, same text, everywhere. The exported page (file://, real headless
Chromium) writes the very sampled text generate.py --stateful --seed S writes, for several
seeds, temperatures, top-k and top-p, 1,000 characters each, from a typed prime and from
the random seed window (rng.integers draws it, as Python does).

Example: python -m pytest -q -m slow tests/exporting/test_web_sampling_parity.py
"""
import pytest

import charlstm
from charlstm.checkpoints.run_folder import BUNDLED_MODEL

from test_web_export import alice_web, generate_on_page, message, open_page  # noqa: F401

CASES = [  # seed, prime ("" = the random seed window), temperature, top_k, top_p
    (0, "alice was ", 1.0, None, None),
    (1, "", 0.5, None, None),
    (7, "the queen said ", 1.0, 10, None),
    (42, "", 1.0, None, 0.9),
    (2**31 + 5, "down the rabbit-hole ", 0.8, 20, 0.95),
    (123456, "", 1.2, 5, 0.8),
]


@pytest.mark.slow
@pytest.mark.parametrize("seed, prime, temperature, top_k, top_p", CASES)
def test_the_page_samples_what_generate_py_stateful_samples(browser, alice_web, seed, prime,
                                                            temperature, top_k, top_p):
    driver = browser
    assert open_page(driver, alice_web) == "idle", message(driver)
    given = {name: value for name, value in (("top_k", top_k), ("top_p", top_p))
             if value is not None}
    expected = charlstm.generate(BUNDLED_MODEL, prime=prime or None, length=1000,
                                 stateful=True, seed=seed, temperature=temperature,
                                 verbose=0, **given)
    got = generate_on_page(driver, prime=prime, length=1000, temperature=temperature,
                           top_k="" if top_k is None else top_k,
                           top_p="" if top_p is None else top_p, seed=seed)
    assert len(got) == 1000
    index = next((i for i, (a, b) in enumerate(zip(expected, got)) if a != b), None)
    assert got == expected, f"the texts part at character {index}"


def cut_at(text, stops):
    """The spec's stop-at rule: the text up to and including the first stop string wholly in
    it (the earliest end), or the whole text."""
    ends = [text.find(stop) + len(stop) for stop in stops if stop in text]
    return text[:min(ends)] if ends else text


@pytest.mark.slow
def test_stop_at_on_the_page_cuts_the_same_text_and_draws_nothing_else(browser, alice_web):
    driver = browser
    assert open_page(driver, alice_web) == "idle", message(driver)
    whole = charlstm.generate(BUNDLED_MODEL, prime="alice was ", length=1000, stateful=True,
                              seed=3, temperature=1.0, verbose=0)
    stop = whole[400:404]
    # The bundled model was trained on one book (documents files): no items switch.
    assert not driver.find_element("id", "items-switch").is_displayed()
    for stops, box in (([stop], stop), (["\n"], "\\n"), ([stop, "zzzq"], stop + "\nzzzq")):
        got = generate_on_page(driver, prime="alice was ", length=1000, temperature=1.0,
                               top_k="", top_p="", seed=3, stop_at=box)
        assert got == cut_at(whole, stops) and len(got) < 1000
    # A stop string inside the prime only does not stop the text.
    assert generate_on_page(driver, stop_at="alice") == cut_at(whole, ["alice"])


ITEMS_RUN = """
const done = arguments[arguments.length - 1];
let text = "";
charlstmEngine.generate(arguments[0], {onText: (chunk) => { text += chunk; },
  onSeed: () => {}, onPrime: () => {}, signal: new AbortController().signal})
  .then(() => done(text), (error) => done("ERROR " + error.message));
"""


@pytest.mark.slow
@pytest.mark.parametrize("seed, temperature, top_k, top_p, new_only", [
    (1, 0.0, None, None, False), (7, 0.8, 10, 0.9, True), (3, 1.0, None, 0.95, True)])
def test_the_page_writes_the_items_charlstm_items_writes(browser, alice_web, seed, temperature,
                                                          top_k, top_p, new_only):
    driver = browser
    assert open_page(driver, alice_web) == "idle", message(driver)
    given = {name: value for name, value in (("top_k", top_k), ("top_p", top_p))
             if value is not None}
    expected = charlstm.items(10, weights=BUNDLED_MODEL, seed=seed, temperature=temperature,
                              new_only=new_only, verbose=0, **given)
    got = driver.execute_async_script(ITEMS_RUN, dict(
        items=10, seed=seed, temperature=temperature, new_only=new_only, **given))
    assert got.split("\n")[:-1] == expected
