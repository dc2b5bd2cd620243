"""Training: the tutorial's fit on pattern windows, with best-only .hdf5 checkpoints.

    >>> from train import parse_args                                       # doctest: +SKIP
    >>> train(parse_args(["--epochs", "1", "--checkpoint-dir", "runs"]))    # doctest: +SKIP
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
from .windows import WindowBatches, input_table, pattern_count

keras = import_keras()


class BestOnlyCheckpoint(keras.callbacks.Callback):
    """After each epoch: write a checkpoint if the monitored loss beat every earlier epoch of
    this run, then log one greppable summary line ("epoch 3/20 loss 2.1234 ...") on stderr."""

    def __init__(self, directory, bigger, epochs, metadata, seed_indices, monitor="loss"):
        super().__init__()
        self.directory = directory
        self.bigger = bigger
        self.epochs = epochs
        self.metadata = metadata
        self.seed_indices = seed_indices
        self.monitor = monitor
        self.best_value = float("inf")
        self.best_path = None
        self.epoch_started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        loss = float(logs["loss"])
        val_loss = float(logs["val_loss"]) if "val_loss" in logs else None
        number = epoch + 1  # Keras counts from 0, the tutorial's file names from 1
        seconds = time.perf_counter() - self.epoch_started
        if getattr(self.model, "stop_training", False):
            # Stopped part-way (Ctrl-C): a partial epoch's loss is not comparable, no file.
            log(f"epoch {number}/{self.epochs} interrupted after {seconds:.1f}s: no checkpoint")
            return
        value = val_loss if self.monitor == "val_loss" else loss
        saved = "not improved"
        if value < self.best_value:
            name = checkpoint_name(number, loss, self.bigger, val_loss)
            path = os.path.join(self.directory, name)
            metadata = dict(self.metadata, epoch=number, loss=loss, val_loss=val_loss)
            save_checkpoint(path, self.model, metadata, self.seed_indices)
            self.best_value, self.best_path = value, path
            saved = f"saved {path}"
        validation = f" val_loss {val_loss:.4f}" if val_loss is not None else ""
        log(f"epoch {number}/{self.epochs} loss {loss:.4f}{validation} best {self.best_value:.4f} "
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


def split_held_out(indices, fraction):
    """(training part, held-out tail): the last `fraction` of the text, never trained on."""
    held_out = int(round(len(indices) * fraction))
    return indices[: len(indices) - held_out], indices[len(indices) - held_out :]


def train(args):
    text = read_text(args.text)
    if len(text) <= args.seq_length:
        raise UserError(
            f"text file '{args.text}' has {len(text)} characters: it must be longer than "
            f"--seq-length ({args.seq_length}) to give one pattern"
        )
    if args.monitor == "val_loss" and not args.validation_split:
        raise UserError("--monitor val_loss needs a held-out part: give --validation-split")
    vocabulary = Vocabulary.from_text(text)
    indices = vocabulary.encode(text)
    print(f"Total Characters: {len(text)}")
    print(f"Total Vocab: {len(vocabulary)}")
    print(f"Total Patterns: {pattern_count(len(text), args.seq_length)}", flush=True)
    training_indices, held_out_indices = split_held_out(indices, args.validation_split)
    for name, part in (("training", training_indices), ("held-out", held_out_indices)):
        if (args.validation_split or name == "training") and len(part) <= args.seq_length:
            raise UserError(
                f"the {name} part of '{args.text}' has {len(part)} characters: it must be "
                f"longer than --seq-length ({args.seq_length}); change --validation-split"
            )

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
        input_encoding="one-hot" if args.one_hot else "scaled",
    )
    every_position = args.targets == "every"
    model = compile_model(build_model(topology, args.seq_length, every_position=every_position),
                          learning_rate=args.learning_rate, clipnorm=args.clipnorm)
    table = input_table(topology.vocab_size, topology.input_encoding)
    batches = WindowBatches(training_indices, args.seq_length, args.batch_size, table, seed,
                            targets=args.targets)
    if every_position or args.validation_split:
        log(f"training on {len(training_indices)} characters: {batches.count} "
            f"{'non-overlapping windows' if every_position else 'patterns'} an epoch"
            + (f"; {len(held_out_indices)} held out" if args.validation_split else ""))
    if args.dry_run:
        model.summary()
        return

    metadata = {
        "vocabulary": vocabulary.chars,
        "seq_length": args.seq_length,
        "layers": args.layers,
        "units": args.units,
        "dropout": args.dropout,
        "input_encoding": topology.input_encoding,
        "targets": args.targets,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "clipnorm": args.clipnorm,
        "preset": args.preset,
        "validation_split": args.validation_split,
        "monitor": args.monitor,
        "random_seed": seed,
        "text_name": os.path.basename(args.text),
        "text_length": len(text),
        "text_sha256": fingerprint(text),
    }
    checkpoints = BestOnlyCheckpoint(
        args.checkpoint_dir, args.bigger, args.epochs, metadata, indices, monitor=args.monitor
    )
    interrupt = GracefulInterrupt()
    data, steps_per_epoch = training_data(batches, args.epochs)
    validation = None
    if args.validation_split:
        held_out = WindowBatches(held_out_indices, args.seq_length, args.batch_size, table,
                                 targets=args.targets, shuffle=False)
        # One pass, re-read from the start at every epoch's end (no validation_steps).
        validation, _ = training_data(held_out, 1)
    model.fit(data, epochs=args.epochs, steps_per_epoch=steps_per_epoch, shuffle=False,
              validation_data=validation, callbacks=[interrupt, checkpoints], verbose=1)
    best = f"{checkpoints.best_path} ({args.monitor} {checkpoints.best_value:.4f})"
    if interrupt.requested:
        log(f"interrupted: best checkpoint {best if checkpoints.best_path else 'none yet'}")
        sys.exit(130)
    log(f"done: best checkpoint {best}")
