"""Nothing lost, nothing crashes (issue 12): a full disk, signals, shared folders, damaged or
hostile checkpoint files, odd inputs. Each test is one of the issue's reproductions."""

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings

import h5py
import numpy as np
import pytest

import charlstm
from charlstm.system import files as files_module
from charlstm.checkpoints.format import METADATA_ATTRIBUTE, SEED_TEXT_DATASET, load_checkpoint
from charlstm.checkpoints.run_folder import find_best_checkpoint
from charlstm.text.corpus import load_corpus
from charlstm.checkpoints.run_folder import LOCK_NAME
from charlstm.logs import show_on_stderr
from charlstm.generation.sampling import make_chooser
from conftest import ROOT, TINY_TEXT, checkpoints, rewrite_metadata, run_main, start

TINY = dict(epochs=3, units=8, seq_length=10, batch_size=32, seed=1, verbose=0)


def leftovers(directory):
    """Temporary checkpoint files and lock files."""
    return [name for name in os.listdir(directory)
            if name.endswith(".tmp") or name == LOCK_NAME]


def wait_for(condition, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


# 1. A full disk while a checkpoint is written.

def test_a_full_disk_during_a_save_ends_in_one_line_and_keeps_the_earlier_files(
        tiny_text_path, tmp_path, monkeypatch):
    original = files_module._write_file
    calls = []

    def full_on_the_second_file(handle, data):
        calls.append(handle.name)
        if len(calls) == 2:
            handle.write(data[: len(data) // 2])  # half of it lands, then the disk is full
            handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        original(handle, data)

    monkeypatch.setattr(files_module, "_write_file", full_on_the_second_file)
    with pytest.raises(charlstm.UserError) as raised:
        charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path), learning_rate=0.05,
                       **TINY)
    message = str(raised.value)
    assert message.startswith("no space left on device writing '") and "-02-" in message
    first = checkpoints(tmp_path)
    assert len(first) == 1 and f"last good checkpoint: {tmp_path / first[0]}" in message
    load_checkpoint(str(tmp_path / first[0]))
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_real_full_disk(tiny_text_path, tmp_path):
    """The issue's reproduction on a 200 KB tmpfs (root only)."""
    mount = tmp_path / "full"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)],
            capture_output=True).returncode != 0:
        pytest.skip("needs root and a tmpfs mount")
    try:
        result = subprocess.run(
            [sys.executable, os.path.join(ROOT, "train.py"), "--text", tiny_text_path,
             "--seq-length", "10", "--units", "32", "--batch-size", "32", "--epochs", "40",
             "--learning-rate", "0.02", "--seed", "1", "--checkpoint-dir", str(mount)],
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 1, result.stderr[-2000:]
        last = result.stderr.strip().splitlines()[-1]
        assert "no space left on device writing" in last and "last good checkpoint" in last
        assert "Traceback" not in result.stderr
        for name in checkpoints(mount):
            load_checkpoint(str(mount / name))
        assert [name for name in os.listdir(mount) if name.endswith(".tmp")] == []
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


# 2. history.csv on a full disk mid-run.

def test_history_on_a_full_disk_is_one_line(tiny_text_path, tmp_path, monkeypatch):
    import builtins

    history = str(tmp_path / "history.csv")
    real_open = builtins.open

    def full_when_appending(file, mode="r", *args, **kwargs):
        if file == history and mode == "a":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full_when_appending)
    with pytest.raises(charlstm.UserError, match="cannot write history file .*: No space left "
                                                  "on device; last good checkpoint: "):
        charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path), **TINY)


# 3. SIGTERM, like Ctrl-C.

