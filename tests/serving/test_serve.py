"""serve.py as its clients see it: a real server process on 127.0.0.1 and real HTTP requests
(http.client), serving the bundled model by default."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import charlstm
from charlstm.checkpoints.run_folder import BUNDLED_MODEL

from conftest import ROOT, request, run_main, start_server, stop

pytestmark = pytest.mark.slow  # the whole module: see pytest.ini

TINY_MODEL = os.path.join(ROOT, "tests", "data", "format2", "weights-improvement-06-2.8997.hdf5")
LIMITS = ["--max-length", "3000", "--max-samples", "4", "--max-prime", "500", "--max-body",
          "2000", "--max-streams", "160"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process, port = start_server(*LIMITS, cwd=tmp_path_factory.mktemp("serve"))
    yield port
    assert stop(process) == 143


def stream(port, body, on_first=None, started=None):
    """The SSE events of POST /generate/stream: [(name, data, arrival time)]. At the first
    characters: on_first(connection), if given, and return; started.set(), if given."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("POST", "/generate/stream", body=json.dumps(body),
                       headers={"content-type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200, response.read()
    events, name = [], "message"
    for line in response:
        line = line.decode().rstrip("\n")
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line[5:]), time.perf_counter()))
            if started and name == "message":
                started.set()
            if on_first and name == "message" and len(events) == 2:
                on_first(connection)
                return events
            if name in ("done", "error"):
                break
            name = "message"
    connection.close()
    return events


def streamed_text(events):
    return "".join(data["text"] for name, data, _ in events if name == "message")


def test_greedy_text_is_generate_py_stateful_text(server):
    status, reply = request(server, "POST", "/generate", {"prime": "alice was ", "length": 100})
    assert status == 200 and reply["model"] == "alice" and isinstance(reply["seed"], int)
    command = run_main("generate.py", "--weights", BUNDLED_MODEL, "--stateful", "--prime",
                       "alice was ", "--length", "100", "--raw")
    assert reply["text"] + "\n" == command.stdout


def test_sampled_text_and_several_samples_repeat_the_python_api_for_their_seed(server):
    options = dict(prime="the queen ", length=80, temperature=0.8, top_k=10, top_p=0.95,
                   seed=7)
    status, reply = request(server, "POST", "/generate", options)
    assert status == 200 and reply["seed"] == 7
    assert reply["text"] == charlstm.generate(BUNDLED_MODEL, stateful=True, verbose=0,
                                              **options)
    status, reply = request(server, "POST", "/generate", dict(options, num_samples=3))
    assert status == 200 and "text" not in reply
    assert reply["texts"] == charlstm.samples(BUNDLED_MODEL, count=3, stateful=True,
                                              verbose=0, **options)
    # No prime: a random seed window of the book, chosen by the seed, as generate.py does.
    status, reply = request(server, "POST", "/generate", {"length": 30, "seed": 3})
    assert reply["text"] == charlstm.generate(BUNDLED_MODEL, stateful=True, verbose=0,
                                              length=30, seed=3)


def test_the_reply_and_the_start_event_say_what_the_text_continues(server):
    # A typed prime, as the model reads it (lower-cased; the unknown '{' dropped).
    status, reply = request(server, "POST", "/generate",
                            {"prime": "Alice {was} ", "unknown": "drop", "length": 20})
    assert status == 200 and reply["prime"] == "alice was "
    assert reply["text"] == request(server, "POST", "/generate",
                                    {"prime": "alice was ", "length": 20})[1]["text"]
    # No prime: the seed window that the seed chose, which generate.py continues the same.
    status, reply = request(server, "POST", "/generate", {"length": 30, "seed": 3})
    assert len(reply["prime"]) == 100 and reply["text"] == charlstm.generate(
        BUNDLED_MODEL, stateful=True, verbose=0, prime=reply["prime"], length=30)
    status, reply = request(server, "POST", "/generate",
                            {"length": 10, "seed": 3, "num_samples": 2})
    assert reply["primes"][0] == request(server, "POST", "/generate", {"length": 30, "seed": 3}
                                         )[1]["prime"] and len(reply["primes"]) == 2
    start = stream(server, {"prime": "the queen ", "length": 5, "seed": 9})[0]
    assert start[:2] == ("start", {"seed": 9, "model": "alice", "prime": "the queen "})


def test_every_request_is_one_access_log_line_and_the_device_is_said(tmp_path):
    process, port = start_server(cwd=tmp_path)
    try:
        request(port, "POST", "/generate", {"prime": "alice ", "length": 25, "num_samples": 2})
        stream(port, {"prime": "alice ", "length": 40})
        request(port, "POST", "/generate", {"length": 0})
        request(port, "GET", "/nowhere")
        for _ in range(40):
            request(port, "GET", "/health")
    finally:
        assert stop(process) == 143
    deadline = time.time() + 10  # the thread reading its stderr may still be at work
    while time.time() < deadline and "".join(process.log).count("\nrequest: ") < 44:
        time.sleep(0.1)
    log = "".join(process.log)
    assert re.search(r"^device: CPU", log, re.M)
    lines = re.findall(r"^request: .*$", log, re.M)
    assert len(lines) == 44, log
    assert re.fullmatch(r"request: POST /generate 200 model=alice chars=50 ms=\d+", lines[0])
    assert re.fullmatch(r"request: POST /generate/stream 200 model=alice chars=40 ms=\d+",
                        lines[1])
    assert re.fullmatch(r"request: POST /generate 400 model=- chars=0 ms=\d+", lines[2])
    assert re.fullmatch(r"request: GET /nowhere 404 model=- chars=0 ms=\d+", lines[3])


