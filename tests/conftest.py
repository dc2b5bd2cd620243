"""Shared fixtures: tiny corpora and a tiny trained checkpoint, made fresh for the session."""

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from charlstm.backend import import_keras  # noqa: E402

import_keras()

TINY_TEXT = (
    "\ufeffCHAPTER I. Down the Rabbit-Hole\r\n\r\n"
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of "
    "having nothing to do: once or twice she had peeped into the book her sister was "
    "reading, but it had no pictures or conversations in it, 'and what is the use of a "
    "book,' thought Alice 'without pictures or conversations?'\r\n"
)


def train_args(**overrides):
    """The arguments train.py would pass, with tiny-model defaults for tests."""
    values = dict(text=None, bigger=False, epochs=2, batch_size=32, seq_length=10, units=8,
                  layers=1, dropout=0.2, checkpoint_dir=None, seed=1, dry_run=False,
                  targets="last", one_hot=False, validation_split=0.0, monitor="loss",
                  learning_rate=0.001, clipnorm=None, preset=None, strip_punctuation=False,
                  sentences=False, input_dropout=0.0, stateful=False, resume=None,
                  history=None, tensorboard=None, sample_every=None, steps_per_epoch=None,
                  distribute=False, mixed_precision=False, explicit=set())
    values.update(overrides)
    return SimpleNamespace(**values)


def run_command(*args, timeout=300, **kwargs):
    """Run a project command (train.py / generate.py) in a subprocess, text mode."""
    return subprocess.run(
        [sys.executable, *args], cwd=kwargs.pop("cwd", ROOT), capture_output=True, text=True,
        timeout=timeout, **kwargs,
    )


@pytest.fixture(scope="session")
def tiny_text_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_bytes(TINY_TEXT.encode("utf-8"))
    return str(path)


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_text_path, tmp_path_factory):
    """A checkpoint from a 3-epoch run of a tiny model on the tiny text."""
    from charlstm.checkpoint import find_best_checkpoint
    from charlstm.training import train

    directory = str(tmp_path_factory.mktemp("checkpoints"))
    train(train_args(text=tiny_text_path, epochs=3, checkpoint_dir=directory))
    return find_best_checkpoint(directory)