@pytest.mark.slow
def test_sigterm_stops_training_after_the_batch_and_names_the_best(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text(TINY_TEXT * 20)
    process = start(os.path.join(ROOT, "train.py"), "--text", str(text), "--seq-length", "10",
                    "--units", "8", "--batch-size", "32", "--epochs", "50", "--seed", "1",
                    "--checkpoint-dir", str(tmp_path / "run"))
    assert wait_for(lambda: (tmp_path / "run").exists() and checkpoints(tmp_path / "run"))
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err[-2000:]
    assert "SIGTERM: stopping after this batch" in err and "interrupted: best checkpoint" in err
    assert "Traceback" not in err and leftovers(tmp_path / "run") == []


@pytest.mark.slow
def test_sigterm_during_generation_keeps_what_was_written(tiny_checkpoint):
    process = start("generate.py", "--weights", tiny_checkpoint, "--length", "100000000")
    assert wait_for(lambda: process.stdout.read(30)) is True
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert out.endswith("\nDone.\n") and "interrupted after" in err and "Traceback" not in err


# 4. Temporary files of killed writers.

def test_a_run_removes_the_temporary_files_of_dead_writers(tiny_text_path, tmp_path):
    finished = subprocess.run([sys.executable, "-c", "pass"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert finished.returncode == 0
    stale = tmp_path / f".weights-improvement-01-3.0000.hdf5.{dead.pid}.tmp"
    alive = tmp_path / f".weights-improvement-01-3.0000.hdf5.{os.getpid()}.tmp"
    stale.write_bytes(b"half a file")
    alive.write_bytes(b"being written")
    charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path), **TINY)
    assert not stale.exists() and alive.exists()


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_broken_checkpoint(tmp_path):
    """Ten training runs killed with SIGKILL at random moments while they save checkpoints
    (five folders at a time, twice, so that the second start meets what the first left):
    every checkpoint loads, and the next start removes the temporary files and locks."""
    text = tmp_path / "text.txt"
    text.write_text(TINY_TEXT * 6)
    folders = [tmp_path / f"run{number}" for number in range(5)]
    rng = random.Random(12)

    def argv(folder):
        return [os.path.join(ROOT, "train.py"), "--text", str(text), "--seq-length", "10",
                "--units", "8", "--batch-size", "8", "--epochs", "10000", "--learning-rate",
                "0.01", "--seed", "1", "--checkpoint-dir", str(folder)]

    def saved_since(folder, moment):
        return folder.exists() and any(os.path.getmtime(folder / name) >= moment
                                       for name in checkpoints(folder))

    kills = 0
    for _ in range(2):
        started = time.time() - 0.01
        running = {folder: start(*argv(folder), stdout=None) for folder in folders}
        kill_at = {}
        deadline = time.time() + 240
        while running and time.time() < deadline:
            for folder, process in list(running.items()):
                assert process.poll() is None, process.communicate()[1][-2000:]
                if folder not in kill_at and saved_since(folder, started):
                    kill_at[folder] = time.time() + rng.uniform(0.0, 1.0)
                if folder in kill_at and time.time() >= kill_at[folder]:
                    process.kill()
                    process.wait()
                    del running[folder]
                    kills += 1
            time.sleep(0.02)
        assert not running, "a run wrote no checkpoint in time"
        for folder in folders:
            for name in checkpoints(folder):
                load_checkpoint(str(folder / name))  # raises if a file is broken
    assert kills == 10
    for folder in folders:
        charlstm.train(text=str(text), seq_length=10, units=8, batch_size=8, epochs=1,
                       learning_rate=0.01, seed=1, checkpoint_dir=str(folder), verbose=0)
        assert leftovers(folder) == []


# 5. One run per folder.

def test_a_second_run_in_a_locked_folder_is_refused(tiny_text_path, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK_NAME).write_text(json.dumps(
            {"pid": holder.pid, "host": os.uname().nodename, "started": "2026-11-27 10:00:00",
             "command": "train.py --epochs 50"}))
        with pytest.raises(charlstm.UserError, match=f"is in use by another run: process "
                                                      f"{holder.pid} \\(train.py --epochs 50\\)"):
            charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path), **TINY)
    finally:
        holder.kill()
        holder.wait()
    # The holder is gone: its lock is taken over.
    result = charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path), **TINY)
    assert result.best_checkpoint and not (tmp_path / LOCK_NAME).exists()


@pytest.mark.slow
def test_another_run_in_a_folder_with_checkpoints_needs_overwrite(tiny_text_path, tmp_path):
    first = charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path), **TINY)
    again = charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path), **TINY)
    assert again.best_checkpoint == first.best_checkpoint  # the same run: allowed
    with pytest.raises(charlstm.UserError, match="holds \\d+ checkpoint\\(s\\) of another run .*"
                                                  "seed 1.*give --overwrite to remove them"):
        charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path), **dict(TINY, seed=2))
    resumed = charlstm.train(resume=first.best_checkpoint, epochs=4, verbose=0)
    assert resumed.history[-1]["epoch"] == "4"
    other = charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path), overwrite=True,
                           **dict(TINY, seed=2))
    assert [row["epoch"] for row in other.history] == ["1", "2", "3"]
    assert all(load_checkpoint(str(tmp_path / name)).metadata["random_seed"] == 2
               for name in checkpoints(tmp_path))


