"""The checkpoint folder as one run's property: a lock while a run writes there, the run's
identity, and the clean-up of what a killed run left.

- Lock: `.charlstm.lock` (JSON: process id, host, command, start time), made with O_EXCL
  when a run starts and removed when it ends. A second run in the folder is refused with one
  line naming the first; the lock of a process no longer alive on this host is taken over.
- Identity (checkpoint.run_identity): the text (its sha256) and every fixed setting
  (charlstm.config), the random seed included. The small and the bigger model's files
  (-bigger.hdf5) may share a folder, as in the tutorial: each is checked against its own kind. A run in a folder that holds checkpoints of another identity is refused unless
  it resumes one of them (then it has their identity) or is given --overwrite, which removes
  them and the folder's history.csv first. So a folder holds one run, and generate.py's
  default choice (checkpoint.find_best_checkpoint) keeps to one run.
- Temporary files of writers killed mid-save are removed (checkpoint.remove_stale_temporaries).

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
import socket
import sys
import time

from .checkpoint import (checkpoint_metadata, describe_run, is_bigger_name, parse_checkpoint_name,
                         process_alive, remove_stale_temporaries, run_identity)
from .errors import UserError
from .logs import log

LOCK_NAME = ".charlstm.lock"


def checkpoints_in(directory):
    """The checkpoint files (by name) in a folder."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(name for name in names if parse_checkpoint_name(name))


@contextlib.contextmanager
def run_lock(directory):
    """Hold the folder's lock for the duration of the block; UserError if another live run
    holds it."""
    path = os.path.join(directory, LOCK_NAME)
    record = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": " ".join(os.path.basename(part) if number == 0 else part
                                  for number, part in enumerate(sys.argv))[:300]}
    for attempt in range(2):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_lock(path)
            if holder and holder.get("host") == record["host"] and not process_alive(
                    int(holder.get("pid", 0))) and attempt == 0:
                log(f"taking over the lock of process {holder.get('pid')}, which is gone")
                with contextlib.suppress(OSError):
                    os.remove(path)
                continue
            if holder is None and attempt == 0:  # being written this instant, or garbage
                time.sleep(0.2)
                continue
            raise UserError(_in_use_message(directory, holder, path)) from None
        except OSError as error:
            raise UserError(f"cannot lock checkpoint directory '{directory}': "
                            f"{error.strerror}") from None
        with os.fdopen(descriptor, "w") as handle:
            json.dump(record, handle)
        break
    try:
        yield
    finally:
        if (_read_lock(path) or {}).get("pid") == record["pid"]:
            with contextlib.suppress(OSError):
                os.remove(path)


def _read_lock(path):
    try:
        with open(path) as handle:
            holder = json.load(handle)
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _in_use_message(directory, holder, path):
    if not holder:
        return (f"checkpoint directory '{directory}' is locked ({path} cannot be read): if no "
                "run uses it, remove that file")
    where = "" if holder.get("host") == socket.gethostname() else f" on {holder.get('host')}"
    return (f"checkpoint directory '{directory}' is in use by another run: process "
            f"{holder.get('pid')}{where} ({holder.get('command')}), since "
            f"{holder.get('started')}; wait for it, or give another --checkpoint-dir")


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
        with contextlib.suppress(OSError):
            os.remove(os.path.join(directory, name))
    with contextlib.suppress(OSError):
        os.remove(history_path)
    log(f"--overwrite: removed {len(others)} checkpoint(s) of an earlier run from "
        f"'{directory}', and its history")
