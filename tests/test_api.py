"""The Python API a notebook uses: charlstm.train / generate / stream / samples / load /
evaluate, with the commands' behaviour and messages, and no Keras at import."""

import ast
import os
import pkgutil
import subprocess
import sys

import pytest

import charlstm
from charlstm.checkpoints.format import load_checkpoint
from conftest import ROOT, run_command, run_main


# The modules that need Keras, and import it at their top. Everything else, the package, its
# API and its commands included, starts no backend when imported.
KERAS_MODULES = {"checkpoints.loading", "checkpoints.snapshots", "exporting.formats",
                 "generation.decoders", "generation.evaluation", "generation.generate",
                 "generation.items",
                 "model.keras_compat", "model.models", "model.optimizer", "serving.engine",
                 "serving.server", "system.devices", "text.feeding", "training.callbacks",
                 "training.resume", "training.run"}
BACKENDS = "{'tensorflow', 'keras', 'jax', 'torch'}"


def started_a_backend(code):
    result = subprocess.run([sys.executable, "-c", f"import sys\n{code}\n"
                             f"print(sorted({BACKENDS} & set(sys.modules)))"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] != "[]"


def test_importing_the_package_its_api_and_its_commands_starts_no_backend():
    assert not started_a_backend("import charlstm, charlstm.api, charlstm.cli\n"
                                 "import train, generate, evaluate, export, plot")


def imported_module(name, node):
    """The module a relative `from ...x import y` in charlstm.<name> reads, relative to
    charlstm: from .decoders in generation.generate is generation.decoders."""
    package = name.split(".")[:-1]
    base = package[:len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_the_keras_line_is_where_the_package_says():
    names = {module.name.removeprefix("charlstm.")
             for module in pkgutil.walk_packages(charlstm.__path__, "charlstm.")}
    assert KERAS_MODULES <= names
    light = sorted(names - KERAS_MODULES)
    assert not started_a_backend(f"import importlib\nfor name in {light!r}:\n"
                                 "    importlib.import_module('charlstm.' + name)")
    # Each Keras module imports it at its top: keras = import_keras(), or a Keras module.
    for name in KERAS_MODULES:
        path = os.path.join(ROOT, "charlstm", *name.split(".")) + ".py"
        tree = ast.parse(open(path).read())
        starts = [node for node in tree.body
                  if isinstance(node, ast.Assign) and ast.unparse(node) == "keras = import_keras()"
                  or isinstance(node, ast.ImportFrom) and node.level
                  and imported_module(name, node) in KERAS_MODULES]
        assert starts, f"{path} does not import Keras at its top"


@pytest.fixture(scope="module")
def notebook_run(tiny_text_path, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("notebook"))
    result = charlstm.train(text=tiny_text_path, epochs=2, units=16, seq_length=20,
                            batch_size=32, checkpoint_dir=directory, seed=1, verbose=0)
    return result, directory


def test_train_returns_the_best_checkpoint_and_the_history(notebook_run):
    result, directory = notebook_run
    assert os.path.dirname(result.best_checkpoint) == directory
    assert os.path.exists(result.best_checkpoint) and not result.interrupted
    assert [row["epoch"] for row in result.history] == ["1", "2"]
    best_row = min(result.history, key=lambda row: float(row["loss"]))
    assert float(best_row["loss"]) == pytest.approx(result.best_value, abs=1e-5)
    assert result.history[0]["device"] == result.device and result.device.startswith("CPU")
    assert load_checkpoint(result.best_checkpoint).metadata["units"] == 16


@pytest.mark.slow
def test_generate_returns_what_the_command_prints(notebook_run):
    result, _ = notebook_run
    # A real process for the plain call, this process (the same code) for the sampled one.
    for flags, runner in (([], run_command), (["--temperature", "1", "--seed", "5"], run_main)):
        command = runner("generate.py", "--weights", result.best_checkpoint, "--prime",
                         "alice was ", "--length", "50", "--raw", *flags)
        assert command.returncode == 0, command.stderr
        keywords = dict(temperature=1.0, seed=5) if flags else {}
        text = charlstm.generate(result.best_checkpoint, length=50, prime="alice was ",
                                 verbose=0, **keywords)
        assert command.stdout == text + "\n"
        assert "".join(charlstm.stream(result.best_checkpoint, length=50, prime="alice was ",
                                       verbose=0, **keywords)) == text


def test_samples_are_independent_and_repeatable(notebook_run):
    result, _ = notebook_run
    first = charlstm.samples(result.best_checkpoint, count=3, length=30, temperature=1.0,
                             seed=2, verbose=0)
    again = charlstm.samples(result.best_checkpoint, count=3, length=30, temperature=1.0,
                             seed=2, verbose=0)
    assert first == again and len(set(first)) == 3 and all(len(text) == 30 for text in first)


def test_load_gives_the_model_its_vocabulary_and_settings(notebook_run):
    result, _ = notebook_run
    model, vocabulary, settings, seq_length, checkpoint = charlstm.load(result.best_checkpoint)
    assert seq_length == 20 and settings["units"] == 16 and settings["batch_size"] == 32
    assert model.layers[-1].units == len(vocabulary) == len(checkpoint.vocabulary)


def test_evaluate_scores_each_part(notebook_run):
    result, _ = notebook_run
    scores = charlstm.evaluate(result.best_checkpoint, held_out=0.25, verbose=0)
    assert [score.part for score in scores] == ["all", "training part", "held-out tail"]
    assert scores[1].windows + scores[2].windows + 20 == scores[0].windows
    assert all(0 < score.loss < 10 for score in scores)


def test_quiet_training_prints_nothing(tiny_text_path, tmp_path, capsys):
    charlstm.train(text=tiny_text_path, epochs=1, units=8, seq_length=10, batch_size=64,
                   checkpoint_dir=str(tmp_path), seed=1, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("call, message", [
    (lambda: charlstm.train(text="missing.txt", verbose=0),
     "text file 'missing.txt' does not exist"),
    (lambda: charlstm.train(epochs=0, verbose=0), "epochs: 0 must be 1 or more"),
    (lambda: charlstm.train(epoch=3, verbose=0), "unknown setting 'epoch'"),
    (lambda: charlstm.train(targets="first", verbose=0), "targets: 'first' must be one of"),
    (lambda: charlstm.train(seed=-1, verbose=0), "seed: -1 must be between 0 and 4294967295"),
    (lambda: charlstm.generate("missing.hdf5", verbose=0),
     "weights file 'missing.hdf5' does not exist"),
    (lambda: charlstm.generate(checkpoint_dir=ROOT + "/README.md", verbose=0),
     "cannot list checkpoint directory"),
    (lambda: charlstm.generate(os.path.join(ROOT, "tests", "data", "format2",
                                            "weights-improvement-06-2.8997.hdf5"),
                               temperature=-1, verbose=0), "temperature: -1 must be 0 or more"),
])
def test_mistakes_raise_user_error_with_the_commands_words(call, message):
    with pytest.raises(charlstm.UserError, match=message.replace("*", r"\*")) as raised:
        call()
    assert isinstance(raised.value, ValueError) and "\n" not in str(raised.value)


@pytest.mark.slow
def test_the_command_prints_the_same_message(tmp_path):
    result = run_command(os.path.join(ROOT, "train.py"), "--text", "missing.txt",
                         cwd=str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "train.py: error: text file 'missing.txt' does not exist")
