"""--minutes: a run trains for a time, not a number of epochs. With --lr-schedule cosine the
cosine is planned from the first steps' speed and reaches 0 at the planned step, about when
the time is up; the epoch cut short is checkpointed; --resume trains the rest of the plan.
Each run here is a few seconds of a tiny model (--steps-per-epoch makes its epochs)."""

import os
import re

import h5py
import numpy as np
import pytest

from charlstm.model.optimizer import COSINE_VARIABLES
from charlstm.training.callbacks import TimeBudget
from charlstm.checkpoints.format import TRAINING_STATE_GROUP, load_checkpoint
from charlstm.config import UNBOUNDED_EPOCHS, resolve
from charlstm.errors import UserError
from charlstm.training.run import train
from conftest import (checkpoints, every_dataset, history, interrupt_after_epoch,
                      rewrite_metadata, run_main)
from train import parse_args

TINY = ["--units", "8", "--seq-length", "10", "--batch-size", "8", "--seed", "3"]



def optimizer_steps(path):
    """The step count and the cosine's end step in a checkpoint's optimizer state."""
    with h5py.File(path) as handle:
        group = handle[f"{TRAINING_STATE_GROUP}/optimizer"]
        paths = [name.decode() for name in group.attrs["paths"]]
        values = {name.split("/")[-1]: group[f"{n:04d}"][()] for n, name in enumerate(paths)}
    return int(values["iteration"]), float(values.get("cosine_end_step", 0))


def spent_line(stderr):
    """(step, planned step or None) from the "time budget spent" line."""
    match = re.search(r"time budget spent at .*step (\d+)(?: of (\d+) planned)?", stderr)
    assert match, stderr[-2000:]
    return int(match[1]), int(match[2]) if match[2] else None


@pytest.mark.slow  # 8-11 s on 2 cores: keeps the quick tier within 5 minutes
def test_a_cosine_budget_ends_at_its_planned_step_with_the_learning_rate_at_0(text_path,
                                                                              tmp_path):
    # One epoch far longer than the budget: the budget cuts it, and that epoch is the answer.
    result = run_main("train.py", "--text", text_path, *TINY, "--minutes", "0.1",
                      "--lr-schedule", "cosine", "--learning-rate", "0.01",
                      "--steps-per-epoch", "100000", "--checkpoint-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"time plan: [\d.]+ steps/s over steps 2-\d+, so the cosine reaches 0 at "
                     r"step \d+, about \d\d:\d\d:\d\d", result.stderr)
    step, planned = spent_line(result.stderr)
    assert step == planned
    rows = history(tmp_path)
    assert len(rows) == 1 and float(rows[-1]["learning_rate"]) == 0
    assert "epoch 1 loss" in result.stderr  # no epoch limit to name: not "epoch 1/1000000"
    # The last minutes of training are kept: the epoch cut short is the checkpoint.
    [name] = checkpoints(tmp_path)
    metadata = load_checkpoint(str(tmp_path / name)).metadata
    assert optimizer_steps(tmp_path / name) == (planned, planned)
    assert metadata["steps"] == metadata["planned_steps"] == planned
    assert metadata["minutes"] == 0.1 and metadata["epochs"] == UNBOUNDED_EPOCHS
    assert metadata["elapsed_seconds"] == pytest.approx(6, abs=3)  # the plan, within seconds

    # Spent: resuming it asks for more time.
    again = run_main("train.py", "--resume", str(tmp_path / name))
    assert again.returncode != 0 and "a larger --minutes" in again.stderr


@pytest.mark.slow
def test_a_budget_without_the_cosine_stops_when_the_time_is_up(text_path, tmp_path):
    result = train(parse_args(["--text", text_path, *TINY, "--minutes", "0.05",
                               "--steps-per-epoch", "100000", "--checkpoint-dir",
                               str(tmp_path)]), verbose=0)
    assert not result.interrupted and len(result.history) == 1
    metadata = load_checkpoint(result.best_checkpoint).metadata
    # After the batch during which the 3 s ran out.
    assert 3 <= metadata["elapsed_seconds"] < 4.5
    assert metadata["planned_steps"] is None
    assert float(result.history[0]["learning_rate"]) == pytest.approx(0.001)


