"""What the tests and the bench scripts share: serve.py in a process of its own, a headless
Chromium, the page's state, and the tutorial's generation loop. Plain Python with no pytest,
so that bench/common.py imports it too (it puts tests/ on the path); the tests take these
names from conftest.py, which imports them from here."""

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Without the network flags Chromium keeps trying to reach Google's hosts, which a closed
# network refuses many at a time, and can hang.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


def start_server(*flags, cwd=ROOT, seconds=180, open_files=None):
    """serve.py in its own process on a free port of 127.0.0.1: (process, port) once it
    listens; process.log collects its stderr lines (read on a thread, so that the server
    never blocks on a full pipe and a silent one cannot hang the caller). open_files: the
    process's open-files limit (as prlimit --nofile would set it)."""
    def limit_files():
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "serve.py"), "--port", "0",
                                *flags], cwd=cwd, stderr=subprocess.PIPE, text=True,
                               preexec_fn=limit_files if open_files else None)
    process.log = []
    threading.Thread(target=lambda: process.log.extend(process.stderr), daemon=True).start()
    deadline = time.time() + seconds
    while time.time() < deadline and process.poll() is None:
        found = re.search(r"listening on http://\S+:(\d+) ", "".join(process.log))
        if found:
            return process, int(found.group(1))
        time.sleep(0.1)
    process.kill()
    raise AssertionError("serve.py did not start: " + "".join(process.log))


def start_chromium(profile, *flags, script_timeout=120):
    """A real headless Chromium (Debian's chromium, driven by chromium-driver through
    selenium) with a fresh profile folder, CHROMIUM_FLAGS and any more flags."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # The page's console (errors, a missing favicon's 404) for driver.get_log("browser").
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(script_timeout)
    return driver


def repeated_span(text, span=50):
    """The first span-character stretch of text that occurs in it twice (overlaps count), or
    None: how a looping text shows (bench/page_setting.py and the page's tests)."""
    seen = set()
    for start in range(len(text) - span + 1):
        piece = text[start : start + span]
        if piece in seen:
            return piece
        seen.add(piece)
    return None


def wait_for_state(driver, *states, seconds=120, every=0.05):
    """Wait until the page's body data-state is one of states, asking every `every` seconds
    (each question runs on the page's thread: a benchmark asks seldom); returns it."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = driver.execute_script("return document.body.dataset.state")
        if state in states:
            return state
        time.sleep(every)
    raise AssertionError(f"the page stayed '{state}', not {states}: "
                         + driver.execute_script("return document.getElementById('message')"
                                                 ".textContent"))


def tutorial_loop(model, pattern, n_vocab, length):
    """The tutorial's generation loop, verbatim but for Python 3 and Keras 3's predict:
    reshape, scale, model.predict, argmax, slide. The indices, as ints."""
    import numpy as np

    pattern = list(pattern)
    result = []
    for _ in range(length):
        x = np.reshape(pattern, (1, len(pattern), 1))
        x = x / float(n_vocab)
        prediction = model.predict(x, verbose=0)
        index = np.argmax(prediction)
        result.append(int(index))
        pattern.append(index)
        pattern = pattern[1 : len(pattern)]
    return result


def asgi_request(app, method, path, body=b"", headers=()):
    """(status, content type, body bytes) of one request through an ASGI app in this process,
    with no server and no socket; headers: (name, value) pairs, content-length added."""
    incoming, sent = [{"type": "http.request", "body": body, "more_body": False}], []

    async def receive():
        if incoming:
            return incoming.pop()
        await asyncio.Event().wait()  # the client never goes away

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8000),
             "headers": [(name.encode(), value.encode()) for name, value in headers]
             + [(b"content-length", str(len(body)).encode())]}
    asyncio.run(app(scope, receive, send))
    start = next(message for message in sent if message["type"] == "http.response.start")
    kind = dict(start["headers"]).get(b"content-type", b"").decode()
    return start["status"], kind, b"".join(message.get("body", b"") for message in sent
                                           if message["type"] == "http.response.body")


def json_call(app, method, path, body=None):
    """(status, body bytes) of one request with a JSON body (body: a Python value) through
    the ASGI app, in this process, as a page on 127.0.0.1 would send it."""
    data = json.dumps(body).encode() if body is not None else b""
    status, _, reply = asgi_request(app, method, path, data, [
        ("host", "127.0.0.1"), ("content-type", "application/json")])
    return status, reply


@contextlib.contextmanager
def served_app(*weights):
    """serve.py's FastAPI app over an Engine of these checkpoints, with the default limits,
    in this process (no socket); the engine closed after."""
    from charlstm import config
    from charlstm.serving import server
    from charlstm.serving.engine import Engine, ServedModel

    waker = server.Waker()
    engine = Engine([ServedModel.load(path) for path in weights], on_step=waker)
    try:
        yield server.create_app(engine, config.resolve_options({}, config.SERVE), waker)
    finally:
        engine.close()
