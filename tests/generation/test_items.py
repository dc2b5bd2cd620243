"""Whole items of a list (issue 31, part 2): generate.py --items N and --new-only,
charlstm.items and the server's "items" field write the same items for a seed, one a line,
each from the line break to the next."""

import json

import pytest

import charlstm
from charlstm.generation.stopping import cut_at_stop
from charlstm.text.items import items_of
from conftest import asgi_request, run_main
from helpers import json_call, served_app


def lines_of(result):
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")[:-1]


def test_items_are_whole_lines_and_repeat_with_the_seed(list_checkpoint):
    weights, _ = list_checkpoint
    first = run_main("generate.py", "--weights", weights, "--items", "6", "--seed", "1")
    items = lines_of(first)
    assert len(items) == 6 and all(item.strip() for item in items)
    assert "Seed:" not in first.stdout and "Done." not in first.stdout  # --raw implied
    assert lines_of(run_main("generate.py", "--weights", weights, "--items", "6",
                             "--seed", "1")) == items
    assert lines_of(run_main("generate.py", "--weights", weights, "--items", "6",
                             "--seed", "2")) != items
    # The API writes the same items, and the first items of a longer call are these.
    assert charlstm.items(6, weights=weights, seed=1, verbose=0) == items
    assert charlstm.items(9, weights=weights, seed=1, verbose=0)[:6] == items


def test_new_only_keeps_items_not_in_the_list_and_says_how_many(list_checkpoint):
    weights, path = list_checkpoint
    known = set(items_of(open(path).read()))
    result = run_main("generate.py", "--weights", weights, "--items", "8", "--new-only",
                      "--seed", "3")
    items = lines_of(result)
    assert len(items) == 8 and not known & set(items)
    note = next(line for line in result.stderr.splitlines() if line.startswith("new: "))
    generated = int(note.split(" of ")[1].split()[0])
    assert note == f"new: 8 of {generated} generated items ({8 / generated:.0%})"
    # Without --new-only the same seed writes the new ones among the known ones, in order.
    everything = charlstm.items(generated, weights=weights, seed=3, verbose=0)
    assert [item for item in everything if item not in known] == items


def test_the_length_caps_an_item_and_stop_at_ends_one(list_checkpoint):
    weights, _ = list_checkpoint
    result = run_main("generate.py", "--weights", weights, "--items", "20", "--seed", "4",
                      "--length", "3")
    assert all(len(item) <= 3 for item in lines_of(result))
    assert "reached 3 characters without a line break" in result.stderr
    free = charlstm.items(20, weights=weights, seed=4, verbose=0)
    stopped = charlstm.items(20, weights=weights, seed=4, stop_at="e", verbose=0)
    assert any("e" in item[:-1] for item in free)
    for item in stopped:
        assert "e" not in item[:-1]
    # The first item is drawn as without stop_at, then cut (the next ones start earlier in
    # the generator's sequence).
    assert stopped[0] == "".join(cut_at_stop(free[0], ["e"]))


@pytest.mark.parametrize("argv, message", [
    (["--new-only"], "--new-only keeps new items: give --items N too"),
    (["--items", "3", "--prime", "al"], "--prime does not go with it"),
    (["--items", "3", "--num-samples", "2"], "--num-samples does not go with it"),
    (["--items", "0"], "--items: '0' must be 1 or more"),
])
def test_items_mistakes_are_one_line(list_checkpoint, argv, message):
    weights, _ = list_checkpoint
    result = run_main("generate.py", "--weights", weights, *argv)
    assert result.returncode in (1, 2) and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


server = pytest.importorskip("charlstm.serving.server")


@pytest.fixture(scope="module")
def app(list_checkpoint):
    with served_app(list_checkpoint[0]) as app:
        yield app


def post(app, body, path="/generate"):
    status, reply = json_call(app, "POST", path, body)
    return status, json.loads(reply) if path == "/generate" or status != 200 else reply


def test_the_server_writes_the_same_items(app, list_checkpoint):
    weights, path = list_checkpoint
    status, reply = post(app, {"items": 5, "seed": 7, "new_only": True})
    assert status == 200, reply
    assert reply["items"] == charlstm.items(5, weights=weights, seed=7, new_only=True,
                                            verbose=0)
    assert reply["generated"] >= 5 and reply["seed"] == 7 and reply["temperature"] == 1.0
    status, reply = post(app, {"items": 101})
    assert status == 400 and "--max-items" in reply["error"]
    status, reply = post(app, {"items": 2}, "/generate/stream")
    assert status == 400 and "POST /generate" in reply["error"]
    status, _, models = asgi_request(app, "GET", "/models", b"", [("host", "127.0.0.1")])
    assert json.loads(models)["models"][0]["documents_mode"] == "lines"
