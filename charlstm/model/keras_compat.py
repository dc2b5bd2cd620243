"""Every use of a private Keras API, in one place: a Keras upgrade breaks here first.

Each shim below says what it relies on, the Keras version it was written for and, where
there is one, the upstream issue that would let it go. SHIMS lists them;
tests/model/test_keras_compat.py checks that what they rely on is still there, and names the
shims at risk when the installed Keras is not the one they were written for
(requirements.txt pins it).

    >>> [shim.name for shim in SHIMS]
    ['EpochProgress', 'fit_multi_worker', 'moving_averages']
    >>> missing_private_apis()
    []
"""

import contextlib
import importlib
from typing import NamedTuple

from ..logs import progress_stream
from ..system.backend import import_keras

keras = import_keras()  # quietly, once: see charlstm.system.backend

WRITTEN_FOR = "3.15.1"  # the Keras every shim was written for and checked against


class Shim(NamedTuple):
    name: str  # the function or class here
    relies_on: tuple  # (owner, private attribute) pairs, owner as a dotted import path
    why: str
    issue: str = None  # the upstream issue that would make it unnecessary


SHIMS = (
    Shim("EpochProgress",
         (("keras.callbacks.ProgbarLogger", "_finalize_progbar"),),
         "end an interrupted epoch's progress bar at the step it reached"),
    Shim("fit_multi_worker",
         (("keras.src.backend.tensorflow.trainer", "reduce_per_replica"),
          ("keras.src.backend.tensorflow.trainer.TensorFlowTrainer", "_maybe_symbolic_build"),
          ("keras.src.trainers.trainer.Trainer", "_symbolic_build")),
         "fit() under MultiWorkerMirroredStrategy", "keras-team/keras#20585"),
    Shim("moving_averages",
         (("keras.optimizers.Optimizer", "_trainable_variables"),
          ("keras.optimizers.Optimizer", "_model_variables_moving_average")),
         "read the --ema averages, which Keras keeps in the optimizer"),
)


def _owner(dotted):
    """The module or class a dotted path names; None if it cannot be imported (the
    TensorFlow trainer on another backend)."""
    module_path, _, attribute = dotted.rpartition(".")
    for split in (dotted, module_path):
        try:
            module = importlib.import_module(split)
        except ImportError:
            continue
        return module if split == dotted else getattr(module, attribute, None)
    return None


def _has(owner, attribute):
    if hasattr(owner, attribute):
        return True
    if attribute in ("_trainable_variables", "_model_variables_moving_average"):
        # Instance attributes: set when an optimizer with use_ema is built.
        variable = keras.Variable([1.0])
        optimizer = keras.optimizers.Adam(use_ema=True)
        optimizer.build([variable])
        return hasattr(optimizer, attribute)
    return False


def missing_private_apis():
    """[(shim name, "owner.attribute")] of what the shims rely on that this Keras lacks.
    Owners that cannot be imported here (the TensorFlow trainer without TensorFlow) are
    skipped."""
    missing = []
    for shim in SHIMS:
        for dotted, attribute in shim.relies_on:
            owner = _owner(dotted)
            if owner is not None and not _has(owner, attribute):
                missing.append((shim.name, f"{dotted}.{attribute}"))
    return missing


class EpochProgress(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, drawn on stderr (stdout carries only a command's output), and
    only where stderr is a terminal (logs.show_progress_bar; the caller checks): its \r, \b
    and colour codes would fill a pipe, a file or a notebook with garbage. Log lines written
    while the bar's line is open start on a line of their own (logs.progress_stream). An
    epoch stopped part-way (Ctrl-C, a divergence) ends its bar at the step it reached instead
    of repainting it as complete.

    Private: overrides ProgbarLogger._finalize_progbar (Keras 3.15.1), the one place where
    the bar is completed.

    Args:
        epoch_limit: whether the run has a last epoch to name ("Epoch 3/20"); a --minutes run
            without --epochs has none (the caller knows: config.unbounded).
    """

    def __init__(self, epoch_limit=True):
        super().__init__()
        self.epoch_limit = epoch_limit

    def on_epoch_begin(self, epoch, logs=None):
        with contextlib.redirect_stdout(progress_stream()):
            if self.epoch_limit:
                return super().on_epoch_begin(epoch, logs)
            # A --minutes run without --epochs has no last epoch to name: "Epoch 3", not
            # "Epoch 3/1000000" (the bar itself is Keras').
            epochs, self.epochs = self.epochs, 1  # 1: Keras prints no epoch line
            super().on_epoch_begin(epoch, logs)
            self.epochs = epochs
            if self.verbose:
                print(f"Epoch {epoch + 1}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        with contextlib.redirect_stdout(progress_stream()):
            super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        with contextlib.redirect_stdout(progress_stream()):
            super().on_epoch_end(epoch, logs)

    def _finalize_progbar(self, logs):
        stopped = bool(getattr(self.model, "stop_training", False))
        if stopped and self.progbar is not None and self.seen:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=True)
            return
        super()._finalize_progbar(logs)


def fit_multi_worker(model, strategy):
    """Let Keras' fit() start under MultiWorkerMirroredStrategy (keras-team/keras#20585, still
    open for Keras 3.15.1).

    First, Keras builds the model before training from one batch, which it first reduces
    across the replicas with strategy.reduce; under MultiWorkerMirroredStrategy that
    reduction fails on the per-replica batch ("Attempt to convert a value (PerReplica...) to
    a Tensor"). Building needs only the batch's shapes, so this model takes the first local
    replica's part instead: private Model._maybe_symbolic_build and Model._symbolic_build.

    Second, each step's logs: Keras reduces a scalar loss with strategy.reduce("MEAN", v,
    axis=0), which fails on a scalar; the mean over replicas is axis=None. This patches the
    private keras.src.backend.tensorflow.trainer.reduce_per_replica, process-wide, once; it
    changes nothing for other strategies.
    """
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return

    def local_part(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(local_part, next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = maybe_symbolic_build

    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "charlstm_patched", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(
                strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return tf.nest.map_structure(
                lambda value: strategy.reduce("MEAN", value, axis=None)
                if isinstance(value, tf.distribute.DistributedValues) else value, values)
        return original(values, strategy, reduction)

    reduce_per_replica.charlstm_patched = True
    trainer.reduce_per_replica = reduce_per_replica


def moving_averages(model):
    """{variable path: its moving average} when the model's optimizer keeps one (--ema), else
    {}. Private: Keras 3.15.1 keeps the averages in optimizer._model_variables_moving_average,
    in the order of optimizer._trainable_variables, with no public accessor."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "use_ema", False) or not optimizer.built:
        return {}
    return {variable.path: average for variable, average in
            zip(optimizer._trainable_variables, optimizer._model_variables_moving_average)}

