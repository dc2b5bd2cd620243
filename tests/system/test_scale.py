"""Scale: the compact corpus reader and its cache, --steps-per-epoch, --distribute over two
logical CPU devices, and --mixed-precision."""

import csv
import json
import os

import numpy as np
import pytest

from charlstm.text import corpus as corpus_module
from charlstm.system.backend import import_keras
from charlstm.checkpoints.format import load_checkpoint
from charlstm.training.checks import precision_policy
from charlstm.text.corpus import load_corpus
from charlstm.text.rules import TextRules, normalise_text, strip_punctuation
from charlstm.text.vocabulary import Vocabulary, fingerprint
from charlstm.system.devices import _visible_gpus, is_chief, machine
from charlstm.text.feeding import training_data
from charlstm.checkpoints.run_folder import find_best_checkpoint, parse_checkpoint_name
from charlstm.errors import UserError
from charlstm.model.models import Topology, build_model
from charlstm.training.run import train
from charlstm.text.windows import GlobalSteps, WindowBatches, input_table
from conftest import TINY_TEXT, run_command, train_args

keras = import_keras()

AWKWARD = "\ufeffÉTÉ — déjà vu.\r\nLine two\r\rthree\n«Ω» 🐇 end\r\n"


def naive(raw, strip=False):
    text = normalise_text(raw)
    return strip_punctuation(text) if strip else text


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 7, 4096])
def test_reading_in_pieces_equals_reading_whole(tmp_path, chunk_bytes):
    path = tmp_path / "awkward.txt"
    path.write_bytes((AWKWARD * 3).encode("utf-8"))
    for strip in (False, True):
        expected = naive(AWKWARD * 3, strip)
        corpus = load_corpus(str(path), TextRules(strip_punctuation=strip),
                             chunk_bytes=chunk_bytes)
        assert corpus.vocabulary == Vocabulary.from_text(expected)
        assert corpus.text() == expected
        assert np.array_equal(corpus.indices, corpus.vocabulary.encode(expected))
        assert corpus.indices.dtype == np.uint8


def test_a_text_that_is_not_utf8_names_the_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"abc" * 10 + "é".encode("latin-1") + b"def")
    with pytest.raises(UserError, match="not UTF-8 \\(bad byte at offset 30\\)"):
        load_corpus(str(path), chunk_bytes=4)


def big_text(path, megabytes):
    """A generated corpus of about `megabytes` MB: the tiny text with numbered lines."""
    unit = normalise_text(TINY_TEXT)
    with open(path, "w") as handle:
        for number in range(megabytes * 1_000_000 // (len(unit) + 8)):
            handle.write(f"{number % 1000:03d} {unit}")
    return str(path)


def test_a_large_text_is_cached_beside_it_and_the_cache_follows_the_text(tmp_path):
    path = big_text(tmp_path / "big.txt", 9)
    assert os.path.getsize(path) >= corpus_module.CACHE_MIN_BYTES
    first = load_corpus(path)
    assert os.path.exists(path + ".charlstm.npy") and os.path.exists(path + ".charlstm.json")
    with open(path) as handle:
        text = handle.read()
    assert len(first) == len(text) and first.sha256 == fingerprint(text)
    again = load_corpus(path)
    assert isinstance(again.indices, np.memmap)  # read from the cache, not the text
    assert np.array_equal(again.indices, first.indices) and again.sha256 == first.sha256
    assert again.vocabulary == first.vocabulary
    # The text changes: the cache is stale and rebuilt.
    with open(path, "a") as handle:
        handle.write("zebra!\n")
    changed = load_corpus(path)
    assert not isinstance(changed.indices, np.memmap)
    assert len(changed) == len(first) + 7 and "z" in changed.vocabulary.chars
    with open(path + ".charlstm.json") as handle:
        assert json.load(handle)["length"] == len(changed)
    # Stripping punctuation is another cache.
    stripped = load_corpus(path, TextRules(strip_punctuation=True))
    assert os.path.exists(path + ".charlstm-nopunct.npy") and "!" not in stripped.vocabulary.chars


@pytest.mark.slow
def test_training_on_a_large_text_with_steps_per_epoch(tmp_path):
    path = big_text(tmp_path / "big.txt", 6)
    directory = tmp_path / "run"
    train(train_args(text=path, checkpoint_dir=str(directory), epochs=3, steps_per_epoch=2,
                     batch_size=16, seq_length=50))
    with open(directory / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    names = [name for name in os.listdir(directory) if parse_checkpoint_name(name)]
    assert names and all(parse_checkpoint_name(name)[0] <= 3 for name in names)
    checkpoint = load_checkpoint(find_best_checkpoint(str(directory)))
    assert checkpoint.metadata["steps_per_epoch"] == 2
    assert checkpoint.metadata["text_length"] == os.path.getsize(path)
    assert len(checkpoint.seed_text) == 1_000_000  # the seed text is capped


def test_epochs_of_steps_walk_through_the_passes_in_order():
    indices = np.arange(60, dtype=np.uint8) % 7
    batches = WindowBatches(indices, 5, 11, input_table(7), seed=3)
    assert len(batches) == 5
    expected = [batches.batch(*divmod(step, 5)) for step in range(3 * 3, 3 * 6)]
    data, steps = training_data(batches, epochs=6, initial_epoch=3, steps_per_epoch=3)
    assert steps == 3
    got = [(inputs.numpy(), targets.numpy()) for inputs, targets in data]
    assert len(got) == len(expected)
    for (inputs, targets), (want_inputs, want_targets) in zip(got, expected):
        assert np.array_equal(inputs, want_inputs) and np.array_equal(targets, want_targets)
    # Other backends read the same steps through a PyDataset.
    loader = GlobalSteps(batches, 3, initial_epoch=3)
    seen = []
    for _ in range(3):
        seen += [loader[number] for number in range(len(loader))]
        loader.on_epoch_end()
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(seen, expected))


@pytest.mark.slow
def test_two_replicas_follow_the_one_replica_loss_curve(tiny_text_path, tmp_path):
    def losses(folder, *extra, environment=None):
        result = run_command(
            "train.py", "--text", tiny_text_path, "--units", "8", "--seq-length", "10",
            "--batch-size", "32", "--epochs", "3", "--seed", "5", "--dropout", "0",
            "--checkpoint-dir", str(tmp_path / folder), *extra,
            env=dict(os.environ, **(environment or {})))
        assert result.returncode == 0, result.stderr
        with open(tmp_path / folder / "history.csv") as handle:
            return result.stderr, [float(row["loss"]) for row in csv.DictReader(handle)]

    err, two = losses("two", "--distribute", environment={"CHARLSTM_LOGICAL_CPUS": "2"})
    assert "--distribute: 2 replica(s) on /device:CPU:0, /device:CPU:1" in err
    _, one = losses("one")
    assert two == pytest.approx(one, rel=1e-4)


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_two_machines_through_tf_config_follow_one_machine(tiny_text_path, tmp_path):
    """The multi-machine example of docs/scale.md, with both workers on this machine."""
    import subprocess
    import sys

    from conftest import ROOT

    flags = ["--text", tiny_text_path, "--units", "8", "--seq-length", "10", "--batch-size",
             "32", "--epochs", "2", "--seed", "5", "--dropout", "0"]
    cluster = {"worker": [f"localhost:{free_port()}", f"localhost:{free_port()}"]}
    workers = []
    for index in range(2):
        environment = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "train.py"), *flags, "--distribute",
             "--checkpoint-dir", str(tmp_path / f"worker{index}")],
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    errors = [worker.communicate(timeout=240)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], errors
    assert "--distribute: 2 replicas over the TF_CONFIG cluster" in errors[0]
    single = run_command("train.py", *flags, "--checkpoint-dir", str(tmp_path / "single"))
    assert single.returncode == 0, single.stderr

    def losses(folder):
        with open(tmp_path / folder / "history.csv") as handle:
            return [float(row["loss"]) for row in csv.DictReader(handle)]

    assert losses("worker0") == pytest.approx(losses("single"), rel=1e-4)
    # Only the chief (worker 0) writes files.
    assert not [name for name in os.listdir(tmp_path / "worker1") if name.endswith(".hdf5")]
    assert "the chief wrote the files" in errors[1]


