"""Hostile inputs (issue 19): nothing a user names is destroyed, and nothing a user types ends
in a traceback. Each command and the API meet bad values, damaged files, device nodes, FIFOs,
links, unwritable places and endless inputs; each case asserts one line on stderr, the exit
status, and that nothing outside the run's own files changed. The numbers are the issue's."""

import contextlib
import csv
import json
import logging
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import threading

import h5py
import numpy as np
import pytest

import charlstm
from charlstm.checkpoints.format import TRAINING_STATE_GROUP, load_checkpoint
from charlstm.generation.decoders import StatefulDecoder
from charlstm.checkpoints.run_folder import LOCK_NAME, run_lock
from charlstm.checkpoints.loading import load_for_generation
from conftest import (ROOT, TINY_TEXT, checkpoints, one_line, rewrite_metadata, run_command,
                      run_main)

TINY = ["--seq-length", "10", "--units", "8", "--batch-size", "32", "--seed", "1"]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def state_of(folder):
    """{path: (kind, size, mtime)} of everything under folder, to prove nothing changed."""
    found = {}
    for root, directories, names in os.walk(folder):
        for name in directories + names:
            path = os.path.join(root, name)
            status = os.lstat(path)
            found[path] = (stat.S_IFMT(status.st_mode), status.st_size, status.st_mtime_ns)
    return found


@contextlib.contextmanager
def unchanged(folder):
    before = state_of(folder)
    yield
    assert state_of(folder) == before


def fifo(path):
    os.mkfifo(path)
    return str(path)


def device_or_fifo(path):
    """A character device (/dev/null's numbers) where this user may make one, else a FIFO."""
    if IS_ROOT:
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            return str(path)
        except OSError:
            pass
    return fifo(path)


@pytest.fixture(scope="module")
def run_folder(tiny_checkpoint, tmp_path_factory):
    """A copy of the tiny run's folder, with its history: (folder, checkpoint)."""
    folder = tmp_path_factory.mktemp("hostile_run")
    for name in os.listdir(os.path.dirname(tiny_checkpoint)):
        source = os.path.join(os.path.dirname(tiny_checkpoint), name)
        if os.path.isfile(source):
            shutil.copy(source, folder / name)
    return folder, str(folder / os.path.basename(tiny_checkpoint))


def copy_of(folder, into):
    shutil.copytree(folder, into)
    return into, str(into / checkpoints(into)[-1])


def history_file(folder, text):
    path = folder / "history.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


# --- outputs: never over a node, a FIFO, a link or an input (items 1 to 4) ------------------

def test_1_plot_never_replaces_a_device_node(run_folder, tmp_path):
    folder, _ = run_folder
    node = device_or_fifo(tmp_path / "full")
    with unchanged(tmp_path):
        last = one_line(run_main("plot.py", str(folder / "history.csv"), "--output", node))
    assert f"cannot write plot '{node}': it is a " in last and "not a regular file" in last


def test_plot_never_writes_over_its_own_input(run_folder, tmp_path):
    folder, _ = run_folder
    history = str(shutil.copy(folder / "history.csv", tmp_path / "h.csv"))
    with unchanged(tmp_path):
        last = one_line(run_main("plot.py", history, "--output", history))
    assert "would overwrite the history file" in last


def test_2_overwrite_never_deletes_a_device_node_named_as_history(
        run_folder, tiny_text_path, tmp_path):
    folder, _ = copy_of(run_folder[0], tmp_path / "run")
    node = device_or_fifo(folder / "null")
    with unchanged(folder):
        last = one_line(run_main("train.py", "--text", tiny_text_path, *TINY, "--seed", "2",
                                 "--overwrite", "--history", node, "--checkpoint-dir",
                                 str(folder)))
    assert f"cannot write history file '{node}'" in last


@pytest.mark.parametrize("target", ["text", "png", "resumed"])
def test_3_history_never_lands_on_the_users_own_files(run_folder, tiny_text_path, tmp_path,
                                                      target):
    folder, checkpoint = copy_of(run_folder[0], tmp_path / "run")
    text = str(shutil.copy(tiny_text_path, tmp_path / "text.txt"))
    history = {"text": text, "png": str(tmp_path / "h.png"), "resumed": checkpoint}[target]
    argv = ["--text", text, *TINY, "--epochs", "1", "--checkpoint-dir", str(tmp_path / "new")]
    if target == "resumed":
        argv = ["--text", text, "--resume", checkpoint, "--epochs", "9"]
    with unchanged(tmp_path):
        last = one_line(run_main("train.py", *argv, "--history", history))
    expected = {"text": f"would overwrite the text file '{text}'",
                "png": "the loss plot '" + history + "' would overwrite the history file",
                "resumed": f"would overwrite the checkpoint resumed '{checkpoint}'"}[target]
    assert expected in last


