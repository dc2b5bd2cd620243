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
"""

import html
import os

ASSET_FOLDER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web")

# The page's own files, which either engine serves or copies beside index.html.
PAGE_ASSETS = ("page.css", "page.js")


def asset_path(name):
    """The path of one of charlstm/web's files."""
    return os.path.join(ASSET_FOLDER, name)


def page_html(engine_scripts, assets=""):
    """index.html with a <script> tag for each of engine_scripts (URLs, in order) and its
    own page.css and page.js under the URL prefix `assets` ("" for files beside it)."""
    with open(asset_path("index.html"), encoding="utf-8") as handle:
        template = handle.read()
    tags = "\n".join(f'<script src="{html.escape(source)}"></script>'
                     for source in engine_scripts)
    return (template.replace("{{engine_scripts}}", tags)
            .replace("{{assets}}", html.escape(assets)))
