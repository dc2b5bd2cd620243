"""Shared fixtures and helpers: tiny corpora and a tiny trained checkpoint, made fresh for the
session, the commands run in this process or in a real one, and readers of a run's folder.
Test modules import helpers from here, never from each other."""

import contextlib
import csv
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from charlstm.system.backend import import_keras  # noqa: E402
from charlstm.checkpoints.format import METADATA_ATTRIBUTE  # noqa: E402
from charlstm.cli import (evaluate_main, export_main, generate_main, plot_main,  # noqa: E402
                          train_main)
from charlstm.config import resolve  # noqa: E402
from charlstm.checkpoints.run_folder import parse_checkpoint_name  # noqa: E402
from charlstm.logs import show_on_stderr  # noqa: E402
from helpers import (CHROMEDRIVER, CHROMIUM, asgi_request, start_chromium,  # noqa: E402,F401
                     start_server, tutorial_loop, wait_for_state)

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
    from charlstm.training.callbacks import BestOnlyCheckpoint

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
    until the next call, and tests that call charlstm.training.run.train directly set none."""
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


def start(*args, cwd=ROOT, stdout=subprocess.PIPE):
    """A project command (train.py, generate.py) started in a subprocess, text mode, for a
    test to signal or kill: stdout piped (None: thrown away), stderr piped."""
    return subprocess.Popen([sys.executable, *args], cwd=cwd, stdout=stdout or subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def one_line(result, status=1, alone=False):
    """The command failed with `status` (any failure where status is None), with no traceback
    and its error on stderr's last line, "PROG: error: ..."; alone: that line is all of
    stderr. Returns the line."""
    if status is None:
        assert result.returncode != 0, result.stderr[-2000:]
    else:
        assert result.returncode == status, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    if alone:
        assert len(lines) == 1, result.stderr
    last = lines[-1]
    assert ": error: " in last, last
    return last


# Tiny runs for --resume: dropout and input dropout on, so that a resume must carry the
# random state too; each kind of model a resume must carry bit for bit.
RESUME_FLAGS = ["--units", "8", "--seq-length", "10", "--batch-size", "32", "--seed", "7",
                "--dropout", "0.3", "--input-dropout", "0.1"]
KINDS = {
    "lstm": [],
    "gru": ["--cell", "gru"],
    "embedding": ["--input-encoding", "embedding", "--embedding-size", "8"],
}


def run(text, directory, *flags, kind="lstm"):
    """train.py's settings (RESUME_FLAGS, the kind's flags, then flags) trained into
    directory, in this process; the path of its last checkpoint."""
    from charlstm.training.run import train
    from train import parse_args

    train(parse_args(["--text", text, "--checkpoint-dir", str(directory), *RESUME_FLAGS,
                      *KINDS[kind], *flags]))
    return str(directory / checkpoints(directory)[-1])


@pytest.fixture(scope="module")
def kind():
    """The kind of model two_epochs trains: an LSTM, unless the test parametrizes kind,
    @pytest.mark.parametrize("kind", [...], scope="module")."""
    return "lstm"


@pytest.fixture(scope="module")
def two_epochs(kind, tiny_text_path, tmp_path_factory):
    """The folder of a 2-epoch run of a tiny model of that kind: the first half of a 4-epoch
    one."""
    directory = tmp_path_factory.mktemp(f"two_epochs_{kind}")
    run(tiny_text_path, directory, "--epochs", "2", kind=kind)
    return directory


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
    from charlstm.checkpoints.run_folder import find_best_checkpoint
    from charlstm.training.run import train

    directory = str(tmp_path_factory.mktemp("checkpoints"))
    train(train_args(text=tiny_text_path, epochs=3, checkpoint_dir=directory))
    return find_best_checkpoint(directory)


# A list for --documents lines: words of the tiny text's opening, one a line, repeated.
LIST_TEXT = "\n".join(("alice was beginning to get very tired of sitting by her sister on the "
                       "bank and of having nothing to do once or twice she had peeped into the "
                       "book her sister was reading").split() * 3) + "\n"


@pytest.fixture(scope="session")
def list_checkpoint(tmp_path_factory):
    """(checkpoint, list path): a 3-epoch run of a tiny model on LIST_TEXT, in lines mode."""
    from charlstm.training.run import train

    folder = tmp_path_factory.mktemp("list")
    path = folder / "list.txt"
    path.write_text(LIST_TEXT)
    result = train(train_args(text=str(path), documents="lines", epochs=3, units=16,
                              checkpoint_dir=str(folder / "runs")), verbose=0)
    return result.best_checkpoint, str(path)


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A real headless Chromium (helpers.start_chromium). Where it is missing the test skips
    with the reason, but never under CI (CI=true), where .ci/run installs it: there a missing
    browser fails."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    if missing:
        reason = (f"{' and '.join(missing)} missing: apt-get install chromium "
                  "chromium-driver")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"),
                            "--window-size=1100,900")
    yield driver
    driver.quit()


def text_grows_in_steps(driver, seconds=60):
    """Whether the page's #output, once generation is under way, shows at least three
    different non-empty lengths: the text appears as it is made, not all at the end."""
    seen = set()
    deadline = time.time() + seconds
    while time.time() < deadline and len(seen) < 3:
        seen.add(len(driver.execute_script(
            "return document.getElementById('output').textContent")))
        seen.discard(0)
        time.sleep(0.02)
    return len(seen) >= 3


def stop_on_the_page(driver, length):
    """Press Stop during a generation of `length` characters: the page says "stopped", part
    of the text is there, and nothing more arrives. Returns how much there is."""
    driver.find_element("id", "stop").click()
    assert wait_for_state(driver, "stopped") == "stopped"
    output = "return document.getElementById('output').textContent"
    stopped_at = len(driver.execute_script(output))
    assert 0 < stopped_at < length
    time.sleep(0.5)
    assert len(driver.execute_script(output)) == stopped_at  # nothing more arrives
    return stopped_at


def stop(process, signal_number=signal.SIGTERM):
    """Signal a server process; its exit status."""
    process.send_signal(signal_number)
    return process.wait(timeout=30)


def request(port, method, path, body=None, raw=None):
    """(status, parsed JSON) of one real HTTP request to a server on 127.0.0.1."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    connection.request(method, path, body=data, headers={"content-type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, json.loads(payload)