def test_streaming_sends_characters_as_they_are_made(server):
    body = {"prime": "alice was ", "length": 1000}
    events = stream(server, body)
    assert events[0][0] == "start" and events[-1][0] == "done"
    chunks = [event for event in events if event[0] == "message"]
    assert len(chunks) > 4  # several events (one each 25 ms), not one at the end
    assert chunks[-1][2] - chunks[0][2] > 0  # spread over time
    assert streamed_text(events) == request(server, "POST", "/generate", body)[1]["text"]


def test_a_request_gives_the_same_text_alone_and_among_31_others(server):
    # A greedy and a sampled request, alone and then among 30 others of other primes,
    # lengths and settings that join and leave around them.
    references = {"greedy": {"prime": "the mock turtle ", "length": 300},
                  "sampled": {"prime": "the mock turtle ", "length": 300, "temperature": 0.9,
                              "top_k": 20, "top_p": 0.95, "seed": 11}}
    alone = {key: streamed_text(stream(server, body)) for key, body in references.items()}
    others = [{"prime": prime, "length": 150 + 11 * number, "temperature": number % 3 * 0.5,
               "seed": number} for number, prime in
              enumerate(["alice ", "the king ", "she said ", "'oh dear ", "down ", "and "] * 5)]
    results = {}

    def client(key, body):
        results[key] = streamed_text(stream(server, body))

    threads = [threading.Thread(target=client, args=(number, body))
               for number, body in enumerate(others)]
    threads += [threading.Thread(target=client, args=item) for item in references.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["greedy"] == alone["greedy"] and results["sampled"] == alone["sampled"]
    assert all(len(results[number]) == body["length"] for number, body in enumerate(others))


@pytest.mark.parametrize("body, status, message", [
    ({"length": 0}, 400, "length: 0 must be 1 or more"),
    ({"length": "9"}, 400, "length: '9' is a string: give a whole number"),
    ({"length": 2.5}, 400, "length: 2.5 is not a whole number"),
    ({"temperature": -1}, 400, "temperature: -1 must be 0 or more"),
    ({"temperature": True}, 400, "temperature: true is not a number"),
    ({"top_p": 2}, 400, "top_p: 2 must be above 0 and at most 1"),
    ({"top_k": 99, "temperature": 1}, 400, "top_k 99 is more than the model's 43 characters"),
    ({"seed": -1}, 400, "seed: -1 must be between 0 and 4294967295"),
    ({"prime": ["a"]}, 400, "prime: a list is not a text"),
    ({"prime": "{alice}"}, 400, "2 character(s) the model does not know: '{', '}'"),
    ({"prime": ""}, 400, "prime is empty: give at least one character"),
    ({"prime": "{alice}"}, 400, '(\"unknown\": \"drop\" leaves them out)'),
    ({"unknown": "skip"}, 400, "unknown: 'skip' must be one of 'error', 'drop'"),
    ({"model": "nobody"}, 400, "model: no model named 'nobody'; the models are 'alice'"),
    ({"lenght": 5}, 400, "unknown field 'lenght': the fields are prime, length"),
    ({"length": 3001}, 400, "length: 3001 is more than this server's limit of 3000 "
     "(serve.py --max-length)"),
    ({"num_samples": 5}, 400, "limit of 4 (serve.py --max-samples)"),
    ({"prime": "a" * 501}, 400, "prime: 501 characters is more than this server's limit of "
     "500 (serve.py --max-prime)"),
    ({"prime": "a" * 1990}, 413, "more than this server's limit of 2,000 (serve.py "
     "--max-body)"),
    ([1, 2], 400, "the body must be a JSON object"),
])
def test_bad_requests_get_a_4xx_json_error_in_generate_py_words(server, body, status, message):
    got_status, reply = request(server, "POST", "/generate", body)
    assert got_status == status and message in reply["error"]
    got_status, reply = request(server, "POST", "/generate/stream", body)
    assert got_status == status and message in reply["error"]


def test_malformed_bodies_paths_and_methods_are_json_errors_too(server):
    status, reply = request(server, "POST", "/generate", raw="{not json")
    assert status == 400 and reply["error"].startswith("the body is not JSON")
    status, reply = request(server, "POST", "/generate", raw=b"\xff\xfe")
    assert status == 400 and reply["error"].startswith("the body is not JSON")
    assert request(server, "GET", "/nowhere")[0] == 404
    status, reply = request(server, "GET", "/generate")
    assert status == 405 and "error" in reply
    # Generation's own defaults for an empty body: 1,000 characters from a random window.
    status, reply = request(server, "POST", "/generate", raw="")
    assert status == 200 and len(reply["text"]) == 1000


def test_models_health_page_and_openapi(server):
    status, reply = request(server, "GET", "/models")
    (model,) = reply["models"]
    assert model["name"] == "alice" and model["vocabulary_size"] == 43
    assert model["settings"]["preset"] == "fast" and model["val_loss"] < 1.5
    assert request(server, "GET", "/health") == (200, {"status": "ok", "models": 1,
                                                       "streams": 0, "max_streams": 160})
    assert request(server, "GET", "/openapi.json")[1]["paths"]["/generate"]["post"]
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    for path, needle in (("/", b'<script src="static/server_engine.js">'),
                         ("/static/page.js", b"charlstmEngine"), ("/docs", b"swagger")):
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200 and needle in response.read(), path
    connection.close()


def wait_for_no_streams(port, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if request(port, "GET", "/health")[1]["streams"] == 0:
            return True
        time.sleep(0.1)
    return False


def test_a_client_that_goes_away_or_never_reads_holds_nothing(server):
    # Gone after its first characters: its rows leave the batch at once.
    stream(server, {"prime": "alice ", "length": 3000}, on_first=lambda connection:
           connection.sock.shutdown(socket.SHUT_RDWR) or connection.close())
    assert wait_for_no_streams(server, seconds=10)
    # Asks and never reads: its rows leave the batch when its text is done.
    silent = socket.create_connection(("127.0.0.1", server))
    body = json.dumps({"prime": "alice ", "length": 300}).encode()
    silent.sendall(b"POST /generate/stream HTTP/1.1\r\nHost: x\r\nContent-Length: "
                   + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert wait_for_no_streams(server)
    silent.close()


def test_128_concurrent_streaming_clients_are_all_answered(server):
    results, errors = [], []

    def client(number):
        try:
            events = stream(server, {"prime": "alice ", "length": 100, "temperature": 0.7,
                                     "seed": number})
            results.append((events[-1][0], len(streamed_text(events))))
        except Exception as error:  # noqa: BLE001 - counted and shown below
            errors.append(repr(error))

    threads = [threading.Thread(target=client, args=(number,)) for number in range(128)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [("done", 100)] * 128
    assert request(server, "GET", "/health")[1]["streams"] == 0
    assert request(server, "POST", "/generate", {"length": 5})[0] == 200  # still serving


def test_several_models_an_open_host_and_ctrl_c_during_streams(tmp_path):
    process, port = start_server("--weights", BUNDLED_MODEL, "--weights", TINY_MODEL,
                                 "--host", "0.0.0.0", cwd=tmp_path)
    ended = []
    try:
        names = [model["name"] for model in request(port, "GET", "/models")[1]["models"]]
        assert names == ["alice", "weights-improvement-06-2.8997"]
        status, reply = request(port, "POST", "/generate", {"model": names[1], "length": 10,
                                                            "prime": "alice "})
        assert status == 200 and reply["model"] == names[1] and len(reply["text"]) == 10
        # Ctrl-C while a stream is under way, and while a client never reads its own.
        silent = socket.create_connection(("127.0.0.1", port))
        body = json.dumps({"length": 3000}).encode()
        silent.sendall(b"POST /generate/stream HTTP/1.1\r\nHost: x\r\nContent-Length: "
                       + str(len(body)).encode() + b"\r\n\r\n" + body)
        started = threading.Event()
        reader = threading.Thread(target=lambda: ended.extend(
            stream(port, {"length": 3000}, started=started)))
        reader.start()
        assert started.wait(timeout=60)
    finally:
        status = stop(process, signal.SIGINT)
    reader.join(timeout=30)
    silent.close()
    assert status == 130
    last_name, last_data, _ = ended[-1]
    assert last_name == "error" and "the server is shutting down" in last_data["error"]
    log = "".join(process.log)
    assert "--host 0.0.0.0: open to every machine that can reach this one" in log
    assert log.rstrip().endswith("serve.py: interrupted") and "Traceback" not in log


def test_a_taken_port_and_a_missing_extra_are_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, os.path.join(ROOT, "serve.py"), "--port",
                                 str(port), "--weights", TINY_MODEL], capture_output=True,
                                text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"serve.py: error: cannot listen on 127.0.0.1:{port}: Address already in use")
    # Without FastAPI: one line naming the extra (a path entry that hides fastapi).
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "fastapi.py").write_text("raise ImportError('hidden by the test')")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "serve.py")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=str(hide)))
    assert result.returncode == 1 and result.stderr.strip() == (
        "serve.py: error: serving needs the serve extra (FastAPI, uvicorn, threadpoolctl): pip "
        "install -r requirements-serve.txt (or pip install '.[serve]')")
