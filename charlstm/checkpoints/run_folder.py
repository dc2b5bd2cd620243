"""The checkpoint folder as one run's property: what its checkpoints are called, which run
they belong to, which one is best, a lock while a run writes there, and the clean-up of what
a killed run left.

- Names: the tutorial's weights-improvement-{epoch:02d}-{loss:.4f}[-bigger].hdf5, with
  -val-{val_loss:.4f} after the loss when a held-out part was evaluated.
- Identity (run_identity): the text (its sha256) and every fixed setting (charlstm.config),
  the random seed included. The small and the bigger model's files (-bigger.hdf5) may share
  a folder, as in the tutorial: each is checked against its own kind. A run in a folder that
  holds checkpoints of another identity is refused unless it resumes one of them (then it
  has their identity) or is given --overwrite, which removes them and the folder's
  history.csv first. So a folder holds one run, and generate.py's default choice
  (find_best_checkpoint) keeps to one run.
- Lock: `.charlstm.lock` (JSON: process id, host, command, start time), made with O_EXCL
  when a run starts and removed when it ends. A second run in the folder is refused with one
  line naming the first; the lock of a process no longer alive on this host is taken over.
- Temporary files of writers killed mid-save are removed (files.remove_stale_temporaries).

    >>> name = checkpoint_name(19, 1.94351, bigger=False)
    >>> name, parse_checkpoint_name(name)
    ('weights-improvement-19-1.9435.hdf5', (19, 1.9435, None))
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with run_lock(folder):
    ...     sorted(os.listdir(folder))
    ['.charlstm.lock']
    >>> os.listdir(folder)
    []
"""

import contextlib
import json
import os
import re
import socket
import sys
import time
from typing import NamedTuple

from .format import checkpoint_metadata
from ..config import FIXED, SETTINGS
from ..errors import UserError
from ..system.files import (is_process_id, kind_of, process_alive, remove_file,
                    remove_stale_temporaries)
from ..logs import log

NAME_PATTERN = re.compile(
    r"^weights-improvement-(\d+)-(\d+\.\d+)(?:-val-(\d+\.\d+))?(-bigger)?\.hdf5$"
)


def checkpoint_name(epoch, loss, bigger, val_loss=None):
    """The tutorial's file name, weights-improvement-{epoch:02d}-{loss:.4f}[-bigger].hdf5, with
    -val-{val_loss:.4f} after the loss when a held-out part was evaluated."""
    validation = f"-val-{val_loss:.4f}" if val_loss is not None else ""
    suffix = "-bigger" if bigger else ""
    return f"weights-improvement-{epoch:02d}-{loss:.4f}{validation}{suffix}.hdf5"


def parse_checkpoint_name(name):
    """(epoch, loss, val_loss or None) from a checkpoint file name, or None if it is not one."""
    match = NAME_PATTERN.match(os.path.basename(name))
    if not match:
        return None
    val_loss = float(match.group(3)) if match.group(3) else None
    return int(match.group(1)), float(match.group(2)), val_loss


def recorded_loss(checkpoint):
    """The loss a checkpoint records, as "val_loss 1.2345" or "loss 1.2345": its metadata's
    val_loss or loss, else the one in its file name (a legacy file); None when none.

    >>> recorded_loss(type("Legacy", (), {"metadata": None,
    ...                                   "path": "weights-improvement-19-1.9536.hdf5"}))
    'loss 1.9536'
    """
    metadata = checkpoint.metadata or {}
    for key in ("val_loss", "loss"):
        if metadata.get(key) is not None:
            return f"{key} {metadata[key]:.4f}"
    parsed = parse_checkpoint_name(checkpoint.path)
    if parsed is None:
        return None
    _, loss, val_loss = parsed
    return f"val_loss {val_loss:.4f}" if val_loss is not None else f"loss {loss:.4f}"


def is_bigger_name(name):
    """Whether a checkpoint file name ends in -bigger.hdf5 (the tutorial's bigger model)."""
    return name.endswith("-bigger.hdf5")


def run_identity(metadata):
    """What makes two checkpoints the same run: the text and the fixed settings."""
    same = {"text_sha256": metadata.get("text_sha256")}
    for setting in SETTINGS:
        if setting.resume == FIXED:
            same[setting.name] = metadata.get(setting.key, setting.default)
    return same


