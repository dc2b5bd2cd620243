"""Draw history.csv files as a loss plot: `python plot.py --help` lists the flags.

A thin command over charlstm (charlstm.cli.plot_main; the same as `charlstm-plot` after
`pip install .`).
"""

from charlstm.cli import plot_main

if __name__ == "__main__":
    plot_main()