def test_4_a_savedmodel_export_never_spills_into_the_current_folder(run_folder, tmp_path):
    _, checkpoint = run_folder
    with unchanged(tmp_path):
        last = one_line(run_main("export.py", "--weights", checkpoint, "--format", "savedmodel",
                                 "--output", "", cwd=str(tmp_path)))
    assert "its path is empty" in last
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep")
    with unchanged(tmp_path):
        last = one_line(run_main("export.py", "--weights", checkpoint, "--format", "savedmodel",
                                 "--output", str(tmp_path / "notes")))
    assert "a folder that holds other files" in last


def test_4_a_trailing_slash_names_the_folder_not_a_hidden_sidecar(run_folder, tmp_path):
    _, checkpoint = run_folder
    result = run_main("export.py", "--weights", checkpoint, "--format", "savedmodel",
                      "--output", str(tmp_path / "sm") + "/")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sm.json").exists() and not (tmp_path / "sm" / ".json").exists()
    assert (tmp_path / "sm" / "saved_model.pb").exists()


def test_exports_never_replace_a_link_or_a_fifo(run_folder, tmp_path):
    _, checkpoint = run_folder
    (tmp_path / "real.keras").write_text("mine")
    os.symlink(tmp_path / "real.keras", tmp_path / "link.keras")
    fifo(tmp_path / "pipe.keras")
    for name, kind in (("link.keras", "a symbolic link"), ("pipe.keras", "a FIFO")):
        with unchanged(tmp_path):
            last = one_line(run_main("export.py", "--weights", checkpoint, "--output",
                                     str(tmp_path / name)))
        assert f"it is {kind}, not a regular file" in last


@pytest.mark.parametrize("flag", ["--checkpoint-dir", "--tensorboard"])
def test_a_folder_flag_naming_a_file_or_fifo_is_refused_before_training(
        tiny_text_path, tmp_path, flag):
    node = fifo(tmp_path / "pipe")
    argv = ["--text", tiny_text_path, *TINY, "--epochs", "1", flag, node]
    if flag == "--tensorboard":
        argv += ["--checkpoint-dir", str(tmp_path / "run")]
    with unchanged(tmp_path):
        last = one_line(run_main("train.py", *argv))
    assert last.endswith(f"{flag} '{node}' is a FIFO, not a folder: name a folder")


def test_an_endless_text_is_refused_at_its_limit(tiny_checkpoint):
    last = one_line(run_main("generate.py", "--weights", tiny_checkpoint, "--text", "/dev/zero",
                             "--length", "3"))
    assert "'/dev/zero' is not a regular file and gave more than 268,435,456 characters" in last


# --- damaged files the project wrote: one line naming the file and the field (5 to 7) -------

@pytest.mark.parametrize("content", ['{"pid": "x", "host": "vm"}', '{"pid": null}',
                                     '{"pid": 4611686018427387904}', "", "\x00\xff", "[1]"],
                         ids=["pid-text", "pid-null", "pid-huge", "empty", "binary", "list"])
def test_5_a_damaged_lock_is_taken_over_with_a_line(tmp_path, content, capsys):
    (tmp_path / LOCK_NAME).write_bytes(content.encode("latin-1"))
    with run_lock(str(tmp_path)):
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()
    assert f"taking over the lock '{tmp_path / LOCK_NAME}', which is damaged" in \
        capsys.readouterr().err


def test_a_lock_that_is_a_fifo_is_refused_not_opened(tmp_path):
    fifo(tmp_path / LOCK_NAME)
    with pytest.raises(charlstm.UserError, match="a FIFO, not a regular file: remove it"):
        with run_lock(str(tmp_path)):
            pass
    assert stat.S_ISFIFO(os.lstat(tmp_path / LOCK_NAME).st_mode)


