"""--preset fast picks its regularisation from the steps the run will get (issue 32): from
--max-steps or --epochs, or with --minutes from a probe of the model's speed on this machine
(presets.BY_STEPS). Settings given explicitly win; a resumed run keeps its checkpoint's."""

from charlstm import presets
from charlstm.checkpoints.format import load_checkpoint
from conftest import TINY_TEXT, checkpoints, run_main

SMALL = ["--units", "8", "--seq-length", "10", "--batch-size", "8", "--seed", "3",
         "--steps-per-epoch", "10"]


def test_the_first_row_is_the_preset_as_tuned():
    first_step, settings = presets.BY_STEPS["fast"][0]
    assert first_step == 0
    assert all(presets.FAST.get(name, 0.0) == value for name, value in settings.items())
    steps = [first for first, _ in presets.BY_STEPS["fast"]]
    assert steps == sorted(steps)


def test_a_step_budget_picks_the_row_it_reaches_and_explicit_settings_win():
    many = run_main("train.py", "--preset", "fast", "--max-steps", "8000", "--dry-run")
    assert many.returncode == 0, many.stderr[-2000:]
    row = presets.for_steps("fast", 8000)
    assert row != presets.for_steps("fast", 1000)
    shown = ", ".join(f"{name.replace('_', ' ')} {value:g}" for name, value in row.items())
    assert f"--preset fast for about 8,000 steps (--max-steps): {shown}" in many.stderr
    assert "input_dropout (Dropout)" in many.stdout + many.stderr  # the model it builds

    few = run_main("train.py", "--preset", "fast", "--max-steps", "1000", "--dry-run")
    assert "--preset fast for about 1,000 steps (--max-steps): dropout 0.2, input dropout 0, " \
           "weight decay 0" in few.stderr
    assert "input_dropout (Dropout)" not in few.stdout + few.stderr

    mine = run_main("train.py", "--preset", "fast", "--max-steps", "8000", "--dropout", "0.25",
                    "--dry-run")
    line = next(line for line in mine.stderr.splitlines() if "for about" in line)
    assert "steps (--max-steps): input dropout" in line and " dropout 0.25" not in line


def test_a_time_budget_probes_the_speed_and_a_resume_keeps_the_choice(tmp_path, monkeypatch):
    # A table whose second row starts at 10 steps: any machine probes faster than that.
    rows = ((0, {"dropout": 0.2, "input_dropout": 0.0, "weight_decay": 0.0}),
            (10, {"dropout": 0.3, "input_dropout": 0.1, "weight_decay": 0.05}))
    monkeypatch.setitem(presets.BY_STEPS, "fast", rows)
    text = tmp_path / "tiny.txt"
    text.write_text(TINY_TEXT * 4)
    result = run_main("train.py", "--text", str(text), "--preset", "fast", *SMALL,
                      "--minutes", "0.05", "--checkpoint-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(line for line in result.stderr.splitlines() if "for about" in line)
    assert "probe steps x 0.05 minutes): dropout 0.3, input dropout 0.1, weight decay 0.05" \
        in line, line
    path = str(tmp_path / checkpoints(tmp_path)[-1])
    metadata = load_checkpoint(path).metadata
    assert (metadata["dropout"], metadata["input_dropout"], metadata["weight_decay"]) == \
        (0.3, 0.1, 0.05)
    resumed = run_main("train.py", "--resume", path, "--minutes", "0.1")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "for about" not in resumed.stderr  # no second choice: the checkpoint's settings
    assert "weight decay 0.05" in resumed.stderr


def test_a_dry_run_of_a_time_budget_says_when_the_choice_is_made():
    result = run_main("train.py", "--preset", "fast", "--dry-run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "measured when a single-machine run starts" in result.stderr
    assert "input_dropout (Dropout)" not in result.stdout + result.stderr
