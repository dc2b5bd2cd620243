"""generation.repetition on made strings, and generate.py's notes on stderr: a greedy text that
loops (the bundled model's does, after 126 characters), a model that writes only spaces (the
format-2 test model: undertrained), and nothing for sampled text; stdout never changes."""

import os

import numpy as np
import pytest

from charlstm import cli
from charlstm.generation.repetition import Loop, find_loop, monotonous
from conftest import ROOT, rewrite_metadata, run_main

SPACES_MODEL = os.path.join(ROOT, "tests", "data", "format2", "weights-improvement-06-2.8997.hdf5")
# The bundled model's greedy text from seed 1 loops after 126 characters on a 151-character
# cycle; 450 characters hold two cycles of it.
BUNDLED_GREEDY = ["--stateful", "--length", "450", "--seed", "1"]


def sampled_like(rng, length, vocabulary="etaoinshrdlucmfwypvbgkjqxz ,.'\n", space=0.18):
    """Text drawn character by character from a fixed distribution (spaces at `space`, letters
    by a Zipf-like law): what sampling at temperature 1 gives, without a model."""
    weights = 1 / np.arange(1, len(vocabulary))
    weights = np.append(weights / weights.sum() * (1 - space), space)
    order = vocabulary.replace(" ", "") + " "
    return "".join(rng.choice(list(order), size=length, p=weights))


def test_a_text_that_ends_in_a_cycle_loops_from_where_the_cycle_starts():
    cycle = "the mock turtle went on, and the queen said to the king. "
    assert find_loop("Alice was tired of sitting there;\n" + cycle * 3) == Loop(34, len(cycle))
    assert find_loop(cycle * 3 + cycle[:10]) == Loop(0, len(cycle))  # a cycle cut short
    assert find_loop("-" * 200) == Loop(0, 1)


def test_a_phrase_said_twice_or_a_loop_that_ends_is_no_loop():
    cycle = "the mock turtle went on, and the queen said to the king. "
    assert find_loop("so she began: " + cycle * 2 + "and then something new happened") is None
    assert find_loop(cycle * 4 + "and then something new happened at the end of it") is None
    assert find_loop("short " * 3) is None  # under 100 characters


def test_sampled_text_never_loops_nor_is_monotonous():
    rng = np.random.default_rng(29)
    for _ in range(40):
        text = sampled_like(rng, 1000)
        assert find_loop(text) is None and monotonous(text) is None


def test_monotonous_text_is_mostly_whitespace_or_one_character():
    assert monotonous(" " * 90 + "abcdefghij") == "whitespace"
    assert monotonous("\n \n  " * 30) == "whitespace"
    assert monotonous("e" * 85 + "abcdefghijklmno") == "e"
    assert monotonous(" " * 70 + "abcdefghijklmnopqrstuvwxyz0123") is None
    code = "class Reader:\n    def read(self, size=-1):\n        return self.buffer[:size]\n"
    assert monotonous(code * 5) is None


@pytest.fixture(scope="module")
def bundled_greedy():
    return run_main("generate.py", *BUNDLED_GREEDY)


def test_generate_notes_where_a_greedy_text_loops(bundled_greedy):
    assert bundled_greedy.returncode == 0
    notes = [line for line in bundled_greedy.stderr.splitlines() if line.startswith("note:")]
    assert notes == ["note: greedy text loops after 126 characters (a 151-character cycle); "
                     "--temperature 0.7 writes varied text"]


def test_the_notes_leave_stdout_byte_for_byte_as_it_was(bundled_greedy, monkeypatch):
    monkeypatch.setattr(cli, "text_notes", lambda *arguments: [])
    without = run_main("generate.py", *BUNDLED_GREEDY)
    assert "note:" not in without.stderr
    assert without.stdout == bundled_greedy.stdout


def test_only_greedy_text_is_searched_for_a_loop(bundled_greedy):
    looping = bundled_greedy.stdout.split(' "\n', 1)[1].removesuffix("\nDone.\n")
    assert len(looping) == 450
    generation = None  # a checkpoint is read only for a monotonous text
    assert len(cli.text_notes(generation, [looping], temperature=0.0)) == 1
    assert cli.text_notes(generation, [looping], temperature=0.7) == []


def test_a_model_that_writes_only_spaces_is_called_undertrained_with_its_loss(tmp_path):
    result = run_main("generate.py", "--weights", SPACES_MODEL, "--stateful", "--length", "100",
                      "--seed", "2")
    assert result.returncode == 0 and result.stdout.split('"\n', 1)[1].strip() == "Done."
    assert result.stderr.splitlines()[-1] == (
        "note: the model writes mostly whitespace: it is undertrained (loss 2.8997 in its "
        "checkpoint); train it longer (--minutes, --epochs) or with --preset fast")
    # The loss is the checkpoint's own record: its metadata's, whatever the file is called.
    renamed = rewrite_metadata(SPACES_MODEL, tmp_path / "model.hdf5",
                               lambda metadata: metadata.update(loss=3.125, val_loss=None))
    result = run_main("generate.py", "--weights", renamed, "--stateful", "--length", "100",
                      "--seed", "2")
    assert "it is undertrained (loss 3.1250 in its checkpoint)" in result.stderr
    sampled = run_main("generate.py", "--weights", SPACES_MODEL, "--stateful", "--length",
                       "100", "--seed", "2", "--temperature", "1")
    assert "note:" not in sampled.stderr
