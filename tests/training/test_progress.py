"""Progress on stderr: Keras' bar only on a terminal, where a log line never lands in the
middle of it; in a pipe, a file or a notebook, plain lines (test_commands checks a real pipe)."""

import contextlib
import io
import os
import pty
import subprocess
import sys

import pytest

from charlstm.cli import train_main
from charlstm.logs import end_open_line, log, progress_stream, show_progress_bar
from conftest import ROOT

TINY = ("--epochs", "1", "--units", "8", "--seq-length", "10", "--batch-size", "32",
        "--seed", "3")


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, as a real one does."""

    def isatty(self):
        return True


def train_on(stderr, *argv):
    """train.py in this process with this stderr: (exit status, stdout, stderr)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(stderr):
        try:
            train_main(list(argv), prog="train.py")
        except SystemExit as exit:
            status = exit.code
    return status, out.getvalue(), stderr.getvalue()


def test_a_log_line_ends_an_open_progress_line_first():
    screen = Terminal()
    with contextlib.redirect_stderr(screen):
        progress_stream().write("\r 3/10 ━━━ 2s/step")
        log("a line of its own")
        progress_stream().write("\r 4/10 ━━━ 2s/step\n")
        log("after the bar's own end")
        end_open_line()  # nothing open: nothing written
    assert screen.getvalue() == ("\r 3/10 ━━━ 2s/step\na line of its own\n"
                                 "\r 4/10 ━━━ 2s/step\nafter the bar's own end\n")


def test_an_error_during_a_bar_gets_its_own_line():
    from charlstm.cli import run
    from charlstm.errors import UserError

    def command():
        progress_stream().write("\r 3/10 ━━━ 2s/step")
        raise UserError("no space left on device")

    screen = Terminal()
    with contextlib.redirect_stderr(screen), pytest.raises(SystemExit):
        run(command, "train.py")
    assert screen.getvalue().endswith("2s/step\ntrain.py: error: no space left on device\n")


def test_no_bar_unless_stderr_is_a_terminal():
    assert not show_progress_bar() or sys.stderr.isatty()
    with contextlib.redirect_stderr(io.StringIO()):
        assert not show_progress_bar()  # a pipe, a file, a Jupyter kernel's stream
    with contextlib.redirect_stderr(Terminal()):
        assert show_progress_bar()


def test_keras_bar_draws_on_stderr_and_a_log_line_ends_it_first():
    from charlstm.model.keras_compat import EpochProgress

    progress = EpochProgress()
    progress.set_params({"verbose": 1, "epochs": 2, "steps": 10})
    screen, out = Terminal(), io.StringIO()
    with contextlib.redirect_stderr(screen), contextlib.redirect_stdout(out):
        progress.on_epoch_begin(0)
        progress.on_train_batch_end(0, {"loss": 3.5})
        log("time budget: a line of its own")
    assert out.getvalue() == ""
    lines = screen.getvalue().split("\n")
    assert lines[0] == "Epoch 1/2" and "1/10" in lines[1] and "loss: 3.5000" in lines[1]
    assert lines[2] == "time budget: a line of its own"


@pytest.mark.slow  # 8-12 s on 2 cores: keeps the quick tier within 5 minutes
def test_on_a_terminal_the_bar_is_on_stderr_and_log_lines_start_their_own_line(
        tiny_text_path, tmp_path):
    # --minutes logs its "time budget:" line after the first step, while the bar is drawn.
    status, out, err = train_on(Terminal(), "--text", tiny_text_path, *TINY, "--minutes",
                                "0.02", "--checkpoint-dir", str(tmp_path))
    assert status == 0, err
    assert out.splitlines()[0].startswith("Total Characters: ") and len(out.splitlines()) == 3
    assert "\r" in err and "━" in err  # Keras' bar, on stderr
    lines = err.split("\n")
    assert lines[0].startswith("device: ")
    budget = [line for line in lines if "time budget:" in line]
    summary = [line for line in lines if "epoch 1/1 loss " in line]
    assert len(budget) == 1 and budget[0].startswith("time budget: "), budget
    assert len(summary) == 1 and summary[0].startswith("epoch 1/1 loss "), summary


@pytest.mark.slow  # a real process under a pseudo-terminal: Keras' start-up, ~30 s on 2 cores
def test_under_a_real_terminal_log_lines_start_their_own_line(tiny_text_path, tmp_path):
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "train.py"), "--text", tiny_text_path, *TINY,
         "--minutes", "0.02", "--checkpoint-dir", str(tmp_path)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, cwd=ROOT)
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    out = process.stdout.read().decode()
    assert process.wait(timeout=120) == 0, screen.decode(errors="replace")
    os.close(controller)
    text = screen.decode().replace("\r\n", "\n")  # the terminal's own line ends
    assert "━" in text and "━" not in out and "\x1b" not in out
    lines = text.split("\n")
    assert [line for line in lines if "device: " in line][0].startswith("device: ")
    for word in ("time budget: ", "epoch 1/1 loss "):
        found = [line for line in lines if word in line]
        assert len(found) == 1 and found[0].startswith(word), found
