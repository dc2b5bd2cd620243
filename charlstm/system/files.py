"""What a command may write, and files written whole or not at all.

The rules for every output (check_output): a command writes only where nothing is yet, or
over a regular file; it never replaces or deletes a device node, a FIFO, a folder, a socket
or a symbolic link; and no output may be one of the command's inputs (the text, a checkpoint
it reads, the history a plot is drawn from). Either is refused with one line naming both.

Checkpoints, the loss plot and the corpus cache are written through a temporary name beside
the target, then os.replace, so a crash, a Ctrl-C or a full disk never leaves a half-written
file under a real name. A temporary name is hidden and carries the writer's process id;
remove_stale_temporaries() removes those of writers that are no longer alive (a run killed
with SIGKILL while it saved).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "note.txt")
    >>> write_atomically(path, b"written whole", what="note")
    >>> open(path, "rb").read(), os.listdir(folder)
    (b'written whole', ['note.txt'])
    >>> check_output("/dev/null", "history file")
    Traceback (most recent call last):
    ...
    charlstm.errors.UserError: cannot write history file '/dev/null': it is a device, not a regular file; name another
"""

import contextlib
import errno
import os
import re
import stat

from ..errors import UserError

# The temporary files of checkpoints, and of the loss plots drawn beside them, in a checkpoint
# folder: what remove_stale_temporaries may remove there.
TEMPORARY_PATTERN = re.compile(r"^\.(?:weights-improvement-.*\.hdf5|history.*\.png)\.(\d+)\.tmp$")


KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
         (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


def kind_of(path):
    """None for a regular file or nothing at all; else what is there ("a device", ...)."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # nothing there to destroy
        return None
    except OSError as error:
        return f"unreadable ({error.strerror})"
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in KINDS if test(mode)), "not a regular file")


def same_file(first, second):
    """Whether two paths name one file (a link or another spelling included)."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one does not exist (yet)
        return os.path.realpath(first) == os.path.realpath(second)


def check_output(path, what, inputs=()):
    """UserError unless path may be written as `what`: it is absent or a regular file, and it
    is none of inputs, (what, path) pairs of the command's inputs (a None path is skipped)."""
    path = os.fspath(path)
    if not path:
        raise UserError(f"cannot write {what}: its path is empty")
    kind = kind_of(path)
    if kind is not None:
        raise UserError(f"cannot write {what} '{path}': it is {kind}, not a regular file; "
                        "name another")
    for input_what, input_path in inputs:
        if input_path is not None and same_file(path, input_path):
            raise UserError(f"the {what} '{path}' would overwrite the {input_what} "
                            f"'{input_path}': name another")
    return path


def remove_file(path):
    """Remove path if it is a regular file (never anything else); whether it did."""
    if kind_of(path) is not None or not os.path.lexists(path):
        return False
    with contextlib.suppress(OSError):
        os.remove(path)
        return True
    return False


def temporary_path(path):
    """Where path is written before it is moved into place: a hidden name in the same folder
    (os.replace cannot cross file systems), with the writer's process id."""
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_output(path, sync=True, what="file", inputs=()):
    """A binary handle to path's temporary file; when the block ends without an exception,
    the file is flushed (and fsync'ed when sync) and moved onto path. On any failure the
    temporary file is removed and the exception goes on. OSError is the caller's to word;
    a path check_output refuses is a UserError before anything is written."""
    check_output(path, what, inputs)
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


def write_atomically(path, data, what="checkpoint", inputs=()):
    """Write bytes to path through atomic_output; UserError on failure (a full disk says so),
    with the temporary file removed."""
    try:
        with atomic_output(path, what=what, inputs=inputs) as handle:
            _write_file(handle, data)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise UserError(f"no space left on device writing '{path}'") from None
        raise UserError(f"cannot write {what} '{path}': {error.strerror or error}") from None


def is_process_id(value):
    """Whether value could be a process's id (a number read from a file may be anything)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def process_alive(pid):
    """Whether a process with this id exists on this machine (a number no process can have,
    read from a damaged file, is none)."""
    if not is_process_id(pid):
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
            if remove_file(os.path.join(directory, name)):
                removed.append(name)
    return removed
