"""--lr-schedule, --warmup-steps, --early-stopping, --weight-decay and --ema: each does what
its help says, and a run using them all resumes bit for bit."""

import math
import os

import h5py
import numpy as np
import pytest

from charlstm.system.backend import import_keras
from charlstm.checkpoints.format import TRAINING_STATE_GROUP, load_checkpoint
from charlstm.config import resolve
from charlstm.errors import UserError
from charlstm.checkpoints.run_folder import parse_checkpoint_name
from charlstm.checkpoints.metadata import Metadata
from charlstm.model.optimizer import learning_rates
from charlstm.training.run import prepare, train
from conftest import (TINY_TEXT, checkpoints, every_dataset, history, interrupt_after_epoch,
                      run_main, train_args)
from train import parse_args

ALL_CONTROLS = ["--lr-schedule", "cosine", "--warmup-steps", "3", "--weight-decay", "0.1",
                "--ema", "0.9", "--early-stopping", "2", "--validation-split", "0.2",
                "--monitor", "val_loss", "--targets", "every", "--one-hot", "--dropout", "0.3"]
TINY = ["--units", "8", "--seq-length", "10", "--batch-size", "8", "--seed", "5"]



def test_help_lists_the_controls():
    result = run_main("train.py", "--help")
    for flag in ("--lr-schedule", "--warmup-steps", "--early-stopping", "--weight-decay",
                 "--ema"):
        assert flag in result.stdout


