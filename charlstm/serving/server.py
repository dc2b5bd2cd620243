"""serve.py's web side: a FastAPI app over serving.engine's Engine, run by uvicorn. FastAPI and
uvicorn are an optional extra (pip install -r requirements-serve.txt); nothing else in
charlstm imports this module.

    POST /generate         {"prime": "alice was ", "length": 100} -> {"text", "seed", "model"}
    POST /generate/stream  the same request; Server-Sent Events as the characters are made
    GET  /models           each model's name, settings, vocabulary size and loss
    GET  /health           {"status": "ok", ...}
    GET  /                 the page (charlstm/web) with the server engine; /docs: OpenAPI

A request takes generation's options (config.GENERATION: prime, length, temperature, top_k,
top_p, seed, num_samples) and model, with generate.py's defaults and checks; anything wrong
is a 4xx JSON {"error": "..."} in generate.py's words, with the field's name where
generate.py has its flag.

    >>> import json
    >>> limits = resolve_options({}, SERVE)
    >>> parse_request(b'{"length": 0}', limits)
    Traceback (most recent call last):
    ...
    charlstm.errors.UserError: length: 0 must be 1 or more
    >>> parse_request(b'{"length": "9"}', limits)
    Traceback (most recent call last):
    ...
    charlstm.serving.server.RequestError: length: '9' is a string: give a whole number
    >>> options, model = parse_request(json.dumps({"prime": "alice"}).encode(), limits)
    >>> options.prime, options.length, options.stateful, model
    ('alice', 1000, True, None)
"""

import asyncio
import json
import logging
import os
import signal
import socket

import uvicorn
from threadpoolctl import threadpool_limits
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from ..config import GENERATION, SERVE, resolve_options  # noqa: F401  (SERVE: the doctest)
from ..errors import UserError
from ..checkpoints.run_folder import checkpoints_in, default_weights
from ..logs import log
from .pages import PAGE_ASSETS, asset_path, option_declarations, page_html
from .engine import Busy, Engine, ServedModel, ShuttingDown
from ..system.signals import Terminated

# A request's fields: generation's options that a client may set, and which model. What
# each must be in JSON (a bool is never a number here, as in config's checks).
WHOLE, NUMBER, TEXT = "a whole number", "a number", "a text"
MODEL_HELP = "which model (GET /models names them; default: the first)"


def _kind(entry):
    """What a field must be in JSON, from its declaration (pages.option_declarations)."""
    if "whole" not in entry:
        return TEXT
    return WHOLE if entry["whole"] else NUMBER


def request_fields(declarations):
    """{field: what it must be in JSON} and the fields that may be null (not given: a random
    window, all characters...), from the declarations and the model."""
    fields = {entry["name"]: _kind(entry) for entry in declarations}
    nullable = {entry["name"] for entry in declarations if entry["default"] is None}
    return dict(fields, model=TEXT), nullable | {"model"}


FIELDS, NULLABLE = request_fields(option_declarations())
JSON_TYPES = {WHOLE: (int,), NUMBER: (int, float), TEXT: (str,)}
SCHEMA_TYPES = {WHOLE: "integer", NUMBER: "number", TEXT: "string"}


def request_schema(declarations):
    """The OpenAPI request body of /generate and /generate/stream, from the declarations:
    each field's type, default, bounds and help."""
    properties = {}
    for entry in declarations:
        field = {"type": SCHEMA_TYPES[_kind(entry)], "description": entry["help"]}
        if entry["default"] is not None:
            field["default"] = entry["default"]
        field.update(entry.get("bounds", {}))
        properties[entry["name"]] = field
    properties["model"] = {"type": "string", "description": MODEL_HELP}
    return {"requestBody": {"required": False, "content": {"application/json": {
        "schema": {"type": "object", "additionalProperties": False,
                   "properties": properties}}}}}
SCRIPTS = {"server_engine.js"}  # the engine of the page, beside the page's own files
CONTENT_TYPES = {".css": "text/css", ".js": "text/javascript"}


