"""Training: the tutorial's fit on pattern windows, with best-only .hdf5 checkpoints, and
--resume, which carries on from a checkpoint exactly as if the run had never stopped.

    >>> from train import parse_args                                       # doctest: +SKIP
    >>> train(parse_args(["--epochs", "1", "--checkpoint-dir", "runs"]))    # doctest: +SKIP
"""

import os
import sys
import tempfile
import time
from types import SimpleNamespace

import numpy as np

from .backend import import_keras, set_random_seed, training_data
from .callbacks import (BestOnlyCheckpoint, DivergenceStop, GracefulInterrupt, HistoryLog,
                        SampleWriter, StateReset)
from .checkpoint import load_checkpoint, restore_training_state
from .cli import choose_seed, log
from .corpus import load_corpus
from .devices import (distribution_strategy, fit_multi_worker, is_chief, mixed_precision_policy,
                      scope)
from .errors import UserError
from .models import Topology, build_model, compile_model
from .sequences import SentenceBatches, StreamBatches
from .windows import WindowBatches, input_table, pattern_count

keras = import_keras()

# What a resumed run takes from its checkpoint. A flag given explicitly with another value is
# refused (these shape the model, the data or the file names); RESUME_ADJUSTABLE may change.
RESUME_FIXED = ("seq_length", "layers", "units", "one_hot", "input_dropout", "targets",
                "sentences", "stateful", "batch_size", "validation_split", "monitor",
                "strip_punctuation", "bigger", "seed", "steps_per_epoch")
RESUME_ADJUSTABLE = ("epochs", "learning_rate", "clipnorm", "dropout", "preset")
# --distribute and --mixed-precision describe the machine, not the run: a resumed run uses
# what its own command line says (a float16 run's extra loss-scale state, resumed without
# it, is refused by restore_training_state, naming the count that differs).


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




def flag_name(setting):
    return "--" + setting.replace("_", "-")


def run_settings(checkpoint):
    """The train.py arguments a checkpoint of ours was trained with."""
    metadata = checkpoint.metadata
    settings = {key: metadata[key] for key in RESUME_FIXED + RESUME_ADJUSTABLE
                if key not in ("one_hot", "seed")}
    settings["one_hot"] = metadata["input_encoding"] == "one-hot"
    settings["seed"] = metadata["random_seed"]
    return settings


def apply_resume(args):
    """Load --resume's checkpoint and take its settings into args; UserError if it cannot be
    resumed or an explicit flag contradicts it. Returns the checkpoint."""
    checkpoint = load_checkpoint(args.resume)
    if not checkpoint.has_training_state:
        raise UserError(
            f"'{args.resume}' has no optimizer state, so it cannot be resumed (a legacy file, "
            "or one written before --resume existed)"
        )
    explicit = getattr(args, "explicit", set())
    try:
        settings = run_settings(checkpoint)
    except KeyError as error:
        raise UserError(f"'{args.resume}' does not record its setting {error}") from None
    for key, value in settings.items():
        given = getattr(args, key, None)
        if key in explicit and key in RESUME_FIXED and given != value:
            if isinstance(value, bool):  # a switch: only "on" can be given explicitly
                raise UserError(f"cannot resume with {flag_name(key)}: '{args.resume}' was "
                                "trained without it")
            raise UserError(f"cannot resume with {flag_name(key)} {given}: "
                            f"'{args.resume}' was trained with {value}")
        if key not in explicit:
            setattr(args, key, value)
    if "checkpoint_dir" not in explicit:
        args.checkpoint_dir = os.path.dirname(args.resume) or "."
    done = checkpoint.metadata["epoch"]
    if args.epochs <= done:
        raise UserError(f"'{args.resume}' has already trained {done} epochs: "
                        f"give --epochs more than {done} to train further")
    return checkpoint


