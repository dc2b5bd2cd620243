"""Ctrl-C (SIGINT) and SIGTERM, for every command: what job schedulers, `docker stop`,
`timeout` and cloud preemption send is treated like Ctrl-C.

- The commands (charlstm.cli) run under sigterm_like_ctrl_c(): SIGTERM raises Terminated, a
  KeyboardInterrupt, so both end in one line and exit status 128 + the signal's number (130,
  143).
- Long work stops at a safe point instead: inside StopRequests, a signal only records a
  request, which the work reads between two steps (training between batches, generation
  between characters), so that no signal lands inside a backend call. With watch=True a
  second signal stops the process at once, even in the middle of a long batch.

Python runs signal handlers only between bytecodes, so during a long batch (one call into
TensorFlow) they wait. For the second signal, signal.set_wakeup_fd makes the C-level handler
write each signal's number to a pipe at once; a watcher thread reads it, says what happens
and ends the process. Outside Python's main thread, where handlers cannot be set, nothing is
installed and signals keep their usual effect.

    >>> with StopRequests() as requests:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    ...     requests.signal == signal.SIGTERM, type(requests.exception()).__name__
    (True, 'Terminated')
"""

import contextlib
import os
import signal
import threading

from ..logs import log

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would raise KeyboardInterrupt (exit status 143)."""


def exit_status(signal_number):
    """128 + the signal's number, as shells report a process a signal ended: 130, 143."""
    return 128 + signal_number


def signal_name(signal_number):
    return "interrupt" if signal_number == signal.SIGINT else "SIGTERM"


def _raise_terminated(signal_number, frame):
    raise Terminated


@contextlib.contextmanager
def sigterm_like_ctrl_c():
    """Within the block, SIGTERM raises Terminated wherever Ctrl-C would raise
    KeyboardInterrupt."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class StopRequests:
    """Within the block (or between start() and stop()), Ctrl-C and SIGTERM are requests to
    stop: `signal` is the first one's number (None until then). first_message is logged when
    the first arrives; with watch=True a second one logs second_message and ends the process
    at once with the first one's exit status."""

    def __init__(self, watch=False, first_message=None, second_message=None):
        self.watch = watch
        self.first_message = first_message  # formatted with name= the signal's name
        self.second_message = second_message
        self.signal = None
        self._previous_handlers = {}
        self._previous_wakeup = None
        self._pipe = None

    @property
    def requested(self):
        return self.signal is not None

    def exception(self):
        """What a command ends with for the request: Terminated, KeyboardInterrupt or None."""
        if self.signal is None:
            return None
        return Terminated() if self.signal == signal.SIGTERM else KeyboardInterrupt()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exception):
        self.stop()

    def start(self):
        try:
            for number in SIGNALS:
                self._previous_handlers[number] = signal.signal(number, self._request)
        except ValueError:  # not the main thread
            return
        if self.watch:
            self._start_watcher()

    def stop(self):
        """Put the earlier handlers back (and end the watcher); safe to call twice."""
        for number, handler in self._previous_handlers.items():
            signal.signal(number, handler)
        self._previous_handlers = {}
        if self._pipe is not None:
            signal.set_wakeup_fd(self._previous_wakeup)
            os.close(self._pipe[1])  # the watcher reads the end of the pipe and returns
            self._pipe = None

    def _request(self, signal_number, frame):
        if self.signal is None:
            self.signal = signal_number
            if self._pipe is None and self.first_message:  # no watcher to say it
                log(self.first_message.format(name=signal_name(signal_number)))
        elif self.watch and self._pipe is None:  # no watcher: stop as soon as Python can
            raise KeyboardInterrupt

    def _start_watcher(self):
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        try:
            self._previous_wakeup = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        except ValueError:
            os.close(read_end)
            os.close(write_end)
            return
        self._pipe = (read_end, write_end)
        threading.Thread(target=self._watch, args=(read_end,), daemon=True,
                         name="charlstm-signals").start()

    def _watch(self, read_end):
        try:
            self._read_signals(read_end)
        finally:
            os.close(read_end)

    def _read_signals(self, read_end):
        seen = 0
        while True:
            try:
                data = os.read(read_end, 64)
            except OSError:
                return
            if not data:
                return
            for number in data:
                if number not in SIGNALS:
                    continue
                seen += 1
                if seen == 1:
                    if self.first_message:
                        log(self.first_message.format(name=signal_name(number)))
                else:
                    if self.second_message:
                        log(self.second_message.format(name=signal_name(number)))
                    os._exit(exit_status(self.signal or number))