def describe_run(metadata):
    """A short account of a run (from a checkpoint's metadata) for messages."""
    same = run_identity(metadata)
    shown = [f"seed {same.get('seed')}"]
    for name in ("seq_length", "layers", "units", "batch_size", "targets"):
        shown.append(f"{name} {same.get(name)}")
    return ", ".join(shown) + f", text {metadata.get('text_name')}"


def checkpoints_in(directory):
    """The checkpoint files (by name) in a folder."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(name for name in names if parse_checkpoint_name(name))


# A model trained by the project's own command (bench/bundled_model.py makes it; docs/bundled.md
# gives the command, seed, time and held-out loss), inside the package, so that generate.py
# writes Alice before any training. It carries no optimizer state: it is for generation,
# evaluation and --init-from, not --resume.
PACKAGE_FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED_MODEL = os.path.join(PACKAGE_FOLDER, "bundled", "alice.hdf5")


def default_weights(directory):
    """The checkpoint to use when --weights is not given: the best one in `directory`
    (find_best_checkpoint), else, when the folder holds none or does not exist, the bundled
    model, said on one log line. A folder that cannot be read stays an error."""
    unreadable = os.path.exists(directory) and not os.path.isdir(directory)
    if unreadable or checkpoints_in(directory) or not os.path.isfile(BUNDLED_MODEL):
        return find_best_checkpoint(directory)
    log(f"no checkpoint in '{directory}': using the bundled model {BUNDLED_MODEL} "
        "(python train.py --preset fast, 10 minutes; docs/bundled.md); train your own with "
        "python train.py")
    return BUNDLED_MODEL


def find_best_checkpoint(directory):
    """The best checkpoint in directory among the files of one run: the run of the newest
    checkpoint file (files of other runs, or legacy files, are left out and counted in the
    log line), then the lowest held-out loss among its files that carry one, else the lowest
    training loss (the later epoch on a tie). UserError if there is none."""
    try:
        names = os.listdir(directory)
    except OSError as error:
        raise UserError(f"cannot list checkpoint directory '{directory}': "
                        f"{error.strerror}") from None
    runs = {}  # identity -> [(rank, name, metadata)]
    newest = (-1.0, None)
    for name in names:
        parsed = parse_checkpoint_name(name)
        if not parsed:
            continue
        path = os.path.join(directory, name)
        metadata = checkpoint_metadata(path)
        key = json.dumps(run_identity(metadata), sort_keys=True) if metadata else "legacy"
        epoch, loss, val_loss = parsed
        ranked_by_held_out = val_loss is not None
        rank = (not ranked_by_held_out, val_loss if ranked_by_held_out else loss, -epoch)
        runs.setdefault(key, []).append((rank, name, metadata))
        with contextlib.suppress(OSError):
            newest = max(newest, (os.path.getmtime(path), key))
    if not runs:
        raise UserError(
            f"no weights-improvement-*.hdf5 checkpoint in '{directory}': "
            "train one with train.py or name one with --weights"
        )
    chosen = newest[1] if newest[1] is not None else next(iter(runs))
    _, name, metadata = min(runs[chosen], key=lambda entry: (entry[0], entry[1]))
    ignored = sum(len(files) for key, files in runs.items() if key != chosen)
    if ignored:
        what = describe_run(metadata) if metadata else "legacy files without metadata"
        log(f"'{directory}' holds checkpoints of {len(runs)} runs: using the newest run's "
            f"({what}; {len(runs[chosen])} file(s)), leaving out {ignored} file(s) of the others")
    return os.path.join(directory, name)


LOCK_NAME = ".charlstm.lock"


class LockHolder(NamedTuple):
    """A lock file's record, read by type (read_lock)."""

    pid: int
    host: str
    command: str
    started: str


def read_lock(path):
    """(LockHolder, None), or (None, what is wrong with the file): the one reader of a lock."""
    kind = kind_of(path)
    if kind is not None:  # never open a FIFO or a device: it could block, or be anything
        return None, f"it is {kind}"
    data = b""
    try:
        with open(path, "rb") as handle:
            data = handle.read(10_000)
        record = json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        return None, "it is gone"
    except OSError as error:
        return None, f"it cannot be read ({error.strerror})"
    except ValueError:  # not UTF-8, not JSON; an empty file too
        return None, "it is empty" if not data else "it is not JSON"
    if not isinstance(record, dict):
        return None, "it is not a JSON object"
    pid = record.get("pid")
    if not is_process_id(pid):
        return None, f"its pid is {pid!r}, not a process id"
    fields = [str(record.get(name, "")) for name in ("host", "command", "started")]
    return LockHolder(pid, *fields), None