class RequestError(UserError):
    """A request this server refuses, with its HTTP status."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def _shown(value):
    """A JSON value as a message names it: 2.5, true, a list."""
    if isinstance(value, (bool, type(None))):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)
    return "a list" if isinstance(value, list) else "an object"


def parse_request(body, limits):
    """(GenerationOptions, model name or None) from a request body; RequestError else."""
    try:
        given = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(f"the body is not JSON: {error}") from None
    if not isinstance(given, dict):
        raise RequestError("the body must be a JSON object of fields: "
                           + ", ".join(FIELDS))
    for name, value in given.items():
        if name not in FIELDS:
            raise RequestError(f"unknown field {name!r}: the fields are " + ", ".join(FIELDS))
        kind = FIELDS[name]
        if value is None and name in NULLABLE:
            continue
        if isinstance(value, bool) or not isinstance(value, JSON_TYPES[kind]):
            if isinstance(value, str):
                raise RequestError(f"{name}: {value!r} is a string: give {kind}")
            raise RequestError(f"{name}: {_shown(value)} is not {kind}")
    model = given.pop("model", None)
    given = {name: value for name, value in given.items() if value is not None}
    _check_limits(given, limits)
    options = resolve_options(dict(given, stateful=True), GENERATION)
    return options, model


def _check_limits(given, limits):
    for name, limit, flag in (("length", limits.max_length, "--max-length"),
                              ("num_samples", limits.max_samples, "--max-samples")):
        if isinstance(given.get(name), int) and given[name] > limit:
            raise RequestError(f"{name}: {given[name]} is more than this server's limit of "
                               f"{limit} ({flag})")
    prime = given.get("prime")
    if prime is not None and len(prime) > limits.max_prime:
        raise RequestError(f"prime: {len(prime):,} characters is more than this server's "
                           f"limit of {limits.max_prime:,} (--max-prime): give its last part")


async def read_body(request, limit):
    """The body, refused with 413 beyond `limit` bytes (told or counted while reading)."""
    told = request.headers.get("content-length")
    if told is not None and told.isdigit() and int(told) > limit:
        raise RequestError(f"the body is {int(told):,} bytes, more than this server's limit "
                           f"of {limit:,} (--max-body)", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(f"the body is more than this server's limit of {limit:,} "
                               "bytes (--max-body)", 413)
    return bytes(body)


def _reply(group):
    texts = ["".join(text) for text in group.texts]
    reply = {"seed": group.seed, "model": group.model.name}
    if group.rows == 1:
        reply["text"] = texts[0]
    else:
        reply["texts"] = texts
    return reply


def _failure(error):
    """What a stream's "error" event says: a UserError's line (the server stopping), else
    no more than that the decoder failed (the server's log has the rest)."""
    return str(error) if isinstance(error, UserError) else "the decoder failed"


def _event(data, name=None):
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(data)}\n\n"


def _new_text(group, sent):
    """Each row's characters since `sent` (one count a row, brought up to date)."""
    new = []
    for row, text in enumerate(group.texts):
        chunk = text[sent[row]:]  # the engine's thread appends as we read: take a copy
        sent[row] += len(chunk)
        new.append("".join(chunk))
    return new


# How often a stream sends what has been made since it last sent. Per character would be one
# event, one write and one wake of the event loop a character a stream; every 25 ms is 40
# updates a second, smooth to read. Beyond THIN_STREAMS open streams the interval grows with
# them (100 ms at 128), so that the event loop sends at most THIN_STREAMS / STREAM_INTERVAL
# events a second in all and keeps up, leaving the CPU to the decoder.
STREAM_INTERVAL = 0.025
THIN_STREAMS = 32


def send_interval(streams):
    """Seconds between a stream's sends while `streams` are open.

    >>> send_interval(1), send_interval(32), send_interval(128)
    (0.025, 0.025, 0.1)
    """
    return STREAM_INTERVAL * max(1, streams / THIN_STREAMS)


class Waker:
    """Wakes the event loop's waiting requests from the engine's thread (Engine.on_step: the
    groups whose first characters came, or which ended), in one call a step."""

    def __init__(self):
        self.loop = None

    def __call__(self, groups):
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._set, groups)

    @staticmethod
    def _set(groups):
        for group in groups:
            if group.waker is not None:
                group.waker.set()


