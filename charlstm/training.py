"""Training: the tutorial's fit on pattern windows, with best-only .hdf5 checkpoints.

    >>> from types import SimpleNamespace                                  # doctest: +SKIP
    >>> train(SimpleNamespace(text="wonderland.txt", bigger=False, epochs=1, batch_size=128,
    ...       seq_length=100, units=256, layers=1, dropout=0.2, checkpoint_dir=".",
    ...       seed=1, dry_run=False))                                        # doctest: +SKIP
"""

import os
import signal
import sys
import tempfile
import time

from .backend import import_keras, set_random_seed, training_data
from .checkpoint import checkpoint_name, save_checkpoint
from .cli import choose_seed, log
from .corpus import Vocabulary, fingerprint, read_text
from .errors import UserError
from .models import Topology, build_model, compile_model
from .windows import WindowBatches, pattern_count

keras = import_keras()


class BestOnlyCheckpoint(keras.callbacks.Callback):
    """After each epoch: write a checkpoint if the loss beat every earlier epoch of this run,
    then log one greppable summary line ("epoch 3/20 loss 2.1234 ...") on stderr."""

    def __init__(self, directory, bigger, epochs, metadata, seed_indices):
        super().__init__()
        self.directory = directory
        self.bigger = bigger
        self.epochs = epochs
        self.metadata = metadata
        self.seed_indices = seed_indices
        self.best_loss = float("inf")
        self.best_path = None
        self.epoch_started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        loss = float(logs["loss"])
        number = epoch + 1  # Keras counts from 0, the tutorial's file names from 1
        seconds = time.perf_counter() - self.epoch_started
        if getattr(self.model, "stop_training", False):
            # Stopped part-way (Ctrl-C): a partial epoch's loss is not comparable, no file.
            log(f"epoch {number}/{self.epochs} interrupted after {seconds:.1f}s: no checkpoint")
            return
        saved = "not improved"
        if loss < self.best_loss:
            path = os.path.join(self.directory, checkpoint_name(number, loss, self.bigger))
            metadata = dict(self.metadata, epoch=number, loss=loss)
            save_checkpoint(path, self.model, metadata, self.seed_indices)
            self.best_loss, self.best_path = loss, path
            saved = f"saved {path}"
        log(f"epoch {number}/{self.epochs} loss {loss:.4f} best {self.best_loss:.4f} "
            f"time {seconds:.1f}s {saved}")


class GracefulInterrupt(keras.callbacks.Callback):
    """First Ctrl-C: finish the current batch, stop training, keep every checkpoint.
    A second Ctrl-C raises KeyboardInterrupt at once."""

    def __init__(self):
        super().__init__()
        self.requested = False
        self.previous_handler = None

    def _request(self, signal_number, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log("interrupt: stopping after this batch (Ctrl-C again to stop at once)")

    def on_train_begin(self, logs=None):
        self.previous_handler = signal.signal(signal.SIGINT, self._request)

    def on_train_batch_end(self, batch, logs=None):
        if self.requested:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        signal.signal(signal.SIGINT, self.previous_handler)


def prepare_checkpoint_dir(directory):
    """Create the folder if needed and prove it is writable before an hour of training."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise UserError(f"checkpoint directory '{directory}' is not writable: {error.strerror}") from None


def train(args):
    text = read_text(args.text)
    if len(text) <= args.seq_length:
        raise UserError(
            f"text file '{args.text}' has {len(text)} characters: it must be longer than "
            f"--seq-length ({args.seq_length}) to give one pattern"
        )
    vocabulary = Vocabulary.from_text(text)
    indices = vocabulary.encode(text)
    print(f"Total Characters: {len(text)}")
    print(f"Total Vocab: {len(vocabulary)}")
    print(f"Total Patterns: {pattern_count(len(text), args.seq_length)}", flush=True)

    if not args.dry_run:
        prepare_checkpoint_dir(args.checkpoint_dir)
    seed = choose_seed(args.seed)
    log(f"random seed: {seed} (pass --seed {seed} to repeat this run)")
    set_random_seed(seed)

    topology = Topology(
        vocab_size=len(vocabulary),
        output_size=len(vocabulary),
        layers=args.layers,
        units=args.units,
        dropout=args.dropout,
    )
    model = compile_model(build_model(topology, seq_length=args.seq_length))
    if args.dry_run:
        model.summary()
        return

    batches = WindowBatches(indices, args.seq_length, args.batch_size, len(vocabulary), seed)
    metadata = {
        "vocabulary": vocabulary.chars,
        "seq_length": args.seq_length,
        "layers": args.layers,
        "units": args.units,
        "dropout": args.dropout,
        "input_encoding": "scaled",
        "targets": "last",
        "batch_size": args.batch_size,
        "random_seed": seed,
        "text_name": os.path.basename(args.text),
        "text_length": len(text),
        "text_sha256": fingerprint(text),
    }
    checkpoints = BestOnlyCheckpoint(
        args.checkpoint_dir, args.bigger, args.epochs, metadata, indices
    )
    interrupt = GracefulInterrupt()
    data, steps_per_epoch = training_data(batches, args.epochs)
    model.fit(data, epochs=args.epochs, steps_per_epoch=steps_per_epoch, shuffle=False,
              callbacks=[interrupt, checkpoints], verbose=1)
    best = f"{checkpoints.best_path} (loss {checkpoints.best_loss:.4f})"
    if interrupt.requested:
        log(f"interrupted: best checkpoint {best if checkpoints.best_path else 'none yet'}")
        sys.exit(130)
    log(f"done: best checkpoint {best}")