def check_same_text(checkpoint, corpus, text_path):
    """Refuse to resume on another text: name the characters or the length that differ."""
    metadata = checkpoint.metadata
    vocabulary = corpus.vocabulary
    if vocabulary != checkpoint.vocabulary:
        added = "".join(sorted(set(vocabulary.chars) - set(checkpoint.vocabulary.chars)))
        missing = "".join(sorted(set(checkpoint.vocabulary.chars) - set(vocabulary.chars)))
        raise UserError(
            f"cannot resume on '{text_path}': its vocabulary differs from the checkpoint's "
            f"(new characters {added!r}, missing {missing!r})"
        )
    if corpus.sha256 != metadata["text_sha256"]:
        raise UserError(
            f"cannot resume on '{text_path}' ({len(corpus)} characters): '{checkpoint.path}' "
            f"was trained on another text, {metadata['text_name']} "
            f"({metadata['text_length']} characters)"
        )


def training_batches(args, indices, vocabulary, table, seed, shuffle=True):
    """The EpochBatches for this run's layout: windows (the tutorial's, or --targets every),
    --sentences or --stateful."""
    if args.sentences:
        # Only this layout needs the text as a string, to find where sentences end.
        return SentenceBatches(indices, vocabulary.decode_all(indices), args.seq_length,
                               args.batch_size, table, seed, shuffle=shuffle)
    if args.stateful:
        return StreamBatches(indices, args.seq_length, args.batch_size, table, seed,
                             shuffle=shuffle)
    return WindowBatches(indices, args.seq_length, args.batch_size, table, seed,
                         targets=args.targets, shuffle=shuffle)


def check_layout(args, part_name, part):
    """UserError unless this part of the text gives at least one batch row."""
    length = len(part)
    if args.stateful:
        needed = StreamBatches.minimum_length(args.seq_length, args.batch_size)
        if length < needed:
            raise UserError(
                f"the {part_name} part has {length} characters: --stateful lays the text out "
                f"as --batch-size ({args.batch_size}) streams of at least one window, which "
                f"needs {needed}; lower --batch-size or --seq-length"
            )
    elif length <= args.seq_length:
        raise UserError(
            f"the {part_name} part of '{args.text}' has {length} characters: it must be "
            f"longer than --seq-length ({args.seq_length})"
            + ("; change --validation-split" if args.validation_split else "")
        )


def check_flags(args):
    explicit = getattr(args, "explicit", set())
    if args.monitor == "val_loss" and not args.validation_split:
        raise UserError("--monitor val_loss needs a held-out part: give --validation-split")
    if args.stateful and args.steps_per_epoch:
        raise UserError("--steps-per-epoch would cut a --stateful pass, whose state runs "
                        "from the start of the text to its end: leave it out")
    if args.sentences and args.stateful:
        raise UserError("--sentences and --stateful are two different layouts: choose one")
    for layout in ("sentences", "stateful"):
        if getattr(args, layout):
            if "targets" in explicit and args.targets == "last":
                raise UserError(f"--{layout} trains every position: it cannot be combined "
                                "with --targets last")
            args.targets = "every"


