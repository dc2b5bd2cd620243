"""--resume (each kind of model, bit for bit), the history file, TensorBoard logs, the divergence
stop and --sample-every."""

import csv
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from charlstm.training.callbacks import DivergenceStop, HistoryLog
from charlstm.checkpoints.metadata import FORMAT_VERSION
from charlstm.checkpoints.format import TRAINING_STATE_GROUP, load_checkpoint
from charlstm.errors import UserError
from charlstm.checkpoints.run_folder import parse_checkpoint_name
from charlstm.training.run import train
from conftest import (KINDS, RESUME_FLAGS, ROOT, TINY_TEXT, checkpoints, every_dataset, history,
                      run)
from train import parse_args

# The weight group each kind's model must have, and its (cell, input_encoding) in metadata.
FIRST_LAYER = {"lstm": "lstm_1", "gru": "gru_1", "embedding": "embedding_1"}
RECORDED = {"lstm": ("lstm", "scaled"), "gru": ("gru", "scaled"),
            "embedding": ("lstm", "embedding")}


# An LSTM in the quick tier; the other kinds, with the same code path, in the slow one.
@pytest.mark.parametrize("kind", [name if name == "lstm" else
                                  pytest.param(name, marks=pytest.mark.slow) for name in KINDS],
                         scope="module")
def test_resuming_gives_the_same_weights_as_never_stopping(kind, tiny_text_path, tmp_path,
                                                           two_epochs):
    whole = tmp_path / "whole"
    run(tiny_text_path, whole, "--epochs", "4", kind=kind)
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    for name in os.listdir(two_epochs):
        (resumed / name).write_bytes((two_epochs / name).read_bytes())
    last = str(resumed / checkpoints(resumed)[-1])
    # Only --text, --resume and --epochs: every other setting comes from the checkpoint.
    train(parse_args(["--text", tiny_text_path, "--resume", last, "--epochs", "4"]))

    assert checkpoints(resumed) == checkpoints(whole)  # numbering and best-only carried on
    final_whole = every_dataset(whole / checkpoints(whole)[-1])
    final_resumed = every_dataset(resumed / checkpoints(resumed)[-1])
    assert final_whole.keys() == final_resumed.keys()
    assert any(key.startswith(TRAINING_STATE_GROUP + "/optimizer") for key in final_whole)
    assert any(key.startswith(FIRST_LAYER[kind]) for key in final_whole)
    for key in final_whole:  # weights, optimizer moments, dropout RNG state: bit for bit
        assert np.array_equal(final_whole[key], final_resumed[key]), key
    # The history continues in the same file.
    rows = history(resumed)
    assert [row["epoch"] for row in rows] == ["1", "2", "3", "4"]
    assert [row["loss"] for row in rows] == [row["loss"] for row in history(whole)]
    metadata = load_checkpoint(last).metadata
    assert metadata["format_version"] == FORMAT_VERSION
    assert (metadata["cell"], metadata["input_encoding"]) == RECORDED[kind]


@pytest.mark.slow
def test_ctrl_c_then_resume_ends_where_an_uninterrupted_run_ends(tmp_path):
    """The issue's own words: interrupt a run (Ctrl-C, mid-epoch), resume it, compare."""
    text = tmp_path / "text.txt"
    text.write_text(TINY_TEXT * 20)
    flags = ["--text", str(text), "--epochs", "4", *RESUME_FLAGS]
    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "train.py"), *flags, "--checkpoint-dir",
         str(interrupted)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (interrupted.exists() and checkpoints(interrupted)):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    stopped_after = parse_checkpoint_name(checkpoints(interrupted)[-1])[0]
    assert stopped_after < 4, "the run ended before the interrupt: make its epochs longer"
    train(parse_args(["--text", str(text), "--resume",
                      str(interrupted / checkpoints(interrupted)[-1])]))
    whole = tmp_path / "whole"
    run(str(text), whole, "--epochs", "4")
    assert checkpoints(interrupted) == checkpoints(whole)
    final_whole = every_dataset(whole / checkpoints(whole)[-1])
    final_resumed = every_dataset(interrupted / checkpoints(interrupted)[-1])
    assert all(np.array_equal(final_whole[key], final_resumed[key]) for key in final_whole)


def test_resuming_an_earlier_checkpoint_rewrites_the_later_history(
        tiny_text_path, tmp_path, two_epochs):
    for name in os.listdir(two_epochs):
        (tmp_path / name).write_bytes((two_epochs / name).read_bytes())
    original = history(tmp_path)
    first = str(tmp_path / checkpoints(tmp_path)[0])
    assert parse_checkpoint_name(first)[0] == 1
    train(parse_args(["--text", tiny_text_path, "--resume", first]))  # --epochs 2, as recorded
    rows = history(tmp_path)
    assert [row["epoch"] for row in rows] == ["1", "2"]  # epoch 2 once, from the resumed run
    assert rows[1]["loss"] == original[1]["loss"]


