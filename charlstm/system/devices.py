"""Where training runs: the device report, data-parallel replicas (--distribute) and mixed
precision.

--distribute on the TensorFlow backend builds the model under tf.distribute.MirroredStrategy
over every visible GPU (or, with none, every logical CPU device when there are several), and
under MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster of machines; on the JAX
backend it sets keras.distribution.DataParallel over every device. Either way --batch-size is
the global batch: each step's batch is split across the replicas, and their gradients are
averaged, so one step does what one step on one device would do.

CHARLSTM_LOGICAL_CPUS=N (an environment variable, read when Keras is imported) splits the CPU
into N logical devices, so that --distribute can be tried and tested without a GPU.

    >>> strategy = distribution_strategy(enabled=False)    # one device: no strategy
    >>> with scope(strategy):
    ...     line, warning = describe_device()
    >>> line.startswith(("CPU (", "GPU 0, "))
    True
"""

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess

from .backend import import_keras, multi_worker_strategy
from ..logs import log, warn

keras = import_keras()  # quietly, once: see charlstm.system.backend


def _backend():
    return keras.backend.backend()


@dataclasses.dataclass(frozen=True)
class Machine:
    """What the checks of a run's settings need to know of this machine (training.checks)."""

    backend: str
    gpu_capability: tuple  # the first GPU's (major, minor); (0, 0) if it does not say; None
    #                        without a GPU
    multi_worker: bool  # TF_CONFIG describes a cluster of machines
    replicas: int = 1  # the data-parallel replicas --distribute makes on TensorFlow


def _tensorflow_replicas(multi_worker):
    import tensorflow as tf

    if multi_worker:
        return multi_worker_strategy().num_replicas_in_sync
    return len(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))


def machine(distribute=False, mixed_precision=False):
    """This machine, as the checks see it; nothing is set up or logged. Devices are only
    asked what the run's flags need: the replicas for --distribute, the GPU's compute
    capability for --mixed-precision."""
    multi_worker = bool(os.environ.get("TF_CONFIG"))
    replicas = 1
    if distribute and _backend() == "tensorflow":
        replicas = _tensorflow_replicas(multi_worker)
    capability = _gpu_compute_capability() if mixed_precision else None
    return Machine(_backend(), capability, multi_worker, replicas)


def distribution_strategy(enabled):
    """The tf.distribute strategy for this run, or None (one device, or not TensorFlow).
    On JAX, DataParallel is set globally here and None returned. charlstm.training.checks has
    refused the backends and combinations it cannot do."""
    if not enabled:
        return None
    if _backend() == "jax":
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        log(f"--distribute: data parallel over {len(devices)} JAX device(s)")
        return None
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        # Made by import_keras when train.py asked for it (see backend.request_multi_worker).
        strategy = multi_worker_strategy()
        log(f"--distribute: {strategy.num_replicas_in_sync} replicas over the TF_CONFIG cluster")
        return strategy
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    strategy = tf.distribute.MirroredStrategy(devices=[device.name for device in devices])
    log(f"--distribute: {strategy.num_replicas_in_sync} replica(s) on "
        + ", ".join(device.name for device in devices))
    if strategy.num_replicas_in_sync == 1:
        log("--distribute: only one device is visible, so this is plain one-device training")
    return strategy


def scope(strategy):
    """Build and compile the model under this: the strategy's scope, or nothing."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def is_chief():
    """Whether this process writes files: always, except the non-chief workers of a
    multi-machine (TF_CONFIG) run, whose checkpoints would be copies of the chief's."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task", {})
    if not task:
        return True
    has_chief = "chief" in config.get("cluster", {})
    return task.get("type") == "chief" or (not has_chief and task.get("type") == "worker"
                                           and int(task.get("index", 0)) == 0)


