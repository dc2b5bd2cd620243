"""serve.py's web side: a FastAPI app over serving.engine's Engine, run by uvicorn. FastAPI and
uvicorn are an optional extra (pip install -r requirements-serve.txt); nothing else in
charlstm imports this module.

    POST /generate         {"prime": "alice was ", "length": 100} -> {"text", "seed", "model",
                           "prime"}: the text, and the text it continues
    POST /generate/stream  the same request; Server-Sent Events as the characters are made
    GET  /models           each model's name, settings, vocabulary size and loss
    GET  /health           {"status": "ok", ...}
    GET  /                 the page (charlstm/web) with the server engine
    GET  /docs             Swagger UI over /openapi.json, its files served from here (no CDN)

A request takes generation's options (config.GENERATION: prime, length, temperature, top_k,
top_p, seed, num_samples, unknown) and model, with generate.py's defaults and checks;
anything wrong is a 4xx JSON {"error": "..."} in generate.py's words, with the JSON field's
name where generate.py has its flag (config.FIELDS spells them). Every request is one
access-log line on stderr (AccessLog). Guard refuses what is not this server's own page or
a script (another Host, another site's Origin, a POST not sent as JSON); BoundedProtocol
closes a request that takes over REQUEST_SECONDS to arrive, and connections beyond the
open-files limit.

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
import errno
import importlib.util
import ipaddress
import json
import logging
import os
import re
import resource
import signal
import socket
import time

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from threadpoolctl import threadpool_limits
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from ..config import FIELDS as AS_FIELDS, GENERATION, SERVE, resolve_options  # noqa: F401
from ..config import too_long_for_a_number
from ..errors import UserError, shown
from ..checkpoints.run_folder import checkpoints_in, default_weights
from ..logs import log
from .pages import PAGE_ASSETS, REQUEST_OPTIONS, asset_path, option_declarations, page_html
from .engine import Busy, Engine, ServedModel, ShuttingDown
from ..generation.items import WrittenItems
from ..system.devices import report_device
from ..system.signals import Terminated

# A request's fields: generation's options that a client may set, and which model. What
# each must be in JSON (a bool is never a number here, as in config's checks).
WHOLE, NUMBER, TEXT, TEXTS = "a whole number", "a number", "a text", "a list of texts"
SWITCH = "true or false"
MODEL_HELP = "which model (GET /models names them; default: the first)"
# The page's options, and what to do with prime characters the model does not know.
SERVER_OPTIONS = REQUEST_OPTIONS + ("unknown", "stop_at", "items", "new_only")


def server_declarations(options=None):
    """The request's options as the server names them (JSON fields: top_k, not --top-k)."""
    return option_declarations(options, SERVER_OPTIONS, AS_FIELDS)


def _kind(entry):
    """What a field must be in JSON, from its declaration (pages.option_declarations)."""
    if entry.get("multiple"):
        return TEXTS
    if entry.get("switch"):
        return SWITCH
    if "whole" not in entry:
        return TEXT
    return WHOLE if entry["whole"] else NUMBER


def request_fields(declarations):
    """{field: what it must be in JSON} and the fields that may be null (not given: a random
    window, all characters...), from the declarations and the model."""
    fields = {entry["name"]: _kind(entry) for entry in declarations}
    nullable = {entry["name"] for entry in declarations if entry["default"] is None}
    return dict(fields, model=TEXT), nullable | {"model"}


FIELDS, NULLABLE = request_fields(server_declarations())
JSON_TYPES = {WHOLE: (int,), NUMBER: (int, float), TEXT: (str,), TEXTS: (list,),
              SWITCH: (bool,)}
SCHEMA_TYPES = {WHOLE: "integer", NUMBER: "number", TEXT: "string", TEXTS: "array",
                SWITCH: "boolean"}


def request_schema(declarations):
    """The OpenAPI request body of /generate and /generate/stream, from the declarations:
    each field's type, default, bounds and help."""
    properties = {}
    for entry in declarations:
        field = {"type": SCHEMA_TYPES[_kind(entry)], "description": entry["help"]}
        if _kind(entry) == TEXTS:
            field["items"] = {"type": "string", "minLength": 1}
        if entry["default"] is not None:
            field["default"] = entry["default"]
        if "choices" in entry:
            field["enum"] = entry["choices"]
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


