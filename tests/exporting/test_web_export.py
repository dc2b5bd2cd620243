"""export.py --format web (issue 22): the folder's page, opened by file:// in a real headless
Chromium, writes generate.py --stateful's greedy text and its probabilities (within 1e-5) for
the bundled model and for a tiny model of each topology; the controls, Stop, and one message
for a missing or damaged weights file."""

import hashlib
import os
import shutil
import time

import h5py
import numpy as np
import pytest

import charlstm
from charlstm.checkpoints.format import METADATA_ATTRIBUTE, SEED_TEXT_DATASET, write_checkpoint
from charlstm.text.rules import normalise_text
from charlstm.text.vocabulary import Vocabulary
from charlstm.generation.decoders import StatefulDecoder
from charlstm.checkpoints.run_folder import BUNDLED_MODEL
from charlstm.checkpoints.loading import load_for_generation
from charlstm.checkpoints.metadata import Metadata
from charlstm.model.models import build_model
from charlstm.checkpoints.snapshots import snapshot
from charlstm.training.run import topology_of
from charlstm.exporting.web import WEB_FILES, WEIGHTS_SCRIPT

from charlstm.serving.pages import page_settings

from conftest import run_main, stop_on_the_page, text_grows_in_steps, train_args, wait_for_state
from helpers import repeated_span


def message(driver):
    return driver.execute_script("return document.getElementById('message').textContent")


def output(driver):
    return driver.execute_script("return document.getElementById('output').textContent")


def open_page(driver, folder):
    driver.get("file://" + os.path.join(os.path.abspath(folder), "index.html"))
    return wait_for_state(driver, "idle", "error")


def fill(driver, **values):
    for name, value in values.items():
        field = driver.find_element("id", name.replace("_", "-"))
        field.clear()
        if value != "":
            field.send_keys(str(value))


def generate_on_page(driver, **values):
    fill(driver, **values)
    driver.find_element("id", "generate").click()
    assert wait_for_state(driver, "done", "error") == "done", message(driver)
    return output(driver)


def python_decoder(weights):
    model, checkpoint, _ = load_for_generation(weights)
    return StatefulDecoder(model, checkpoint.topology), checkpoint.vocabulary


def first_difference(weights, prime, expected, got):
    """Where two greedy texts part: the index, both characters and Python's two most likely
    characters there, so a near tie shows itself."""
    index = next(i for i, (a, b) in enumerate(zip(expected + "\0", got + "\0")) if a != b)
    decoder, vocabulary = python_decoder(weights)
    read = vocabulary.encode((prime + expected)[:len(prime) + index])
    probabilities = decoder.start(read[None])[0]
    top = np.argsort(-probabilities)[:2]
    return (f"greedy texts part at character {index}: Python {expected[index:index + 1]!r}, "
            f"browser {got[index:index + 1]!r}; Python's top two there: "
            + ", ".join(f"{vocabulary.chars[i]!r} {probabilities[i]:.17g}" for i in top))


def check_identity(driver, weights, primes, length):
    """The page's decoder against charlstm's StatefulDecoder: probabilities after each
    prime within 1e-5, and `length` greedy characters, the same as generate.py --stateful."""
    decoder, vocabulary = python_decoder(weights)
    assert driver.execute_script("return charlstmDecoder.kernel()") == "webassembly"
    for prime in primes:
        expected = decoder.start(vocabulary.encode(prime)[None])[0]
        got = np.array(driver.execute_script(
            "return charlstmDecoder.probabilities(arguments[0])", prime))
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-5, np.abs(got - expected).max()
        # The JavaScript loop, where WebAssembly may not run, gives the very same bits.
        assert got.tolist() == driver.execute_script(
            "return charlstmDecoder.probabilities(arguments[0], {webassembly: false})", prime)
    prime = primes[0]
    expected = charlstm.generate(weights, prime=prime, length=length, stateful=True, verbose=0)
    got = driver.execute_script("return charlstmDecoder.greedy(arguments[0], arguments[1])",
                                prime, length)
    assert got == expected, first_difference(weights, prime, expected, got)
    assert got == driver.execute_script(
        "return charlstmDecoder.greedy(arguments[0], arguments[1], {webassembly: false})",
        prime, length)
    return expected


# --- the bundled model: export.py with no --weights, as the done-when says -------------


