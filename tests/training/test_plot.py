"""history.png after a run, plot.py, and a run without matplotlib."""

import os
import sys

import pytest

import charlstm
from charlstm.errors import UserError
from charlstm.training.plotting import read_history
from charlstm.training.run import train
from conftest import run_main, train_args

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(tiny_text_path, tmp_path_factory):
    pytest.importorskip("matplotlib")
    directory = tmp_path_factory.mktemp("plotted")
    result = train(train_args(text=tiny_text_path, epochs=3, validation_split=0.3,
                              checkpoint_dir=str(directory)), verbose=0)
    return directory, result


def test_a_run_draws_history_png_beside_history_csv(trained):
    directory, _ = trained
    with open(directory / "history.png", "rb") as handle:
        assert handle.read(8) == PNG_SIGNATURE
    epochs, losses, validation, checkpoints = read_history(str(directory / "history.csv"))
    assert epochs == [1, 2, 3] and len(validation) == 3 and checkpoints


def test_a_resumed_run_redraws_it(trained, tiny_text_path):
    directory, result = trained
    before = os.path.getmtime(directory / "history.png")
    os.utime(directory / "history.png", (before - 100, before - 100))
    train(train_args(text=tiny_text_path, resume=result.best_checkpoint, epochs=4), verbose=0)
    assert os.path.getmtime(directory / "history.png") > before - 100
    assert read_history(str(directory / "history.csv"))[0] == [1, 2, 3, 4]


def test_plot_py_compares_runs(trained, tmp_path):
    directory, _ = trained
    history = str(directory / "history.csv")
    output = tmp_path / "compare.png"
    result = run_main("plot.py", history, history, "--output", str(output))
    assert result.returncode == 0 and result.stdout.strip() == str(output)
    assert output.read_bytes()[:8] == PNG_SIGNATURE
    assert charlstm.plot(history, output=str(tmp_path / "one.png")).endswith("one.png")


def test_without_matplotlib_the_run_succeeds_and_says_how_to_get_the_plot(
        tiny_text_path, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    result = run_main("train.py", "--text", tiny_text_path, "--epochs", "1", "--units", "8",
                      "--seq-length", "10", "--batch-size", "32", "--checkpoint-dir",
                      str(tmp_path))
    assert result.returncode == 0 and not (tmp_path / "history.png").exists()
    err = result.stderr
    assert "no loss plot: matplotlib is not installed: pip install matplotlib" in err
    assert f"python plot.py {tmp_path / 'history.csv'}" in err
    result = run_main("plot.py", str(tmp_path / "history.csv"))
    assert result.returncode == 1 and "matplotlib is not installed" in result.stderr


@pytest.mark.parametrize("content, message", [
    (None, "No such file or directory"),
    ("a,b\n1,2\n", "has no epoch and loss columns"),
    ("epoch,loss\n", "has no epochs yet"),
    ("epoch,loss\n1,high\n", "has a row that is not numbers"),
])
def test_bad_history_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "history.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=message):
        read_history(str(path))
