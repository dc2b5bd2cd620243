"""Progress and status messages: the logger "charlstm", shown on stderr.

Commands and the Python API send every message that is not the tutorial's own output through
this logger. show_on_stderr(), called by each command and API call (never at import), attaches
one handler that writes bare lines to whatever sys.stderr is at the time (so tests and
notebooks that replace it see them), and stops propagation to the root logger, where
TensorFlow's absl handler would hide INFO lines. An application that wants the messages
elsewhere removes that handler and sets propagate back to True.

Progress bars are for terminals only: show_progress_bar() says whether stderr is one (not a
pipe, a file or a Jupyter kernel's stream, where a bar's \r, \b and colour codes are
garbage). A bar draws through progress_stream(), which remembers whether its line is
unfinished, so that a log line written meanwhile first ends that line instead of landing in
the middle of the bar.

    >>> import logging
    >>> logging.getLogger("charlstm").name
    'charlstm'
"""

import contextlib
import logging
import sys

logger = logging.getLogger("charlstm")


def log(message):
    """A progress or status line (INFO)."""
    logger.info(message)


def show_progress_bar():
    """Whether a progress bar may be drawn: stderr, where bars go, is a terminal."""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed or odd stream
        return False


_open_line = [False]  # a progress bar's line on stderr is unfinished


class _ProgressStream:
    """File-like progress output to sys.stderr (as it is at each write) that remembers whether
    the last line it wrote is unfinished."""

    @property
    def encoding(self):
        return getattr(sys.stderr, "encoding", None) or "utf-8"

    def write(self, text):
        if text:
            sys.stderr.write(text)
            _open_line[0] = not text.endswith("\n")
        return len(text)

    def flush(self):
        sys.stderr.flush()

    def isatty(self):
        return show_progress_bar()


def progress_stream():
    """Where a progress bar writes (for contextlib.redirect_stdout around Keras' Progbar)."""
    return _ProgressStream()


def end_open_line():
    """End a progress bar's unfinished line on stderr, if there is one."""
    if _open_line[0]:
        _open_line[0] = False
        sys.stderr.write("\n")


def warn(message):
    """Something the user should act on (WARNING): shown even when verbose is off."""
    logger.warning(message)


class _CurrentStderr(logging.StreamHandler):
    """A StreamHandler on sys.stderr as it is when a message is written, not when the handler
    was made."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    def emit(self, record):
        end_open_line()  # a log line never lands in the middle of a progress bar
        super().emit(record)

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it; the property decides
        pass


_handler = None


def show_on_stderr(verbose=True):
    """Show INFO messages (verbose) or warnings only on stderr, from now on (the commands)."""
    global _handler
    if _handler is None:
        _handler = _CurrentStderr()
        _handler.setFormatter(logging.Formatter("%(message)s"))
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
        logger.propagate = False
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


@contextlib.contextmanager
def shown_on_stderr(verbose=True):
    """show_on_stderr for the duration of an API call: the logger's level, handlers and
    propagation are put back as they were when it ends."""
    level, propagate, attached = logger.level, logger.propagate, _handler in logger.handlers
    show_on_stderr(verbose)
    try:
        yield
    finally:
        logger.setLevel(level)
        logger.propagate = propagate
        if not attached:
            logger.removeHandler(_handler)
