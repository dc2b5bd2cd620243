"""notebooks/colab.ipynb runs cell by cell in a real Jupyter kernel (nbclient and ipykernel),
as its users run it, with QUICK settings (CHARLSTM_QUICK=1)."""

import base64
import os

import nbclient
import nbformat
import pytest

from conftest import ROOT

NOTEBOOK = os.path.join(ROOT, "notebooks", "colab.ipynb")
SET_UP = ("%pip", "!git", "%cd")  # what gets the project into a fresh Colab: the test has it


def read_notebook():
    with open(NOTEBOOK, encoding="utf-8") as handle:
        return nbformat.read(handle, as_version=4)


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def without_set_up(notebook):
    """The notebook with its install and clone lines left out; every other line runs as
    written, magics included."""
    for cell in code_cells(notebook):
        cell.source = "\n".join(line for line in cell.source.splitlines()
                                if not line.lstrip().startswith(SET_UP))
    return notebook


def stream_text(cell):
    return "".join(output.get("text", "") for output in cell.outputs
                   if output.output_type == "stream" and output.name == "stdout")


@pytest.mark.slow
def test_the_notebook_runs_end_to_end_in_a_jupyter_kernel(tmp_path, monkeypatch):
    # The kernel is a new process: it inherits this environment, and runs in tmp_path.
    monkeypatch.setenv("CHARLSTM_QUICK", "1")
    monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    notebook = without_set_up(read_notebook())
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # CellExecutionError, with the cell and its traceback, if a cell fails

    cells = code_cells(notebook)
    printed = "".join(stream_text(cell) for cell in cells)
    assert "device: CPU" in printed
    # A kernel's stderr is no terminal: no progress bar, plain lines on both streams.
    streamed = "".join(output.get("text", "") for cell in cells for output in cell.outputs
                       if output.output_type == "stream")
    assert "epoch 1/" in streamed and not {"\x1b", "\r", "\b", "━"} & set(streamed)
    assert printed.count("\n---\n") == 3  # three samples
    # The loss plot is displayed as a PNG, from the file train wrote beside its history.
    images = [output["data"]["image/png"] for cell in cells for output in cell.outputs
              if output.output_type == "display_data" and "image/png" in output.get("data", {})]
    assert len(images) == 1
    assert base64.b64decode(images[0]).startswith(b"\x89PNG")
    assert (tmp_path / "runs" / "history.png").exists()
    assert (tmp_path / "alice.keras").exists() and (tmp_path / "alice.keras.json").exists()
    rows = (tmp_path / "runs" / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3", "4"]  # resumed: 2 more


def test_the_notebook_covers_what_users_ask_for():
    source = "\n".join(cell.source for cell in code_cells(read_notebook()))
    for needed in ("%pip install", "charlstm.device()", "google.colab", "drive.mount",
                   "preset=\"fast\"", "resume=", "temperature=", "charlstm.samples",
                   "charlstm.plot", "charlstm.export"):
        assert needed in source, needed