@pytest.mark.slow
def test_a_run_with_every_control_stopped_after_2_of_4_epochs_resumes_bit_for_bit(
        text_path, tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    train(parse_args(["--text", text_path, "--epochs", "4", "--checkpoint-dir", str(whole),
                      *TINY, *ALL_CONTROLS]))
    assert len(history(whole)) == 4, "early stopping ended the reference run: retune the test"

    # The same run, with a Ctrl-C as epoch 2's checkpoint is written: it stops in epoch 3.
    interrupted = tmp_path / "interrupted"
    interrupt_after_epoch(monkeypatch, 2)
    result = train(parse_args(["--text", text_path, "--epochs", "4", "--checkpoint-dir",
                               str(interrupted), *TINY, *ALL_CONTROLS]))
    monkeypatch.undo()
    assert result.interrupted
    assert [parse_checkpoint_name(name)[0] for name in checkpoints(interrupted)] == [1, 2]

    # Only --resume: every setting, the schedule's position and the average come from the file.
    resumed = train(parse_args(["--resume", str(interrupted / checkpoints(interrupted)[-1])]))
    assert not resumed.interrupted
    assert checkpoints(interrupted) == checkpoints(whole)
    final_whole = every_dataset(whole / checkpoints(whole)[-1])
    final_resumed = every_dataset(interrupted / checkpoints(interrupted)[-1])
    assert final_whole.keys() == final_resumed.keys()
    assert f"{TRAINING_STATE_GROUP}/weights/0000" in final_whole  # the raw weights, for --ema
    for key in final_whole:  # weights, averages, moments, step count: bit for bit
        assert np.array_equal(final_whole[key], final_resumed[key]), key
    assert ([row["learning_rate"] for row in history(interrupted)]
            == [row["learning_rate"] for row in history(whole)])


def test_cosine_follows_the_steps_of_the_whole_run(text_path, tmp_path):
    settings = train_args(text=text_path, epochs=3, lr_schedule="cosine", warmup_steps=4,
                          learning_rate=0.01, checkpoint_dir=str(tmp_path))
    result = train(settings, verbose=0)
    steps_per_epoch = prepare(train_args(text=text_path, dry_run=True), verbose=0).batches.steps
    total = 3 * steps_per_epoch
    expected = learning_rates(settings, total, [steps_per_epoch * n for n in (1, 2, 3)])
    recorded = [float(row["learning_rate"]) for row in result.history]
    assert recorded == pytest.approx(expected, rel=1e-5)
    assert recorded[-1] == 0 and recorded[0] < 0.01
    # Warm-up rises linearly, then the cosine falls to 0 at the run's last step.
    assert learning_rates(settings, total, [0, 2, 4]) == pytest.approx([0, 0.005, 0.01])


def test_warmup_needs_the_cosine_schedule(text_path):
    with pytest.raises(UserError, match="--warmup-steps belongs to --lr-schedule cosine"):
        train(train_args(text=text_path, warmup_steps=10, dry_run=True), verbose=0)


@pytest.fixture(scope="module")
def unlearnable_tail_path(tmp_path_factory):
    """The tiny text three times, then as many characters drawn at random from it: the
    held-out quarter cannot be learnt, so its loss soon rises as training goes on."""
    rng = np.random.default_rng(0)
    tail = "".join(rng.choice(list(TINY_TEXT), size=len(TINY_TEXT)))
    path = tmp_path_factory.mktemp("overfit") / "text.txt"
    path.write_text(TINY_TEXT * 3 + tail)
    return str(path)


def overfitting_run(text_path, directory, **settings):
    """A run whose held-out loss soon stops improving: a large learning rate, a held-out part
    unlike the training part."""
    return train(train_args(text=text_path, epochs=12, units=32, batch_size=8, targets="every",
                            input_encoding="one-hot", learning_rate=0.01,
                            validation_split=0.25, monitor="val_loss",
                            checkpoint_dir=str(directory), **settings), verbose=0)


@pytest.mark.slow
def test_early_stopping_ends_the_run_and_keeps_the_best_checkpoint(unlearnable_tail_path,
                                                                   tmp_path):
    result = overfitting_run(unlearnable_tail_path, tmp_path, early_stopping=2)
    rows = result.history
    assert result.stopped_early and len(rows) < 12
    val_losses = [float(row["val_loss"]) for row in rows]
    best_epoch = val_losses.index(min(val_losses)) + 1
    # Exactly two epochs after the best, none better: then it stopped.
    assert len(rows) == best_epoch + 2
    assert parse_checkpoint_name(os.path.basename(result.best_checkpoint))[0] == best_epoch
    assert load_checkpoint(result.best_checkpoint).metadata["early_stopping"] == 2


@pytest.mark.slow
def test_plateau_halves_the_rate_after_an_epoch_without_improvement(unlearnable_tail_path,
                                                                    tmp_path):
    rows = overfitting_run(unlearnable_tail_path, tmp_path, lr_schedule="plateau").history
    rates = [float(row["learning_rate"]) for row in rows]
    val_losses = [float(row["val_loss"]) for row in rows]
    best = math.inf
    halvings = 0
    for epoch in range(len(rows) - 1):
        improved = val_losses[epoch] < best
        best = min(best, val_losses[epoch])
        expected = rates[epoch] if improved else rates[epoch] / 2
        assert rates[epoch + 1] == pytest.approx(expected, rel=1e-5), epoch
        halvings += not improved
    assert halvings >= 1, "the held-out loss never stalled: retune the test"


def test_weight_decay_is_adamw_on_kernels_only(text_path):
    keras = import_keras()
    run = prepare(train_args(text=text_path, weight_decay=0.5), verbose=0)
    optimizer = run.model.optimizer
    assert isinstance(optimizer, keras.optimizers.AdamW) and optimizer.weight_decay == 0.5
    optimizer.build(run.model.trainable_variables)
    decayed = {variable.path.split("/")[-1]: optimizer._use_weight_decay(variable)
               for variable in run.model.trainable_variables}
    assert decayed == {"kernel": True, "recurrent_kernel": True, "bias": False}
    plain = prepare(train_args(text=text_path), verbose=0).model.optimizer
    assert type(plain) is keras.optimizers.Adam and not plain.weight_decay


@pytest.mark.slow  # 8-11 s on 2 cores: keeps the quick tier within 5 minutes
def test_ema_checkpoints_hold_the_average_that_validation_scored(text_path, tmp_path):
    keras = import_keras()
    result = train(train_args(text=text_path, epochs=2, ema=0.8, validation_split=0.25,
                              checkpoint_dir=str(tmp_path)), verbose=0)
    checkpoint = load_checkpoint(result.best_checkpoint)
    with h5py.File(result.best_checkpoint) as handle:
        raw = [np.asarray(handle[f"{TRAINING_STATE_GROUP}/weights/{n:04d}"])
               for n in range(len(checkpoint.weights))]
    assert not all(np.array_equal(a, b) for a, b in zip(raw, checkpoint.weights))
    # The file's layers (the average) give the val_loss the run reported.
    run = prepare(train_args(text=text_path, epochs=2, ema=0.8, validation_split=0.25),
                  verbose=0)
    run.model.set_weights(checkpoint.weights)
    keras.utils.set_random_seed(1)
    held_out = [run.held_out.batch(0, step) for step in range(run.held_out.steps)]
    losses = [float(run.model.evaluate(x, y, verbose=0, batch_size=len(x))) * len(x)
              for x, y in held_out]
    mean = sum(losses) / sum(len(x) for x, _ in held_out)
    assert mean == pytest.approx(float(result.history[-1]["val_loss"]), abs=1e-5)


@pytest.mark.parametrize("flags, message", [
    (["--ema", "1"], "argument --ema: '1' must be above 0 and below 1"),
    (["--weight-decay", "-0.1"], "argument --weight-decay: '-0.1' must be 0 or more"),
    (["--lr-schedule", "step"], "argument --lr-schedule: invalid choice"),
    (["--early-stopping", "0"], "argument --early-stopping: '0' must be 1 or more"),
])
def test_bad_values_are_flag_errors(flags, message):
    result = run_main("train.py", "--dry-run", *flags)
    assert result.returncode == 2 and message in result.stderr


def test_older_checkpoints_read_the_controls_as_the_tutorial_had_them():
    old = dict(Metadata.for_run(resolve({}), "abc", 3, "0" * 64), format_version=3)
    for name in ("lr_schedule", "warmup_steps", "weight_decay", "ema", "early_stopping"):
        old.pop(name)
    recorded = Metadata(old).settings()
    assert (recorded["lr_schedule"], recorded["warmup_steps"], recorded["weight_decay"],
            recorded["ema"], recorded["early_stopping"]) == ("constant", 0, 0.0, None, None)