@pytest.mark.slow
def test_distribute_refuses_what_replicas_cannot_do(tiny_text_path, tmp_path):
    environment = dict(os.environ, CHARLSTM_LOGICAL_CPUS="2")
    base = ["train.py", "--text", tiny_text_path, "--units", "8", "--seq-length", "10",
            "--checkpoint-dir", str(tmp_path), "--distribute"]
    result = run_command(*base, "--batch-size", "31", env=environment)
    assert "--batch-size 31 does not split evenly over 2 replicas" in result.stderr
    result = run_command(*base, "--stateful", "--batch-size", "4", env=environment)
    assert "--stateful keeps one state per batch row" in result.stderr


def test_the_chief_alone_writes_in_a_multi_machine_run(monkeypatch):
    cluster = {"worker": ["a:1", "b:1"]}
    for task, chief in (({"type": "worker", "index": 0}, True),
                        ({"type": "worker", "index": 1}, False)):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
        assert is_chief() is chief
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": dict(cluster, chief=["c:1"]), "task": {"type": "worker", "index": 0}}))
    assert not is_chief()
    monkeypatch.delenv("TF_CONFIG")
    assert is_chief()


def test_mixed_precision_is_refused_where_it_would_not_help():
    if keras.backend.backend() == "jax":
        message = "not available on the JAX backend"
    elif _visible_gpus():
        pytest.skip("a GPU is visible: --mixed-precision is allowed (bench/gpu_check.py)")
    else:
        message = "--mixed-precision needs a GPU"
    with pytest.raises(UserError, match=message):
        precision_policy(True, machine(mixed_precision=True))


def test_a_mixed_policy_keeps_the_softmax_float32():
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        model = build_model(Topology(10, 10, units=4), 5)
        assert model.get_layer("lstm_1").compute_dtype == "bfloat16"
        assert model.get_layer("dense_1").compute_dtype == "float32"
        assert all(weight.dtype == "float32" for weight in model.weights)
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
def test_mixed_precision_off_leaves_results_unchanged(tiny_text_path, tmp_path):
    def final_weights(folder):
        train(train_args(text=tiny_text_path, checkpoint_dir=str(tmp_path / folder)))
        return load_checkpoint(find_best_checkpoint(str(tmp_path / folder))).weights

    reference = final_weights("reference")
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")  # left over from elsewhere
        after = final_weights("off")  # mixed_precision=False puts float32 back
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.array_equal(a, b) for a, b in zip(reference, after))


def test_an_unused_nvidia_gpu_is_reported_with_the_fix(tmp_path, monkeypatch):
    """A machine whose nvidia-smi lists a GPU that the backend does not see (plain
    `pip install tensorflow` on Linux) gets a warning naming requirements-gpu.txt."""
    from charlstm.system import devices

    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    line, warning = devices.describe_device()
    if devices._visible_gpus():
        assert line.startswith("GPU 0, ") and warning is None
        return
    assert line.startswith("CPU (") and "no GPU visible" in line
    assert "has an NVIDIA GPU but" in warning
    if keras.backend.backend() == "tensorflow":
        assert "requirements-gpu.txt" in warning
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    if not os.path.isdir("/proc/driver/nvidia/gpus"):
        assert devices.describe_device()[1] is None