def prepare(args):
    """Everything a run needs before fit, from train.py's arguments: the text, vocabulary,
    batches, compiled model and (with --resume) the checkpoint it continues, with the
    checkpoint's weights and training state in the model. Benchmarks call it too."""
    checkpoint = apply_resume(args) if args.resume else None
    check_flags(args)
    mixed_precision_policy(args.mixed_precision)
    strategy = distribution_strategy(args.distribute)
    if strategy is not None and args.stateful:
        raise UserError("--stateful keeps one state per batch row, which replicas cannot "
                        "share: leave out --distribute")
    if strategy is not None and os.environ.get("TF_CONFIG") and args.seed is None:
        raise UserError("a multi-machine run (TF_CONFIG) needs the same --seed on every "
                        "machine, so that they read the same batches")
    if strategy is not None and args.batch_size % strategy.num_replicas_in_sync:
        raise UserError(f"--batch-size {args.batch_size} does not split evenly over "
                        f"{strategy.num_replicas_in_sync} replicas")
    started = time.perf_counter()
    corpus = load_corpus(args.text, args.strip_punctuation)
    if len(corpus) <= args.seq_length:
        raise UserError(
            f"text file '{args.text}' has {len(corpus)} characters: it must be longer than "
            f"--seq-length ({args.seq_length}) to give one pattern"
        )
    read_seconds = time.perf_counter() - started
    vocabulary, indices = corpus.vocabulary, corpus.indices
    if checkpoint:
        check_same_text(checkpoint, corpus, args.text)
    print(f"Total Characters: {len(corpus)}")
    print(f"Total Vocab: {len(vocabulary)}")
    print(f"Total Patterns: {pattern_count(len(corpus), args.seq_length)}", flush=True)
    training_indices, held_out_indices = split_held_out(indices, args.validation_split)
    check_layout(args, "training", training_indices)
    if args.validation_split:
        check_layout(args, "held-out", held_out_indices)

    if not args.dry_run:
        prepare_checkpoint_dir(args.checkpoint_dir)
    log(f"read '{args.text}' in {read_seconds:.2f}s")
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
        input_dropout=args.input_dropout,
    )
    table = input_table(topology.vocab_size, topology.input_encoding)
    batches = training_batches(args, training_indices, vocabulary, table, seed)
    held_out = None
    if args.validation_split:
        held_out = training_batches(args, held_out_indices, vocabulary, table, seed,
                                    shuffle=False)
    for name, part in (("training", batches), ("held-out", held_out)):
        if part is not None and part.steps == 0:  # only sentences can come out empty
            raise UserError(f"the {name} part of '{args.text}' has no sentence of two "
                            "characters or more")
    with scope(strategy):
        model = build_model(topology, args.seq_length, every_position=args.targets == "every",
                            stateful_batch_size=args.batch_size if args.stateful else None)
        compile_model(model, learning_rate=args.learning_rate, clipnorm=args.clipnorm,
                      padded_targets=args.sentences)
        if checkpoint and not args.dry_run:
            model.set_weights(checkpoint.weights)
            restore_training_state(checkpoint.path, model)
    if strategy is not None:
        fit_multi_worker(model, strategy)
    describe_layout(args, batches, training_indices, held_out_indices)
    return SimpleNamespace(
        corpus=corpus, vocabulary=vocabulary, indices=indices, training_indices=training_indices,
        held_out_indices=held_out_indices, topology=topology, table=table, batches=batches,
        held_out=held_out, model=model, seed=seed, checkpoint=checkpoint,
    )


