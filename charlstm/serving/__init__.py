"""Serving many clients from one process: the engine that decodes every stream in one batched
step a character (engine), the HTTP server around it (server, FastAPI and uvicorn, the serve
extra), and the one page both serve.py and the web export show (pages).

  engine  Engine, ServedModel, Group: requests as rows of one batch
  server  create_app() and run_server(): the API, streaming, the page, the limits
  pages   the page's HTML from charlstm/web, for either engine

    >>> from charlstm.serving.pages import page_html
    >>> "<script" in page_html(["engine.js"])
    True
"""
