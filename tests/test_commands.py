"""The commands themselves, run as a user runs them: subprocesses, real files."""

import csv
import importlib.util
import os
import signal
import subprocess
import sys
import time

import pytest

from charlstm.checkpoints.format import load_checkpoint
from charlstm.checkpoints.run_folder import parse_checkpoint_name
from conftest import ROOT, one_line, run_command, run_main, start


@pytest.fixture(scope="module")
def trained_dir(tiny_text_path, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("e2e"))
    result = run_command("train.py", "--text", tiny_text_path, "--epochs", "2", "--units", "8",
                         "--seq-length", "10", "--batch-size", "32", "--seed", "3",
                         "--checkpoint-dir", directory)
    assert result.returncode == 0, result.stderr
    return directory, result


def test_train_prints_the_tutorials_figures_and_writes_checkpoints(trained_dir):
    directory, result = trained_dir
    # Stdout is the tutorial's three figures and nothing else: no progress bar.
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "Total Characters", "Total Vocab", "Total Patterns"]
    # Stderr is a pipe here: plain lines, no bar's \x1b colours, \r or \b.
    for stream in (result.stdout, result.stderr):
        assert not {"\x1b", "\r", "\b"} & set(stream), repr(stream[-2000:])
    assert result.stderr.startswith("device: "), result.stderr[:500]
    summaries = [l for l in result.stderr.splitlines() if l.startswith("epoch ")]
    assert len(summaries) == 2 and summaries[0].startswith("epoch 1/2 loss ")
    assert "oneDNN" not in result.stderr and "cuda" not in result.stderr.lower()
    assert any(name.startswith("weights-improvement-01-") for name in os.listdir(directory))


@pytest.mark.slow
def test_generate_prints_the_tutorials_output(trained_dir):
    directory, _ = trained_dir
    result = run_command("generate.py", "--checkpoint-dir", directory, "--length", "50",
                         "--seed", "5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0] == "Seed:"
    seed_line = result.stdout.split("\n", 1)[1].split(' "\n', 1)[0]
    assert seed_line.startswith('" ') and len(seed_line) == 2 + 10
    generated = result.stdout.split(' "\n', 1)[1]
    assert generated.endswith("\nDone.\n") and len(generated) == 50 + len("\nDone.\n")
    assert "oneDNN" not in result.stderr and "Traceback" not in result.stderr
    again = run_main("generate.py", "--checkpoint-dir", directory, "--length", "50",
                     "--seed", "5")
    assert again.stdout == result.stdout


def test_generate_raw_prints_only_the_generated_text(trained_dir, tiny_text_path):
    directory, _ = trained_dir
    result = run_main("generate.py", "--checkpoint-dir", directory, "--length", "30",
                      "--prime", "Alice Was", "--raw")
    assert result.returncode == 0, result.stderr
    text = result.stdout[:-1]
    assert result.stdout.endswith("\n") and len(text) == 30
    vocabulary = load_checkpoint(os.path.join(directory, sorted(os.listdir(directory))[-1])).vocabulary
    assert not vocabulary.unknown_characters(text)


def test_help_shows_defaults_without_importing_keras():
    for command in ("train.py", "generate.py"):
        result = run_command(command, "--help")
        assert result.returncode == 0 and "(default:" in result.stdout
    # --help must not import Keras: check it in a clean interpreter.
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, runpy; sys.argv=['train.py','--help'];\n"
         "try: runpy.run_path('train.py', run_name='__main__')\n"
         "except SystemExit: pass\n"
         "print('KERAS' if 'keras' in sys.modules else 'NO-KERAS')"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert probe.stdout.strip().endswith("NO-KERAS")


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs: '0' must be 1 or more"),
    (["--batch-size", "-3"], "--batch-size: '-3' must be 1 or more"),
    (["--seq-length", "ten"], "--seq-length: 'ten' is not a whole number"),
    (["--dropout", "1.5"], "--dropout: '1.5' must be at least 0 and below 1"),
    (["--text", "no-such-file.txt"], "text file 'no-such-file.txt' does not exist"),
])
def test_train_flag_and_file_errors(flags, message):
    assert message in one_line(run_main("train.py", *flags), status=None, alone=True)