# The deepest nesting of lists and objects a body may have. A request is one object of plain
# values (depth 1); anything deeper is refused by its field's type anyway, so the bound only
# has to be far below where the JSON parser's recursion fails (a 60 KB "[[[[...": 500).
DEEPEST_JSON = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(body):
    """The deepest nesting of brackets in a JSON text, outside its strings (cheap: only the
    brackets are walked, and only when there are more than DEEPEST_JSON of them)."""
    outside_strings = _JSON_STRING.sub(b"", body)
    if outside_strings.count(b"[") + outside_strings.count(b"{") <= DEEPEST_JSON:
        return 0
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(outside_strings):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _number(convert):
    """json.loads' hook for a number: its literal's length checked before it is converted
    (Python refuses an int of more than 4,300 digits with a ValueError: a 500)."""
    def parse(literal):
        refused = too_long_for_a_number(literal)
        if refused:
            raise RequestError(f"the body holds a number {refused}")
        return convert(literal)
    return parse


def parse_json(body):
    """A request body's JSON value: RequestError (400) for anything that is not JSON, nests
    deeper than DEEPEST_JSON or holds a number too long to read."""
    if json_depth(body) > DEEPEST_JSON:
        raise RequestError(f"the body nests lists or objects more than {DEEPEST_JSON} deep: "
                           "give a JSON object of fields")
    try:
        return json.loads(body, parse_int=_number(int), parse_float=_number(float))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(f"the body is not JSON: {error}") from None
    except RecursionError:  # the depth check above is meant to make this unreachable
        raise RequestError("the body nests lists or objects too deep") from None


def parse_request(body, limits):
    """(GenerationOptions, model name or None) from a request body; RequestError else."""
    given = parse_json(body or b"{}")
    if not isinstance(given, dict):
        raise RequestError("the body must be a JSON object of fields: "
                           + ", ".join(FIELDS))
    for name, value in given.items():
        if name not in FIELDS:
            raise RequestError(f"unknown field {name!r}: the fields are " + ", ".join(FIELDS))
        kind = FIELDS[name]
        if value is None and name in NULLABLE:
            continue
        if (isinstance(value, bool) != (kind == SWITCH)
                or not isinstance(value, JSON_TYPES[kind])):
            if isinstance(value, str):
                raise RequestError(f"{name}: {value!r} is a string: give {kind}")
            raise RequestError(f"{name}: {_shown(value)} is not {kind}")
        if kind == TEXTS and not all(isinstance(item, str) for item in value):
            raise RequestError(f"{name}: give {kind}, each a JSON string")
    model = given.pop("model", None)
    given = {name: value for name, value in given.items() if value is not None}
    _check_limits(given, limits)
    options = resolve_options(dict(given, stateful=True), GENERATION)
    return options, model


def _check_limits(given, limits):
    # The limits are the operator's: named as serve.py's flags, which a client cannot set.
    for name, limit, flag in (("length", limits.max_length, "--max-length"),
                              ("num_samples", limits.max_samples, "--max-samples"),
                              ("items", limits.max_items, "--max-items")):
        if isinstance(given.get(name), int) and given[name] > limit:
            raise RequestError(f"{name}: {given[name]} is more than this server's limit of "
                               f"{limit} (serve.py {flag})")
    prime = given.get("prime")
    if prime is not None and len(prime) > limits.max_prime:
        raise RequestError(f"prime: {len(prime):,} characters is more than this server's "
                           f"limit of {limits.max_prime:,} (serve.py --max-prime): give its "
                           "last part")


