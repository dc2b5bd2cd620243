"""Model selection on held-out text (issue 32, part 1): with --validation-split, best-only
checkpoints track val_loss unless --monitor is given, so the run's summary line,
charlstm.train().best_checkpoint and generate.py's default pick are one file; --preset fast
holds out 10%, and an explicit --validation-split 0 still wins."""

import re

import charlstm
from charlstm.checkpoints.run_folder import default_weights
from charlstm.config import resolve
from conftest import TINY_TEXT, history, run_main

# A run that overfits the tiny text: its training loss keeps falling after its held-out loss
# has turned, so tracking loss would name another file than the held-out best.
OVERFIT = ["--epochs", "8", "--learning-rate", "0.02", "--units", "48", "--seq-length", "10",
           "--batch-size", "16", "--seed", "3", "--validation-split", "0.3"]


def test_the_summary_the_api_and_generate_name_the_same_held_out_best(tmp_path):
    text = tmp_path / "tiny.txt"
    text.write_text(TINY_TEXT)
    folder = tmp_path / "cli"
    result = run_main("train.py", "--text", str(text), "--checkpoint-dir", str(folder),
                      *OVERFIT)
    assert result.returncode == 0, result.stderr
    assert "best-only checkpoints track val_loss" in result.stderr
    named = re.search(r"done: best checkpoint (\S+)", result.stderr).group(1)
    rows = history(folder)
    best_row = min(rows, key=lambda row: float(row["val_loss"]))
    assert named.endswith(best_row["checkpoint"]) or best_row["checkpoint"] in named
    assert default_weights(str(folder)) == named
    # The run overfits: the lowest training loss is at a later epoch than the held-out best.
    lowest_loss = min(rows, key=lambda row: float(row["loss"]))
    assert int(lowest_loss["epoch"]) > int(best_row["epoch"])

    api_folder = tmp_path / "api"
    settings = dict(zip([flag.lstrip("-").replace("-", "_") for flag in OVERFIT[::2]],
                        [float(value) if "." in value else int(value)
                         for value in OVERFIT[1::2]]))
    trained = charlstm.train(text=str(text), checkpoint_dir=str(api_folder), verbose=0,
                             **settings)
    assert trained.monitor == "val_loss"
    assert default_weights(str(api_folder)) == trained.best_checkpoint
    assert trained.best_checkpoint.replace(str(api_folder), "") == \
        named.replace(str(folder), "")


def test_monitor_follows_the_split_unless_given():
    assert resolve({}).monitor == "loss"
    assert resolve({"validation_split": 0.1}).monitor == "val_loss"
    assert resolve({"validation_split": 0.1, "monitor": "loss"}).monitor == "loss"
    fast = resolve({"preset": "fast"})
    assert (fast.validation_split, fast.monitor) == (0.1, "val_loss")
    plain = resolve({"preset": "fast", "validation_split": 0})
    assert (plain.validation_split, plain.monitor) == (0.0, "loss")