def test_train_text_errors(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1") * 50)
    (tmp_path / "short.txt").write_text("a" * 100)
    (tmp_path / "blocker").write_text("")
    cases = [
        (["--text", "empty.txt"], "is empty"),
        (["--text", "latin1.txt"], "is not UTF-8"),
        (["--text", "short.txt"], "must be longer than --seq-length (100)"),
        (["--text", os.path.join(ROOT, "wonderland.txt"), "--checkpoint-dir", "blocker/sub"],
         "is not writable"),
    ]
    for flags, message in cases:
        assert message in one_line(run_main("train.py", *flags, cwd=tmp_path), status=None,
                                    alone=True)


def test_generate_errors(trained_dir, tmp_path):
    directory, _ = trained_dir
    (tmp_path / "bad.hdf5").write_text("hello")
    cases = [
        (["--length", "0"], "--length: '0' must be 1 or more"),
        (["--weights", str(tmp_path / "missing.hdf5")], "does not exist"),
        (["--weights", str(tmp_path / "bad.hdf5")], "is not an HDF5 file"),
        # An empty folder means the bundled model (tests/checkpoints/test_bundled.py); a file is refused.
        (["--checkpoint-dir", str(tmp_path / "bad.hdf5")], "cannot list checkpoint directory"),
        (["--checkpoint-dir", directory, "--prime", "alice {}"], "'{', '}'"),
        (["--checkpoint-dir", directory, "--seq-length", "20"], "trained on windows of 10"),
        (["--temperature", "-0.5"], "--temperature: '-0.5' must be 0 or more"),
        (["--temperature", "nan"], "--temperature: 'nan' must be 0 or more"),
        (["--top-k", "0"], "--top-k: '0' must be 1 or more"),
        (["--num-samples", "0"], "--num-samples: '0' must be 1 or more"),
        (["--checkpoint-dir", directory, "--top-k", "30", "--temperature", "1"],
         "--top-k 30 is more than the model's 29 characters"),
    ]
    for flags, message in cases:
        assert message in one_line(run_main("generate.py", *flags), status=None, alone=True)


@pytest.mark.slow
def test_ctrl_c_during_training_keeps_every_checkpoint(tmp_path):
    text = tmp_path / "long.txt"
    text.write_text(("the quick brown fox jumps over the lazy dog. " * 400))
    process = start(os.path.join(ROOT, "train.py"), "--text", str(text), "--epochs", "1000",
                    "--units", "8", "--seq-length", "10", "--batch-size", "64",
                    "--checkpoint-dir", "out", cwd=tmp_path)
    def finished():
        folder = tmp_path / "out"
        names = os.listdir(folder) if folder.exists() else []
        return [name for name in names if parse_checkpoint_name(name)]

    deadline = time.time() + 120
    while time.time() < deadline and len(finished()) < 2:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    names = sorted(os.listdir(tmp_path / "out"))
    # Checkpoints, the history file and its plot (where matplotlib is installed), and no
    # temporary file left behind.
    plot = ["history.png"] if importlib.util.find_spec("matplotlib") else []
    assert len(names) >= 3 and names == sorted(finished() + ["history.csv"] + plot), names
    with open(tmp_path / "out" / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    # One row per completed epoch, none for the interrupted one.
    assert sorted(os.path.basename(row["checkpoint"]) for row in rows if row["checkpoint"]) \
        == sorted(finished())
    for name in finished():
        load_checkpoint(str(tmp_path / "out" / name))


@pytest.mark.slow
def test_ctrl_c_during_generation_keeps_what_was_written(trained_dir):
    directory, _ = trained_dir
    process = start("generate.py", "--checkpoint-dir", directory, "--length", "10000000", "--raw")
    time.sleep(0.5)
    deadline = time.time() + 60
    first = ""
    while time.time() < deadline and len(first) < 20:
        first += process.stdout.read(1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    assert "interrupted after" in err


@pytest.mark.slow
def test_dry_run_on_the_bundled_text_prints_the_three_figures(tmp_path):
    result = run_command(os.path.join(ROOT, "train.py"), "--dry-run", "--checkpoint-dir",
                         str(tmp_path / "never"), cwd=str(tmp_path))  # from another folder
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "Total Characters: 144342\nTotal Vocab: 43\nTotal Patterns: 144242\n")
    assert "lstm_1 (LSTM)" in result.stdout and not (tmp_path / "never").exists()


def test_bigger_changes_the_tutorial_defaults_and_flags_override_them():
    sys.path.insert(0, ROOT)
    from train import parse_args

    small = parse_args([])
    assert (small.epochs, small.batch_size, small.layers, small.units) == (20, 128, 1, 256)
    assert (small.seq_length, small.dropout, small.text) == (100, 0.2, "wonderland.txt")
    bigger = parse_args(["--bigger"])
    assert (bigger.epochs, bigger.batch_size, bigger.layers) == (50, 64, 2)
    assert parse_args(["--bigger", "--epochs", "3"]).epochs == 3


def test_sampled_generation_repeats_with_a_seed_and_differs_without(trained_dir):
    directory, _ = trained_dir
    common = ["generate.py", "--checkpoint-dir", directory, "--length", "80", "--raw",
              "--temperature", "1.5", "--prime", "alice"]
    first, again, other = (run_main(*common, "--seed", seed) for seed in ("1", "1", "2"))
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout and first.stdout != other.stdout


def test_many_samples_print_one_after_the_other(trained_dir):
    directory, _ = trained_dir
    result = run_main("generate.py", "--checkpoint-dir", directory, "--length", "25",
                      "--num-samples", "3", "--temperature", "1", "--seed", "4")
    assert result.returncode == 0, result.stderr
    parts = result.stdout.split("--- sample ")
    assert parts[0] == "" and [p[:4] for p in parts[1:]] == ["1/3 ", "2/3 ", "3/3 "]
    texts = []
    for part in parts[1:]:
        lines = part.split("\n")
        assert lines[1] == "Seed:" and part.endswith("\nDone.\n")
        texts.append(part.split(' "\n', 1)[1][: -len("\nDone.\n")])
    assert all(len(text) == 25 for text in texts) and len(set(texts)) == 3


def test_stateful_generation_through_the_command(trained_dir):
    directory, _ = trained_dir
    result = run_main("generate.py", "--checkpoint-dir", directory, "--length", "300",
                      "--stateful", "--prime", "a", "--raw", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) == 301 and result.stdout.endswith("\n")


def test_a_preset_sets_its_flags_and_explicit_flags_win():
    sys.path.insert(0, ROOT)
    from charlstm.presets import FAST
    from train import parse_args

    fast = parse_args(["--preset", "fast"])
    assert all(getattr(fast, key) == value for key, value in FAST.items())
    mixed = parse_args(["--preset", "fast", "--units", "64", "--targets", "last"])
    assert (mixed.units, mixed.targets, mixed.input_encoding) == (64, "last",
                                                                FAST["input_encoding"])
    assert parse_args([]).learning_rate == 0.001 and parse_args([]).clipnorm is None


def test_learning_rate_and_clipnorm_reach_the_optimizer(tiny_text_path, tmp_path):
    from charlstm.training.run import train
    from conftest import train_args

    import keras

    seen = {}
    original = keras.Model.fit

    def spy(model, *args, **kwargs):
        seen["learning_rate"] = float(model.optimizer.learning_rate)
        seen["clipnorm"] = model.optimizer.clipnorm
        return original(model, *args, **kwargs)

    keras.Model.fit = spy
    try:
        train(train_args(text=tiny_text_path, epochs=1, learning_rate=0.01, clipnorm=2.5,
                         checkpoint_dir=str(tmp_path)))
    finally:
        keras.Model.fit = original
    assert seen == {"learning_rate": pytest.approx(0.01), "clipnorm": 2.5}
