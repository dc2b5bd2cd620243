"""Keras import without TensorFlow's start-up noise, seeding, and a compiled forward function.

TensorFlow prints oneDNN, CUDA-probing and CPU-feature lines from C++ before Python's logging
is set up, and TF_CPP_MIN_LOG_LEVEL does not silence all of them. So unless the user asks to
see them (verbose=True), the process's stderr file descriptor points at /dev/null while Keras
imports and the first tensor is made, and is put back right after.

    >>> import numpy as np
    >>> from charlstm.models import Topology, build_model
    >>> keras = import_keras()
    >>> forward = compiled_forward(build_model(Topology(vocab_size=5, output_size=5, units=4)))
    >>> forward(np.zeros((2, 7, 1), np.float32)).shape   # numpy in, numpy out
    (2, 5)
"""

import contextlib
import os
import sys

_keras = None


@contextlib.contextmanager
def _stderr_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_multi_worker = {"requested": False, "strategy": None}


def request_multi_worker():
    """Ask import_keras to create tf.distribute.MultiWorkerMirroredStrategy (from TF_CONFIG)
    right after the import: TensorFlow accepts its collective ops only before the first
    tensor, which import_keras makes."""
    _multi_worker["requested"] = True


def multi_worker_strategy():
    """The strategy made at import on request, else None."""
    return _multi_worker["strategy"]


def _import_and_set_up_devices():
    """Import keras; with CHARLSTM_LOGICAL_CPUS=N, split the CPU into N logical devices first
    (so that --distribute runs on a machine without GPUs, as the tests do); and make the
    multi-worker strategy when requested. Both must happen before the first tensor."""
    count = int(os.environ.get("CHARLSTM_LOGICAL_CPUS", "0") or 0)
    if count > 1 and os.environ.get("KERAS_BACKEND", "tensorflow") == "jax":
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + f" --xla_force_host_platform_device_count={count}")
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if count > 1:
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
        if _multi_worker["requested"]:
            _multi_worker["strategy"] = tf.distribute.MultiWorkerMirroredStrategy()
    return keras


def import_keras(verbose=False):
    """Import and return keras, silencing the backend's start-up logging unless verbose."""
    global _keras
    if _keras is not None:
        return _keras
    if verbose:
        keras = _import_and_set_up_devices()
    else:
        # Level 2 hides TensorFlow's INFO and WARNING lines printed later (retracing notes,
        # CPU-feature hints); the descriptor trick covers what is printed during import.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _stderr_silenced():
            keras = _import_and_set_up_devices()

            # The first tensor makes TensorFlow probe for devices (the CUDA lines).
            keras.ops.convert_to_tensor(0.0)
        import logging

        logging.getLogger("absl").setLevel(logging.ERROR)
    _keras = keras
    return keras


def choose_seed(seed):
    """The given seed, or a fresh one (which the caller logs, so a run can be repeated)."""
    return seed if seed is not None else int.from_bytes(os.urandom(4), "little") >> 1


def set_random_seed(seed):
    """Seed Python, NumPy and the backend so that one seed gives one run on one machine."""
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # Without this, some TensorFlow CPU kernels reduce in a thread-dependent order.
        tf.config.experimental.enable_op_determinism()


def compiled_forward(model):
    """Return f(inputs: np.ndarray) -> np.ndarray, the model's inference pass, compiled once.

    Model.predict builds an iterator and callbacks on every call (about 40 ms on a CPU), far
    too slow for a loop of single characters. This traces the model once per backend, with a
    free batch dimension, and is bit-identical to Model.predict (no XLA, whose fused
    kernels round differently).
    """
    keras = import_keras()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        # The model's own input shape: (None, None, width) for any window length, or a fixed
        # length for an unrolled model.
        traced = tf.function(
            lambda inputs: model(inputs, training=False),
            input_signature=[tf.TensorSpec(model.inputs[0].shape, tf.float32)],
        )
        return lambda inputs: traced(inputs).numpy()
    if backend == "jax":
        import jax
        import numpy as np

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        @jax.jit
        def jitted(trainable, non_trainable, inputs):
            outputs, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
            return outputs

        return lambda inputs: np.asarray(jitted(trainable, non_trainable, inputs))
    return lambda inputs: keras.ops.convert_to_numpy(model(inputs, training=False))
