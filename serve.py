"""Serve trained models over HTTP, with a page to play with them: `python serve.py --help`
lists the flags.

A thin command over charlstm (charlstm.cli.serve_main; the same as `charlstm-serve` after
`pip install ".[serve]"`). Needs the serve extra: pip install -r requirements-serve.txt.
"""

from charlstm.cli import serve_main

if __name__ == "__main__":
    serve_main()
