"""--stop-at (issue 31, part 3): a text ends at the first stop text it writes, kept, in
generate.py, the API and the server; stopping only cuts, so the text is a prefix of the
same seed's text without it."""

import json
import os

import pytest

import charlstm
from charlstm.generation.stopping import MOST_STOP_TEXTS, cut_at_stop
from conftest import ROOT, run_main
from helpers import json_call, served_app

TINY_MODEL = os.path.join(ROOT, "tests", "data", "format2", "weights-improvement-06-2.8997.hdf5")
SAMPLED = dict(weights=TINY_MODEL, length=120, temperature=1.0, seed=5, verbose=0)


def expected(full, stops):
    return "".join(cut_at_stop(full, stops))


@pytest.fixture(scope="module")
def full_text():
    return charlstm.generate(**SAMPLED, stateful=True)


def stops_from(text):
    """Two stop texts the text surely holds: one early, one later."""
    return [text[40:42], text[15]]


def test_the_api_cuts_after_the_first_stop_text_and_draws_the_same(full_text):
    stops = stops_from(full_text)
    cut = charlstm.generate(**SAMPLED, stateful=True, stop_at=stops)
    assert cut == expected(full_text, stops) and len(cut) < len(full_text)
    assert full_text.startswith(cut) and any(cut.endswith(stop) for stop in stops)
    # One text alone is a text, not a list of characters; stream cuts the same.
    assert charlstm.generate(**SAMPLED, stateful=True, stop_at=full_text[15]) == \
        expected(full_text, [full_text[15]])
    assert "".join(charlstm.stream(**SAMPLED, stateful=True, stop_at=stops)) == cut
    # Several samples: each row is cut on its own, the others unchanged.
    options = {key: value for key, value in SAMPLED.items() if key != "verbose"}
    whole = charlstm.samples(count=3, verbose=0, stateful=True, **options)
    cut_rows = charlstm.samples(count=3, verbose=0, stateful=True, stop_at=stops, **options)
    assert cut_rows == [expected(text, stops) for text in whole]


def test_the_window_decoder_cuts_too():
    full = charlstm.generate(**SAMPLED)
    stops = stops_from(full)
    assert charlstm.generate(**SAMPLED, stop_at=stops) == expected(full, stops)


def test_generate_py_stops_and_repeats_with_the_seed(full_text):
    stops = stops_from(full_text)
    argv = ["--weights", TINY_MODEL, "--length", "120", "--temperature", "1", "--seed", "5",
            "--stateful", "--raw"]
    for stop in stops:
        argv += ["--stop-at", stop]
    result = run_main("generate.py", *argv)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected(full_text, stops) + "\n"
    assert run_main("generate.py", *argv).stdout == result.stdout


@pytest.mark.parametrize("argv, message", [
    (["--stop-at", ""], "--stop-at: '' is empty"),
    (["--stop-at", "x" * 201], "longer than 200"),
])
def test_bad_stop_texts_are_flag_errors(argv, message):
    result = run_main("generate.py", "--weights", TINY_MODEL, *argv)
    assert result.returncode == 2 and message in result.stderr


def test_too_many_stop_texts_is_one_line():
    with pytest.raises(charlstm.UserError, match=f"{MOST_STOP_TEXTS} at most"):
        charlstm.generate(**SAMPLED, stop_at=["a"] * (MOST_STOP_TEXTS + 1))


server = pytest.importorskip("charlstm.serving.server")


@pytest.fixture(scope="module")
def app():
    with served_app(TINY_MODEL) as app:
        yield app


def post(app, body):
    status, reply = json_call(app, "POST", "/generate", body)
    return status, json.loads(reply)


def test_the_server_stops_each_text_as_generate_py_does(app, full_text):
    stops = stops_from(full_text)
    body = {"length": 120, "temperature": 1.0, "seed": 5, "stop_at": stops}
    status, reply = post(app, body)
    assert status == 200, reply
    texts = reply.get("texts") or [reply.get("text")]
    assert texts[0] == expected(full_text, stops)
    for bad, words in (("\n", "is a string: give a list of texts"), ([1], "each a JSON string"),
                       ([""], "'' is empty")):
        status, reply = post(app, dict(body, stop_at=bad))
        assert status == 400 and words in reply["error"], reply