@pytest.mark.slow
def test_generate_keeps_to_the_newest_run_and_says_so(tiny_text_path, tmp_path, capsys):
    for seed, folder in ((1, "a"), (2, "b")):
        charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path / folder),
                       **dict(TINY, seed=seed))
    mixed = tmp_path / "mixed"
    shutil.copytree(tmp_path / "a", mixed)
    newest = checkpoints(tmp_path / "b")[0]
    shutil.copy(tmp_path / "b" / newest, mixed / newest.replace("-01-", "-09-"))
    show_on_stderr(True)  # the quiet training above lowered the level
    capsys.readouterr()
    chosen = find_best_checkpoint(str(mixed))
    assert os.path.basename(chosen) == newest.replace("-01-", "-09-")
    assert "holds checkpoints of 2 runs: using the newest run's" in capsys.readouterr().err


# 6. Seeds out of range are flag errors.

@pytest.mark.parametrize("command", ["train.py", "generate.py"])
@pytest.mark.parametrize("seed", ["-1", "99999999999999999999"])
def test_a_seed_out_of_range_is_a_flag_error(command, seed):
    result = run_main(command, "--seed", seed)
    assert result.returncode == 2 and "must be between 0 and 4294967295" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# 7. A FIFO as the text.

def test_a_fifo_is_read_once(tmp_path):
    fifo = tmp_path / "text.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(TINY_TEXT * 3))
    writer.start()
    corpus = load_corpus(str(fifo), chunk_bytes=64)
    writer.join(timeout=10)
    assert len(corpus) == len(load_corpus_text(TINY_TEXT * 3))


def load_corpus_text(text):
    from charlstm.text.rules import prepare_text

    return prepare_text(text)


def test_a_text_that_changes_while_read_is_a_user_error(tmp_path, monkeypatch):
    from charlstm.text import corpus as corpus_module

    path = tmp_path / "growing.txt"
    path.write_text(TINY_TEXT)
    passes = []
    real = corpus_module.read_prepared_pieces

    def growing(*args, **kwargs):
        passes.append(1)
        yield from real(*args, **kwargs)
        if len(passes) == 2:
            yield "more text than before"

    monkeypatch.setattr(corpus_module, "read_prepared_pieces", growing)
    with pytest.raises(charlstm.UserError, match="changed while it was read"):
        load_corpus(str(path))


# 8 and 9. Damaged metadata.

@pytest.mark.parametrize("change, reason", [
    (lambda m: m.update(dropout=2.0), "dropout: 2.0 must be at least 0 and below 1"),
    (lambda m: m.update(dropout="high"), "dropout: 'high' is not a number"),
    (lambda m: m.update(seq_length=-5), "seq_length: -5 must be 1 or more"),
    (lambda m: m.update(seq_length=0), "seq_length: 0 must be 1 or more"),
    (lambda m: m.update(vocabulary=m["vocabulary"][:-1] + m["vocabulary"][0]),
     "its vocabulary repeats a character"),
    (lambda m: m.update(loss="low"), "loss: 'low' is not a number"),
    (lambda m: m.update(epoch="x"), "epoch: 'x' is not a whole number"),
    (lambda m: m.update(batch_size=0), "batch_size: 0 must be 1 or more"),
    (lambda m: m.pop("vocabulary"), "its metadata has no vocabulary"),
])
def test_bad_metadata_names_the_field(tiny_checkpoint, tmp_path, change, reason):
    path = rewrite_metadata(tiny_checkpoint, tmp_path / "bad.hdf5", change)
    with pytest.raises(charlstm.UserError) as raised:
        load_checkpoint(path)
    assert str(raised.value) == f"weights file '{path}' is damaged: {reason}"


def test_resume_needs_the_epoch(tiny_checkpoint, tmp_path):
    path = rewrite_metadata(tiny_checkpoint, tmp_path / "no-epoch.hdf5",
                            lambda metadata: metadata.pop("epoch"))
    with pytest.raises(charlstm.UserError, match="is damaged: its metadata has no epoch"):
        charlstm.train(resume=path, epochs=9, verbose=0)


@pytest.mark.parametrize("indices, reason", [
    (lambda n: np.arange(10) + n, "character indices outside its vocabulary"),
    (lambda n: -np.arange(10), "character indices outside its vocabulary"),
])
def test_seed_text_outside_the_vocabulary_is_damage(tiny_checkpoint, tmp_path, indices, reason):
    path = tmp_path / "bad-text.hdf5"
    shutil.copy(tiny_checkpoint, path)
    size = len(load_checkpoint(tiny_checkpoint).vocabulary)
    with h5py.File(path, "a") as handle:
        del handle[SEED_TEXT_DATASET]
        handle.create_dataset(SEED_TEXT_DATASET, data=indices(size).astype(np.int64))
    with pytest.raises(charlstm.UserError, match=reason):
        load_checkpoint(str(path))


