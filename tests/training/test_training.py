import os

import numpy as np
import pytest

from charlstm.training.callbacks import BestOnlyCheckpoint
from charlstm.checkpoints.format import load_checkpoint
from charlstm.errors import UserError
from charlstm.checkpoints.run_folder import parse_checkpoint_name
from charlstm.checkpoints.metadata import Metadata
from charlstm.model.models import Topology, build_model
from charlstm.training.run import train
from charlstm.text.rules import normalise_text
from conftest import TINY_TEXT, train_args


def test_best_only_writes_exactly_the_improving_epochs(tmp_path):
    model = build_model(Topology(vocab_size=4, output_size=4, units=4), seq_length=3)
    metadata = Metadata({"vocabulary": "abcd", "seq_length": 3, "layers": 1, "units": 4,
                         "dropout": 0.2, "input_encoding": "scaled", "targets": "last"})
    callback = BestOnlyCheckpoint(str(tmp_path), bigger=True, epochs=5, metadata=metadata,
                                  seed_text=np.arange(4, dtype=np.uint8))
    callback.set_model(model)
    for epoch, loss in enumerate([3.0, 2.5, 2.7, 2.4, 2.4]):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"loss": loss})
    assert sorted(os.listdir(tmp_path)) == [
        "weights-improvement-01-3.0000-bigger.hdf5",
        "weights-improvement-02-2.5000-bigger.hdf5",
        "weights-improvement-04-2.4000-bigger.hdf5",
    ]
    saved = load_checkpoint(str(tmp_path / "weights-improvement-04-2.4000-bigger.hdf5"))
    assert saved.metadata["epoch"] == 4 and saved.metadata["loss"] == 2.4


def test_a_short_run_names_checkpoints_by_epoch_and_loss(tiny_text_path, tmp_path, capsys):
    train(train_args(text=tiny_text_path, epochs=3, checkpoint_dir=str(tmp_path)))
    out, err = capsys.readouterr()
    length = len(normalise_text(TINY_TEXT))
    assert f"Total Characters: {length}\nTotal Vocab: 29\nTotal Patterns: {length - 10}\n" in out
    summaries = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert len(summaries) == 3
    losses = [float(line.split()[3]) for line in summaries]
    names = sorted(name for name in os.listdir(tmp_path) if parse_checkpoint_name(name))
    improving = [e + 1 for e, loss in enumerate(losses) if loss < min(losses[:e], default=9e9)]
    assert [parse_checkpoint_name(name)[0] for name in names] == improving
    for name in names:
        epoch, loss, val_loss = parse_checkpoint_name(name)
        assert val_loss is None
        assert loss == round(losses[epoch - 1], 4)
        assert name in summaries[epoch - 1]


@pytest.mark.slow  # 8-11 s on 2 cores: keeps the quick tier within 5 minutes
def test_the_same_seed_repeats_a_run(tiny_text_path, tmp_path):
    runs = []
    for run in ("a", "b"):
        directory = tmp_path / run
        train(train_args(text=tiny_text_path, epochs=2, checkpoint_dir=str(directory), seed=7))
        names = sorted(os.listdir(directory))
        runs.append((names, load_checkpoint(str(directory / names[-1])).weights))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_dry_run_writes_nothing(tiny_text_path, tmp_path, capsys):
    train(train_args(text=tiny_text_path, checkpoint_dir=str(tmp_path / "out"), dry_run=True))
    assert "lstm_1 (LSTM)" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_text_not_longer_than_the_window_is_refused(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("0123456789")
    with pytest.raises(UserError, match="10 characters: it must be longer than --seq-length"):
        train(train_args(text=str(path), checkpoint_dir=str(tmp_path)))


def test_unwritable_checkpoint_dir_is_refused_before_training(tiny_text_path, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(UserError, match="is not writable"):
        train(train_args(text=tiny_text_path, checkpoint_dir=str(blocker / "sub")))