async def read_body(request, limit):
    """The body, refused with 413 beyond `limit` bytes (told or counted while reading)."""
    told = request.headers.get("content-length")
    if told is not None and told.isdigit() and int(told) > limit:
        raise RequestError(f"the body is {int(told):,} bytes, more than this server's limit "
                           f"of {limit:,} (serve.py --max-body)", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(f"the body is more than this server's limit of {limit:,} "
                               "bytes (serve.py --max-body)", 413)
    return bytes(body)


def _continued(group):
    """What the texts continue: {"prime": the prime as read, or the seed window}, or, for
    several samples each from its own random window, {"primes": [...]}."""
    if group.rows > 1 and group.options.prime is None:
        return {"primes": list(group.prime_texts)}
    return {"prime": group.prime_texts[0]}


def _items_reply(written):
    """The reply to a request for items: the items, how many were written in all (more
    than the items with new_only) and how many reached the length cap, the seed."""
    return {"items": written.items, "generated": written.generated,
            "capped": written.capped, "seed": written.seed, "model": written.model,
            "temperature": written.temperature}


def _reply(group):
    texts = ["".join(text) for text in group.texts]
    reply = {"seed": group.seed, "model": group.model.name, **_continued(group)}
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
    # /docs is our own route: FastAPI's would load Swagger UI from a CDN (blank offline).
    app = FastAPI(title="charlstm", version="1", summary="Alice, one character at a time: "
                  "text from a character LSTM, all clients decoded together",
                  docs_url=None, redoc_url=None)
    if getattr(limits, "allow_origin", None):  # their pages may read replies: CORS for them
        allowed = _as_tuple(limits.allow_origin)
        app.add_middleware(CORSMiddleware, allow_origins=list(allowed),
                           allow_methods=["GET", "POST"], allow_headers=["content-type"])
    app.add_middleware(Guard, check_host=is_loopback(limits.host),
                       allowed_origins=_as_tuple(limits.allow_origin))
    app.add_middleware(AccessLog)  # the outermost: refusals are logged too
    declarations = server_declarations(options)
    _add_error_handlers(app)
    _add_docs(app)
    start = _starter(engine, limits, waker)
    schema = request_schema(declarations)
    _add_generate(app, start, schema)
    _add_stream(app, start, schema, engine)
    _add_pages_and_status(app, engine, options)
    return app


def _as_tuple(value):
    """A flag given once (a str), several times (a tuple) or not at all (None), as a tuple."""
    return () if value is None else (value,) if isinstance(value, str) else tuple(value)


def _starter(engine, limits, waker):
    """What both routes do first: read and check the request within `limits`, and hand it
    to the engine; the group it makes, with an event the engine's thread sets."""
    async def start(request, items_too=False):
        waker.loop = asyncio.get_running_loop()
        options, model = parse_request(await read_body(request, limits.max_body), limits)
        if options.items or options.new_only:
            if not items_too:
                raise RequestError("items: POST /generate answers a list of items, whole")
            # Items are written apart from the batch, in a worker thread (Engine.write_items).
            written = await asyncio.to_thread(engine.write_items, options, model)
            _record(request).model = written.model
            _record(request).characters = sum(map(len, written.items))
            return written
        group = engine.submit(options, model)
        group.waker = asyncio.Event()
        _record(request).model = group.model.name
        return group
    return start


def _add_generate(app, start, schema):
    """POST /generate: the whole text in one reply."""
    @app.post("/generate", openapi_extra=schema)
    async def generate(request: Request):
        """The whole text at once: {"text", "seed", "model", "prime"} ("texts" for
        num_samples > 1, and "primes" when each continues its own random window); with
        "items": N, {"items", "generated", "seed", "model"}."""
        group = await start(request, items_too=True)
        if isinstance(group, WrittenItems):
            return _items_reply(group)
        try:
            while not group.finished.is_set():
                try:
                    await asyncio.wait_for(group.waker.wait(), timeout=0.5)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        return Response(status_code=499)
                group.waker.clear()
            group.wait_text()  # raises what went wrong in the engine, if anything did
            reply = _reply(group)
            _record(request).characters = group.produced * group.rows
            return reply
        finally:
            group.cancel()  # a no-op once done; frees the rows of a client that went away


def _add_stream(app, start, schema, engine):
    """POST /generate/stream: the text as Server-Sent Events while it is made."""
    @app.post("/generate/stream", openapi_extra=schema)
    async def generate_stream(request: Request):
        """Server-Sent Events: "start" ({"seed", "model", "prime"}, or "primes"), then data
        events {"text": new characters} ({"texts": [...]} for num_samples > 1), then "done"
        (or "error")."""
        group = await start(request)
        return StreamingResponse(_events(group, engine, _record(request)),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})