@pytest.mark.parametrize("content, reason", [
    (b"epoch,loss\n1,\xff\xfe\n", "is not a CSV file"),
    ("loss,epoch\n2.5\n", "row 1, epoch None is not an epoch number"),
    ("epoch,loss\n\u00b2,2.5\n", "row 1, epoch '\u00b2' is not an epoch number"),
    ("epoch,loss\n1," + "9" * 200_000 + "\n", "is not a CSV file (field larger than"),
    ("epoch,loss\n1,nan\n", "row 1, loss 'nan' is not a number"),
], ids=["not-utf-8", "header-swapped", "superscript-epoch", "huge-field", "nan-loss"])
def test_6_an_edited_history_is_one_line_on_resume(run_folder, tmp_path, content, reason):
    folder, checkpoint = copy_of(run_folder[0], tmp_path / "run")
    path = history_file(folder, content)
    with unchanged(folder):
        last = one_line(run_main("train.py", "--resume", checkpoint, "--epochs", "9"))
    assert f"'{path}'" in last and reason in last and "move it away" in last


def test_7_metadata_values_are_converted_by_type(tiny_checkpoint, tmp_path):
    path = rewrite_metadata(tiny_checkpoint, tmp_path / "strings.hdf5",
                   lambda m: m.update(seq_length=str(m["seq_length"]), dropout="0.2",
                                      epoch=str(m["epoch"]), loss=str(m["loss"])))
    checkpoint = load_checkpoint(path)
    assert checkpoint.seq_length == 10 and checkpoint.metadata["dropout"] == 0.2
    assert isinstance(checkpoint.metadata["epoch"], int)
    assert run_main("generate.py", "--weights", path, "--length", "5").returncode == 0
    assert run_main("evaluate.py", "--weights", path).returncode == 0
    result = run_main("train.py", "--resume", path, "--epochs", str(checkpoint.metadata["epoch"]
                                                                     + 1),
                      "--checkpoint-dir", str(tmp_path / "resumed"))
    assert result.returncode == 0, result.stderr


def test_7_resume_needs_the_texts_fingerprint(tiny_checkpoint, tmp_path):
    path = rewrite_metadata(tiny_checkpoint, tmp_path / "no-hash.hdf5", lambda m: m.pop("text_sha256"))
    last = one_line(run_main("train.py", "--resume", path, "--epochs", "9"))
    assert last.endswith(f"weights file '{path}' is damaged: its metadata has no text_sha256")


def test_7_a_string_where_training_state_should_be_is_refused(tiny_checkpoint, tmp_path):
    path = str(tmp_path / "strings.hdf5")
    shutil.copy(tiny_checkpoint, path)
    with h5py.File(path, "a") as handle:
        group = handle[f"{TRAINING_STATE_GROUP}/optimizer"]
        first = group["0000"]
        del group["0000"]
        group.create_dataset("0000", data=np.full(first.shape, "x", dtype="S1"))
    last = one_line(run_main("train.py", "--resume", path, "--epochs", "9"))
    assert "has a damaged training state: optimizer state" in last and "is not numbers" in last


# --- exports, the environment, sizes, plots (8 to 11) ------------------------------------------

@pytest.mark.parametrize("where, message", [
    ("file", "it exists and is not a folder"),
    ("/proc/charlstm-savedmodel", "cannot write SavedModel '/proc/charlstm-savedmodel'"),
])
def test_8_savedmodel_errors_are_one_line(run_folder, tmp_path, where, message):
    _, checkpoint = run_folder
    output = str(tmp_path / "a-file") if where == "file" else where
    if where == "file":
        (tmp_path / "a-file").write_text("mine")
    with unchanged(tmp_path):
        last = one_line(run_main("export.py", "--weights", checkpoint, "--format",
                                 "savedmodel", "--output", output))
    assert message in last


@pytest.mark.parametrize("variable, value, message", [
    ("KERAS_BACKEND", "nonsense", "KERAS_BACKEND='nonsense' is not a Keras backend"),
    ("KERAS_BACKEND", "torch", "KERAS_BACKEND=torch needs the torch package"),
    ("CHARLSTM_LOGICAL_CPUS", "abc", "CHARLSTM_LOGICAL_CPUS='abc' is not a whole number"),
])
def test_9_the_environment_is_one_line(tiny_text_path, variable, value, message):
    if value == "torch" and __import__("importlib").util.find_spec("torch") is not None:
        pytest.skip("torch is installed here")
    result = run_command(os.path.join(ROOT, "train.py"), "--text", tiny_text_path, "--dry-run",
                         env=dict(os.environ, **{variable: value}))
    assert message in one_line(result)


