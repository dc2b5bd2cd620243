"""One schema for a run's settings: the flags, the API's keywords, the checkpoint's record,
--resume and docs/flags.md all come from charlstm.config.SETTINGS."""

import dataclasses
import os
import types
import typing

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


def accepts(annotation, value):
    """Whether a value has the annotated type: int | None, str | tuple[str, ...], bool..."""
    if isinstance(annotation, types.UnionType):
        return any(accepts(member, value) for member in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if typing.get_origin(annotation) is tuple:
        (item, _) = typing.get_args(annotation)
        return isinstance(value, tuple) and all(isinstance(part, item) for part in value)
    if annotation is float:
        return isinstance(value, float)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def typical(option):
    """A value a user gives, as the option's check returns it."""
    if option.multiple and option.type is config.web_origin:
        return option.check(["http://localhost:3000", "https://example.org"])
    if option.multiple:
        return option.check(["a.txt", "b.txt"])
    if option.const is not None and not option.choices:
        return option.check(option.const)
    if option.choices:
        return option.check(option.choices[-1])
    whole = getattr(option.type, "whole", None)  # a number's check says whether it is whole
    if whole is not None:
        return option.check("3" if whole else "0.5")
    return option.check("latin-1" if option.type is config.text_encoding else "some.txt")


@pytest.mark.parametrize("declared, value_class", config.VALUE_CLASSES,
                         ids=lambda item: getattr(item, "__name__", ""))
def test_each_value_class_is_its_declarations_typed(declared, value_class):
    """settings.py writes the values out for editors; they stay the declarations: the same
    fields in order, the same defaults, and types that hold what each check returns."""
    fields = dataclasses.fields(value_class)
    extra = ("explicit",) if value_class is config.Settings else ()
    assert [field.name for field in fields] == [option.name for option in declared] + list(extra)
    hints = typing.get_type_hints(value_class)
    for option, field in zip(declared, fields):
        assert field.default == option.default and type(field.default) is type(option.default), \
            option.name
        if not option.required:  # a required option has no default value to check
            assert accepts(hints[option.name], option.check(option.default)), option.name
        assert accepts(hints[option.name], typical(option)), option.name
        assert hints[option.name] is not object, option.name
    assert config.value_class_for(declared) is value_class


def test_resolve_options_picks_the_class_by_its_fields_not_by_identity():
    copied = tuple(config.GENERATION)  # another tuple, the same declarations
    assert type(config.resolve_options({}, copied)) is config.GenerationOptions
    assert type(config.resolve_options({}, config.SERVE)) is config.ServeOptions
    with pytest.raises(ValueError, match="no value class"):
        config.resolve_options({}, config.GENERATION[:3])