async def _events(group, engine, record):
    """A stream's events: "start", the new characters every send_interval(), then "done"
    or "error"; `record` (the access log's) counts the characters sent."""
    sent = [0] * group.rows
    try:
        yield _event({"seed": group.seed, "model": group.model.name, **_continued(group)},
                     "start")
        while True:
            ended = group.finished.is_set()  # first: once set, the texts are complete
            texts = _new_text(group, sent)
            if any(texts):
                yield _event({"text": texts[0]} if group.rows == 1 else {"texts": texts})
            record.characters = sum(sent)  # once written: a client gone keeps the last count
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


class _Record:
    """What a route tells the access log of its request: the model, the characters sent."""

    def __init__(self):
        self.model = None
        self.characters = 0


ACCESS_KEY = "charlstm.access"  # the request's _Record, in its ASGI scope


def _record(request):
    """The request's access-log record (a throwaway one where no AccessLog runs)."""
    return request.scope.setdefault(ACCESS_KEY, _Record())


class AccessLog:
    """One line on stderr a request, once its response has ended (a stream's too, with the
    characters it streamed), greppable by its first word:

        request: POST /generate 200 model=alice chars=100 ms=412

    method, path (as sent: percent-escapes stay, so no line break gets in), status (499:
    the client went away before the reply began; 500: a bug), the model that wrote (- for
    none), the characters generated and sent, and the milliseconds from the request to the
    response's end. An ASGI middleware rather than uvicorn's access log: it sees the end of
    a stream, and what the routes record."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        began, record = time.perf_counter(), _Record()
        scope[ACCESS_KEY] = record
        status = None

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            status = status or 500
            raise
        finally:
            milliseconds = (time.perf_counter() - began) * 1000
            log(access_line(scope, status or 499, record, milliseconds))


def access_line(scope, status, record, milliseconds):
    """The access log's line for a request (AccessLog)."""
    path = scope.get("raw_path") or scope["path"].encode()
    shown = path.decode("ascii", "backslashreplace")
    return (f"request: {scope['method']} {shown} {status} model={record.model or '-'} "
            f"chars={record.characters} ms={milliseconds:.0f}")


def is_loopback(host):
    """Whether a host (a name or an address, no port) is this machine only: localhost,
    127.x.x.x, ::1."""
    name = host.strip().lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header):
    """The host of a Host header, without its port: "[::1]:8000" -> "::1"."""
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _refusal(status, message):
    return JSONResponse({"error": shown(message)}, status_code=status)


class Guard:
    """Who may use the server, before any route runs (docs/serve.md, "Who may call it"):

    - Bound to a loopback address, it answers only requests whose Host is a loopback name
      or address (421 else): a page on another site that rebinds its own name to 127.0.0.1
      (DNS rebinding) sends its own name as the Host. Bound to another address (--host
      0.0.0.0), the Host is not checked: the operator opened it to whatever names reach it.
    - A request with an Origin (a browser's, from a page) must come from this server's own
      pages (Origin = scheme://Host) or an --allow-origin site; 403 else.
    - A POST body must be sent as application/json (415 else): the one type a page of
      another site cannot send without asking first (a CORS preflight, which is refused)."""

    def __init__(self, app, check_host, allowed_origins=()):
        self.app = app
        self.check_host = check_host
        self.allowed_origins = {origin.lower() for origin in allowed_origins}

    async def __call__(self, scope, receive, send):
        refusal = self.refusal(scope) if scope["type"] == "http" else None
        if refusal is not None:
            return await refusal(scope, receive, send)
        return await self.app(scope, receive, send)

    def refusal(self, scope):
        """The response refusing this request, or None to let it through."""
        headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                   for name, value in scope["headers"]}
        host = headers.get("host", "")
        if self.check_host and not is_loopback(host_name(host)):
            return _refusal(421, f"this server answers requests for localhost only, not for "
                            f"Host {host!r} (serve.py --host 0.0.0.0 opens it to the network)")
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.allowed_origins | {
                f"{scope.get('scheme', 'http')}://{host}".lower()}:
            return _refusal(403, f"requests from pages of {origin!r} are refused: this server "
                            "answers its own page (serve.py --allow-origin ORIGIN lets another "
                            "site in)")
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["method"] == "POST" and kind != "application/json":
            return _refusal(415, f"a request body must be JSON sent as Content-Type: "
                            f"application/json, not {kind or 'none'!r}")
        return None


