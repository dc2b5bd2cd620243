"""What the bench scripts share: the project on the import path, and saving a results table.

    >>> save_table("model  chars/s\\nsmall  500", "/tmp/example.txt")     # doctest: +SKIP
"""

import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


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


def start_server(weights, streams):
    """serve.py in a process of its own on a free port of 127.0.0.1 (the bundled model unless
    weights), allowing `streams` streams at once: (process, port, its stderr lines so far),
    once it listens."""
    from charlstm.checkpoints.run_folder import BUNDLED_MODEL

    command = [sys.executable, os.path.join(ROOT, "serve.py"), "--port", "0",
               "--max-streams", str(streams), "--weights", weights or BUNDLED_MODEL]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    log = []
    threading.Thread(target=lambda: log.extend(process.stderr), daemon=True).start()
    deadline = time.time() + 180
    while time.time() < deadline and process.poll() is None:
        found = re.search(r"listening on http://\S+:(\d+) ", "".join(log))
        if found:
            return process, int(found.group(1)), log
        time.sleep(0.1)
    process.kill()
    raise SystemExit("serve.py did not start: " + "".join(log))