def create_app(engine, limits, waker, options=None):
    """The FastAPI app serving `engine` (serving.Engine) within `limits` (ServeOptions);
    `options`: generation's declarations (config.GENERATION unless given)."""
    app = FastAPI(title="charlstm", version="1", summary="Alice, one character at a time: "
                  "text from a character LSTM, all clients decoded together")
    declarations = option_declarations(options)
    _add_error_handlers(app)
    start = _starter(engine, limits, waker)
    schema = request_schema(declarations)
    _add_generate(app, start, schema)
    _add_stream(app, start, schema, engine)
    _add_pages_and_status(app, engine, options)
    return app


def _starter(engine, limits, waker):
    """What both routes do first: read and check the request within `limits`, and hand it
    to the engine; the group it makes, with an event the engine's thread sets."""
    async def start(request):
        waker.loop = asyncio.get_running_loop()
        options, model = parse_request(await read_body(request, limits.max_body), limits)
        group = engine.submit(options, model)
        group.waker = asyncio.Event()
        return group
    return start


def _add_generate(app, start, schema):
    """POST /generate: the whole text in one reply."""
    @app.post("/generate", openapi_extra=schema)
    async def generate(request: Request):
        """The whole text at once: {"text", "seed", "model"} ("texts" for num_samples > 1)."""
        group = await start(request)
        try:
            while not group.finished.is_set():
                try:
                    await asyncio.wait_for(group.waker.wait(), timeout=0.5)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        return Response(status_code=499)
                group.waker.clear()
            group.wait_text()  # raises what went wrong in the engine, if anything did
            return _reply(group)
        finally:
            group.cancel()  # a no-op once done; frees the rows of a client that went away


def _add_stream(app, start, schema, engine):
    """POST /generate/stream: the text as Server-Sent Events while it is made."""
    @app.post("/generate/stream", openapi_extra=schema)
    async def generate_stream(request: Request):
        """Server-Sent Events: "start" ({"seed", "model"}), then data events {"text": new
        characters} ({"texts": [...]} for num_samples > 1), then "done" (or "error")."""
        group = await start(request)
        return StreamingResponse(_events(group, engine), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})


async def _events(group, engine):
    """A stream's events: "start", the new characters every send_interval(), then "done"
    or "error"."""
    sent = [0] * group.rows
    try:
        yield _event({"seed": group.seed, "model": group.model.name}, "start")
        while True:
            ended = group.finished.is_set()  # first: once set, the texts are complete
            texts = _new_text(group, sent)
            if any(texts):
                yield _event({"text": texts[0]} if group.rows == 1 else {"texts": texts})
            if ended:
                yield (_event({"error": _failure(group.error)}, "error") if group.error
                       else _event({}, "done"))
                return
            if group.produced:
                await asyncio.sleep(send_interval(engine.streams))
            else:  # the first characters are sent the moment they are made
                await group.waker.wait()
    finally:
        group.cancel()  # a client that went away frees its rows at the next step


def _add_error_handlers(app):
    """Every refusal as JSON {"error": ...}: HTTP's own (404, 405) and UserError's."""
    @app.exception_handler(HTTPException)
    async def http_error(request, error):
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

    @app.exception_handler(UserError)
    async def user_error(request, error):
        status = (429 if isinstance(error, Busy) else 503 if isinstance(error, ShuttingDown)
                  else getattr(error, "status", 400))
        return JSONResponse({"error": str(error)}, status_code=status)


def _add_pages_and_status(app, engine, options=None):
    """GET /models, /health, the page and its files."""
    @app.get("/models")
    async def models():
        """Each model: name, vocabulary size, loss, settings."""
        return {"models": [model.describe() for model in engine.models.values()]}

    @app.get("/health")
    async def health():
        return {"status": "ok", "models": len(engine.models), "streams": engine.streams,
                "max_streams": engine.max_streams}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return page_html(["static/server_engine.js"], assets="static/", options=options)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        if name not in set(PAGE_ASSETS) | SCRIPTS:
            raise HTTPException(404, f"no file {name!r} here")
        with open(asset_path(name), "rb") as handle:
            return Response(handle.read(), media_type=CONTENT_TYPES[name[name.rindex("."):]])


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def model_paths(options):
    """The checkpoints to serve: --weights, else every one in --checkpoint-dir, else the
    best one in this folder or the bundled model (folder.default_weights)."""
    if options.weights:
        return [options.weights] if isinstance(options.weights, str) else list(options.weights)
    if options.checkpoint_dir:
        names = checkpoints_in(options.checkpoint_dir)
        if not names:
            raise UserError(f"no weights-improvement-*.hdf5 checkpoint in "
                            f"'{options.checkpoint_dir}' to serve")
        return [os.path.join(options.checkpoint_dir, name) for name in names]
    return [default_weights(".")]


