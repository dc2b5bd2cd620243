"""Shared fixtures and helpers: tiny corpora and a tiny trained checkpoint, made fresh for the
session, the commands run in this process or in a real one, and readers of a run's folder.
Test modules import helpers from here, never from each other."""

import contextlib
import csv
import io
import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from charlstm.backend import import_keras  # noqa: E402
from charlstm.checkpoint import METADATA_ATTRIBUTE  # noqa: E402
from charlstm.cli import (evaluate_main, export_main, generate_main, plot_main,  # noqa: E402
                          train_main)
from charlstm.config import resolve  # noqa: E402
from charlstm.folder import parse_checkpoint_name  # noqa: E402
from charlstm.logs import show_on_stderr  # noqa: E402

import_keras()
show_on_stderr(True)  # log lines on stderr, as the commands show them

TINY_TEXT = (
    "\ufeffCHAPTER I. Down the Rabbit-Hole\r\n\r\n"
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of "
    "having nothing to do: once or twice she had peeped into the book her sister was "
    "reading, but it had no pictures or conversations in it, 'and what is the use of a "
    "book,' thought Alice 'without pictures or conversations?'\r\n"
)


@pytest.fixture(scope="module")
def text_path(tmp_path_factory):
    """A file of TINY_TEXT four times, one per test module that asks for it."""
    path = tmp_path_factory.mktemp("text") / "text.txt"
    path.write_text(TINY_TEXT * 4)
    return str(path)


def interrupt_after_epoch(monkeypatch, number):
    """Press Ctrl-C (a real SIGINT to this process) once epoch `number`'s checkpoint step has
    run, as a user would between epochs; the run then stops in the next epoch. Returns a
    function that stops the interrupting (for a resume in the same test)."""
    from charlstm.callbacks import BestOnlyCheckpoint

    original = BestOnlyCheckpoint.on_epoch_end

    def interrupting(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch + 1 == number:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(BestOnlyCheckpoint, "on_epoch_end", interrupting)
    return lambda: monkeypatch.setattr(BestOnlyCheckpoint, "on_epoch_end", original)


@pytest.fixture(autouse=True)
def log_lines_on_stderr():
    """Every test starts with log lines shown: an API call with verbose=0 lowers the level
    until the next call, and tests that call charlstm.training.train directly set none."""
    show_on_stderr(True)


def train_args(**overrides):
    """Resolved settings (charlstm.config) for a tiny run: what train.py would pass, with
    tiny-model values; overrides count as given explicitly, as flags would."""
    values = dict(epochs=2, batch_size=32, seq_length=10, units=8, seed=1)
    values.update(overrides)
    return resolve(values, explicit=overrides)


MAINS = {"train.py": train_main, "generate.py": generate_main, "evaluate.py": evaluate_main,
         "export.py": export_main, "plot.py": plot_main}


def run_main(command, *argv, cwd=None):
    """Run a command (train.py, generate.py, evaluate.py) in this process, as the script would
    run it but without starting an interpreter and Keras again (seconds per call): a
    CompletedProcess with its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                MAINS[command](list(argv), prog=command)
                status = 0
            except SystemExit as exit:
                status = exit.code
    finally:
        os.chdir(saved)
    return subprocess.CompletedProcess([command, *argv], status, out.getvalue(), err.getvalue())


def run_command(*args, timeout=300, **kwargs):
    """Run a project command (train.py / generate.py) in a subprocess, text mode: for what only
    a real process shows (signals, start-up noise, --help without Keras)."""
    return subprocess.run(
        [sys.executable, *args], cwd=kwargs.pop("cwd", ROOT), capture_output=True, text=True,
        timeout=timeout, **kwargs,
    )


def checkpoints(directory):
    """The checkpoint files of a folder, by name, in order."""
    return sorted(name for name in os.listdir(directory) if parse_checkpoint_name(name))


def every_dataset(path):
    """{name: array} of every dataset in an HDF5 file: weights, seed text, training state."""
    values = {}
    with h5py.File(path) as handle:
        handle.visititems(lambda name, item: values.__setitem__(name, np.asarray(item))
                          if isinstance(item, h5py.Dataset) else None)
    return values


def rewrite_metadata(source, target, change):
    """A copy of checkpoint source at target, its metadata JSON passed through change (a
    function that edits the dict in place); returns target as a str."""
    import json
    import shutil

    shutil.copy(source, target)
    with h5py.File(target, "a") as handle:
        metadata = json.loads(handle.attrs[METADATA_ATTRIBUTE])
        change(metadata)
        handle.attrs[METADATA_ATTRIBUTE] = json.dumps(metadata)
    return str(target)


def history(directory):
    """The rows of a folder's history.csv, as dicts."""
    with open(os.path.join(directory, "history.csv")) as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def tiny_text_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_bytes(TINY_TEXT.encode("utf-8"))
    return str(path)


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_text_path, tmp_path_factory):
    """A checkpoint from a 3-epoch run of a tiny model on the tiny text."""
    from charlstm.folder import find_best_checkpoint
    from charlstm.training import train

    directory = str(tmp_path_factory.mktemp("checkpoints"))
    train(train_args(text=tiny_text_path, epochs=3, checkpoint_dir=directory))
    return find_best_checkpoint(directory)
