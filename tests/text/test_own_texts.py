"""Your own texts (issue 20): folders and patterns, --keep-case, Project Gutenberg files,
--encoding, whole files held out, --init-from, small texts, --unknown drop, bits per
character."""

import json
import math
import os
import re

import h5py
import pytest

import charlstm
from charlstm.checkpoints.format import METADATA_ATTRIBUTE
from charlstm.text.corpus import load_corpus
from charlstm.text.rules import TextRules, prepare_text
from charlstm.checkpoints.run_folder import find_best_checkpoint
from charlstm.text.sources import DOCUMENT_SEPARATOR, held_out_documents, load_sources, split
from charlstm.training.run import train
from conftest import ROOT, TINY_TEXT, run_main, train_args

CODE = {
    "errors.py": "class ValueError(Exception):\n    \"\"\"Raised when Alice is lost.\"\"\"\n",
    "sub/Rabbit.py": "def Hurry(Rabbit):\n    return Rabbit.Late + 1  # Oh dear!\n",
}


def make_folder(root):
    """A folder of code with what a real one holds besides: a binary file, a file in
    another encoding, an empty one, a hidden folder."""
    for name, text in CODE.items():
        os.makedirs(os.path.dirname(root / name), exist_ok=True)
        (root / name).write_text(text)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (root / "sub" / "old.txt").write_bytes("Caf\xe9 au lait\n".encode("latin-1"))
    (root / "empty.py").write_text("")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    return root


def test_a_folder_dry_run_lists_what_it_read_and_skipped_with_capitals(tmp_path):
    folder = make_folder(tmp_path / "code")
    result = run_main("train.py", "--text", str(folder), "--keep-case", "--dry-run",
                      "--seq-length", "10", "--units", "8")
    assert result.returncode == 0, result.stderr
    expected = len(CODE["errors.py"]) + len(CODE["sub/Rabbit.py"]) + 1  # one separator
    assert f"Total Characters: {expected}" in result.stdout
    err = result.stderr
    assert "skipped 3 file(s): empty: empty.py; binary: logo.png; not UTF-8: sub/old.txt" in err
    assert "errors.py: 66 bytes, 66 characters" in err and "sub/Rabbit.py:" in err
    assert ".git" not in err
    vocabulary = err.split("vocabulary (")[1].splitlines()[0]
    assert all(char in vocabulary for char in "VEHR") and "\\x1c" in vocabulary
    # Without --keep-case the capitals are folded, as the tutorial does.
    folded = load_sources(str(folder))
    assert "V" not in folded.vocabulary.chars and "valueerror" in folded.text()


def test_patterns_and_several_sources_are_joined_once_each_in_order(tmp_path):
    folder = make_folder(tmp_path / "code")
    corpus = load_sources([str(folder / "**" / "*.py"), str(folder / "errors.py")],
                          TextRules(keep_case=True))
    names = [document.name for document in corpus.documents]
    assert names == [str(folder / "errors.py"), str(folder / "sub" / "Rabbit.py")]
    assert corpus.skipped == ((str(folder / "empty.py"), "empty"),)
    assert corpus.text() == CODE["errors.py"] + DOCUMENT_SEPARATOR + CODE["sub/Rabbit.py"]