def _gpu_compute_capability():
    """(major, minor) of the first GPU, (0, 0) for a GPU that does not say, None without one."""
    if _backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return None
        details = tf.config.experimental.get_device_details(gpus[0])
        return tuple(details.get("compute_capability", (0, 0)))
    if _backend() == "jax":
        import jax

        gpus = [device for device in jax.devices() if device.platform == "gpu"]
        if not gpus:
            return None
        capability = getattr(gpus[0], "compute_capability", "0.0")
        return tuple(int(part) for part in str(capability).split(".")[:2])
    if _backend() == "torch":
        import torch

        if not torch.cuda.is_available():
            return None
        return tuple(torch.cuda.get_device_capability(0))
    return None


def set_precision_policy(policy):
    """Set the Keras dtype policy charlstm.training.checks.precision_policy chose for
    --mixed-precision; None is float32 throughout (whatever was set before)."""
    if policy is None:
        keras.mixed_precision.set_global_policy("float32")
        return
    keras.mixed_precision.set_global_policy(policy)
    log(f"--mixed-precision: {policy} (float32 weights, softmax and loss)")


def nvidia_gpu_present():
    """Whether this machine has an NVIDIA GPU, whatever the backend sees: the driver's /proc
    entry, or nvidia-smi listing a GPU."""
    if os.path.isdir("/proc/driver/nvidia/gpus") and os.listdir("/proc/driver/nvidia/gpus"):
        return True
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return listing.returncode == 0 and "GPU" in listing.stdout


def _visible_gpus():
    """[(name, (major, minor) or None)] of the GPUs the backend will use, in its order."""
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = []
        for device in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(device)
            gpus.append((details.get("device_name", device.name),
                         details.get("compute_capability")))
        return gpus
    if backend == "jax":
        import jax

        gpus = []
        for device in jax.devices():
            if device.platform == "gpu":
                capability = getattr(device, "compute_capability", None)
                if capability is not None:
                    capability = tuple(int(part) for part in str(capability).split(".")[:2])
                gpus.append((device.device_kind, capability))
        return gpus
    if backend == "torch":
        import torch

        if not torch.cuda.is_available():
            return []
        return [(torch.cuda.get_device_name(number), torch.cuda.get_device_capability(number))
                for number in range(torch.cuda.device_count())]
    return []


# What to install when a GPU is present but the backend runs on the CPU.
GPU_INSTALL = {
    "tensorflow": "pip install -r requirements-gpu.txt (tensorflow[and-cuda]: a plain "
                  "'pip install tensorflow' has no CUDA libraries on Linux)",
    "jax": "pip install 'jax[cuda12]' (or the CUDA build that matches your driver)",
    "torch": "install a CUDA build of torch (https://pytorch.org/get-started/locally/)",
}


def describe_device():
    """One line for the 'device: ' report: the GPU the backend uses (and cuDNN, which Keras'
    LSTM uses there with the tutorial's layer settings), or the CPU; plus a warning line when
    an NVIDIA GPU is present but the backend does not see it. Returns (line, warning or None)."""
    backend = _backend()
    gpus = _visible_gpus()
    if gpus:
        name, capability = gpus[0]
        details = f" (compute capability {capability[0]}.{capability[1]})" if capability else ""
        more = f", {len(gpus)} GPUs visible" if len(gpus) > 1 else ""
        return f"GPU 0, {name}{details}, cuDNN LSTM{more}; backend {backend}", None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    line = f"CPU ({cores} cores), no GPU visible; backend {backend}"
    warning = None
    if nvidia_gpu_present():
        warning = (f"warning: this machine has an NVIDIA GPU but {backend} does not see it, so "
                   f"this runs on the CPU, many times slower. Fix: {GPU_INSTALL[backend]}")
    return line, warning


def report_device():
    """Log the 'device: ' line (and the unused-GPU warning, which shows even when quiet);
    returns the line's text."""
    line, warning = describe_device()
    log(f"device: {line}")
    if warning:
        warn(warning)
    return line