def train(args):
    run = prepare(args)
    model, vocabulary, checkpoint, seed = run.model, run.vocabulary, run.checkpoint, run.seed
    corpus, indices, training_indices = run.corpus, run.indices, run.training_indices
    if args.dry_run:
        model.summary()
        return

    initial_epoch, best_value, best_path = 0, float("inf"), None
    if checkpoint:
        initial_epoch = checkpoint.metadata["epoch"]
        best_value = checkpoint.metadata["val_loss" if args.monitor == "val_loss" else "loss"]
        best_path = checkpoint.path
        log(f"resuming {checkpoint.path} at epoch {initial_epoch + 1}/{args.epochs}, "
            f"best {args.monitor} so far {best_value:.4f}")

    metadata = {
        "vocabulary": vocabulary.chars,
        "seq_length": args.seq_length,
        "layers": args.layers,
        "units": args.units,
        "dropout": args.dropout,
        "input_dropout": args.input_dropout,
        "input_encoding": run.topology.input_encoding,
        "targets": args.targets,
        "sentences": args.sentences,
        "stateful": args.stateful,
        "strip_punctuation": args.strip_punctuation,
        "bigger": args.bigger,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "steps_per_epoch": args.steps_per_epoch,
        "distribute": args.distribute,
        "mixed_precision": args.mixed_precision,
        "learning_rate": args.learning_rate,
        "clipnorm": args.clipnorm,
        "preset": args.preset,
        "validation_split": args.validation_split,
        "monitor": args.monitor,
        "random_seed": seed,
        "text_name": os.path.basename(args.text),
        "text_length": len(corpus),
        "text_sha256": corpus.sha256,
    }
    interrupt = GracefulInterrupt()
    divergence = DivergenceStop(len(vocabulary))
    # Only one process of a multi-machine run writes files (the others hold the same model).
    writer = is_chief()
    checkpoints = BestOnlyCheckpoint(args.checkpoint_dir, args.bigger, args.epochs, metadata,
                                     indices, monitor=args.monitor, best_value=best_value,
                                     best_path=best_path, write=writer)
    history_path = args.history or os.path.join(args.checkpoint_dir, "history.csv")
    # Keras' progress bar first, so that it finishes its line before the summary line.
    callbacks = [keras.callbacks.ProgbarLogger(), interrupt, divergence, checkpoints]
    if writer:
        resumed_after = initial_epoch if checkpoint else None
        callbacks.append(HistoryLog(history_path, checkpoints, resumed_after=resumed_after))
    if args.stateful:
        callbacks.insert(1, StateReset())
    if args.sample_every:
        rng = np.random.default_rng(seed)
        start = int(rng.integers(0, pattern_count(len(training_indices), args.seq_length)))
        callbacks.append(SampleWriter(args.sample_every, run.topology, vocabulary,
                                      training_indices[start : start + args.seq_length],
                                      random_seed=seed))
    if args.tensorboard and writer:
        callbacks.append(tensorboard_callback(args.tensorboard))

    data, steps_per_epoch = training_data(run.batches, args.epochs, initial_epoch,
                                          args.steps_per_epoch)
    validation = None
    if run.held_out is not None:
        # One pass, re-read from the start at every epoch's end (no validation_steps).
        validation, _ = training_data(run.held_out, 1)
    model.fit(data, epochs=args.epochs, initial_epoch=initial_epoch,
              steps_per_epoch=steps_per_epoch, shuffle=False, validation_data=validation,
              callbacks=callbacks, verbose=1)
    best = f"{checkpoints.best_path} ({args.monitor} {checkpoints.best_value:.4f})"
    if not checkpoints.best_path:
        best = "none yet"
    if divergence.reason:
        raise UserError(f"training stopped: {divergence.reason}; last good checkpoint: {best}. "
                        "Try a lower --learning-rate or a --clipnorm")
    if interrupt.requested:
        log(f"interrupted: best checkpoint {best}")
        sys.exit(130)
    if not writer:
        log(f"done: best {args.monitor} {checkpoints.best_value:.4f} (the chief wrote the files)")
        return
    log(f"done: best checkpoint {best}; history in {history_path}")


def describe_layout(args, batches, training_indices, held_out_indices):
    """One log line on what an epoch reads, for every layout but the tutorial's."""
    held_out = f"; {len(held_out_indices)} held out" if args.validation_split else ""
    if args.sentences:
        what = (f"{batches.count} sentence rows ({batches.predictions} predictions, "
                f"padding skipped)")
    elif args.stateful:
        what = (f"{args.batch_size} contiguous streams of {batches.stream_length} characters, "
                f"{batches.steps} stateful steps")
    elif args.targets == "every":
        what = f"{batches.count} non-overlapping windows"
    elif args.validation_split:
        what = f"{batches.count} patterns"
    else:
        return
    log(f"training on {len(training_indices)} characters: {what} an epoch{held_out}")


def tensorboard_callback(directory):
    """Keras' TensorBoard callback. It writes through TensorFlow's summary API, which needs
    the tensorboard package: an optional extra, checked before any training happens."""
    import importlib.util

    for package in ("tensorflow", "tensorboard"):
        if importlib.util.find_spec(package) is None:
            raise UserError(f"--tensorboard needs the {package} package: "
                            f"pip install {package}")
    return keras.callbacks.TensorBoard(log_dir=directory)
