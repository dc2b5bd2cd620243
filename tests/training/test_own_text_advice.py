"""train.py recommends --preset fast, in one line with its measured loss on an own text, when it
trains a text other than the tutorial's book with the tutorial's small model; the line's figures
are bench/results/own_texts.txt's."""

import os
import re

from charlstm.config import resolve
from charlstm.training.checks import OWN_TEXT_BENCH, preset_advice
from conftest import ROOT, TINY_TEXT, run_main


def advice_lines(result):
    return [line for line in result.stderr.splitlines()
            if line.startswith("your own text with the tutorial's small model")]


def test_train_recommends_the_preset_for_an_own_text_only(tmp_path):
    text = tmp_path / "mine.txt"
    text.write_text(TINY_TEXT * 4)
    common = ["--dry-run", "--checkpoint-dir", str(tmp_path / "runs")]
    own = run_main("train.py", "--text", str(text), *common)
    assert own.returncode == 0
    assert advice_lines(own) == [preset_advice(resolve({"text": str(text)}))]
    assert "--preset fast" in advice_lines(own)[0]
    preset = run_main("train.py", "--text", str(text), "--preset", "fast", *common)
    book = run_main("train.py", *common)
    assert preset.returncode == book.returncode == 0
    assert advice_lines(preset) == advice_lines(book) == []


def test_no_advice_to_a_run_that_chose_its_model_or_resumes():
    assert preset_advice(resolve({"text": "src/", "minutes": 2, "keep_case": True}))
    for chosen in ({"bigger": True}, {"units": 128}, {"layers": 2}, {"targets": "every"},
                   {"cell": "gru"}, {"preset": "fast"}, {"resume": "runs/a.hdf5"}):
        assert preset_advice(resolve({"text": "src/", **chosen})) is None, chosen
    assert preset_advice(resolve({"text": ["wonderland.txt"]})) is None
    assert preset_advice(resolve({"text": ["wonderland.txt", "notes.txt"]}))


def test_the_advice_quotes_the_bench_results_file():
    with open(os.path.join(ROOT, OWN_TEXT_BENCH["results"])) as handle:
        results = handle.read()
    minutes = re.search(r"for ([\d.]+) minutes a run", results).group(1)
    assert float(minutes) == OWN_TEXT_BENCH["minutes"]
    losses = {}
    for recipe in ("tutorial", "fast"):
        losses[recipe] = re.search(rf"^{OWN_TEXT_BENCH['text']} +{recipe} +([\d.]+) \+-",
                                   results, re.M).group(1)
        assert f"{OWN_TEXT_BENCH[recipe]:.4f}" == losses[recipe]
    line = preset_advice(resolve({"text": "src/"}))
    assert (f"held-out loss {float(losses['fast']):.2f} nats against this model's "
            f"{float(losses['tutorial']):.2f} on the standard library's "
            f"{OWN_TEXT_BENCH['text']} package, {minutes} minutes each") in line