def test_10_an_absurd_model_is_refused_before_it_is_built(tiny_text_path):
    last = one_line(run_main("train.py", "--text", tiny_text_path, *TINY, "--units", "1000000",
                             "--dry-run"))
    assert "--units 1000000 and --layers 1 make a model of" in last and "lower --units" in last


def test_11_losses_matplotlib_cannot_draw_are_one_line(tmp_path):
    pytest.importorskip("matplotlib")
    history = history_file(tmp_path, "epoch,loss\n1,1e308\n2,1.7e308\n")
    with unchanged(tmp_path):
        last = one_line(run_main("plot.py", history))
    assert "cannot draw" in last or "matplotlib failed" in last


def test_11_a_failing_plot_never_fails_a_finished_run(tiny_text_path, tmp_path, monkeypatch,
                                                      capsys):
    from charlstm.training import plotting

    def broken(*args, **kwargs):
        raise RuntimeError("the renderer broke")

    monkeypatch.setattr(plotting, "plot_histories", broken)
    result = charlstm.train(text=tiny_text_path, epochs=1, units=8, seq_length=10,
                            batch_size=32, seed=1, checkpoint_dir=str(tmp_path))
    assert result.best_checkpoint and os.path.exists(result.best_checkpoint)
    assert "no loss plot: drawing it failed (RuntimeError: the renderer broke)" in \
        capsys.readouterr().err


# --- the API: paths of any kind, UserError for any wrong value (12) ---------------------------

@pytest.mark.parametrize("call, message", [
    (lambda w: charlstm.samples(w, count="two", verbose=0), "count: 'two' is not a whole"),
    (lambda w: charlstm.evaluate(w, held_out="most", verbose=0), "held_out: 'most' is not a"),
    (lambda w: charlstm.evaluate(w, batch_size=2.5, verbose=0), "batch_size: 2.5 is not a"),
    (lambda w: charlstm.generate(weights=1, verbose=0), "weights: 1 is not a path"),
    (lambda w: charlstm.generate(weights=3.5, verbose=0), "weights: 3.5 is not a path"),
    (lambda w: charlstm.generate(w, prime=123, verbose=0), "prime: 123 is not a text"),
    (lambda w: charlstm.plot(), "give at least one history.csv file to plot"),
    (lambda w: charlstm.export(w, 7, verbose=0), "output: 7 is not a path"),
    (lambda w: charlstm.train(text=b"bytes.txt", verbose=0), "text: b'bytes.txt' is not a path"),
    (lambda w: charlstm.load(1), "weights: 1 is not a path"),
])
def test_12_wrong_values_raise_user_error(tiny_checkpoint, call, message):
    with pytest.raises(charlstm.UserError, match=message):
        call(tiny_checkpoint)


def test_12_strings_are_converted_as_flags_are_and_paths_may_be_path_objects(
        tiny_checkpoint, tiny_text_path, tmp_path):
    assert len(charlstm.samples(tiny_checkpoint, count="2", length=5, verbose=0)) == 2
    parts = charlstm.evaluate(pathlib.Path(tiny_checkpoint), held_out="0.25", batch_size="64",
                              verbose=0)
    assert [part.part for part in parts] == ["all", "training part", "held-out tail"]
    output = charlstm.export(pathlib.Path(tiny_checkpoint), tmp_path / "alice.keras", verbose=0)
    assert output == str(tmp_path / "alice.keras") and os.path.exists(output)
    result = charlstm.train(text=pathlib.Path(tiny_text_path), checkpoint_dir=tmp_path / "run",
                            epochs=1, units=8, seq_length=10, seed=1, verbose=0)
    assert os.path.dirname(result.best_checkpoint) == str(tmp_path / "run")
    assert charlstm.load(pathlib.Path(result.best_checkpoint)).seq_length == 10


# --- endless and unbounded inputs (13 to 15) ----------------------------------------------------

