"""Score a checkpoint by the tutorial's loss: `python evaluate.py --help` lists the flags.

A thin command over charlstm (charlstm.cli.evaluate_main; the same as `charlstm-evaluate`
after `pip install .`).
"""

from charlstm.cli import evaluate_main
from charlstm.cli import parse_evaluate_args as parse_args  # noqa: F401  (tests)

if __name__ == "__main__":
    evaluate_main()