def test_a_file_named_on_its_own_in_another_encoding(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\xe9 au lait, d\xe9j\xe0 vu".encode("latin-1"))
    with pytest.raises(charlstm.UserError, match=r"is not UTF-8 \(bad byte at offset 3\): "
                                                 r"name its encoding with --encoding"):
        load_sources(str(path))
    assert load_sources(str(path), TextRules(encoding="latin-1")).text() == "café au lait, déjà vu"
    result = run_main("train.py", "--text", str(path), "--encoding", "cp1252", "--dry-run",
                      "--seq-length", "5", "--units", "4")
    assert result.returncode == 0 and "Total Characters: 21" in result.stdout


GUTENBERG_HEADER = (
    "\ufeffThe Project Gutenberg eBook of Alice's Adventures in Wonderland\r\n\r\n"
    "This ebook is for the use of anyone anywhere in the United States and most other parts "
    "of the world at no cost and with almost no restrictions whatsoever.\r\n\r\n"
    "Title: Alice's Adventures in Wonderland\r\n\r\nAuthor: Lewis Carroll\r\n\r\n"
    "Release date: June 27, 2008 [eBook #11]\r\n\r\nLanguage: English\r\n\r\n\r\n"
    "*** START OF {form} PROJECT GUTENBERG EBOOK ALICE'S ADVENTURES IN WONDERLAND ***\r\n"
    "\r\n\r\n\r\n"
)
GUTENBERG_FOOTER = (
    "\r\n\r\n\r\n{closing}*** END OF {form} PROJECT GUTENBERG EBOOK ALICE'S ADVENTURES IN "
    "WONDERLAND ***\r\n\r\nUpdated editions will replace the previous one--the old editions "
    "will be renamed.\r\n\r\n" + "START: FULL LICENSE. THE FULL PROJECT GUTENBERG LICENSE. "
    "PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK.\r\n" * 40
)


def wrapped_wonderland(path, form="THE", closing=""):
    """wonderland.txt as Project Gutenberg serves a book: a header, the START line, the book,
    the END line and the licence."""
    with open(os.path.join(ROOT, "wonderland.txt"), "rb") as handle:
        book = handle.read().decode("utf-8-sig")
    path.write_bytes((GUTENBERG_HEADER.format(form=form) + book
                      + GUTENBERG_FOOTER.format(form=form, closing=closing)).encode("utf-8"))
    return str(path)


def test_a_gutenberg_file_gives_the_tutorial_figures_and_one_line(tmp_path):
    path = wrapped_wonderland(tmp_path / "pg11.txt")
    result = run_main("train.py", "--text", path, "--dry-run", "--units", "4")
    assert result.returncode == 0, result.stderr
    assert ("Total Characters: 144342\nTotal Vocab: 43\nTotal Patterns: 144242\n"
            in result.stdout)
    assert "removed its Project Gutenberg header (" in result.stderr
    assert "--keep-boilerplate keeps them" in result.stderr
    # The older form, with the closing line it put before the END marker.
    older = wrapped_wonderland(tmp_path / "old.txt", "THIS", "End of Project Gutenberg's "
                               "Alice's Adventures in Wonderland, by Lewis Carroll\r\n\r\n")
    bundled = load_corpus(os.path.join(ROOT, "wonderland.txt"))
    for corpus in (load_corpus(path), load_corpus(older, chunk_bytes=4096)):
        assert corpus.sha256 == bundled.sha256 and corpus.boilerplate.dropped[1] > 4000
    kept = load_corpus(path, TextRules(keep_boilerplate=True))
    assert len(kept) > len(bundled) + 4000 and kept.boilerplate is None


def test_several_files_hold_out_whole_files_and_stay_put(tmp_path):
    lengths = [300, 500, 200, 800, 400, 600]
    for number, length in enumerate(lengths):
        (tmp_path / f"part{number}.txt").write_text(chr(ord("a") + number) * length)
    corpus = load_sources(str(tmp_path))
    training, held_out, held = split(corpus, 0.25)
    separator = corpus.vocabulary.char_to_index[DOCUMENT_SEPARATOR]
    held_text = corpus.vocabulary.decode_all(held_out).split(DOCUMENT_SEPARATOR)
    training_text = corpus.vocabulary.decode_all(training).split(DOCUMENT_SEPARATOR)
    # Every document is whole in exactly one part.
    assert sorted(held_text + training_text) == sorted(char * n for char, n in
                                                       zip("abcdef", lengths))
    assert sum(map(len, held_text)) >= 0.25 * sum(lengths) and training_text
    assert len(training) + len(held_out) == len(corpus) - 1  # one separator fewer
    assert separator not in held_out[:1]
    # A new file does not move the others between the parts.
    (tmp_path / "zzz.txt").write_text("g" * 50)
    again = held_out_documents(load_sources(str(tmp_path)).documents, 0.25)
    assert {d.name for d in held} <= {d.name for d in again} | {"zzz.txt"}


def test_a_run_on_a_folder_records_its_files_and_resume_names_what_changed(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    for number in range(4):
        (folder / f"chapter{number}.txt").write_text(TINY_TEXT * (number + 1))
    runs = tmp_path / "runs"
    result = train(train_args(text=str(folder), epochs=1, validation_split=0.3,
                              checkpoint_dir=str(runs)), verbose=0)
    with h5py.File(result.best_checkpoint, "r") as handle:
        metadata = json.loads(handle.attrs[METADATA_ATTRIBUTE])
    assert [name for name, _, _ in metadata["documents"]] == [f"chapter{n}.txt" for n in range(4)]
    assert metadata["format_version"] >= 5 and metadata["keep_case"] is False
    (folder / "chapter2.txt").write_text(TINY_TEXT)
    with pytest.raises(charlstm.UserError, match="files changed: chapter2.txt"):
        train(train_args(resume=result.best_checkpoint, epochs=2), verbose=0)


def test_keep_case_primes_unknown_characters_and_bits_per_character(tmp_path):
    text = tmp_path / "Alice.txt"
    text.write_text("Alice met the White Rabbit. The Rabbit ran. " * 20)
    runs = tmp_path / "runs"
    train(train_args(text=str(text), epochs=1, keep_case=True, checkpoint_dir=str(runs)),
          verbose=0)
    weights = find_best_checkpoint(str(runs))
    # The prime keeps its capitals, as the training text did.
    assert len(charlstm.generate(weights, prime="The White", length=5, verbose=0)) == 5
    with pytest.raises(charlstm.UserError, match=r"2 character\(s\) the model does not know: "
                                                 r"'Q', '§' \(--unknown drop leaves them out\)"):
        charlstm.generate(weights, prime="The Qat §", length=5, verbose=0)
    result = run_main("generate.py", "--weights", weights, "--prime", "The Qat §",
                      "--unknown", "drop", "--length", "5", "--raw")
    assert result.returncode == 0 and "left out of the prime text 2 character(s)" in result.stderr
    assert "'Q' '§'" in result.stderr
    scored = run_main("evaluate.py", "--weights", weights, "--all")  # the exact line, no ±
    nats, bits = scored.stdout.split("loss ")[1].split(" nats (")
    assert math.isclose(float(bits.split(" bits")[0]), float(nats) / math.log(2), abs_tol=1e-4)


@pytest.mark.slow
def test_init_from_fine_tunes_on_another_text_and_refuses_unknown_characters(tmp_path,
                                                                             tiny_checkpoint):
    other = tmp_path / "other.txt"
    other.write_text("she had peeped into the book, but it had no pictures in it. " * 10)
    runs = tmp_path / "runs"
    result = train(train_args(text=str(other), init_from=tiny_checkpoint, epochs=1,
                              checkpoint_dir=str(runs)), verbose=0)
    assert os.path.basename(result.best_checkpoint).startswith("weights-improvement-01-")
    loaded = charlstm.load(result.best_checkpoint)
    original = charlstm.load(tiny_checkpoint)
    assert loaded.vocabulary == original.vocabulary  # the checkpoint's, not the new text's
    assert loaded.checkpoint.metadata["init_from"] == os.path.abspath(tiny_checkpoint)
    assert len(charlstm.generate(result.best_checkpoint, length=20, verbose=0)) == 20
    strange = tmp_path / "strange.txt"
    strange.write_text("zebras and quokkas € " * 20)
    with pytest.raises(charlstm.UserError, match=r"does not know 3 character\(s\) of .*: "
                                                 r"'q' 'z' '€'.*without --init-from"):
        train(train_args(text=str(strange), init_from=tiny_checkpoint, epochs=1,
                         checkpoint_dir=str(tmp_path / "more")), verbose=0)


def test_a_small_text_for_a_big_model_gets_one_line(tmp_path, capsys):
    text = tmp_path / "short.txt"
    text.write_text(TINY_TEXT)
    train(train_args(text=str(text), units=64, dry_run=True), verbose=0)
    err = capsys.readouterr().err
    assert f"weights for {len(prepare_text(TINY_TEXT))} characters of training text" in err and "--validation-split" in err
    train(train_args(text=str(text), units=4, dry_run=True), verbose=0)
    assert "learn the text by heart" not in capsys.readouterr().err


@pytest.mark.parametrize("argv, status, message", [
    (["--encoding", "klingon"], 2, "'klingon' is not an encoding Python knows"),
    (["--encoding", "base64"], 2, "'base64' is not a text encoding"),
    (["--text", "{tmp}/nothing/*.zz"], 1, "--text pattern '.*' matches no file"),
    (["--text", "{tmp}/empty"], 1, "--text folder '.*empty' holds no file"),
    (["--text", "{tmp}/binaries"], 1, "gave no text file: skipped 1 file\\(s\\): binary: a.bin"),
    (["--init-from", "{tmp}/missing.hdf5"], 1, "weights file '.*missing.hdf5' does not exist"),
    (["--init-from", "{tiny}", "--resume", "{tiny}"], 1, "give --init-from or --resume"),
    (["--init-from", "{tiny}", "--units", "9"], 1, "was trained with --units 8, which it fixes"),
    (["--init-from", "{tiny}", "--keep-case"], 1, "was trained without --keep-case"),
])
def test_bad_own_text_inputs_are_one_line(tmp_path, tiny_checkpoint, argv, status, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "binaries").mkdir()
    (tmp_path / "binaries" / "a.bin").write_bytes(b"\0\1\2")
    argv = [arg.format(tmp=tmp_path, tiny=tiny_checkpoint) for arg in argv]
    result = run_main("train.py", *argv, "--dry-run", "--seq-length", "10",
                      "--checkpoint-dir", str(tmp_path / "runs"))
    assert result.returncode == status, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr and re.search(message, last), last


def test_the_generate_unknown_flag_is_checked(tiny_checkpoint):
    result = run_main("generate.py", "--weights", tiny_checkpoint, "--unknown", "keep")
    assert result.returncode == 2 and "invalid choice: 'keep'" in result.stderr