DOCS_ASSETS = "/docs-assets"  # Swagger UI's files, from the serve extra (fastapi-offline)


def docs_asset_folder():
    """The folder of Swagger UI's script, style and icon that the fastapi-offline package
    installs (a pinned requirement of the serve extra), found without importing it."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise UserError("serving needs fastapi-offline (Swagger UI's files for /docs): pip "
                        "install -r requirements-serve.txt")
    return os.path.join(os.path.dirname(spec.origin), "static")


def _add_docs(app):
    """GET /docs: Swagger UI over /openapi.json, its files served from here, so that it
    renders with no network (FastAPI's own /docs loads them from a CDN)."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=docs_asset_folder()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        # validatorUrl none: Swagger UI would otherwise ask an online validator for a badge
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title}: the API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None})


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
        raise UserError(f"cannot listen on {host}:{port}: {reason} ({_listen_hint(error)})"
                        ) from None
    listener.listen(2048)
    return listener


def _listen_hint(error):
    """What to change when binding failed: the host when it names no address of this machine
    (a name that does not resolve, an address of another machine), else the port."""
    if isinstance(error, socket.gaierror) or getattr(error, "errno", None) in (
            errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return ("--host takes an address of this machine: 127.0.0.1 or ::1 for this machine "
                "only, 0.0.0.0 for every network")
    return "--port N picks another port, --port 0 any free one"


def run_server(options):
    """Load the models, start the decoding thread and serve until Ctrl-C or SIGTERM."""
    # Listening first: a taken port or a host that is not this machine's is one line at
    # once, not after seconds of loading (connections wait in the backlog meanwhile).
    listener = listen(options.host, options.port)
    try:
        models = load_models(model_paths(options))
    except BaseException:
        listener.close()
        raise
    # One BLAS thread: the decoder's products are small (a row a stream), and on a few cores
    # OpenBLAS' helper threads spin against the event loop that serves the streams; with one,
    # 8 clients got 6 times the characters a second here (docs/decisions.md).
    threadpool_limits(1, user_api="blas")
    waker = Waker()
    engine = Engine(models, options.max_streams, on_step=waker)
    app = create_app(engine, options, waker)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    report_device()  # the backend's device, as every command says it; the decoder's next
    log(f"decoding on the CPU with NumPy (the stateful decoder, float64, one thread), all "
        f"streams in one batch a model; {os.cpu_count()} CPUs")
    log("serving " + ", ".join(f"{model.name} ({model.path})" for model in models))
    if not is_loopback(options.host):
        log(f"--host {options.host}: open to every machine that can reach this one, with no "
            "password, whatever name it is called by; anyone there can use it")
    log(f"listening on http://{shown}:{port} (the page; /docs: the API); Ctrl-C stops it")
    BoundedProtocol.limit = most_connections()
    config = uvicorn.Config(app, log_level="warning", access_log=False, http=BoundedProtocol,
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


# A request must have arrived whole (headers and body) this many seconds after its connection
# opened or its previous reply ended; a slower one is closed. Without it, a client that sent
# a header byte every few seconds held its connection, and its file, for ever.
REQUEST_SECONDS = 10
# Files the process keeps for itself beyond its connections: the listening socket, the
# models' files, stdio, the libraries' own. Connections beyond the open-files limit minus
# these get 503 at once, so that accept() never runs out of files.
OWN_FILES = 64
BUSY_REPLY = json.dumps({"error": "too many connections are open: try again shortly"})


def most_connections():
    """The open connections the server keeps: below the process's open-files limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(8, soft - OWN_FILES)


class BoundedProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 connection, with two bounds of its own: a request that has not
    arrived whole within REQUEST_SECONDS is closed (uvicorn times out only an idle
    kept-alive connection, and any byte resets that), and a connection beyond
    most_connections() gets 503 and is closed at once. It uses H11Protocol's own attributes
    (conn, connections, transport, loop) and hooks (handle_events, on_response_complete):
    uvicorn is pinned (requirements-serve.txt), and the slow tests in
    tests/serving/test_hostile_server.py show a change."""

    limit = None  # set by run_server: most_connections()

    def connection_made(self, transport):
        super().connection_made(transport)
        self.arrival = None
        if self.limit is not None and len(self.connections) > self.limit:
            transport.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: "
                            b"application/json\r\nconnection: close\r\ncontent-length: %d"
                            b"\r\n\r\n%s" % (len(BUSY_REPLY), BUSY_REPLY.encode()))
            transport.close()
            return
        self._watch()

    def handle_events(self):
        super().handle_events()
        self._watch()

    def on_response_complete(self):
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc):
        self._stop_watching()
        super().connection_lost(exc)

    def _watch(self):
        """The clock runs while a request is arriving; it stops once it has all arrived."""
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
            self._stop_watching()
        elif self.arrival is None and not self.transport.is_closing():
            self.arrival = self.loop.call_later(REQUEST_SECONDS, self._too_slow)

    def _stop_watching(self):
        if getattr(self, "arrival", None) is not None:
            self.arrival.cancel()
            self.arrival = None

    def _too_slow(self):
        self.arrival = None
        if not self.transport.is_closing():
            self.transport.close()


