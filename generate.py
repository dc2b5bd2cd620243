"""Write text with a trained character LSTM: `python generate.py --help` lists the flags.

A thin command over charlstm (charlstm.cli.generate_main; the same as `charlstm-generate`
after `pip install .`).
"""

from charlstm.cli import generate_main
from charlstm.cli import parse_generate_args as parse_args  # noqa: F401  (tests)

if __name__ == "__main__":
    generate_main()