def lively(topology, seed=4, bias_scale=1):
    """A model of topology with random weights scaled up and a random output bias (normal,
    times bias_scale), so that the argmax moves with the input: comparisons then really check
    window order, scaling and state."""
    import keras

    from charlstm.model.models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(topology)
    *weights, output_bias = model.get_weights()
    output_bias = np.random.default_rng(1).normal(size=output_bias.shape) * bias_scale
    model.set_weights([w * 8 for w in weights] + [output_bias])
    return model


def lively_model(layers, vocab_size=10, units=16, seed=4):
    """lively() of an LSTM of that many layers, its output bias 3 times larger: (model,
    topology)."""
    from charlstm.model.models import Topology

    topology = Topology(vocab_size=vocab_size, output_size=vocab_size, layers=layers, units=units)
    return lively(topology, seed, bias_scale=3), topology


def onestep_greedy(path, prime, length):
    """The greedy text of a one-step export (export.py --format onestep) at path, run as a
    client without charlstm runs it: the prime read one character at a time, then `length`
    characters, each the argmax fed back with the states."""
    import keras

    onestep = keras.saving.load_model(path)
    with open(path + ".json") as handle:
        description = json.load(handle)
    lookup = {char: index for index, char in enumerate(description["vocabulary"])}
    states = [np.zeros((1, description["units"]), np.float32) for _ in description["states"]]
    for char in prime:
        probabilities, *states = onestep.predict(
            [np.array([[lookup[char]]], np.int32), *states], verbose=0)
    text = []
    for _ in range(length):
        index = int(np.argmax(probabilities[0]))
        text.append(description["vocabulary"][index])
        probabilities, *states = onestep.predict([np.array([[index]], np.int32), *states],
                                                 verbose=0)
    return "".join(text)