def load_models(paths):
    """Each checkpoint loaded once, named by its file name (made unique with -2, -3...)."""
    models, taken = [], set()
    for path in paths:
        base = name = os.path.splitext(os.path.basename(path))[0]
        number = 1
        while name in taken:
            number += 1
            name = f"{base}-{number}"
        taken.add(name)
        models.append(ServedModel.load(path, name))
    return models


def listen(host, port):
    """A listening socket, so that a taken port is one clear line before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP said, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets whose proto is IPPROTO_TCP, and accepted sockets inherit it. With Nagle on,
    # each small write after the first (a response's body, the next stream event) waited
    # for the client's delayed ACK: 40 ms a reply on a kept-alive connection.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except (OSError, OverflowError) as error:
        listener.close()
        reason = getattr(error, "strerror", None) or str(error)
        raise UserError(f"cannot listen on {host}:{port}: {reason} (--port N picks another "
                        "port, --port 0 any free one)") from None
    listener.listen(2048)
    return listener


def run_server(options):
    """Load the models, start the decoding thread and serve until Ctrl-C or SIGTERM."""
    models = load_models(model_paths(options))
    listener = listen(options.host, options.port)
    # One BLAS thread: the decoder's products are small (a row a stream), and on a few cores
    # OpenBLAS' helper threads spin against the event loop that serves the streams; with one,
    # 8 clients got 6 times the characters a second here (docs/decisions.md).
    threadpool_limits(1, user_api="blas")
    waker = Waker()
    engine = Engine(models, options.max_streams, on_step=waker)
    app = create_app(engine, options, waker)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    log(f"decoding on the CPU with NumPy (the stateful decoder, float64, one thread), all "
        f"streams in one batch a model; {os.cpu_count()} CPUs")
    log("serving " + ", ".join(f"{model.name} ({model.path})" for model in models))
    if options.host not in LOCAL_HOSTS:
        log(f"--host {options.host}: open to every machine that can reach this one, with no "
            "password; anyone there can use it")
    log(f"listening on http://{shown}:{port} (the page; /docs: the API); Ctrl-C stops it")
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2, lifespan="off")
    logging.getLogger("uvicorn.error").addFilter(_one_line)
    server = _Server(config, on_exit=engine.stop)
    try:
        server.run(sockets=[listener])
    finally:
        engine.close()
        listener.close()
    # uvicorn shut down on Ctrl-C or SIGTERM and gave the signal back to the process; where
    # that signal is ignored (a background job's SIGINT), say it was stopped all the same,
    # so the exit status is 130 or 143 whatever the shell did.
    if server.stopped_by == signal.SIGTERM:
        raise Terminated
    if server.stopped_by is not None:
        raise KeyboardInterrupt


class _Server(uvicorn.Server):
    """uvicorn's server, remembering the signal that stopped it. On that signal on_exit
    (Engine.stop) ends the texts under way at the engine's next step, so that their streams
    end with an "error" event within one STREAM_INTERVAL and uvicorn's graceful shutdown
    has nothing to wait for."""

    def __init__(self, config, on_exit):
        super().__init__(config)
        self.on_exit = on_exit
        self.stopped_by = None

    def handle_exit(self, sig, frame):
        self.stopped_by = self.stopped_by or sig
        self.on_exit()
        super().handle_exit(sig, frame)


def _one_line(record):
    """uvicorn's log records in one line: an exception's type and message, no traceback
    (a client that never reads, cancelled at shutdown; or a bug, answered 500)."""
    if record.exc_info:
        error = record.exc_info[1]
        record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}".rstrip(": ")
        record.args, record.exc_info, record.exc_text = (), None, None
    return True
