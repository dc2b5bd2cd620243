"""The bundled model (charlstm/bundled/alice.hdf5): what generate.py, evaluate.py and the API
use when no --weights is given and the checkpoint folder holds none, so that a new user reads
Alice before any training; it ships inside the package."""

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import h5py
import pytest

import charlstm
from charlstm.checkpoints.run_folder import BUNDLED_MODEL

from conftest import ROOT, run_main, train_args
from charlstm.training.run import train


def test_the_bundled_model_is_small_made_by_the_fast_preset_and_carries_no_training_state():
    assert os.path.getsize(BUNDLED_MODEL) <= 5 * 1024 * 1024
    with h5py.File(BUNDLED_MODEL) as handle:
        assert "charlstm_training_state" not in handle
        metadata = json.loads(handle.attrs["charlstm"])
    assert metadata["preset"] == "fast" and metadata["minutes"] == 10
    assert metadata["text_path"] == "wonderland.txt"  # no path of the machine that made it
    assert metadata["val_loss"] < 1.5  # trained, not a fresh model (ln 43 = 3.76)


def test_generate_with_nothing_given_writes_alice_with_the_bundled_model(tmp_path):
    result = run_main("generate.py", "--length", "60", "--prime", "alice was ", "--raw",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"using the bundled model {BUNDLED_MODEL}" in result.stderr
    assert "train your own with python train.py" in result.stderr
    assert len(result.stdout) == 61 and result.stdout.strip()
    # Trained: greedy Alice text after "alice was " is made of words, not noise.
    assert result.stdout.count(" ") >= 5


def test_a_missing_weights_file_stays_an_error(tmp_path):
    result = run_main("generate.py", "--weights", str(tmp_path / "missing.hdf5"), cwd=tmp_path)
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "bundled" not in result.stderr


def test_evaluate_and_the_api_use_it_when_the_folder_holds_no_checkpoint(tmp_path):
    text = tmp_path / "short.txt"
    text.write_text("alice was beginning to get very tired of sitting by her sister on the "
                    "bank, and of having nothing to do: once or twice she had peeped into "
                    "the book her sister was reading.")
    result = run_main("evaluate.py", "--text", str(text), "--checkpoint-dir",
                      str(tmp_path / "none-yet"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "using the bundled model" in result.stderr and "all: loss" in result.stdout
    api = charlstm.generate(checkpoint_dir=str(tmp_path), prime="alice was ", length=40,
                            stateful=True, verbose=0)
    command = run_main("generate.py", "--weights", BUNDLED_MODEL, "--prime", "alice was ",
                       "--length", "40", "--stateful", "--raw")
    assert api + "\n" == command.stdout


def test_a_checkpoint_in_the_folder_wins_over_the_bundled_model(tmp_path, capsys):
    train(train_args(text=os.path.join(ROOT, "wonderland.txt"), checkpoint_dir=str(tmp_path),
                     epochs=1, steps_per_epoch=2), verbose=0)
    result = run_main("generate.py", "--length", "5", "--prime", "alice", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "bundled" not in result.stderr and "weights-improvement-01" in result.stderr


@pytest.mark.slow
def test_the_wheel_carries_every_module_the_bundled_model_and_the_page(tmp_path):
    """pip install . gets them too: every subpackage, and the package data, are in the wheel
    it builds (built from a copy, since pip builds a local project in place and would leave
    build/ behind), and every module imports from the wheel alone."""
    source = tmp_path / "source"
    shutil.copytree(os.path.join(ROOT, "charlstm"), source / "charlstm",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "wonderland.txt"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(tmp_path), str(source)], check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("charlstm-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "charlstm/bundled/alice.hdf5" in names
    assert {"charlstm/web/index.html", "charlstm/web/page.js"} <= set(names)
    in_repository = {os.path.relpath(path, ROOT).replace(os.sep, "/") for path in
                     glob.glob(os.path.join(ROOT, "charlstm", "**", "*.py"), recursive=True)}
    assert in_repository <= set(names)
    # Imported from the unpacked wheel, in a folder without the repository on the path.
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    modules = sorted(name[:-3].replace("/", ".").removesuffix(".__init__")
                     for name in names if name.endswith(".py"))
    imported = subprocess.run(
        [sys.executable, "-c", "import importlib\n"
         f"for name in {modules!r}:\n"
         f"    assert importlib.import_module(name).__file__.startswith({str(unpacked)!r})\n"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(unpacked)}, capture_output=True,
        text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr[-2000:]