def test_epochs_given_with_a_budget_bound_it_and_the_cosine_follows_them(text_path, tmp_path):
    result = train(parse_args(["--text", text_path, *TINY, "--minutes", "5", "--epochs", "2",
                               "--steps-per-epoch", "20", "--lr-schedule", "cosine",
                               "--checkpoint-dir", str(tmp_path)]), verbose=0)
    rates = [float(row["learning_rate"]) for row in result.history]
    assert len(rates) == 2 and rates[-1] == 0 and rates[0] > 0


@pytest.mark.slow
def test_a_resumed_budget_run_trains_the_rest_of_its_plan(text_path, tmp_path, monkeypatch):
    # Ctrl-C as epoch 3's checkpoint is written (the plan was made in epoch 1), then --resume.
    interrupt_after_epoch(monkeypatch, 3)
    first = run_main("train.py", "--text", text_path, *TINY, "--minutes", "0.1",
                     "--lr-schedule", "cosine", "--warmup-steps", "10", "--steps-per-epoch",
                     "60", "--checkpoint-dir", str(tmp_path))
    monkeypatch.undo()
    assert first.returncode == 130, first.stderr[-2000:]
    stopped = tmp_path / checkpoints(tmp_path)[-1]
    metadata = load_checkpoint(str(stopped)).metadata
    assert metadata["epoch"] == 3 and metadata["steps"] == 180
    planned = metadata["planned_steps"]
    assert planned > 180 and optimizer_steps(stopped) == (180, planned)

    resumed = run_main("train.py", "--resume", str(stopped))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"the cosine ends at step {planned} (the checkpoint's plan)" in resumed.stderr
    assert "time plan:" not in resumed.stderr  # no plan from scratch: the checkpoint's, re-fitted
    # Re-fitted as it goes (REPLAN_SHARE), the plan's end is where the resumed run stops.
    step, final = spent_line(resumed.stderr)
    assert step == final
    rows = history(tmp_path)
    assert [int(row["epoch"]) for row in rows] == list(range(1, len(rows) + 1))
    assert float(rows[-1]["learning_rate"]) == 0
    assert len(rows) == -(-final // 60)  # the last epoch is the one the plan cut
    if rows[-1]["checkpoint"]:  # written when the epoch the plan cut improved
        assert optimizer_steps(rows[-1]["checkpoint"]) == (final, final)


@pytest.mark.slow
def test_a_new_budget_on_resume_plans_the_rest_afresh(text_path, tmp_path):
    first = train(parse_args(["--text", text_path, *TINY, "--minutes", "0.05",
                              "--lr-schedule", "cosine", "--steps-per-epoch", "100000",
                              "--checkpoint-dir", str(tmp_path)]), verbose=0)
    old = load_checkpoint(first.best_checkpoint).metadata
    resumed = run_main("train.py", "--resume", first.best_checkpoint, "--minutes", "0.1")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "time plan:" in resumed.stderr
    step, planned = spent_line(resumed.stderr)
    assert step == planned > old["planned_steps"]
    assert float(history(tmp_path)[-1]["learning_rate"]) == 0


@pytest.mark.parametrize("value, message", [
    ("0", "argument --minutes: '0' must be above 0"),
    ("-1", "argument --minutes: '-1' must be above 0"),
    ("abc", "argument --minutes: 'abc' is not a number"),
])
def test_bad_budgets_are_one_line_flag_errors(value, message):
    result = run_main("train.py", "--dry-run", "--minutes", value)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_fast_preset_is_ten_minutes_and_no_epoch_limit():
    fast = resolve({"preset": "fast"})
    assert fast.minutes == 10 and fast.epochs == UNBOUNDED_EPOCHS
    assert resolve({"preset": "fast", "epochs": 3}).epochs == 3
    with pytest.raises(UserError, match="minutes: 0 must be above 0"):
        resolve({"minutes": 0})


@pytest.mark.slow
@pytest.mark.parametrize("version, missing", [(4, COSINE_VARIABLES), (6, COSINE_VARIABLES[1:])])
def test_an_older_cosine_checkpoint_without_its_plan_variables_still_resumes(
        text_path, tmp_path, version, missing):
    """Files written before format 5 have no cosine_end_step in their optimizer state, and
    before format 7 no re-plan anchor (cosine_from_step, cosine_from_progress)."""
    first = train(parse_args(["--text", text_path, *TINY, "--epochs", "2", "--steps-per-epoch",
                              "10", "--lr-schedule", "cosine", "--checkpoint-dir",
                              str(tmp_path)]), verbose=0)
    def as_older_format(metadata):
        metadata["format_version"] = version
        for key in ("minutes", "elapsed_seconds", "steps", "planned_steps", "steps_per_second"):
            if version < 5:
                metadata.pop(key, None)

    (tmp_path / "old").mkdir()
    path = rewrite_metadata(first.best_checkpoint,
                            tmp_path / "old" / os.path.basename(first.best_checkpoint),
                            as_older_format)
    with h5py.File(path, "a") as handle:  # the optimizer's state without those variables
        group = handle[f"{TRAINING_STATE_GROUP}/optimizer"]
        paths = [name.decode() for name in group.attrs["paths"]]
        kept = [(name, group[f"{n:04d}"][()]) for n, name in enumerate(paths)
                if name.split("/")[-1] not in missing]
        assert len(kept) == len(paths) - len(missing)
        for n in range(len(paths)):
            del group[f"{n:04d}"]
        for n, (_, value) in enumerate(kept):
            group[f"{n:04d}"] = value
        group.attrs["paths"] = [name for name, _ in kept]
    resumed = train(parse_args(["--resume", path, "--epochs", "3"]), verbose=0)
    assert [float(row["learning_rate"]) for row in resumed.history][-1] == 0
    assert optimizer_steps(resumed.best_checkpoint) == (30, 30)


@pytest.mark.slow
def test_given_its_plan_a_resumed_budget_run_is_bit_for_bit_the_uninterrupted_one(
        text_path, tmp_path, monkeypatch):
    """The plan is the only part of a budget run that depends on the clock: fixed here (step
    100, made at step 51, re-fitted to step 110 at step 55), a run stopped at epoch 1 and
    resumed ends with every weight, moment and step count of the run that was never
    stopped."""

    def fixed_plan(self):
        self.model  # noqa: B018 - writes JAX's state back, as TimeBudget._plan does
        if self.steps == 51:  # the first plan
            self.cosine.replan(self.steps, 100)
            self.planned_steps, self.steps_per_second = 100, 1.0
        if self.steps == 55:  # a re-plan: the cosine goes on from where it was at step 55
            self.cosine.replan(self.steps, 110)
            self.planned_steps = 110

    monkeypatch.setattr(TimeBudget, "_plan", fixed_plan)
    flags = ["--text", text_path, *TINY, "--minutes", "5", "--lr-schedule", "cosine",
             "--learning-rate", "0.02", "--warmup-steps", "5", "--steps-per-epoch", "60",
             "--units", "16"]
    whole, interrupted = tmp_path / "whole", tmp_path / "interrupted"
    train(parse_args([*flags, "--checkpoint-dir", str(whole)]), verbose=0)
    assert [row["epoch"] for row in history(whole)] == ["1", "2"]
    assert history(whole)[-1]["checkpoint"], "the cut epoch did not improve: retune the test"

    stop_interrupting = interrupt_after_epoch(monkeypatch, 1)
    assert train(parse_args([*flags, "--checkpoint-dir", str(interrupted)]),
                 verbose=0).interrupted
    stop_interrupting()
    train(parse_args(["--resume", str(interrupted / checkpoints(interrupted)[-1])]), verbose=0)
    assert checkpoints(interrupted) == checkpoints(whole)
    final_whole = every_dataset(whole / checkpoints(whole)[-1])
    final_resumed = every_dataset(interrupted / checkpoints(interrupted)[-1])
    assert final_whole.keys() == final_resumed.keys()
    for key in final_whole:
        assert np.array_equal(final_whole[key], final_resumed[key]), key
    assert optimizer_steps(whole / checkpoints(whole)[-1]) == (110, 110)
