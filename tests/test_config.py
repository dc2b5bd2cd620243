"""One schema for a run's settings: the flags, the API's keywords, the checkpoint's record,
--resume and docs/flags.md all come from charlstm.config.SETTINGS."""

import os

import pytest

from charlstm import cli, config
from charlstm.errors import UserError
from charlstm.checkpoints.metadata import Metadata
from charlstm.presets import PRESETS
from conftest import ROOT


def test_every_setting_is_a_flag_with_its_default():
    settings = cli.parse_train_args([])
    for setting in config.SETTINGS:
        assert getattr(settings, setting.name) == setting.default, setting.name
    assert settings.explicit == frozenset()


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda setting: setting.name)
def test_each_flag_sets_its_setting_and_counts_as_explicit(setting):
    if setting.const is not None:
        argv, expected = [setting.flag_name], setting.const
    elif setting.choices:
        expected = setting.choices[-1]
        argv = [setting.flag_name, expected]
    else:
        expected = {"text": "my.txt", "resume": "run.hdf5", "checkpoint_dir": "runs",
                    "history": "h.csv", "tensorboard": "logs", "init_from": "old.hdf5",
                    "encoding": "latin-1"}.get(setting.name, 3)
        if setting.type in (config.fraction, config.open_fraction):
            expected = 0.25
        argv = [setting.flag_name, str(expected)]
    parsed = cli.parse_train_args(argv)
    assert getattr(parsed, setting.name) == expected and parsed.explicit == {setting.name}
    # The same value as a keyword argument of charlstm.train() (through resolve).
    assert getattr(config.resolve({setting.name: expected}), setting.name) == expected


def test_bigger_then_preset_then_explicit_values():
    assert (config.resolve({"bigger": True}).epochs, config.defaults().epochs) == (50, 20)
    fast = config.resolve({"preset": "fast", "bigger": True})
    assert all(getattr(fast, name) == value for name, value in PRESETS["fast"].items())
    assert config.resolve({"preset": "fast", "batch_size": 7}).batch_size == 7


def test_metadata_round_trip_keeps_the_older_files_keys():
    settings = config.resolve({"seed": 5, "input_encoding": "one-hot"})
    metadata = Metadata.for_run(settings, "abc", 3, "0" * 64)
    assert metadata["random_seed"] == 5 and metadata["input_encoding"] == "one-hot"
    assert "checkpoint_dir" not in metadata and "resume" not in metadata
    restored = Metadata.from_json(metadata.to_json()).settings()
    assert restored["seed"] == 5 and restored["input_encoding"] == "one-hot"
    assert set(restored) == {s.name for s in config.SETTINGS
                             if s.resume in (config.FIXED, config.ADJUSTABLE)}


@pytest.mark.parametrize("given, message", [
    ({"units": "many"}, "units: 'many' is not a whole number"),
    ({"units": 2.5}, "units: 2.5 is not a whole number"),
    ({"dropout": 1.0}, "dropout: 1.0 must be at least 0 and below 1"),
    ({"learning_rate": float("nan")}, "learning_rate: nan must be above 0"),
    ({"bigger": "yes"}, "bigger: 'yes' must be False or True"),
    ({"input_encoding": "binary"}, "input_encoding: 'binary' must be one of 'scaled', 'one-hot', "
                                      "'embedding'"),
    ({"seed": 2**32}, "seed: 4294967296 must be between 0 and 4294967295"),
    ({"preset": "slow"}, "preset: 'slow' must be one of 'fast'"),
])
def test_values_are_checked_as_flags_are(given, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.resolve(given)


def test_docs_flag_reference_is_the_generated_one():
    with open(os.path.join(ROOT, "docs", "flags.md"), encoding="utf-8") as handle:
        assert handle.read() == cli.flag_reference(), (
            "docs/flags.md is out of date: regenerate it (see charlstm.cli.flag_reference)")


def test_the_readme_is_a_front_door():
    """About 250 lines, and the first screen has what a newcomer needs first."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert len(lines) <= 260
    first_screen = "\n".join(lines[:80])
    for needed in ("python3 -m venv", "Python 3.11 or later", "--preset fast",
                   "pip install -r requirements-gpu.txt && python train.py --bigger",
                   "python -m pytest -q", "How long each path takes"):
        assert needed in first_screen, needed
