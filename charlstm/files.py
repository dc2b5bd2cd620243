"""Files written whole or not at all: a temporary name beside the target, then os.replace.

Checkpoints, the loss plot and the corpus cache are all written this way, so a crash, a
Ctrl-C or a full disk never leaves a half-written file under a real name. A temporary name
is hidden and carries the writer's process id; remove_stale_temporaries() removes those of
writers that are no longer alive (a run killed with SIGKILL while it saved).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "note.txt")
    >>> write_atomically(path, b"written whole", what="note")
    >>> open(path, "rb").read(), os.listdir(folder)
    (b'written whole', ['note.txt'])
"""

import contextlib
import errno
import os
import re

from .errors import UserError

# The temporary files of checkpoints, and of the loss plots drawn beside them, in a checkpoint
# folder: what remove_stale_temporaries may remove there.
TEMPORARY_PATTERN = re.compile(r"^\.(?:weights-improvement-.*\.hdf5|history.*\.png)\.(\d+)\.tmp$")


def temporary_path(path):
    """Where path is written before it is moved into place: a hidden name in the same folder
    (os.replace cannot cross file systems), with the writer's process id."""
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_output(path, sync=True):
    """A binary handle to path's temporary file; when the block ends without an exception,
    the file is flushed (and fsync'ed when sync) and moved onto path. On any failure the
    temporary file is removed and the exception goes on. OSError is the caller's to word."""
    temporary = temporary_path(path)
    try:
        with open(temporary, "wb") as handle:
            yield handle
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _write_file(handle, data):
    handle.write(data)


def write_atomically(path, data, what="checkpoint"):
    """Write bytes to path through atomic_output; UserError on failure (a full disk says so),
    with the temporary file removed."""
    try:
        with atomic_output(path) as handle:
            _write_file(handle, data)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise UserError(f"no space left on device writing '{path}'") from None
        raise UserError(f"cannot write {what} '{path}': {error.strerror or error}") from None


def process_alive(pid):
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def remove_stale_temporaries(directory):
    """Remove the temporary checkpoint and plot files of writers that are no longer alive;
    returns their names. Files of live processes stay."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = TEMPORARY_PATTERN.match(name)
        if match and not process_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, name))
                removed.append(name)
    return removed