def test_resume_refuses_what_would_change_the_run(tiny_text_path, tmp_path, two_epochs):
    last = str(two_epochs / checkpoints(two_epochs)[-1])
    other_text = tmp_path / "other.txt"
    other_text.write_text(open(tiny_text_path).read().replace("Alice", "Alicf"))
    cases = [
        (["--units", "16"], "cannot resume with --units 16: '.*' was trained with 8"),
        (["--one-hot"], "cannot resume with --one-hot: '.*' was trained without it"),
        (["--seq-length", "12"], "was trained with 10"),
        (["--seed", "8"], "was trained with 7"),
        (["--epochs", "2"], "has already trained 2 epochs: give --epochs more than 2"),
        (["--text", str(other_text)], "cannot resume on '.*other.txt'.*trained on another text"),
    ]
    before = every_dataset(last)
    for flags, message in cases:
        # A second --text would add to the first (--text a --text b is --text a b).
        text = [] if "--text" in flags else ["--text", tiny_text_path]
        argv = [*text, "--resume", last, "--epochs", "3"]
        with pytest.raises(UserError, match=message):
            train(parse_args(argv + flags))
    # Nothing was trained: no third epoch, no change to the checkpoint.
    assert [parse_checkpoint_name(name)[0] for name in checkpoints(two_epochs)] == [1, 2]
    assert all(np.array_equal(before[k], v) for k, v in every_dataset(last).items())


def test_resume_refuses_a_file_without_optimizer_state(tiny_text_path, tmp_path, two_epochs):
    last = two_epochs / checkpoints(two_epochs)[-1]
    stripped = tmp_path / last.name
    stripped.write_bytes(last.read_bytes())
    with h5py.File(stripped, "a") as handle:
        del handle[TRAINING_STATE_GROUP]
    with pytest.raises(UserError, match="has no optimizer state, so it cannot be resumed"):
        train(parse_args(["--text", tiny_text_path, "--resume", str(stripped), "--epochs", "3"]))


def test_history_has_its_columns_and_a_row_per_epoch(tiny_text_path, tmp_path):
    run(tiny_text_path, tmp_path, "--epochs", "2", "--validation-split", "0.3",
        "--learning-rate", "0.003")
    rows = history(tmp_path)
    assert list(rows[0]) == ["epoch", "loss", "val_loss", "learning_rate", "seconds", "checkpoint",
                             "device"]
    assert rows[0]["device"].startswith("CPU (")  # where the seconds came from
    assert [row["epoch"] for row in rows] == ["1", "2"]
    for row in rows:
        assert float(row["loss"]) > 0 and float(row["val_loss"]) > 0 and float(row["seconds"]) > 0
        assert float(row["learning_rate"]) == pytest.approx(0.003)
        assert row["checkpoint"] == "" or os.path.exists(row["checkpoint"])
    other = tmp_path / "elsewhere.csv"
    run(tiny_text_path, tmp_path / "b", "--epochs", "1", "--history", str(other))
    assert [row["epoch"] for row in csv.DictReader(open(other))] == ["1"]


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(
        tiny_text_path, tmp_path, two_epochs):
    directory = tmp_path / "diverging"
    directory.mkdir()
    for name in os.listdir(two_epochs):
        (directory / name).write_bytes((two_epochs / name).read_bytes())
    good = checkpoints(directory)
    last = str(directory / good[-1])
    before = (directory / good[-1]).read_bytes()
    with pytest.raises(UserError, match="training stopped: the loss (became|exploded).*"
                                        "last good checkpoint: .*" + good[-1]):
        train(parse_args(["--text", tiny_text_path, "--resume", last, "--epochs", "4",
                          "--learning-rate", "1000"]))
    assert checkpoints(directory) == good and (directory / good[-1]).read_bytes() == before
    assert len(history(directory)) == 2  # no row for the stopped epoch


def test_the_divergence_stop_catches_nan_and_explosions():
    class Model:
        stop_training = False

    for loss, stops in ((2.5, False), (float("nan"), True), (float("inf"), True),
                        (2 * np.log(40) + 0.1, True), (2 * np.log(40) - 0.1, False)):
        callback = DivergenceStop(vocab_size=40)
        callback.set_model(Model())
        callback.on_epoch_begin(0)
        callback.on_train_batch_end(5, {"loss": loss})
        assert callback.model.stop_training is stops and (callback.reason is not None) is stops


def test_tensorboard_writes_event_files(tiny_text_path, tmp_path):
    logs = tmp_path / "tensorboard"
    run(tiny_text_path, tmp_path / "run", "--epochs", "1", "--tensorboard", str(logs))
    events = [name for _, _, names in os.walk(logs) for name in names
              if name.startswith("events.out.tfevents")]
    assert events


def test_sample_every_logs_greedy_and_tempered_text(tiny_text_path, tmp_path, capsys):
    run(tiny_text_path, tmp_path, "--epochs", "2", "--sample-every", "2")
    err = capsys.readouterr().err
    assert "sample after epoch 1" not in err
    assert err.count("sample after epoch 2, seed: \"") == 1
    greedy = err.split("--- greedy:\n")[1].split("\n--- temperature 0.5:\n")[0]
    assert len(greedy) == 200


def test_history_log_without_a_writable_file_is_a_user_error(tmp_path):
    callback = HistoryLog(str(tmp_path / "missing" / "history.csv"), checkpointer=None)
    with pytest.raises(UserError, match="cannot write history file"):
        callback.on_train_begin()
