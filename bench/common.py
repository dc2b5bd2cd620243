"""What the bench scripts share: the project on the import path, saving a results table, and
what they share with the tests (tests/helpers.py: serve.py in a process of its own, a headless
Chromium, the page's state, the tutorial's generation loop), imported from there.

    >>> save_table("model  chars/s\\nsmall  500", "/tmp/example.txt")     # doctest: +SKIP
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for folder in (ROOT, os.path.join(ROOT, "tests")):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from helpers import (CHROMIUM, repeated_span, start_chromium, start_server,  # noqa: E402,F401
                     tutorial_loop, wait_for_state)


def save_table(table, path):
    """Print a results table and write it to path (folders created as needed)."""
    print(table, flush=True)
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(table + "\n")


def cpu_name():
    """This machine's CPU model (from /proc/cpuinfo where there is one) and CPU count."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs"
