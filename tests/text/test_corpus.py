import hashlib
import os

import pytest

from charlstm.text.corpus import read_text
from charlstm.text.rules import normalise_text
from charlstm.text.vocabulary import Vocabulary
from charlstm.errors import UserError
from conftest import ROOT


def test_bundled_text_is_the_tutorials_file_byte_for_byte():
    with open(os.path.join(ROOT, "wonderland.txt"), "rb") as handle:
        raw = handle.read()
    assert hashlib.md5(raw).hexdigest() == "c4f522a302e236f0b07e908e7ec6625a"
    assert len(raw) == 147674 and raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw


def test_bundled_text_figures():
    text = read_text(os.path.join(ROOT, "wonderland.txt"))
    vocabulary = Vocabulary.from_text(text)
    assert len(text) == 144342
    assert len(vocabulary) == 43
    assert len(text) - 100 == 144242
    assert "\r" not in text and "\ufeff" not in text and text == text.lower()


def test_normalise_drops_bom_folds_line_ends_and_lowers():
    assert normalise_text("\ufeffAB\r\nC\rD\n") == "ab\nc\nd\n"
    assert normalise_text("x\ufeffy") == "x\ufeffy"  # only a leading mark is a BOM


def test_vocabulary_is_sorted_set_and_round_trips():
    vocabulary = Vocabulary.from_text("hello world")
    assert vocabulary.chars == " dehlorw"
    assert vocabulary.decode(vocabulary.encode("held")) == "held"
    assert vocabulary.encode("eh").tolist() == [2, 3]


def test_unknown_characters_are_named():
    with pytest.raises(UserError, match=r"2 character\(s\).*'!', 'z'"):
        Vocabulary.from_text("abc").encode("az!a", what="the prime text")


@pytest.mark.parametrize(
    "content, message",
    [(None, "does not exist"), (b"", "is empty"), (b"\xef\xbb\xbf", "is empty"),
     (b"caf\xe9 au lait", "is not UTF-8")],
)
def test_bad_text_files(tmp_path, content, message):
    path = tmp_path / "text.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        read_text(str(path))