@pytest.mark.slow
def test_13_resuming_a_run_trained_on_a_fifo_does_not_wait_for_it(tmp_path):
    pipe = fifo(tmp_path / "text.fifo")
    writer = threading.Thread(target=lambda: pathlib.Path(pipe).write_text(TINY_TEXT * 2))
    writer.start()
    result = charlstm.train(text=pipe, epochs=1, units=8, seq_length=10, seed=1, verbose=0,
                            checkpoint_dir=str(tmp_path / "run"))
    writer.join(timeout=10)
    # A real process, so that a hang fails the test instead of stopping the suite.
    resumed = run_command(os.path.join(ROOT, "train.py"), "--resume", result.best_checkpoint,
                          "--epochs", "3", timeout=120)
    assert "which is not a regular file and cannot be read again: give --text" in \
        one_line(resumed)


def test_14_an_endless_prime_file_is_refused_at_its_limit(tiny_checkpoint):
    last = one_line(run_main("generate.py", "--weights", tiny_checkpoint, "--prime-file",
                             "/dev/zero", "--length", "5"))
    assert "prime file '/dev/zero' is longer than 1,000,000 bytes" in last


def test_15_stateful_decoding_reads_a_long_primes_end_only(tiny_checkpoint, monkeypatch):
    from charlstm.generation.decoders import STATEFUL_PRIME_CONTEXT

    model, checkpoint, seed_text = load_for_generation(tiny_checkpoint)
    decoder = StatefulDecoder(model, checkpoint.topology)
    stepped = []
    original = StatefulDecoder.step_rows

    def counted(self, indices):
        stepped.append(1)
        return original(self, indices)

    monkeypatch.setattr(StatefulDecoder, "step_rows", counted)
    long_prime = np.resize(seed_text, 50 * STATEFUL_PRIME_CONTEXT)[None, :]
    probabilities = decoder.start(long_prime)
    assert len(stepped) == STATEFUL_PRIME_CONTEXT
    monkeypatch.undo()
    # The same as reading the end alone: nothing before it is used.
    fresh = StatefulDecoder(model, checkpoint.topology)
    end_only = fresh.start(long_prime[:, -STATEFUL_PRIME_CONTEXT:])
    assert np.array_equal(probabilities, end_only)


# --- minor: help into a full disk, the API's logger (16, 17) -------------------------------------

def test_16_help_into_a_full_device_is_one_line():
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--help"],
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == ("train.py: error: cannot write the output: No space left "
                                      "on device")


def test_17_an_api_call_leaves_the_logger_as_it_found_it(tiny_checkpoint):
    logger = logging.getLogger("charlstm")
    saved = logger.level, logger.propagate, list(logger.handlers)
    try:
        logger.setLevel(logging.DEBUG)
        charlstm.generate(tiny_checkpoint, length=3, verbose=0)
        assert (logger.level, logger.propagate, logger.handlers) == (logging.DEBUG, *saved[1:])
    finally:
        logger.setLevel(saved[0])


# --- the last resort ----------------------------------------------------------------------------

def test_an_unforeseen_exception_is_one_line_with_its_traceback_in_a_file(
        tiny_text_path, monkeypatch):
    from charlstm.text import corpus

    def broken(*args, **kwargs):
        raise RuntimeError("nobody saw this coming")

    monkeypatch.setattr(corpus, "load_corpus", broken)
    monkeypatch.setattr("charlstm.text.sources.load_corpus", broken)
    monkeypatch.delenv("CHARLSTM_DEBUG", raising=False)
    last = one_line(run_main("train.py", "--text", tiny_text_path, "--dry-run"))
    assert "unexpected RuntimeError: nobody saw this coming; the full traceback is in " in last
    traceback_file = last.split("the full traceback is in ")[1].split(" (CHARLSTM_DEBUG=1")[0]
    with open(traceback_file) as handle:
        assert "Traceback (most recent call last)" in handle.read()
    os.remove(traceback_file)
    monkeypatch.setenv("CHARLSTM_DEBUG", "1")
    with pytest.raises(RuntimeError, match="nobody saw this coming"):
        run_main("train.py", "--text", tiny_text_path, "--dry-run")


def test_history_rows_keep_their_text(tmp_path):
    from charlstm.checkpoints.history import read_rows

    path = history_file(tmp_path, "epoch,loss,val_loss,device\n1,2.500000,,CPU (2 cores)\n")
    assert read_rows(path) == [{"epoch": "1", "loss": "2.500000", "val_loss": "",
                                "device": "CPU (2 cores)"}]
    with open(path, newline="") as handle:
        assert list(csv.DictReader(handle))[0]["device"] == "CPU (2 cores)"


