"""Train the tutorial's character-level LSTM: `python train.py --help` lists the flags.

A thin command over charlstm (charlstm.cli.train_main; the same as `charlstm-train` after
`pip install .`). Runs from any folder: the default text is the bundled wonderland.txt.
"""

from charlstm.cli import parse_train_args as parse_args  # noqa: F401  (tests, notebooks)
from charlstm.cli import train_main

if __name__ == "__main__":
    train_main()
