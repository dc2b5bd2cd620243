"""notebooks/colab.ipynb runs: its code cells, with QUICK settings, in a fresh interpreter."""

import json
import os
import subprocess
import sys

from conftest import ROOT

NOTEBOOK = os.path.join(ROOT, "notebooks", "colab.ipynb")

# What Jupyter would provide: IPython.display, when IPython is not installed here.
PREAMBLE = """
import os, sys, types
os.environ["CHARLSTM_QUICK"] = "1"
try:
    import IPython.display
except ImportError:
    display_module = types.ModuleType("IPython.display")
    display_module.Image = lambda path: open(path, "rb").read()[:8]
    display_module.display = print
    sys.modules["IPython"] = types.ModuleType("IPython")
    sys.modules["IPython.display"] = display_module
"""


def code_cells():
    with open(NOTEBOOK) as handle:
        notebook = json.load(handle)
    return ["".join(cell["source"]) for cell in notebook["cells"]
            if cell["cell_type"] == "code"]


def test_the_notebook_runs_end_to_end(tmp_path):
    # Shell and magic lines (%pip, !git) are the notebook's set-up; the test has the package.
    script = PREAMBLE + "\n".join(
        "\n".join(line for line in cell.splitlines() if not line.lstrip().startswith(("%", "!")))
        for cell in code_cells())
    environment = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "device: CPU" in result.stdout
    assert (tmp_path / "runs" / "history.png").exists()
    assert (tmp_path / "alice.keras").exists() and (tmp_path / "alice.keras.json").exists()
    assert result.stdout.count("---") == 3  # three samples
    rows = open(tmp_path / "runs" / "history.csv").read().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3", "4"]  # resumed: 2 more


def test_the_notebook_covers_what_users_ask_for():
    source = "\n".join(code_cells())
    for needed in ("%pip install", "charlstm.device()", "google.colab", "drive.mount",
                   "preset=\"fast\"", "resume=", "temperature=", "charlstm.samples",
                   "charlstm.plot", "charlstm.export"):
        assert needed in source, needed
