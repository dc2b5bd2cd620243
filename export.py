"""Export a checkpoint as a .keras file, a SavedModel or a one-step model: `python export.py
--help` lists the flags.

A thin command over charlstm (charlstm.cli.export_main; the same as `charlstm-export` after
`pip install .`).
"""

from charlstm.cli import export_main

if __name__ == "__main__":
    export_main()