def _take_lock(path, record):
    """Create the lock file with O_EXCL and write the record; False if it exists."""
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as handle:
        json.dump(record, handle)
    return True


def _stale(path, directory, host):
    """Whether an existing lock may be taken over (saying why), else UserError. A lock of a
    process gone from this host is stale; so is a damaged one (an empty one is what a kill
    between creating and writing it leaves), once it stays damaged for a moment."""
    kind = kind_of(path)
    if kind is not None:  # a FIFO, a device, a folder: not a lock this project wrote
        raise UserError(f"checkpoint directory '{directory}' has a lock '{path}' that is "
                        f"{kind}, not a regular file: remove it")
    holder, damage = read_lock(path)
    if damage:
        time.sleep(0.2)  # perhaps being written this instant
        holder, damage = read_lock(path)
    if not os.path.lexists(path):
        return True
    if damage:
        log(f"taking over the lock '{path}', which is damaged ({damage})")
        return remove_file(path)
    if holder.host == host and not process_alive(holder.pid):
        log(f"taking over the lock of process {holder.pid}, which is gone")
        return remove_file(path)
    raise UserError(_in_use_message(directory, holder))


@contextlib.contextmanager
def run_lock(directory):
    """Hold the folder's lock for the duration of the block; UserError if another live run
    holds it."""
    path = os.path.join(directory, LOCK_NAME)
    record = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": " ".join(os.path.basename(part) if number == 0 else part
                                  for number, part in enumerate(sys.argv))[:300]}
    try:
        taken = _take_lock(path, record)
        if not taken and _stale(path, directory, record["host"]):
            taken = _take_lock(path, record)
    except OSError as error:
        raise UserError(f"cannot lock checkpoint directory '{directory}': "
                        f"{error.strerror}") from None
    if not taken:
        holder, _ = read_lock(path)
        raise UserError(_in_use_message(directory, holder))
    try:
        yield
    finally:
        holder, _ = read_lock(path)
        if holder is not None and holder.pid == record["pid"]:
            remove_file(path)


def _in_use_message(directory, holder):
    if holder is None:
        return (f"checkpoint directory '{directory}' is locked by another run starting now: "
                "wait for it, or give another --checkpoint-dir")
    where = "" if holder.host == socket.gethostname() else f" on {holder.host}"
    return (f"checkpoint directory '{directory}' is in use by another run: process "
            f"{holder.pid}{where} ({holder.command}), since {holder.started}; wait for it, "
            "or give another --checkpoint-dir")


def claim(directory, metadata, resuming, overwrite, history_path):
    """Check that this run may write its checkpoints into directory: clean up temporaries of
    killed writers, and refuse a folder that holds another run's checkpoints unless
    overwrite (then remove them and history_path). resuming: the checkpoint resumed, which
    must be one of this run's."""
    removed = remove_stale_temporaries(directory)
    if removed:
        log(f"removed {len(removed)} temporary file(s) that killed runs left in '{directory}'")
    mine = run_identity(metadata)
    others = []
    for name in checkpoints_in(directory):
        if is_bigger_name(name) != bool(metadata.get("bigger")):
            continue  # the tutorial's two models share a folder: their names never collide
        path = os.path.join(directory, name)
        if resuming and os.path.abspath(path) == os.path.abspath(resuming):
            continue
        recorded = checkpoint_metadata(path)
        if recorded is None or run_identity(recorded) != mine:
            others.append((name, recorded))
    if not others:
        return
    if not overwrite:
        name, recorded = others[0]
        what = describe_run(recorded) if recorded else "a file without charlstm metadata"
        raise UserError(
            f"checkpoint directory '{directory}' holds {len(others)} checkpoint(s) of another "
            f"run ('{name}': {what}); this run would mix with them. Resume one (--resume), "
            "give another --checkpoint-dir, or give --overwrite to remove them")
    for name, _ in others:
        remove_file(os.path.join(directory, name))
    remove_file(history_path)  # checked before: a regular file, or nothing
    log(f"--overwrite: removed {len(others)} checkpoint(s) of an earlier run from "
        f"'{directory}', and its history")
