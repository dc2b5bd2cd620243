"""The server speaks of JSON fields, not flags (one declaration, spelled twice: config.Spelling),
tells what its text continues ("prime"), logs one line a request, and serves /docs from files
of its own. In-process: the FastAPI app driven by plain ASGI calls, the tiny test model."""

import json
import os
import re

import pytest

from charlstm import config
from charlstm.cli import ArgumentParser

from conftest import ROOT
from helpers import json_call, served_app

server = pytest.importorskip("charlstm.serving.server")

TINY_MODEL = os.path.join(ROOT, "tests", "data", "format2", "weights-improvement-06-2.8997.hdf5")
# A flag a request's help may still name: how the model was trained (train.py's), not a field.
TRAINING_FLAG = "--keep-case"


call = json_call


@pytest.fixture(scope="module")
def app():
    with served_app(TINY_MODEL) as app:
        yield app


def post(app, body, path="/generate"):
    status, reply = call(app, "POST", path, body)
    return status, json.loads(reply) if path == "/generate" else reply.decode()


def test_help_is_one_declaration_spelled_as_flags_or_as_fields():
    options = {option.name: option for option in config.GENERATION}
    assert "after --temperature and --top-k" in options["top_p"].help
    assert "after temperature and top_k" in options["top_p"].help_in(config.FIELDS)
    assert "printed on stderr" in options["seed"].help
    assert "stderr" not in options["seed"].help_in(config.FIELDS)
    help_text = re.sub(r"\s+", " ", config.add_arguments(
        ArgumentParser(prog="generate.py"), config.GENERATE_COMMAND).format_help())
    assert "or see --unknown)" in help_text and "{prime}" not in help_text


def test_the_schema_is_written_for_the_api():
    limits = config.resolve_options({}, config.SERVE)
    schema = server.create_app(None, limits, server.Waker()).openapi()
    body = schema["paths"]["/generate"]["post"]["requestBody"]
    fields = body["content"]["application/json"]["schema"]["properties"]
    assert fields["unknown"]["enum"] == ["error", "drop"]
    assert fields["unknown"]["default"] == "error"
    for name, field in fields.items():
        words = field["description"].replace(TRAINING_FLAG, "")
        assert "--" not in words and "stderr" not in words, name
    assert "see unknown" in fields["prime"]["description"]


@pytest.mark.parametrize("body, message", [
    ({"prime": ""}, "prime is empty: give at least one character"),
    ({"prime": "{a}"}, "the model does not know: '{', '}' (\"unknown\": \"drop\" leaves them "
                       "out)"),
    ({"prime": "{}", "unknown": "drop"}, "prime is empty once the unknown characters are "
                                         "dropped"),
    ({"unknown": "ignore"}, "unknown: 'ignore' must be one of 'error', 'drop'"),
    ({"length": 10_001}, "limit of 10000 (serve.py --max-length)"),
])
def test_errors_name_the_json_field(app, body, message):
    status, reply = post(app, body)
    assert status == 400 and message in reply["error"]
    assert not re.search(r"--(?!max-)", reply["error"]), reply["error"]


def test_the_reply_and_the_start_event_carry_the_prime(app):
    status, reply = post(app, {"prime": "Alice{", "length": 5, "unknown": "drop"})
    assert status == 200 and reply["prime"] == "alice" and len(reply["text"]) == 5
    # no prime: the seed window the seed chose, of the model's seq_length (10 characters)
    status, reply = post(app, {"length": 5, "seed": 3})
    window = reply["prime"]
    assert len(window) == 10 and post(app, {"prime": window, "length": 5})[1]["text"] == \
        reply["text"]
    status, reply = post(app, {"length": 5, "num_samples": 3, "seed": 3})
    assert "prime" not in reply and len(reply["primes"]) == 3 and reply["primes"][0] == window
    status, reply = post(app, {"prime": "alice", "length": 5, "num_samples": 2})
    assert reply["prime"] == "alice" and "primes" not in reply
    status, events = post(app, {"prime": "alice", "length": 5, "seed": 1},
                          "/generate/stream")
    start = json.loads(re.search(r"event: start\ndata: (.*)\n", events).group(1))
    assert start == {"seed": 1, "model": "weights-improvement-06-2.8997", "prime": "alice"}


def test_one_access_log_line_a_request(app, capsys):
    capsys.readouterr()
    post(app, {"prime": "alice", "length": 7, "num_samples": 2})
    post(app, {"prime": "alice", "length": 9}, "/generate/stream")
    post(app, {"length": 0})
    call(app, "GET", "/health")
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("request: ")]
    pattern = r"request: (\S+) (\S+) (\d+) model=(\S+) chars=(\d+) ms=(\d+)"
    fields = [re.fullmatch(pattern, line).groups()[:5] for line in lines]
    model = "weights-improvement-06-2.8997"
    assert fields == [("POST", "/generate", "200", model, "14"),
                      ("POST", "/generate/stream", "200", model, "9"),
                      ("POST", "/generate", "400", "-", "0"),
                      ("GET", "/health", "200", "-", "0")]


def test_docs_come_from_this_server(app):
    status, page = call(app, "GET", "/docs")
    page = page.decode()
    assert status == 200 and "SwaggerUIBundle" in page
    assert not re.search(r"https?://", page)  # no CDN, no icon from elsewhere
    for asset in re.findall(r'(?:href|src)="([^"]+)"', page):
        assert call(app, "GET", asset)[0] == 200, asset