class AcceptFailures:
    """The event loop's exception handler: a failed accept (out of open files, most often)
    is one log line a PERIOD with the count, not asyncio's traceback for each (one
    connection flood wrote 77,693 of them in 10 s); anything else goes to asyncio's
    default handler."""

    PERIOD = 10

    def __init__(self):
        self.last = None
        self.count = 0

    def __call__(self, loop, context):
        if not context.get("message", "").startswith("socket.accept() out of system resource"):
            return loop.default_exception_handler(context)
        self.count += 1
        now = time.monotonic()
        if self.last is None or now - self.last >= self.PERIOD:
            error = context.get("exception")
            reason = getattr(error, "strerror", None) or str(error)
            log(f"cannot accept connections: {reason} ({self.count} time"
                f"{'s' if self.count > 1 else ''} since the last line; open connections are "
                "answered until they close)")
            self.last, self.count = now, 0


class _Server(uvicorn.Server):
    """uvicorn's server, remembering the signal that stopped it. On that signal on_exit
    (Engine.stop) ends the texts under way at the engine's next step, so that their streams
    end with an "error" event within one STREAM_INTERVAL and uvicorn's graceful shutdown
    has nothing to wait for."""

    def __init__(self, config, on_exit):
        super().__init__(config)
        self.on_exit = on_exit
        self.stopped_by = None

    async def serve(self, sockets=None):
        asyncio.get_running_loop().set_exception_handler(AcceptFailures())
        await super().serve(sockets)

    def handle_exit(self, sig, frame):
        self.stopped_by = self.stopped_by or sig
        self.on_exit()
        super().handle_exit(sig, frame)


def _one_line(record):
    """uvicorn's log records in one line: an exception's type and message, no traceback
    (a client that never reads, cancelled at shutdown; or a bug, answered 500)."""
    if record.exc_info:
        error = record.exc_info[1]
        # uvicorn's own message ends in a newline ("Exception in ASGI application\n"), and an
        # exception's text may hold more: shown() keeps the whole on one line.
        said = f"{record.getMessage().strip()}: {type(error).__name__}: {error}".rstrip(": ")
        record.msg = shown(said)
        record.args, record.exc_info, record.exc_text = (), None, None
    return True
