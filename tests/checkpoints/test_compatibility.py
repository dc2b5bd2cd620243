"""Checkpoints written before the settings schema (format 2, charlstm 1.0.0) still load,
generate the same text and resume. The fixture was written by that code:

    python train.py --text tests/data/tiny.txt --seq-length 10 --units 16 --batch-size 16 \
        --epochs 6 --learning-rate 0.02 --seed 1
and its texts below by that code's generate.py."""

import os
import shutil

import charlstm
from charlstm.checkpoints.format import load_checkpoint
from charlstm.checkpoints.run_folder import parse_checkpoint_name
from conftest import ROOT

FIXTURE = os.path.join(ROOT, "tests", "data", "format2", "weights-improvement-06-2.8997.hdf5")
TEXT = os.path.join(ROOT, "tests", "data", "tiny.txt")
# generate.py --weights FIXTURE --length 60 --raw --temperature 1 --seed 3 [--stateful]
SAMPLED_WINDOW = "ask gh o eifloubnob\nwbctlhr oe nt,ncoo-snosert teh obtaien''"
SAMPLED_STATEFUL = "ask gh o eifloubnob\nwbctkhr oe nt'nboo,snosert teh obtaien''"


def test_a_format_2_checkpoint_generates_what_it_generated_then():
    common = dict(length=60, temperature=1.0, seed=3, verbose=0)
    assert charlstm.generate(FIXTURE, **common) == SAMPLED_WINDOW
    assert charlstm.generate(FIXTURE, stateful=True, **common) == SAMPLED_STATEFUL


def test_a_format_2_checkpoint_loads_with_its_settings():
    model, vocabulary, settings, seq_length, _ = charlstm.load(FIXTURE)
    assert seq_length == 10 and len(vocabulary) == 29
    assert settings["units"] == 16 and settings["learning_rate"] == 0.02
    assert settings["input_encoding"] == "scaled" and settings["seed"] == 1
    assert model.count_params() == sum(array.size for array in load_checkpoint(FIXTURE).weights)


def test_a_format_2_checkpoint_resumes(tmp_path):
    """It records no text path: the text is given again, and checked by its content."""
    copy = tmp_path / os.path.basename(FIXTURE)
    shutil.copy(FIXTURE, copy)
    result = charlstm.train(resume=str(copy), text=TEXT, epochs=7, verbose=0)
    assert [row["epoch"] for row in result.history] == ["7"]
    assert (result.settings.units, result.settings.seed, result.settings.learning_rate) == (
        16, 1, 0.02)
    written = result.history[0]["checkpoint"]
    if written:  # epoch 7 improved on the fixture's loss
        assert parse_checkpoint_name(written)[0] == 7 and result.best_checkpoint == written
    else:
        assert result.best_checkpoint == str(copy)