def test_a_checkpoint_without_its_metadata_is_not_taken_for_a_tutorial_file(tiny_checkpoint,
                                                                            tmp_path):
    path = tmp_path / "stripped.hdf5"
    shutil.copy(tiny_checkpoint, path)
    with h5py.File(path, "a") as handle:
        del handle.attrs[METADATA_ATTRIBUTE]
    with pytest.raises(charlstm.UserError, match="is damaged: it holds charlstm's seed text"):
        load_checkpoint(str(path))


def test_huge_declared_shapes_are_refused_before_reading(tmp_path):
    """A hostile file declares an LSTM of 16,384 units (4 GB of weights, never written)."""
    path = tmp_path / "huge.hdf5"
    units = 16384
    shapes = {"lstm_1": [(1, 4 * units), (units, 4 * units), (4 * units,)],
              "dense_1": [(units, 43), (43,)]}
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = np.array([name.encode() for name in shapes])
        for layer, weights in shapes.items():
            group = handle.create_group(layer)
            names = [f"w{number}" for number in range(len(weights))]
            group.attrs["weight_names"] = np.array([name.encode() for name in names])
            for name, shape in zip(names, weights):
                group.create_dataset(name, shape=shape, dtype="float32", chunks=True)
    assert os.path.getsize(path) < 1_000_000
    with pytest.raises(charlstm.UserError, match="is damaged: its weights declare"):
        load_checkpoint(str(path))


# 10. Output that cannot be written.

@pytest.mark.slow
def test_generating_into_a_full_device_is_one_line(tiny_checkpoint):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "generate.py", "--weights", tiny_checkpoint,
                                 "--length", "200"], cwd=ROOT, stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith(
        "error: cannot write the output: No space left on device")


# 11. A temperature too small to compute is greedy.

def test_a_vanishing_temperature_is_greedy():
    probabilities = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25], [0.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for temperature in (1e-320, 5e-324, 1e-300):
            chosen = make_chooser(temperature, rng=np.random.default_rng(0))(probabilities)
            assert chosen.tolist() == [1, 0, 2]


# 12. The second Ctrl-C stops at once, even inside a long batch.

@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text(TINY_TEXT * 20)
    process = start(os.path.join(ROOT, "train.py"), "--text", str(text), "--units", "256",
                    "--batch-size", "4096", "--epochs", "5", "--seed", "1",
                    "--checkpoint-dir", str(tmp_path / "run"))
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr))
    reader.start()
    assert wait_for(lambda: any("checkpoints carry" in line for line in lines))
    time.sleep(3)  # inside the first batch of several seconds
    process.send_signal(signal.SIGINT)
    assert wait_for(lambda: any("stopping after this batch" in line for line in lines), 10)
    process.send_signal(signal.SIGINT)
    second = time.time()
    process.wait(timeout=60)
    reader.join(timeout=10)
    assert process.returncode == 130, "".join(lines)[-2000:]
    assert time.time() - second < 5, "the second Ctrl-C waited for the batch"
    assert any("again: stopping now" in line for line in lines)


# Privacy: checkpoints without the text.

@pytest.mark.slow  # 8-11 s on 2 cores: keeps the quick tier within 5 minutes
def test_checkpoints_can_leave_the_text_out(tiny_text_path, tmp_path):
    result = charlstm.train(text=tiny_text_path, checkpoint_dir=str(tmp_path),
                            text_in_checkpoint=False, **TINY)
    with h5py.File(result.best_checkpoint) as handle:
        assert SEED_TEXT_DATASET not in handle
    with pytest.raises(charlstm.UserError, match="carries no text .*give --text FILE"):
        charlstm.generate(result.best_checkpoint, length=5, verbose=0)
    assert len(charlstm.generate(result.best_checkpoint, length=5, prime="alice",
                                 verbose=0)) == 5
    assert len(charlstm.generate(result.best_checkpoint, length=5, text=tiny_text_path,
                                 verbose=0)) == 5
    resumed = charlstm.train(resume=result.best_checkpoint, epochs=4, verbose=0)
    assert resumed.settings.text_in_checkpoint is False
