"""--max-steps N (issue 32): a run trains for N optimizer steps in all, stopping mid-epoch if
need be with that epoch checkpointed, the cosine reaching 0 there; it replaces a preset's
--minutes, so a recipe can be swept by steps, the same on any machine."""

from charlstm.checkpoints.format import load_checkpoint
from charlstm.config import UNBOUNDED_EPOCHS, resolve
from conftest import TINY_TEXT, checkpoints, history, run_main

TINY = ["--units", "8", "--seq-length", "10", "--batch-size", "8", "--seed", "3",
        "--steps-per-epoch", "10", "--lr-schedule", "cosine"]


def test_a_run_stops_at_its_step_limit_with_the_cosine_at_0(tmp_path):
    text = tmp_path / "tiny.txt"
    text.write_text(TINY_TEXT)
    result = run_main("train.py", "--text", str(text), *TINY, "--max-steps", "25",
                      "--checkpoint-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cosine to 0 at step 25" in result.stderr
    assert "step limit reached: step 25 (--max-steps 25); epoch 3 ends here" in result.stderr
    rows = history(tmp_path)
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert float(rows[-1]["learning_rate"]) == 0
    last = load_checkpoint(str(tmp_path / checkpoints(tmp_path)[-1])).metadata
    # The newest checkpoint (epoch 3's if the cut epoch improved) records its step.
    assert last["max_steps"] == 25 and last["steps"] == min(10 * last["epoch"], 25)
    # --resume with a larger limit trains the rest, counting the steps already done.
    resumed = run_main("train.py", "--resume", str(tmp_path / checkpoints(tmp_path)[-1]),
                       "--max-steps", "32")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "step limit reached: step 32" in resumed.stderr
    again = run_main("train.py", "--resume", str(tmp_path / checkpoints(tmp_path)[0]),
                     "--max-steps", "5")  # its first checkpoint is at step 10
    assert again.returncode == 1
    assert "give a larger --max-steps to train further" in again.stderr


def test_a_step_budget_replaces_the_presets_minutes():
    fast = resolve({"preset": "fast", "max_steps": 4000})
    assert (fast.minutes, fast.max_steps, fast.epochs) == (None, 4000, UNBOUNDED_EPOCHS)
    both = resolve({"preset": "fast", "max_steps": 4000, "minutes": 5})
    assert (both.minutes, both.max_steps) == (5, 4000)
    assert resolve({"max_steps": 10, "epochs": 3}).epochs == 3
    assert resolve({}).max_steps is None
