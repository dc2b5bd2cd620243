"""The line between charlstm and Keras: Keras is imported here, once, without TensorFlow's
start-up noise, and every module that needs Keras gets it from import_keras().

TensorFlow prints oneDNN, CUDA-probing and CPU-feature lines from C++ before Python's logging
is set up, and TF_CPP_MIN_LOG_LEVEL does not silence all of them. So unless the user asks to
see them (verbose=True), the process's stderr file descriptor points at /dev/null while Keras
imports and the first tensor is made, and is put back right after.

The modules that need Keras call `keras = import_keras()` at their top, so importing one
of them starts the backend; charlstm itself, charlstm.api, charlstm.cli and the commands
import none of them until a command or an API call has started the backend as it asked
(start_backend: --verbose-backend, a multi-machine strategy, both of which must come before
TensorFlow's first tensor).

    >>> keras = import_keras()
    >>> import_keras() is keras   # once per process
    True
"""

import contextlib
import importlib.util
import os
import sys

from ..errors import UserError

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
    """The MultiWorkerMirroredStrategy of a TF_CONFIG cluster: the one made at import on
    request, else one made now (which only works before TensorFlow's first tensor)."""
    if _multi_worker["strategy"] is None:
        import tensorflow as tf

        _multi_worker["strategy"] = tf.distribute.MultiWorkerMirroredStrategy()
    return _multi_worker["strategy"]


# Keras 3's backends, and the package each needs.
BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy",
            "openvino": "openvino"}
# The backends Keras can train with: numpy and openvino only run a model (Keras' fit raises
# NotImplementedError there, after the text is read and the model built).
TRAINING_BACKENDS = ("tensorflow", "jax", "torch")


def _logical_cpus():
    text = os.environ.get("CHARLSTM_LOGICAL_CPUS", "0") or "0"
    if not (text.isascii() and text.isdigit()):
        raise UserError(f"CHARLSTM_LOGICAL_CPUS={text!r} is not a whole number: give the "
                        "number of logical CPU devices, or unset it")
    return int(text)


def check_training_backend(backend):
    """UserError, in the words for a backend Keras does not have, for one that cannot
    train."""
    if backend not in TRAINING_BACKENDS:
        raise UserError(f"KERAS_BACKEND={backend!r} is not a Keras backend that can train: "
                        "use tensorflow, jax or torch, or unset it")


def check_environment(training=False):
    """UserError for a KERAS_BACKEND Keras does not have, cannot train with (training) or
    whose package is missing, and for a CHARLSTM_LOGICAL_CPUS that is not a number: one line
    instead of Keras' traceback."""
    backend = os.environ.get("KERAS_BACKEND")
    if backend is not None:
        if backend not in BACKENDS:
            raise UserError(f"KERAS_BACKEND={backend!r} is not a Keras backend: use "
                            "tensorflow, jax or torch, or unset it")
        if training:
            check_training_backend(backend)
        if importlib.util.find_spec(BACKENDS[backend]) is None:
            raise UserError(f"KERAS_BACKEND={backend} needs the {BACKENDS[backend]} package, "
                            f"which is not installed: pip install {BACKENDS[backend]}, or "
                            "unset KERAS_BACKEND")
    _logical_cpus()


def _import_and_set_up_devices():
    """Import keras; with CHARLSTM_LOGICAL_CPUS=N, split the CPU into N logical devices first
    (so that --distribute runs on a machine without GPUs, as the tests do); and make the
    multi-worker strategy when requested. Both must happen before the first tensor."""
    count = _logical_cpus()
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
    """Import and return keras, silencing the backend's start-up logging unless verbose.
    UserError if the environment names a backend that cannot start."""
    global _keras
    if _keras is not None:
        return _keras
    check_environment()
    try:
        keras = _quiet_import() if not verbose else _import_and_set_up_devices()
    except ImportError as error:  # a backend package that is there but broken
        raise UserError(f"cannot start Keras: {error}") from None
    _keras = keras
    return keras


def _quiet_import():
    # Level 2 hides TensorFlow's INFO and WARNING lines printed later (retracing notes,
    # CPU-feature hints); the descriptor trick covers what is printed during import.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _stderr_silenced():
        keras = _import_and_set_up_devices()

        # The first tensor makes TensorFlow probe for devices (the CUDA lines).
        keras.ops.convert_to_tensor(0.0)
    import logging

    logging.getLogger("absl").setLevel(logging.ERROR)
    return keras


def choose_seed(seed):
    """The given seed, or a fresh one (which the caller logs, so a run can be repeated)."""
    return seed if seed is not None else int.from_bytes(os.urandom(4), "little") >> 1


def start_backend(verbose=False, distribute=False, training=False):
    """Start Keras as a command or an API call asks: quietly unless verbose (--verbose-backend),
    and, for a multi-machine run (--distribute with TF_CONFIG), with its strategy made before
    TensorFlow's first tensor. training: UserError at once for a backend that cannot train,
    named by KERAS_BACKEND (before Keras is imported) or by keras.json. Returns keras."""
    if training:
        check_environment(training=True)
    if distribute and os.environ.get("TF_CONFIG"):
        request_multi_worker()
    keras = import_keras(verbose=verbose)
    if training:
        check_training_backend(keras.backend.backend())
    return keras
