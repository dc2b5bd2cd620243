"""--minutes with the cosine keeps its budget when the machine's speed changes in the middle of
a run: the plan made from the first steps is fitted again every REPLAN_SHARE of the budget,
and the cosine goes on smoothly to the new end (issue 32, part 3).

The fast tests train a real tiny model whose clock (TimeBudget's perf_counter) advances by a
set time a step, so that "a load starts" is exact and the test takes seconds; the slow one
starts a real load, processes that keep both CPUs busy, half-way through a real run."""

import math
import re
import subprocess
import sys
import time
import types

import pytest

from charlstm.model.optimizer import PlannedCosine
from charlstm.training import callbacks
from charlstm.training.callbacks import TimeBudget
from conftest import history, run_main

TINY = ["--units", "8", "--seq-length", "10", "--batch-size", "8", "--seed", "3",
        "--lr-schedule", "cosine", "--warmup-steps", "10", "--steps-per-epoch", "400"]


def spent(stderr):
    """(seconds of training, the budget in seconds, step, planned step) from the log."""
    match = re.search(r"time budget spent at .*: ([\d.]+)s of training \(the budget ([\d.]+)s\), "
                      r"step (\d+) of (\d+) planned", stderr)
    assert match, stderr[-3000:]
    return float(match[1]), float(match[2]), int(match[3]), int(match[4])


def simulated_clock(monkeypatch, seconds_a_step):
    """TimeBudget's clock advances by seconds_a_step(step) at each step, and by nothing
    otherwise: a machine whose speed the test sets."""
    clock = types.SimpleNamespace(now=1000.0)
    fake_time = types.SimpleNamespace(perf_counter=lambda: clock.now, time=time.time,
                                      localtime=time.localtime, strftime=time.strftime)
    monkeypatch.setattr(callbacks, "time", fake_time)
    original = TimeBudget.on_train_batch_end

    def timed(self, batch, logs=None):
        clock.now += seconds_a_step(self.steps + 1)
        original(self, batch, logs)

    monkeypatch.setattr(TimeBudget, "on_train_batch_end", timed)


@pytest.mark.parametrize("change, before, after", [
    ("a load starts", 0.05, 0.1),   # without re-plans: 90 s of a 60 s budget
    ("a load stops", 0.1, 0.05),    # without re-plans: over after 45 s
])
def test_the_budget_is_kept_when_the_speed_changes_mid_run(text_path, tmp_path, monkeypatch,
                                                           change, before, after):
    # 20 (or 10) steps a second until 30 s into the one-minute budget, then twice as slow
    # (or fast). The first step compiles and is not timed; step 2 starts the clock.
    switch = 2 + round(30 / before)
    simulated_clock(monkeypatch, lambda step: before if step < switch else after)
    result = run_main("train.py", "--text", text_path, *TINY, "--minutes", "1",
                      "--checkpoint-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    first = int(re.search(r"time plan: .* reaches 0 at step (\d+)", result.stderr)[1])
    assert first == pytest.approx(60 / before, rel=0.05)  # the first plan: the early speed
    assert "time plan revised:" in result.stderr
    seconds, budget, step, planned = spent(result.stderr)
    assert budget == 60 and step == planned
    assert abs(seconds - budget) <= 0.05 * budget, result.stderr[-3000:]
    assert planned == pytest.approx(30 / before + 30 / after, rel=0.05)
    rates = [float(row["learning_rate"]) for row in history(tmp_path)]
    assert rates[-1] == 0


def test_a_replan_keeps_the_learning_rate_and_ends_the_cosine_at_the_new_end():
    import keras

    schedule = PlannedCosine(0.01, 10)
    schedule.end, schedule.from_step, schedule.from_progress = (
        keras.Variable(value, dtype="float32") for value in (110.0, 0.0, 0.0))

    def rate(step):
        return float(keras.ops.convert_to_numpy(schedule(step)))

    assert rate(60) == pytest.approx(0.005, rel=1e-4)  # half-way along 10-110
    schedule.replan(60, 160)  # the machine slowed down: the rest takes twice the steps
    assert rate(60) == pytest.approx(0.005, rel=1e-4)  # no jump
    assert rate(110) == pytest.approx(0.01 * 0.5 * (1 + math.cos(math.pi * 0.75)), rel=1e-4)
    assert rate(160) == 0 and rate(200) == 0
    schedule.replan(110, 130)  # and sped up again
    assert rate(110) == pytest.approx(0.01 * 0.5 * (1 + math.cos(math.pi * 0.75)), rel=1e-4)
    assert rate(120) == pytest.approx(0.01 * 0.5 * (1 + math.cos(math.pi * 0.875)), rel=1e-4)
    assert rate(130) == 0


@pytest.mark.slow  # 40 s of real training under a real load
def test_a_real_load_that_starts_mid_run_does_not_overrun_the_budget(text_path, tmp_path):
    burn = "import time\nend = time.time() + 60\nwhile time.time() < end: pass\n"
    command = [sys.executable, "train.py", "--text", text_path, *TINY, "--units", "64",
               "--minutes", "0.5", "--checkpoint-dir", str(tmp_path)]
    run = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                           cwd=callbacks.__file__.rsplit("/charlstm/", 1)[0])
    burners = []
    try:
        for line in run.stderr:  # the load starts 10 s after the first plan
            if line.startswith("time plan:"):
                time.sleep(10)
                burners = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(4)]
                break
        stderr = run.stderr.read()
        assert run.wait(timeout=120) == 0, stderr[-3000:]
    finally:
        for burner in burners:
            burner.kill()
        run.kill()
    seconds, budget, step, planned = spent(stderr)
    assert step == planned and abs(seconds - budget) <= 0.05 * budget, stderr[-3000:]