@pytest.fixture(scope="module")
def alice_web(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    result = run_main("export.py", "--format", "web", "--output", "alice-web", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "using the bundled model" in result.stderr
    assert "\ndevice: " in result.stderr  # as every command says it
    assert result.stdout.strip() == "alice-web"
    return str(folder / "alice-web")


@pytest.fixture
def alice_page(browser, alice_web):
    assert open_page(browser, alice_web) == "idle", message(browser)
    return browser


def test_the_folder_is_the_page_its_scripts_and_the_weights(alice_web):
    assert sorted(os.listdir(alice_web)) == sorted(WEB_FILES)
    page = open(os.path.join(alice_web, "index.html")).read()
    assert '<script src="model.js"></script>' in page
    assert "http:" not in page and "https:" not in page  # nothing from the network


@pytest.mark.slow
def test_the_bundled_model_writes_generate_py_stateful_greedy_text(alice_page):
    driver = alice_page
    assert "in this browser" in driver.find_element("id", "engine").text
    assert "alice (43 characters" in driver.find_element("id", "model").text
    expected = check_identity(driver, BUNDLED_MODEL,
                              ["alice was ", "the queen said", "\n", "down the rabbit-hole"],
                              1000)
    command = run_main("generate.py", "--weights", BUNDLED_MODEL, "--stateful", "--prime",
                       "alice was ", "--length", "1000", "--raw")
    assert command.stdout == expected + "\n"
    # And through the page's own controls: one click on "greedy, as the tutorial".
    driver.find_element("id", "greedy").click()
    assert generate_on_page(driver, prime="Alice was ", length=1000) == expected
    assert driver.find_element("id", "seed-used").text.isdigit()


@pytest.mark.slow
def test_a_top_p_that_keeps_one_character_and_top_k_1_are_greedy(alice_page):
    driver = alice_page
    greedy = generate_on_page(driver, prime="the cat ", length=300, temperature=0)
    assert generate_on_page(driver, temperature=1.2, top_p=0.01, seed=3) == greedy
    assert generate_on_page(driver, temperature=1.2, top_p=1, top_k=1, seed=4) == greedy


@pytest.mark.slow
def test_a_seed_repeats_a_sampled_text_and_an_empty_prime_takes_a_random_window(alice_page):
    driver = alice_page
    first = generate_on_page(driver, prime="the cat ", length=300, temperature=1, top_k=10,
                             top_p=0.9, seed=7)
    assert driver.find_element("id", "seed-used").text == "7"
    assert generate_on_page(driver, seed=7) == first
    assert generate_on_page(driver, seed=8) != first
    random_window = generate_on_page(driver, prime="", length=200, temperature=0.5, seed="")
    assert len(random_window) == 200 and driver.find_element("id", "seed-used").text.isdigit()


@pytest.mark.slow
def test_mistakes_are_one_message_and_the_page_recovers(alice_page):
    driver = alice_page
    fill(driver, prime="{curly}", length=10, temperature=0)
    driver.find_element("id", "generate").click()
    assert wait_for_state(driver, "error") == "error"
    assert message(driver) == ("the prime text has 2 character(s) the model does not know: "
                               "'{', '}'")
    fill(driver, prime="alice ", top_k=99, temperature=1)
    driver.find_element("id", "generate").click()
    assert wait_for_state(driver, "error") == "error"
    assert message(driver) == "--top-k 99 is more than the model's 43 characters"
    assert len(generate_on_page(driver, top_k="", length=5)) == 5


@pytest.mark.slow
def test_text_appears_as_it_is_made_and_stop_stops_it(alice_page):
    driver = alice_page
    fill(driver, prime="the queen ", length=100000, temperature=0.8, seed=5)
    driver.find_element("id", "generate").click()
    assert text_grows_in_steps(driver), "the text did not grow in steps"
    stop_on_the_page(driver, 100000)


def box_values(driver):
    """The setting the page's boxes show, as numbers (None: an empty box)."""
    values = {name: driver.find_element("id", name.replace("_", "-")).get_attribute("value")
              for name in ("temperature", "top_k", "top_p")}
    return {name: float(value) if value else None for name, value in values.items()}


@pytest.mark.slow
def test_the_page_opens_sampled_writes_no_loop_and_shows_the_seed_window(alice_page):
    """Issue 29's done-when: Generate with the defaults gives a text with no repeated
    50-character span, after the random seed window it continues, shown set apart."""
    driver = alice_page
    assert box_values(driver) == page_settings()["opening"]
    assert driver.find_element("id", "prime").get_attribute("value") == ""
    assert not driver.find_element("id", "prime-shown").is_displayed()
    # The defaults, but for a fixed seed: how often the setting loops over many seeds is
    # bench/page_setting.py's measure; a random one here would fail now and then.
    fill(driver, seed=1)
    driver.find_element("id", "generate").click()
    assert wait_for_state(driver, "done", "error") == "done", message(driver)
    text = output(driver)
    assert len(text) == 1000 and repeated_span(text) is None, repeated_span(text)
    window = driver.find_element("id", "prime-text").get_attribute("textContent")
    assert driver.find_element("id", "prime-shown").is_displayed()
    seed_text = driver.execute_script("return charlstmModel.seed_text")
    assert len(window) == 100 and window in seed_text
    # A typed prime is shown as the model reads it (lower-cased), the text after it.
    generate_on_page(driver, prime="The Queen ", length=20)
    shown = driver.find_element("id", "prime-text").get_attribute("textContent")
    assert shown == "the queen "
    # The sampled button goes back to the opening setting after greedy.
    driver.find_element("id", "greedy").click()
    assert box_values(driver) == page_settings()["tutorial"]
    driver.find_element("id", "sampled").click()
    assert box_values(driver) == page_settings()["opening"]


# Records, in the page, when the browser took the Stop click (the event's own time stamp),
# when the text last grew and when the page said "stopped". (From the test's side a
# chromedriver click on this loaded 2-core machine takes ~90 ms even on an idle page, so the
# page's own clock is the measure.)
WATCH_STOP = """
window.stopTiming = {};
const timing = window.stopTiming;
document.addEventListener("pointerdown", (event) => {
  if (event.target.id === "stop") timing.clicked = event.timeStamp;
}, true);
new MutationObserver(() => { timing.grew = performance.now(); }).observe(
  document.getElementById("output"), {characterData: true, childList: true, subtree: true});
new MutationObserver(() => {
  if (document.body.dataset.state === "stopped") timing.stopped = performance.now();
}).observe(document.body, {attributes: true, attributeFilter: ["data-state"]});
"""


@pytest.mark.slow
def test_stop_stops_a_10000_character_run_within_100_ms(alice_page):
    """From the Stop click to the page's last growth or its "stopped", whichever is later,
    during a 10,000-character run."""
    driver = alice_page
    fill(driver, prime="the queen ", length=10000, temperature=0.8, seed=5)
    driver.execute_script(WATCH_STOP)
    driver.find_element("id", "generate").click()
    deadline = time.time() + 60
    while len(output(driver)) < 1000 and time.time() < deadline:  # well under way
        time.sleep(0.05)
    stopped_at = stop_on_the_page(driver, 10000)  # clicks Stop
    timing = driver.execute_script("return window.stopTiming")
    waited = max(timing["stopped"], timing["grew"]) - timing["clicked"]
    assert waited < 100, f"the text stopped {waited:.0f} ms after Stop ({stopped_at} chars)"


@pytest.mark.slow
def test_the_page_logs_no_console_error(browser, alice_web):
    browser.get_log("browser")  # what earlier pages left
    assert open_page(browser, alice_web) == "idle", message(browser)
    generate_on_page(browser, prime="alice ", length=50)
    problems = [entry for entry in browser.get_log("browser") if entry["level"] != "INFO"]
    assert problems == []


# --- a missing or damaged weights file ---------------------------------------------------------


def broken_copy(alice_web, tmp_path, change):
    folder = tmp_path / "broken"
    shutil.copytree(alice_web, folder)
    change(folder / WEIGHTS_SCRIPT)
    return folder


def flip_one_weight(path):
    text = path.read_text()
    position = text.index('"base64":"') + 5000  # inside the first array's data
    replacement = "A" if text[position] != "A" else "B"
    path.write_text(text[:position] + replacement + text[position + 1:])


def drop_the_vocabulary(path):
    # Issue 30: the page said "Cannot read properties of undefined (reading 'length')".
    text = path.read_text()
    assert text.count('"vocabulary":') == 1
    path.write_text(text.replace('"vocabulary":', '"words":'))


@pytest.mark.slow
@pytest.mark.parametrize("change, words", [
    (lambda path: path.unlink(), "the weights file model.js is missing"),
    (lambda path: path.write_bytes(path.read_bytes()[:100000]),
     "the weights file model.js is damaged: it did not run"),
    (flip_one_weight, "the weights file model.js is damaged: array layer_1/kernel fails its "
                      "CRC-32 check"),
    (drop_the_vocabulary, "the weights file model.js is damaged: its vocabulary is missing"),
], ids=["missing", "cut short", "one weight changed", "no vocabulary"])
def test_a_missing_or_damaged_weights_file_is_one_message_on_the_page(browser, alice_web,
                                                                      tmp_path, change, words):
    folder = broken_copy(alice_web, tmp_path, change)
    assert open_page(browser, folder) == "error"
    assert message(browser).startswith(words), message(browser)
    assert browser.find_element("id", "generate").get_attribute("disabled")


# --- a tiny model of each topology -------------------------------------------------------------

# Read one character at a time, a text whose characters change keeps the state moving.
LONG_PRIME = ("alice was beginning to get very tired of sitting by her sister on the bank, "
              "and of having nothing to do: once or twice she had peeped into the book")

TOPOLOGIES = {
    "lstm-scaled-1": dict(),  # the tutorial's
    "lstm-scaled-2": dict(layers=2),  # the tutorial's bigger one
    "lstm-one-hot-1": dict(input_encoding="one-hot"),
    "lstm-embedding-2": dict(input_encoding="embedding", embedding_size=6, layers=2),
    "gru-scaled-1": dict(cell="gru"),
    "gru-one-hot-2": dict(cell="gru", input_encoding="one-hot", layers=2),
    "gru-embedding-1": dict(cell="gru", input_encoding="embedding", embedding_size=6),
}


def lively_checkpoint(path, text_path, seed, **overrides):
    """A checkpoint of an untrained model of train_args(**overrides)'s topology, written as
    training writes one, its weights scaled up (the cells' 5 times, the Dense's 10 times)
    so that its next-character distribution is far from flat and moves with the input."""
    import keras

    settings = train_args(text=text_path, units=8, **overrides)
    text = normalise_text(open(text_path, encoding="utf-8").read())
    vocabulary = Vocabulary.from_text(text)
    keras.utils.set_random_seed(seed)
    model = build_model(topology_of(settings, len(vocabulary)))
    *cells, dense_kernel, dense_bias = model.get_weights()
    model.set_weights([array * 5 for array in cells] + [dense_kernel * 10, dense_bias])
    metadata = Metadata.for_run(settings, vocabulary.chars, len(text),
                                hashlib.sha256(text.encode()).hexdigest()).at_epoch(1, 3.0)
    write_checkpoint(path, snapshot(model), metadata, vocabulary.encode(text))
    return path


@pytest.fixture(scope="module", params=sorted(TOPOLOGIES))
def tiny_web(request, tiny_text_path, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    weights = lively_checkpoint(str(directory / "weights-improvement-01-3.0000.hdf5"),
                                tiny_text_path, len(request.param), **TOPOLOGIES[request.param])
    folder = charlstm.export(weights, str(directory / "web"), format="web", verbose=0)
    return weights, folder


@pytest.mark.slow
def test_a_tiny_model_of_each_topology_writes_the_same_greedy_text(browser, tiny_web):
    weights, folder = tiny_web
    assert open_page(browser, folder) == "idle", message(browser)
    check_identity(browser, weights, ["alice was ", "the book", "a", LONG_PRIME], 500)
    decoder, vocabulary = python_decoder(weights)
    after = [decoder.start(vocabulary.encode(prime)[None])[0] for prime in ("alice", "the b")]
    assert min(probabilities.max() for probabilities in after) >= 3 / len(vocabulary)
    # Far from flat, and moved by the input: a wrong weight would show far above 1e-5.
    assert np.abs(after[0] - after[1]).max() >= 0.02


@pytest.mark.slow
def test_a_legacy_tutorial_file_writes_the_same_greedy_text(browser, tmp_path):
    """A weights-only file (the tutorial's own script writes these): its vocabulary comes
    from wonderland.txt, as generate.py takes it."""
    legacy = str(tmp_path / "legacy.hdf5")
    shutil.copy(BUNDLED_MODEL, legacy)
    with h5py.File(legacy, "a") as handle:
        del handle.attrs[METADATA_ATTRIBUTE], handle[SEED_TEXT_DATASET]
    folder = charlstm.export(legacy, str(tmp_path / "web"), format="web", verbose=0)
    assert open_page(browser, folder) == "idle", message(browser)
    assert "legacy (43 characters)" in browser.find_element("id", "model").text
    check_identity(browser, legacy, ["alice was "], 300)


# --- what cannot be written ---------------------------------------------------------------------


def test_an_output_that_is_a_file_or_another_folder_is_one_line(tmp_path):
    afile = tmp_path / "a.txt"
    afile.write_text("mine")
    result = run_main("export.py", "--format", "web", "--output", str(afile), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("it exists and is not a folder; name a new one")
    assert "device:" not in result.stderr  # said once the inputs are good: a mistake is one line
    result = run_main("export.py", "--format", "web", "--output", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1 and "holds other files" in result.stderr
    assert afile.read_text() == "mine"