# --- issue 30: folders that cannot hang training, numbers, codecs, flags, one line -------------

def odd_folder(folder):
    """A folder holding one text and every kind of entry that is not a regular file: a
    dangling link, a link to itself, a unix socket and a device (a FIFO where this user may
    not make one). Returns the open socket, which must outlive the run."""
    import socket

    folder.mkdir()
    (folder / "a.txt").write_text(TINY_TEXT)
    os.symlink(folder / "nowhere", folder / "dangling.txt")
    os.symlink(folder / "self.txt", folder / "self.txt")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(folder / "sock.txt"))
    device_or_fifo(folder / "node.txt")
    return listening


def test_30_1_a_folder_holding_a_fifo_is_read_without_waiting_for_it(tmp_path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text(TINY_TEXT)
    fifo(tmp_path / "texts" / "pipe.txt")  # nobody ever writes to it
    # A real process, so that a hang fails within 30 s instead of stopping the suite: the
    # text room alone (train.py's reading of --text, test_30_1_odd_entries...), since starting
    # TensorFlow alone can take 30 s on a busy 2-core machine.
    reader = ("import sys; from charlstm.text.sources import load_sources, describe_skipped; "
              "print(describe_skipped(load_sources(sys.argv[1]).skipped))")
    result = run_command("-c", reader, str(tmp_path / "texts"), timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "skipped 1 file(s): a FIFO: pipe.txt"


def test_30_1_odd_entries_in_a_folder_are_skipped_with_their_reason(tmp_path):
    listening = odd_folder(tmp_path / "texts")
    with listening:
        result = run_main("train.py", "--text", str(tmp_path / "texts"), "--dry-run")
    assert result.returncode == 0, result.stderr[-2000:]
    node = "a device" if IS_ROOT and stat.S_ISCHR(os.lstat(tmp_path / "texts" / "node.txt")
                                                  .st_mode) else "a FIFO"
    summary = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert len(summary) == 1, result.stderr
    for reason in ("skipped 4 file(s)", "a dangling link: dangling.txt", "a link loop: self.txt",
                   "a socket: sock.txt", f"{node}: node.txt"):
        assert reason in summary[0]


@pytest.mark.skipif(IS_ROOT, reason="root reads a file whatever its mode")
def test_30_1_an_unreadable_file_in_a_folder_is_skipped(tmp_path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text(TINY_TEXT)
    (tmp_path / "texts" / "secret.txt").write_text(TINY_TEXT)
    os.chmod(tmp_path / "texts" / "secret.txt", 0)
    result = run_main("train.py", "--text", str(tmp_path / "texts"), "--dry-run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "unreadable (Permission denied): secret.txt" in result.stderr


def test_30_1_an_odd_entry_named_on_its_own_keeps_todays_rules(tmp_path):
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling.txt")
    last = one_line(run_main("train.py", "--text", str(tmp_path / "dangling.txt"),
                             "--dry-run"))
    assert last.endswith(f"text file '{tmp_path / 'dangling.txt'}' does not exist")


FIVE_THOUSAND_DIGITS = "9" * 5000


def test_30_3_a_history_epoch_too_long_for_python_is_one_line(run_folder, tmp_path):
    folder, checkpoint = copy_of(run_folder[0], tmp_path / "run")
    path = history_file(folder, f"epoch,loss\n{FIVE_THOUSAND_DIGITS},2.5\n")
    reason = "row 1, epoch '99999999999999999999'... (5,000 characters) is too long to be an "
    with unchanged(folder):
        resumed = one_line(run_main("train.py", "--resume", checkpoint, "--epochs", "9"))
        plotted = one_line(run_main("plot.py", path))
    for last in (resumed, plotted):
        assert f"'{path}' has a row that is not numbers: {reason}epoch number" in last


def test_30_3_a_history_loss_too_long_to_read_is_one_line(tmp_path):
    path = history_file(tmp_path, f"epoch,loss\n1,{FIVE_THOUSAND_DIGITS}\n")
    with unchanged(tmp_path):
        last = one_line(run_main("plot.py", path))
    assert "row 1, loss '99999999999999999999'... (5,000 characters) is too long" in last


def test_30_3_a_metadata_number_too_long_for_python_is_one_line(tiny_checkpoint, tmp_path):
    path = str(tmp_path / "long-epoch.hdf5")
    shutil.copy(tiny_checkpoint, path)
    with h5py.File(path, "a") as handle:
        metadata = json.loads(handle.attrs["charlstm"])
        metadata["epoch"] = "EPOCH"
        handle.attrs["charlstm"] = json.dumps(metadata).replace('"EPOCH"', FIVE_THOUSAND_DIGITS)
    for command, argv in (("generate.py", ["--length", "3"]), ("train.py", ["--epochs", "9"])):
        flag = "--weights" if command == "generate.py" else "--resume"
        last = one_line(run_main(command, flag, path, *argv))
        assert last.endswith(f"weights file '{path}' is damaged: its metadata holds a number "
                             "of 5,000 digits")


@pytest.mark.parametrize("flag", ["--epochs", "--seed", "--minutes"])
def test_30_3_a_flag_too_long_for_python_is_a_flag_error(flag):
    last = one_line(run_main("train.py", flag, FIVE_THOUSAND_DIGITS, "--dry-run"), status=2,
                    alone=True)
    assert f"argument {flag}: '99999999999999999999'... (5,000 characters) is too long" in last
    assert len(last) < 200


def test_30_7_any_codec_error_is_one_line_naming_the_file_and_encoding(tiny_text_path,
                                                                       tmp_path):
    # UTF-8 without a byte-order mark, read as utf-16: the codec's plain UnicodeError.
    last = one_line(run_main("train.py", "--text", tiny_text_path, "--encoding", "utf-16",
                             "--dry-run"))
    assert f"text file '{tiny_text_path}' cannot be read as utf-16 (the codec says: " in last
    assert "name the encoding it is in with --encoding" in last
    path = tmp_path / "latin.txt"
    path.write_bytes("caf\u00e9 au lait".encode("latin-1"))
    last = one_line(run_main("train.py", "--text", str(path), "--encoding", "ascii",
                             "--dry-run"))
    assert last.endswith(f"text file '{path}' is not ascii (bad byte at offset 3): name the "
                         "encoding it is in with --encoding (older Project Gutenberg files are "
                         "often latin-1 or cp1252), or convert it with iconv -t utf-8")


def test_30_7_an_encoding_that_decodes_nothing_is_a_flag_error(tiny_text_path):
    last = one_line(run_main("train.py", "--text", tiny_text_path, "--encoding", "undefined",
                             "--dry-run"), status=2, alone=True)
    assert "argument --encoding: 'undefined' is not an encoding that can read a text" in last


def test_30_8_minutes_beyond_ten_years_are_a_flag_error(tiny_text_path, tmp_path):
    with unchanged(tmp_path):
        last = one_line(run_main("train.py", "--text", tiny_text_path, *TINY, "--minutes",
                                 "1e308", "--epochs", "1", "--checkpoint-dir",
                                 str(tmp_path / "run")), status=2, alone=True)
    assert "argument --minutes: '1e308' must be above 0 and at most 5256000 (ten years)" in last


@pytest.mark.parametrize("backend", ["numpy", "openvino"])
def test_30_8_a_backend_that_cannot_train_is_refused_at_once(tiny_text_path, backend):
    result = run_command(os.path.join(ROOT, "train.py"), "--text", tiny_text_path, "--dry-run",
                         env=dict(os.environ, KERAS_BACKEND=backend), timeout=60)
    last = one_line(result, alone=True)
    assert last.endswith(f"KERAS_BACKEND='{backend}' is not a Keras backend that can train: "
                         "use tensorflow, jax or torch, or unset it")


# A newline, the Unicode line and paragraph separators, a terminal's title escape (no '[',
# which would make the path a glob pattern), a bell and a carriage return.
ODD_NAME = "a\nb\u2028c\u2029d\x1b]0;e\x07\r.txt"
ODD_NAME_SHOWN = "a\\nb\\u2028c\\u2029d\\x1b]0;e\\x07\\r.txt"


def test_30_9_a_path_that_could_split_the_line_is_shown_escaped(tmp_path):
    path = str(tmp_path / ODD_NAME)
    result = run_main("train.py", "--text", path, "--dry-run")
    last = one_line(result, alone=True)
    assert last.endswith(f"text file '{tmp_path}/{ODD_NAME_SHOWN}' does not exist")
    with pytest.raises(charlstm.UserError) as raised:  # the API: the same one line
        charlstm.train(text=path, verbose=0)
    assert str(raised.value) == f"text file '{tmp_path}/{ODD_NAME_SHOWN}' does not exist"


def test_30_9_a_locks_command_field_is_shown_escaped(tiny_text_path, tmp_path):
    import socket

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / LOCK_NAME).write_text(json.dumps({
        "pid": os.getpid(), "host": socket.gethostname(), "started": "2026-12-03 07:00:00",
        "command": "train.py\nnext line\u2028\x1b[2J"}))
    last = one_line(run_main("train.py", "--text", tiny_text_path, *TINY, "--epochs", "1",
                             "--checkpoint-dir", str(tmp_path / "run")))
    assert "train.py\\nnext line\\u2028\\x1b[2J" in last


def test_30_9_the_error_line_is_one_line_whatever_argparse_says():
    # argparse writes unrecognised arguments as they are: the command layer escapes them.
    last = one_line(run_main("train.py", "--dry-run", ODD_NAME), status=2, alone=True)
    assert f"unrecognized arguments: {ODD_NAME_SHOWN}" in last


def test_30_9_a_gutenberg_only_file_says_what_emptied_it(tmp_path):
    path = tmp_path / "only-licence.txt"
    path.write_text("Title: X\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\n"
                    "*** END OF THE PROJECT GUTENBERG EBOOK X ***\nLicence\n")
    last = one_line(run_main("train.py", "--text", str(path), "--dry-run"))
    assert last.endswith(f"text file '{path}' is empty once its Project Gutenberg header and "
                         "footer are removed (--keep-boilerplate keeps them)")


@pytest.mark.slow  # train.py starts TensorFlow before it reads the text
def test_30_1_a_fifo_named_on_its_own_says_it_waits_and_a_signal_ends_the_wait(tmp_path):
    import select
    import signal

    from conftest import start

    pipe = fifo(tmp_path / "pipe.txt")  # named on its own: read, as `--text <(zcat ...)` is
    process = start(os.path.join(ROOT, "train.py"), "--text", pipe, "--dry-run")
    try:
        waited = ""
        while "until its writer closes it" not in waited:
            ready, _, _ = select.select([process.stderr], [], [], 120)
            assert ready and process.poll() is None, waited  # no line: a silent wait
            waited = process.stderr.readline()
        assert waited.strip() == (f"reading text file '{pipe}', a pipe, until its writer "
                                  "closes it (Ctrl-C stops)")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 143
    finally:
        process.kill()
        process.wait()


def run_serve(*argv):
    """serve.py in this process (conftest.run_main's way), for the errors it gives before it
    serves anything."""
    from charlstm.cli import serve_main
    from conftest import MAINS

    MAINS.setdefault("serve.py", serve_main)
    return run_main("serve.py", *argv)


@pytest.mark.parametrize("port", ["70000", "-1", "65536"])
def test_30_8_a_port_out_of_range_is_a_flag_error(port):
    last = one_line(run_serve("--port", port), status=2, alone=True)
    assert f"argument --port: '{port}' must be between 0 and 65535" in last


def test_30_9_a_host_that_is_not_this_machines_gets_a_host_hint(tmp_path):
    pytest.importorskip("charlstm.serving.server")
    # Before the models load: a folder with no checkpoint would be another error.
    result = run_serve("--host", "not.a.host.invalid", "--port", "0", "--checkpoint-dir",
                       str(tmp_path))
    last = one_line(result)
    assert "cannot listen on not.a.host.invalid:0" in last
    assert "--host takes an address of this machine" in last and "--port" not in last


def test_30_9_an_unhandled_error_is_one_log_line():
    server = pytest.importorskip("charlstm.serving.server")
    try:
        raise RuntimeError("first\nsecond")
    except RuntimeError:
        record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1,
                                   "Exception in ASGI application\n", (), sys.exc_info())
    assert server._one_line(record)
    assert record.getMessage() == "Exception in ASGI application: RuntimeError: first\\nsecond"
    assert record.exc_info is None
