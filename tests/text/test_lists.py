"""Lists (issue 31, part 1): --documents lines reads each non-empty line as one item, holds
out whole items, records the mode, and says how many items there are and how long."""

import h5py
import json
import statistics

import pytest

import charlstm
from charlstm.checkpoints.format import METADATA_ATTRIBUTE, load_checkpoint
from charlstm.text.items import ITEM_SEPARATOR, items_of
from charlstm.text.sources import load_sources, split, split_items
from charlstm.training.run import train
from conftest import run_main, train_args

# A real list: the different words of the tiny text's opening, in the order met, and a few
# repeats, blank lines and Windows line ends to be read past.
LIST = ("alice\r\nwas\nbeginning\n\n  \nto\nget\nvery\ntired\nof\nsitting\nby\nher\nsister\non"
        "\nthe\nbank\nand\nhaving\nnothing\nto\ndo\nonce\nor\ntwice\nshe\nhad\npeeped\ninto"
        "\nbook\nher\nsister\nwas\nreading\nbut\nit\nhad\nno\npictures\nconversations\nin"
        "\nwhat\nis\nuse\nthought\nwithout\nrabbit\nwhite\npink\neyes\nran\nclose\n")


def list_file(tmp_path, repeat=4):
    path = tmp_path / "list.txt"
    path.write_bytes((LIST * repeat).encode())
    return str(path)


def test_lines_are_items_joined_by_the_line_break_and_held_out_whole(tmp_path):
    corpus = load_sources(list_file(tmp_path, 1), documents="lines")
    items = items_of(LIST)
    assert corpus.text() == ITEM_SEPARATOR.join(items) + ITEM_SEPARATOR
    assert "\r" not in corpus.vocabulary.chars and corpus.lines
    assert corpus.items == (len(items), statistics.median(map(len, items)))
    separator = corpus.vocabulary.char_to_index[ITEM_SEPARATOR]
    for fraction in (0.05, 0.1, 0.25, 0.5):
        training, held_out, held = split(corpus, fraction)
        assert held == () and len(training) + len(held_out) == len(corpus)
        # The training part ends an item, the held-out part starts one: no item is cut.
        assert training[-1] == separator and held_out[-1] == separator
        held_items = items_of(corpus.vocabulary.decode_all(held_out))
        assert held_items == items[len(items) - len(held_items):]
        assert len(held_out) >= fraction * len(corpus) - 0.5
    # A cut inside the last item holds out that whole item.
    training, last = split_items(corpus.indices, 1 / len(corpus), separator)
    assert corpus.vocabulary.decode_all(last) == items[-1] + ITEM_SEPARATOR


def test_files_mode_reads_the_same_file_as_it_always_did(tmp_path):
    path = list_file(tmp_path, 1)
    assert load_sources(path).text() == LIST.replace("\r\n", "\n")
    assert not load_sources(path).lines


def test_a_list_run_records_its_mode_and_scores_the_held_out_items(tmp_path):
    path = list_file(tmp_path)
    runs = tmp_path / "runs"
    result = train(train_args(text=path, documents="lines", epochs=1, validation_split=0.2,
                              checkpoint_dir=str(runs)), verbose=0)
    with h5py.File(result.best_checkpoint, "r") as handle:
        metadata = json.loads(handle.attrs[METADATA_ATTRIBUTE])
    assert metadata["documents_mode"] == "lines"
    checkpoint = load_checkpoint(result.best_checkpoint)
    assert checkpoint.documents_mode == "lines"
    # evaluate.py scores the same whole items training held out.
    corpus = load_sources(path, documents="lines")
    _, held_out, _ = split(corpus, 0.2)
    scores = charlstm.evaluate(result.best_checkpoint, all=True, verbose=0)
    part = next(score for score in scores if score.part.startswith("held-out"))
    assert part.windows == len(held_out) - checkpoint.seq_length
    # --resume keeps the mode, which fixes what the model learned.
    resumed = train(train_args(resume=result.best_checkpoint, epochs=2), verbose=0)
    assert resumed.settings.documents == "lines"
    assert load_checkpoint(resumed.best_checkpoint).documents_mode == "lines"


def test_dry_run_says_how_many_items_and_how_long(tmp_path):
    path = list_file(tmp_path)
    result = run_main("train.py", "--text", path, "--documents", "lines", "--dry-run",
                      "--validation-split", "0.1", "--seq-length", "10")
    items = items_of(LIST * 4)
    assert result.returncode == 0, result.stderr
    assert (f"items: {len(items)} lines, median length "
            f"{statistics.median(map(len, items)):g} characters") in result.stderr
    assert "whole items" in result.stderr


@pytest.mark.parametrize("text, message", [
    (" \n\n   \n", "has no line with a character other than a space"),
])
def test_a_list_without_items_is_one_line(tmp_path, text, message):
    path = tmp_path / "blank.txt"
    path.write_text(text)
    result = run_main("train.py", "--text", str(path), "--documents", "lines", "--dry-run")
    assert result.returncode == 1 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_documents_is_a_choice(tmp_path):
    result = run_main("train.py", "--documents", "paragraphs", "--dry-run")
    assert result.returncode == 2 and "--documents" in result.stderr
