"""The one page people use, for both engines: served by serve.py (text made on the server)
and written by export.py --format web (text made in the browser). Its files lie in
charlstm/web/; index.html is a template that takes where the page's own files are and which
engine scripts to load before page.js (the contract is at the top of page.js).

    >>> html = page_html(["/static/server_engine.js"], assets="/static/")
    >>> '<script src="/static/server_engine.js"></script>' in html
    True
    >>> '<link rel="stylesheet" href="/static/page.css">' in html
    True
    >>> sorted(PAGE_ASSETS)
    ['page.css', 'page.js']
    >>> [entry["default"] for entry in option_declarations() if entry["name"] == "length"]
    [1000]
"""

import html
import json
import os

from ..config import FLAGS, GENERATION

ASSET_FOLDER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web")

# The page's own files, which either engine serves or copies beside index.html.
PAGE_ASSETS = ("page.css", "page.js")


def asset_path(name):
    """The path of one of charlstm/web's files."""
    return os.path.join(ASSET_FOLDER, name)


# Generation's options a request (the server's or the browser engine's) may set, in the order
# the server's error messages list them.
REQUEST_OPTIONS = ("prime", "length", "temperature", "top_k", "top_p", "seed", "num_samples")


def option_declarations(options=None, names=REQUEST_OPTIONS, spelling=FLAGS):
    """`names` (REQUEST_OPTIONS) as config declares them (GENERATION, or `options`), as
    JSON-ready data: name, default, help (naming other options as `spelling` does: the
    server's schema says top_k, not --top-k), the choices of one that has them, and for
    numbers whether whole, the words of a failed check and JSON Schema's bounds. The
    page's fields and the browser engine's checks read this, and the server's schema is
    built from it, so a default or a range is said once."""
    declared = {option.name: option for option in (options or GENERATION)}
    entries = []
    for name in names:
        option, entry = declared[name], {"name": name}
        entry.update(default=option.default, help=option.help_in(spelling))
        if option.choices is not None:
            entry.update(choices=list(option.choices))
        if option.type is not None:
            entry.update(whole=option.type.whole, requirement=option.type.requirement,
                         bounds=option.type.bounds)
        entries.append(entry)
    return entries


def page_html(engine_scripts, assets="", options=None):
    """index.html with a <script> tag for each of engine_scripts (URLs, in order), its own
    page.css and page.js under the URL prefix `assets` ("" for files beside it), and
    generation's option declarations (option_declarations(options)) as a JSON block."""
    with open(asset_path("index.html"), encoding="utf-8") as handle:
        template = handle.read()
    tags = "\n".join(f'<script src="{html.escape(source)}"></script>'
                     for source in engine_scripts)
    # "</" cannot end the block early once written "<\/", which JSON reads as "</".
    declarations = json.dumps(option_declarations(options)).replace("</", "<\\/")
    return (template.replace("{{engine_scripts}}", tags)
            .replace("{{options}}", declarations)
            .replace("{{assets}}", html.escape(assets)))
